"""Batches grouped by length, padded per batch.

Sorting everything by length would make every batch homogeneous (and training order
non-random); grouping inside shuffled windows of `window` batches keeps most of the padding
savings while every epoch still sees a fresh random order (the same idea as the Hugging Face
`LengthGroupedSampler`; reimplemented because ours must also serve evaluation and expose its
random state for resuming).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np


def length_grouped_batches(
    lengths: Sequence[int], batch_size: int, rng: np.random.Generator, window: int = 50
) -> list[list[int]]:
    """One epoch of batches (lists of indices), longest-first inside each window, batches shuffled."""
    order = rng.permutation(len(lengths))
    batches: list[list[int]] = []
    span = batch_size * window
    for start in range(0, len(order), span):
        chunk = sorted(order[start : start + span].tolist(), key=lambda i: -lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)  # type: ignore[arg-type]
    return batches


def sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Deterministic batches of similar length for inference (order restored by the caller)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


class EpochBatches:
    """An endless stream of length-grouped batches over one task's features, epoch after epoch."""

    def __init__(
        self, lengths: Sequence[int], batch_size: int, seed: int, group_by_length: bool = True
    ) -> None:
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.group_by_length = group_by_length
        self.rng = np.random.default_rng(seed)
        self.epoch = 0
        self._pending: list[list[int]] = []

    @property
    def batches_per_epoch(self) -> int:
        return -(-len(self.lengths) // self.batch_size)

    def _new_epoch(self) -> list[list[int]]:
        self.epoch += 1
        if self.group_by_length:
            return length_grouped_batches(self.lengths, self.batch_size, self.rng)
        order = self.rng.permutation(len(self.lengths)).tolist()
        return [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]

    def state_dict(self) -> dict:
        return {"rng": self.rng.bit_generator.state, "epoch": self.epoch, "pending": self._pending}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.epoch = state["epoch"]
        self._pending = [list(batch) for batch in state["pending"]]

    def __iter__(self) -> Iterator[list[int]]:
        return self

    def __next__(self) -> list[int]:
        if not self._pending:
            self._pending = self._new_epoch()[::-1]  # pop() from the end keeps epoch order
        return self._pending.pop()
