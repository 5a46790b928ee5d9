"""`overlap`: how much an intermediate task's data shares with the target's, without any model.

Two components, each in [0, 1], reported separately and combined by their mean:

  * vocabulary: the weighted Jaccard similarity of the two data sets' token frequency distributions
    under the study's tokenizer, sum_t min(p_t, q_t) / sum_t max(p_t, q_t) (Ioffe 2010's weighted
    Jaccard on relative frequencies): 1 for the same distribution, 0 for disjoint vocabularies;
  * languages: the share of the target's evaluation languages that the intermediate data contains
    (zero-shot transfer is to those languages; data in them can only help if it is there).

The mean is a plain, inspectable rule, not a fitted one: `rank` prints both components beside it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Overlap:
    vocabulary: float
    languages: float

    @property
    def score(self) -> float:
        return (self.vocabulary + self.languages) / 2


def token_counts(rows: Iterable[Sequence[int]], special: Iterable[int] = ()) -> Counter[int]:
    """How often each token id occurs over the rows, special tokens (CLS, SEP, padding) left out."""
    skip = set(special)
    counts: Counter[int] = Counter()
    for row in rows:
        counts.update(token for token in row if token not in skip)
    return counts


def weighted_jaccard(first: Mapping[int, float], second: Mapping[int, float]) -> float:
    """Weighted Jaccard similarity of two frequency tables, each normalised to sum to 1 first (so a
    data set's size does not count, only its distribution). 0 when either is empty."""
    total_first, total_second = sum(first.values()), sum(second.values())
    if total_first <= 0 or total_second <= 0:
        return 0.0
    low = high = 0.0
    for token in set(first) | set(second):
        p, q = first.get(token, 0) / total_first, second.get(token, 0) / total_second
        low += min(p, q)
        high += max(p, q)
    return low / high


def language_share(intermediate: Iterable[str], target_languages: Sequence[str]) -> float:
    """The share of the target's evaluation languages present in the intermediate data."""
    if not target_languages:
        return 0.0
    present = set(intermediate)
    return sum(lang in present for lang in target_languages) / len(target_languages)


def overlap(
    intermediate_counts: Mapping[int, float],
    target_counts: Mapping[int, float],
    intermediate_languages: Iterable[str],
    target_languages: Sequence[str],
) -> Overlap:
    return Overlap(
        weighted_jaccard(intermediate_counts, target_counts),
        language_share(intermediate_languages, target_languages),
    )
