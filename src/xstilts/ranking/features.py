"""Encoder features for the ranking methods: mean-pooled sentence embeddings (`semb`) and the
feature rows and label columns LogME scores (`logme`). Imports torch: only `rank` loads it.

Rows come from the format's own batches (`collate`), read by what they hold, never by format name:

  * `start_positions` / `end_positions` (span QA): every real token of every window is a row, with two
    binary columns, "the answer starts here" and "it ends here": the decision the QA head makes, as a
    classification over tokens (a window without the answer points at its first token, as there);
  * `labels` per token (tagging): each labelled token (a word's first piece) is a row, its tag the class;
  * `labels` per row of a 3-d `input_ids` (multiple choice): each choice is a row (its mean-pooled
    embedding), one binary column "the right choice";
  * `labels` per row (classification): the mean-pooled embedding is the row, the label the class.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from xstilts.errors import ConfigError
from xstilts.formats.base import Feature

NO_LABEL = -100  # what every format marks an unlabelled position or example with


def sample(features: Sequence[Feature], examples: int | None, seed: int = 0) -> list[Feature]:
    """The features of `examples` examples chosen with a seeded permutation (all: None or fewer)."""
    chosen_ids = sorted({f["example_index"] for f in features})
    if examples is None or len(chosen_ids) <= examples:
        return list(features)
    order = np.random.default_rng(seed).permutation(len(chosen_ids))[:examples]
    keep = {chosen_ids[i] for i in order}
    return [f for f in features if f["example_index"] in keep]


def _batches(
    encoder: Any, fmt: Any, features: Sequence[Feature], pad_id: int, device: Any, batch_size: int
) -> Iterator[tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]]:
    """Each collated batch with its last hidden states and mask, (rows, tokens, width) and (rows, tokens):
    a multiple-choice batch's choices are rows of their own."""
    encoder.eval()
    with torch.no_grad():
        for start in range(0, len(features), batch_size):
            batch = fmt.collate(features[start : start + batch_size], pad_id)
            ids, mask = batch["input_ids"], batch["attention_mask"]
            flat_ids, flat_mask = ids.reshape(-1, ids.shape[-1]), mask.reshape(-1, mask.shape[-1])
            hidden = encoder(input_ids=flat_ids.to(device), attention_mask=flat_mask.to(device))
            yield batch, hidden.last_hidden_state.float().cpu(), flat_mask


def _mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.unsqueeze(-1).float()
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)


def sentence_embeddings(
    encoder: Any, fmt: Any, features: Sequence[Feature], pad_id: int, device: Any, batch_size: int = 32
) -> NDArray[np.float64]:
    """Mean-pooled last hidden state of every row (every choice of a multiple-choice example)."""
    parts = [
        _mean_pool(h, m).numpy() for _, h, m in _batches(encoder, fmt, features, pad_id, device, batch_size)
    ]
    return np.concatenate(parts).astype(np.float64)


def logme_rows(
    encoder: Any,
    fmt: Any,
    features: Sequence[Feature],
    pad_id: int,
    device: Any,
    max_rows: int,
    seed: int = 0,
    batch_size: int = 32,
) -> tuple[NDArray[np.float64], NDArray[Any]]:
    """Feature rows and their targets for LogME: (rows, width) and class ids (rows,) or binary
    columns (rows, k), at most `max_rows` of them (a seeded subset of the rows)."""
    rows: list[NDArray[np.float64]] = []
    targets: list[NDArray[Any]] = []
    for batch, hidden, mask in _batches(encoder, fmt, features, pad_id, device, batch_size):
        if "start_positions" in batch:
            real = mask.bool()
            positions = torch.arange(mask.shape[1]).expand_as(mask)
            starts = positions == batch["start_positions"][:, None]
            ends = positions == batch["end_positions"][:, None]
            rows.append(hidden[real].numpy())
            targets.append(torch.stack([starts[real], ends[real]], dim=1).numpy().astype(np.float64))
        elif "labels" in batch and batch["labels"].dim() == 2:
            labelled = batch["labels"] != NO_LABEL
            rows.append(hidden[labelled].numpy())
            targets.append(batch["labels"][labelled].numpy())
        elif "labels" in batch and batch["input_ids"].dim() == 3:
            labels, choices = batch["labels"], batch["input_ids"].shape[1]
            pooled = _mean_pool(hidden, mask).reshape(len(labels), choices, -1)
            keep = labels != NO_LABEL
            right = torch.arange(choices)[None, :] == labels[:, None]
            rows.append(pooled[keep].reshape(-1, pooled.shape[-1]).numpy())
            targets.append(right[keep].reshape(-1, 1).numpy().astype(np.float64))
        elif "labels" in batch:
            keep = batch["labels"] != NO_LABEL
            rows.append(_mean_pool(hidden, mask)[keep].numpy())
            targets.append(batch["labels"][keep].numpy())
        else:
            raise ConfigError("logme", f"{fmt.name}: its batches hold no labels LogME can score")
    features_matrix = np.concatenate(rows).astype(np.float64)
    target_array = np.concatenate(targets)
    if features_matrix.shape[0] > max_rows:
        keep_rows = np.sort(np.random.default_rng(seed).permutation(features_matrix.shape[0])[:max_rows])
        features_matrix, target_array = features_matrix[keep_rows], target_array[keep_rows]
    return features_matrix, target_array
