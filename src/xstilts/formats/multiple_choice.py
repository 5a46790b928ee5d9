"""Multiple choice: pick one of N answers (COPA, XCOPA, SIQA, HellaSwag, CosmosQA, CommonsenseQA).

Each choice is encoded as the pair (context + " " + question, choice); the encoder scores every
pair with one number from its <s> token and a softmax over the N scores picks the answer.

A feature is one example:
    input_ids      N lists of token ids, one per choice
    example_index  position of the example in the example list
    label          index of the right choice, -100 when unlabelled
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from xstilts.data.examples import MultipleChoiceExample
from xstilts.errors import ConfigError, XstiltsError
from xstilts.formats.base import Batch, Feature, FeatureSettings, TaskFormat, encoder_inputs
from xstilts.metrics.classification import ACCURACY, correct
from xstilts.results.recipes import RecipeData, Records

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from xstilts.config.cards import TaskCard

NO_LABEL = -100


class ChoiceScoringHead(nn.Module):
    """Dropout and a linear map of each choice row's <s> state to one score; scores grouped by example."""

    def __init__(self, hidden_size: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.scorer = nn.Linear(hidden_size, 1)

    def forward(self, hidden_states: torch.Tensor, batch: Batch) -> torch.Tensor:
        scores = self.scorer(self.dropout(hidden_states[:, 0])).squeeze(-1)
        return scores.reshape(-1, int(batch["num_choices"].reshape(-1)[0]))


def _encode_rows(
    firsts: Sequence[str], seconds: Sequence[str], tokenizer: PreTrainedTokenizerBase, max_length: int
) -> list[list[int]]:
    """Token ids of each (first, second) pair, at most `max_length` long, in few batched calls.

    The context is cut first ("only_first") so the choice stays whole. The Rust tokenizer fails the
    whole batch when a pair cannot be cut that way (a choice too long by itself), so those pairs
    are found beforehand and cut with "longest_first". A pair with one side empty is encoded as
    that single text, so no empty segment (and pair of separators) is fed to the encoder.
    """
    rows: list[list[int] | None] = [None] * len(firsts)
    # verbose=False: whole texts are measured here, before any cut; transformers' warning about
    # sequences longer than the model takes would be about a sequence the model never sees.
    seconds_ids = tokenizer(list(seconds), add_special_tokens=False, verbose=False)["input_ids"]
    second_lengths = [len(ids) for ids in seconds_ids]
    pair_specials = tokenizer.num_special_tokens_to_add(pair=True)
    if max_length < pair_specials + 2:
        raise ConfigError("max_length", f"{max_length} cannot hold a context token and a choice token")
    groups: dict[str, list[int]] = {"single": [], "only_first": [], "longest_first": []}
    for i, (first, second) in enumerate(zip(firsts, seconds, strict=True)):
        if not first or not second:
            groups["single"].append(i)
        elif second_lengths[i] + pair_specials + 1 > max_length:
            groups["longest_first"].append(i)
        else:
            groups["only_first"].append(i)
    for strategy, indices in groups.items():
        if not indices:
            continue
        if strategy == "single":
            texts = [firsts[i] or seconds[i] for i in indices]
            encoded = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
        else:
            encoded = tokenizer(
                [firsts[i] for i in indices],
                [seconds[i] for i in indices],
                truncation=strategy,
                max_length=max_length,
            )["input_ids"]
        for i, ids in zip(indices, encoded, strict=True):
            rows[i] = list(ids)
    return rows  # type: ignore[return-value]


class MultipleChoiceFormat(TaskFormat):
    name = "multiple_choice"

    def featurize(
        self,
        examples: Sequence[MultipleChoiceExample],
        tokenizer: PreTrainedTokenizerBase,
        task: TaskCard,
        settings: FeatureSettings,
    ) -> list[Feature]:
        if not examples:
            return []
        num_choices = len(examples[0].choices)
        firsts: list[str] = []
        seconds: list[str] = []
        for ex in examples:
            self._check(ex, num_choices, examples[0].id, task)
            first = " ".join(part.strip() for part in (ex.context, ex.question) if part.strip())
            firsts += [first] * num_choices
            seconds += [choice.strip() for choice in ex.choices]
        rows = _encode_rows(firsts, seconds, tokenizer, settings.max_length)
        return [
            {
                "input_ids": rows[i * num_choices : (i + 1) * num_choices],
                "example_index": i,
                "label": NO_LABEL if ex.label is None else ex.label,
            }
            for i, ex in enumerate(examples)
        ]

    @staticmethod
    def _check(ex: MultipleChoiceExample, num_choices: int, first_id: str, task: TaskCard) -> None:
        if len(ex.choices) != num_choices:
            raise XstiltsError(
                f"task {task.name}: example {ex.id} has {len(ex.choices)} choices but example {first_id} has "
                f"{num_choices}; all examples of a multiple-choice task need the same number"
            )
        if num_choices < 2:
            raise XstiltsError(
                f"task {task.name}: example {ex.id} has {num_choices} choice(s); it needs at least 2"
            )
        if ex.label is not None and not 0 <= ex.label < num_choices:
            raise XstiltsError(
                f"task {task.name}: example {ex.id} has label {ex.label}, outside its {num_choices} choices"
            )

    def length(self, feature: Feature) -> int:
        return max(len(row) for row in feature["input_ids"])

    def collate(self, features: Sequence[Feature], pad_id: int) -> Batch:
        num_choices = len(features[0]["input_ids"])
        for feature in features:
            if len(feature["input_ids"]) != num_choices:
                raise XstiltsError(
                    f"example {feature['example_index']} has {len(feature['input_ids'])} choices where the "
                    f"batch has {num_choices}; all examples of a multiple-choice task need the same number"
                )
        batch = encoder_inputs([row for feature in features for row in feature["input_ids"]], pad_id)
        batch["labels"] = torch.tensor([f["label"] for f in features], dtype=torch.long)
        batch["num_choices"] = torch.tensor(num_choices, dtype=torch.long)
        return batch

    def build_head(self, task: TaskCard, hidden_size: int) -> nn.Module:
        return ChoiceScoringHead(hidden_size)

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        return nn.functional.cross_entropy(logits.float(), batch["labels"], ignore_index=NO_LABEL)

    def decode(
        self,
        examples: Sequence[MultipleChoiceExample],
        features: Sequence[Feature],
        logits: Sequence[np.ndarray],
        task: TaskCard,
        settings: FeatureSettings,
    ) -> list[int]:
        predictions: list[int | None] = [None] * len(examples)
        for feature, scores in zip(features, logits, strict=True):
            predictions[feature["example_index"]] = int(np.argmax(scores))
        if any(p is None for p in predictions):
            raise RuntimeError("some examples got no prediction (features do not match examples)")
        return predictions  # type: ignore[return-value]

    def records(
        self,
        examples: Sequence[MultipleChoiceExample],
        predictions: Sequence[int],
        task: TaskCard,
        lang: str | None = None,
    ) -> Records:
        """`correct` (0/1) and `prediction` (the chosen answer's index) of every labelled example."""
        scored = [(ex, p) for ex, p in zip(examples, predictions, strict=True) if ex.label is not None]
        if not scored:
            raise XstiltsError(f"task {task.name}: no example has a label, so there is nothing to score")
        return {
            "id": np.array([ex.id for ex, _ in scored], dtype=object),
            "correct": correct([ex.label for ex, _ in scored], [p for _, p in scored]),
            "prediction": np.array([p for _, p in scored], dtype=np.int16),
        }

    def recipes(self, task: TaskCard) -> dict[str, RecipeData]:
        return dict(ACCURACY)


MULTIPLE_CHOICE = MultipleChoiceFormat()
