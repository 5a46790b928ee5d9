"""The contract every task format implements.

A format owns the whole life of its examples: featurising them with a tokenizer, the head that
sits on the shared encoder, turning logits back into predictions, and scoring those
predictions. Nothing outside a format module branches on the kind of task.

Every format (`Format`) scores the same way: it turns what it predicted into per-example records
(columns, one value per scored example: `xstilts.results.recipes.Records`) and each of its metrics
is a recipe over those records (`recipes`), the one computation of that metric that the results
store and the report's statistics use too. A format that trains a head (`TaskFormat`) gets its
records from decoded predictions; retrieval gets them from ranking embeddings.

Data flow for one task of a `TaskFormat`:
    examples --featurize--> features (plain dicts of lists, cacheable)
    features --collate--> batch (tensors, padded to the longest row of the batch)
    encoder(batch) -> hidden states --head--> logits --loss--> scalar   (training)
    logits --unbatch--> per-feature arrays --decode--> per-example predictions
    predictions --records--> per-example records --recipes--> metrics   (`score`)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import nn

from xstilts.config.features import FeatureSettings
from xstilts.results.recipes import RecipeData, Records, scores

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from xstilts.config.cards import TaskCard

Feature = dict[str, Any]
Batch = dict[str, torch.Tensor]


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


class Format(ABC):
    """What every format is: a name, whether it trains a head, and how its metrics are computed from
    its per-example records. Subclasses are stateless singletons."""

    name: ClassVar[str]
    trainable: ClassVar[bool]

    @abstractmethod
    def recipes(self, task: TaskCard) -> dict[str, RecipeData]:
        """The metrics of the task card's metric family, primary first (early stopping and tables use
        it), each as the recipe that computes it from this format's records (stored beside them)."""

    def scores(self, records: Records, task: TaskCard) -> dict[str, float]:
        """Every metric of `recipes(task)` over the records: percentages (0-100) but perplexity."""
        return scores(records, self.recipes(task))


class TaskFormat(Format):
    """A format that trains a head on the shared encoder (every format but retrieval)."""

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
    def records(
        self, examples: Sequence[Any], predictions: Sequence[Any], task: TaskCard, lang: str | None = None
    ) -> Records:
        """One row per example that is scored (unlabelled ones are left out), in example order: `id`
        (the example's id), the per-example values its recipes sum, and the prediction where it is
        compact (`prediction`). `lang` is the data's language, for language-aware metrics (MLQA).
        Statistics over examples (bootstrap intervals, paired tests between arms aligned by id)
        resample these rows. Raises where nothing can be scored (no labelled example)."""

    def score(
        self, examples: Sequence[Any], predictions: Sequence[Any], task: TaskCard, lang: str | None = None
    ) -> dict[str, float]:
        """The metrics of the predictions: their records' recipes (see `Format.scores`)."""
        return self.scores(self.records(examples, predictions, task, lang), task)
