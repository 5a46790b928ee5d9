"""The contract every task format implements.

A format owns the whole life of its examples: featurising them with a tokenizer, the head that
sits on the shared encoder, turning logits back into predictions, and scoring those
predictions. Nothing outside a format module branches on the kind of task.

Data flow for one task:
    examples --featurize--> features (plain dicts of lists, cacheable)
    features --collate--> batch (tensors, padded to the longest row of the batch)
    encoder(batch) -> hidden states --head--> logits --loss--> scalar   (training)
    logits --unbatch--> per-feature arrays --decode--> per-example predictions --score--> metrics
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import nn

from xstilts.config.features import FeatureSettings

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from xstilts.config.cards import TaskCard

Feature = dict[str, Any]
Batch = dict[str, torch.Tensor]
# Per-example scores: column name -> one value per scored example (see `TaskFormat.example_scores`).
ExampleColumns = dict[str, np.ndarray]
# How one metric of `score` is recomputed from summed example columns, as plain data (it is stored
# beside the columns, so a report needs no format code): ("mean", c) = 100 * sum(c) / rows;
# ("ratio", n, d) = 100 * sum(n) / sum(d); ("f1", tp, predicted, gold) = 100 * 2 sum(tp) /
# (sum(predicted) + sum(gold)); ("perplexity", log_prob, count) = exp(-sum(log_prob) / sum(count)).
# A ratio or F1 of zero counts is 0 (the metric helpers' zero_division); a mean of no rows and a
# perplexity of no tokens are NaN (`score` refuses to score those at all).
# xstilts.pipeline.store.metrics_from_examples evaluates them (over any resample of the rows).
ExampleMetric = tuple[str, ...]


def pad_rows(rows: Sequence[Sequence[int]], pad_value: int) -> torch.Tensor:
    """Pad variable-length rows to the longest one in this batch (never to a global maximum)."""
    width = max(len(r) for r in rows)
    out = torch.full((len(rows), width), pad_value, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.as_tensor(row, dtype=torch.long)
    return out


def encoder_inputs(rows: Sequence[Sequence[int]], pad_id: int) -> Batch:
    input_ids = pad_rows(rows, pad_id)
    attention_mask = pad_rows([[1] * len(r) for r in rows], 0)
    return {"input_ids": input_ids, "attention_mask": attention_mask}


class TaskFormat(ABC):
    """Base class of the formats that train a head (retrieval trains nothing and is not one).

    Subclasses are stateless singletons.
    """

    name: ClassVar[str]
    trainable: ClassVar[bool] = True

    @abstractmethod
    def featurize(
        self,
        examples: Sequence[Any],
        tokenizer: PreTrainedTokenizerBase,
        task: TaskCard,
        settings: FeatureSettings,
    ) -> list[Feature]:
        """Tokenise examples. Every feature has `input_ids` (list[int], or list of lists for
        multiple choice) and `example_index` (position of its example in `examples`)."""

    def length(self, feature: Feature) -> int:
        """Tokens in a feature, used to group batches by length."""
        return len(feature["input_ids"])

    @abstractmethod
    def collate(self, features: Sequence[Feature], pad_id: int) -> Batch:
        """Stack features into tensors: `input_ids`, `attention_mask` (rows fed to the encoder)
        plus whatever the head and loss need."""

    @abstractmethod
    def build_head(self, task: TaskCard, hidden_size: int) -> nn.Module:
        """A fresh head. `head(hidden_states, batch)` returns logits."""

    @abstractmethod
    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor: ...

    def unbatch(self, logits: torch.Tensor, batch: Batch) -> list[np.ndarray]:
        """Split a batch's logits into one float32 array per feature (trim padding here)."""
        return list(logits.detach().float().cpu().numpy())

    @abstractmethod
    def decode(
        self,
        examples: Sequence[Any],
        features: Sequence[Feature],
        logits: Sequence[np.ndarray],
        task: TaskCard,
        settings: FeatureSettings,
    ) -> list[Any]:
        """One prediction per example, in the label space of the data (strings, indices, spans)."""

    @abstractmethod
    def score(
        self, examples: Sequence[Any], predictions: Sequence[Any], task: TaskCard, lang: str | None = None
    ) -> dict[str, float]:
        """Metrics of the task card's metric family, as percentages (0-100), primary metric first
        (early stopping uses it). `lang` is the data's language, for language-aware metrics (MLQA)."""

    @abstractmethod
    def example_scores(
        self, examples: Sequence[Any], predictions: Sequence[Any], task: TaskCard, lang: str | None = None
    ) -> ExampleColumns:
        """One row per example that `score` scores (unlabelled ones are left out, as there), in
        example order: `id` (the example's id), the per-example values of its metrics, and the
        prediction where it is compact (`prediction`). Statistics over examples (bootstrap
        intervals, paired tests between arms aligned by id) resample these rows, so they are
        computed with the same metric helpers as `score`, and `example_metrics(task)` applied to
        all rows gives back `score`'s numbers."""

    @abstractmethod
    def example_metrics(self, task: TaskCard) -> dict[str, ExampleMetric]:
        """How each metric of `score` (same names) is recomputed from `example_scores` columns."""
