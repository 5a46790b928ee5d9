"""Which examples of a task a phase uses: task, split, languages, and a deterministic subset.

Subsets come from one seeded permutation per (language, size of the file), so they are nested
(the first 500 of the permutation are inside the first 1,000) and aligned across languages
whose files are translations of each other row by row (XNLI, PAWS-X, XCOPA): the same seed
picks the same rows in every language.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from xstilts.config.cards import BenchmarkName

# A list of languages (never empty: an empty list is more likely a mistake than "all of them",
# which is what leaving `languages` out means), or a benchmark's name.
Languages = Annotated[list[str], Field(min_length=1)] | BenchmarkName


class DataSelection(BaseModel):
    """Examples of one task and split: which languages, and how many of each.

    How many, per language: all (default, or `size: all`), `size` examples, a `fraction` of them,
    or a language mixture, either `sizes` per language (a count or `all`) or `mix` ratios of a
    `size` in total (e.g. English-only vs half English half Spanish at the same volume).

    A count larger than the data is refused when the study is planned (`xstilts.plan.counts`),
    not quietly cut to what there is: `all` says "everything there is" on purpose. `all` is read
    as leaving the count out, so it names the same runs.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    task: str
    split: str = "train"
    # None: every language the split has (or the languages of `sizes` / `mix`). A benchmark's name
    # (`xtreme`, `xtreme-r`): the languages it scores, from the card (replaced when a study loads).
    languages: Languages | None = None
    # Examples per language after skipping `offset` (None: all that remain); with `mix`, in total.
    size: int | None = Field(None, ge=1)
    offset: int = Field(0, ge=0)
    seed: int = 0
    fraction: float | None = Field(None, gt=0, le=1)
    sizes: dict[str, int | None] | None = None  # None for a language: all of it (`all` in the file)
    mix: dict[str, float] | None = None

    @field_validator("size", mode="before")
    @classmethod
    def _size_all(cls, value: object) -> object:
        return count_or_all(value, "size")

    @field_validator("sizes", mode="before")
    @classmethod
    def _sizes_all(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        return {lang: count_or_all(n, f"the count of {lang}") for lang, n in value.items()}

    @model_validator(mode="after")
    def _one_way_to_size(self) -> DataSelection:
        given = [k for k in ("fraction", "sizes", "mix") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give at most one of fraction, sizes, mix (got {', '.join(given)})")
        if self.fraction is not None and self.size is not None:
            raise ValueError("give size or fraction, not both")
        if self.sizes is not None:
            if self.size is not None:
                raise ValueError("with `sizes` (per language) leave out `size`")
            if any(n is not None and n < 1 for n in self.sizes.values()):
                raise ValueError("every count in `sizes` must be at least 1")
        if self.mix is not None:
            if self.size is None:
                raise ValueError("`mix` gives ratios of `size` examples in total: give `size` as a number")
            if any(r < 0 for r in self.mix.values()) or sum(self.mix.values()) <= 0:
                raise ValueError("`mix` ratios must be non-negative and not all zero")
        if (self.sizes or self.mix) and self.languages is not None:
            raise ValueError("the languages are the keys of `sizes` / `mix`: leave out `languages`")
        return self

    def chosen_languages(self) -> list[str] | None:
        """The languages named by this selection (None: every language of the split)."""
        if self.sizes is not None:
            return list(self.sizes)
        if self.mix is not None:
            return [lang for lang, ratio in self.mix.items() if ratio > 0]
        return self.languages

    def size_for(self, lang: str, available: int | None) -> int | None:
        """How many examples of `lang` to take (None: all); `available` counts the file's examples."""
        if self.sizes is not None:
            return self.sizes[lang]
        if self.mix is not None:
            return mix_counts(self.mix, self.size or 0)[lang]
        if self.fraction is not None:
            if available is None:
                return None
            return max(1, round(self.fraction * max(0, available - self.offset)))
        return self.size

    def identity(self) -> dict:
        """What determines the selected examples. The sizing options added after the first
        release are left out when unset, so runs that do not use them keep their ids."""
        dump = self.model_dump()
        for key in ("fraction", "sizes", "mix"):
            if dump[key] is None:
                del dump[key]
        return dump


def count_or_all(value: object, what: str) -> object:
    """`all` (everything there is) as None, which is what leaving the count out means; any other
    word is refused here, with what a count may be."""
    if isinstance(value, str):
        if value.strip().lower() == "all":
            return None
        raise ValueError(f"{what} must be a number of examples or `all`, got {value!r}")
    return value


def mix_counts(mix: dict[str, float], total: int) -> dict[str, int]:
    """Split `total` by the ratios, rounding so the counts add up exactly (largest remainder)."""
    weight = sum(mix.values())
    exact = {lang: total * ratio / weight for lang, ratio in mix.items()}
    counts = {lang: int(value) for lang, value in exact.items()}
    by_remainder = sorted(exact, key=lambda lang: (-(exact[lang] - counts[lang]), lang))
    for lang in by_remainder[: total - sum(counts.values())]:
        counts[lang] += 1
    return counts


def subset_indices(n: int, size: int | None, offset: int = 0, seed: int = 0) -> list[int]:
    """Indices of a nested, deterministic subset, in file order. No subsetting: all of them."""
    if size is None and offset == 0:
        return list(range(n))
    order = np.random.default_rng(seed).permutation(n)
    stop = n if size is None else min(n, offset + size)
    return sorted(order[offset:stop].tolist())


def take(items: Sequence, indices: Sequence[int]) -> list:
    return [items[i] for i in indices]
