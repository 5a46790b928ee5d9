"""Robustness summaries of an arm's scores: standard deviation over seeds, worst and best language,
spread across languages."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Robustness:
    """How steady an arm is over seeds and languages. Standard deviations are sample ones (n - 1),
    None where there is only one seed or one language."""

    language_means: dict[str, float]  # mean over seeds, per language
    seed_std: dict[str, float | None]  # std over seeds, per language
    average: float  # mean over languages of the language means
    average_seed_std: float | None  # std over seeds of each seed's language average
    worst_language: str
    worst: float
    best_language: str
    best: float
    spread: float  # best - worst
    language_std: float | None  # std of the language means across languages


def robustness(scores_by_language: Mapping[str, Sequence[float] | float]) -> Robustness:
    """Robustness summaries of per-language, per-seed scores (`seed_scores` gives a language's list;
    position k is the same seed in every language)."""
    if not scores_by_language:
        raise ValueError("no languages to summarise")
    per_language: dict[str, list[float]] = {}
    for lang, scores in scores_by_language.items():
        listed = [float(scores)] if isinstance(scores, int | float) else [float(s) for s in scores]
        if not listed or not all(math.isfinite(s) for s in listed):
            raise ValueError(f"{lang}: scores must be a non-empty list of finite numbers")
        per_language[lang] = listed
    seed_counts = {len(s) for s in per_language.values()}
    if len(seed_counts) > 1:
        raise ValueError(f"every language needs the same seeds (seed counts {sorted(seed_counts)})")
    (n_seeds,) = seed_counts
    means = {lang: statistics.fmean(s) for lang, s in per_language.items()}
    seed_averages = [statistics.fmean(s[k] for s in per_language.values()) for k in range(n_seeds)]
    # Ties go to the alphabetically first language, so the report does not depend on dict order.
    worst_language = min(means, key=lambda lang: (means[lang], lang))
    best_language = min(means, key=lambda lang: (-means[lang], lang))
    return Robustness(
        language_means=means,
        seed_std={lang: statistics.stdev(s) if n_seeds > 1 else None for lang, s in per_language.items()},
        average=statistics.fmean(means.values()),
        average_seed_std=statistics.stdev(seed_averages) if n_seeds > 1 else None,
        worst_language=worst_language,
        worst=means[worst_language],
        best_language=best_language,
        best=means[best_language],
        spread=means[best_language] - means[worst_language],
        language_std=statistics.stdev(means.values()) if len(means) > 1 else None,
    )
