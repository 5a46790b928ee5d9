"""Which examples of a task a phase uses: task, split, languages, and a deterministic subset.

Subsets come from one seeded permutation per (language, size of the file), so they are nested
(the first 500 of the permutation are inside the first 1,000) and aligned across languages
whose files are translations of each other row by row (XNLI, PAWS-X, XCOPA): the same seed
picks the same rows in every language.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


class DataSelection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    task: str
    split: str = "train"
    # None: every language the split has.
    languages: list[str] | None = None
    # Examples per language after skipping `offset` (None: all that remain).
    size: int | None = Field(None, ge=1)
    offset: int = Field(0, ge=0)
    seed: int = 0


def subset_indices(n: int, size: int | None, offset: int = 0, seed: int = 0) -> list[int]:
    """Indices of a nested, deterministic subset, in file order. No subsetting: all of them."""
    if size is None and offset == 0:
        return list(range(n))
    order = np.random.default_rng(seed).permutation(n)
    stop = n if size is None else min(n, offset + size)
    return sorted(order[offset:stop].tolist())


def take(items: Sequence, indices: Sequence[int]) -> list:
    return [items[i] for i in indices]
