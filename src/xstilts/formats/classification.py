"""Sentence and sentence-pair classification (XNLI, PAWS-X, MNLI, QQP, SST-2, ...)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from xstilts.data.examples import ClassificationExample
from xstilts.errors import ConfigError, XstiltsError
from xstilts.formats.base import Batch, Feature, FeatureSettings, TaskFormat, encoder_inputs
from xstilts.metrics.classification import ACCURACY, correct
from xstilts.results.recipes import RecipeData, Records

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from xstilts.config.cards import TaskCard

NO_LABEL = -100


class ClassificationHead(nn.Module):
    """The RoBERTa classification head: dense + tanh on the <s> token, then a projection."""

    def __init__(self, hidden_size: int, num_labels: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.out_proj = nn.Linear(hidden_size, num_labels)

    def forward(self, hidden_states: torch.Tensor, batch: Batch) -> torch.Tensor:
        x = self.dropout(hidden_states[:, 0])
        x = self.dropout(torch.tanh(self.dense(x)))
        return self.out_proj(x)


def _labels(task: TaskCard) -> list[str]:
    if not task.labels:
        raise ConfigError(f"task {task.name}", "a classification task card needs `labels`")
    return task.labels


class ClassificationFormat(TaskFormat):
    name = "classification"

    def featurize(
        self,
        examples: Sequence[ClassificationExample],
        tokenizer: PreTrainedTokenizerBase,
        task: TaskCard,
        settings: FeatureSettings,
    ) -> list[Feature]:
        label_ids = {label: i for i, label in enumerate(_labels(task))}
        pairs = [ex.text_b is not None for ex in examples]
        if any(pairs) and not all(pairs):
            raise XstiltsError(f"task {task.name}: mixes single sentences and sentence pairs")
        firsts = [ex.text_a for ex in examples]
        seconds = [ex.text_b for ex in examples] if examples and pairs[0] else None
        # One batched call to the fast tokenizer is far quicker than a call per example.
        encoded = tokenizer(firsts, seconds, truncation=True, max_length=settings.max_length)
        features = []
        for i, ex in enumerate(examples):
            if ex.label is not None and ex.label not in label_ids:
                raise XstiltsError(
                    f"task {task.name}: example {ex.id} has label {ex.label!r} outside {task.labels}"
                )
            label = NO_LABEL if ex.label is None else label_ids[ex.label]
            features.append({"input_ids": encoded["input_ids"][i], "example_index": i, "label": label})
        return features

    def collate(self, features: Sequence[Feature], pad_id: int) -> Batch:
        batch = encoder_inputs([f["input_ids"] for f in features], pad_id)
        batch["labels"] = torch.tensor([f["label"] for f in features], dtype=torch.long)
        return batch

    def build_head(self, task: TaskCard, hidden_size: int) -> nn.Module:
        return ClassificationHead(hidden_size, len(_labels(task)))

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        return nn.functional.cross_entropy(logits.float(), batch["labels"], ignore_index=NO_LABEL)

    def decode(
        self,
        examples: Sequence[ClassificationExample],
        features: Sequence[Feature],
        logits: Sequence[np.ndarray],
        task: TaskCard,
        settings: FeatureSettings,
    ) -> list[str]:
        labels = _labels(task)
        predictions: list[str | None] = [None] * len(examples)
        for feature, row in zip(features, logits, strict=True):
            predictions[feature["example_index"]] = labels[int(np.argmax(row))]
        assert all(p is not None for p in predictions), "every example has exactly one feature"
        return predictions  # type: ignore[return-value]

    def records(
        self,
        examples: Sequence[ClassificationExample],
        predictions: Sequence[str],
        task: TaskCard,
        lang: str | None = None,
    ) -> Records:
        """`correct` (1 when the predicted label is the gold one, else 0) and `prediction` (the
        label) of every labelled example."""
        scored = [(ex, p) for ex, p in zip(examples, predictions, strict=True) if ex.label is not None]
        return {
            "id": np.array([ex.id for ex, _ in scored], dtype=object),
            "correct": correct([ex.label for ex, _ in scored], [p for _, p in scored]),
            "prediction": np.array([p for _, p in scored], dtype=object),
        }

    def recipes(self, task: TaskCard) -> dict[str, RecipeData]:
        return dict(ACCURACY)


CLASSIFICATION = ClassificationFormat()
