"""Exact McNemar tests of two arms' 0/1 correctness on the same examples, the report's cross-check
beside the paired bootstrap (McNemar 1947: a binomial test on the discordant pairs). With several
seeds every (arm seed, baseline seed) pair is tested and the tests are combined by the
intersection-union test (Berger 1982, Technometrics 24(4)). Pooling discordant pairs over seeds would
not be a valid test: the same examples recur in every seed, so the pairs are not independent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from xstilts.results.recipes import MEAN, Mean, Metric
from xstilts.stats.seed_scores import as_seeds

Alternative = Literal["two-sided", "greater", "less"]


def check_alternative(alternative: str) -> None:
    if alternative not in ("two-sided", "greater", "less"):
        raise ValueError(f"alternative must be two-sided, greater or less, not {alternative!r}")


@dataclass(frozen=True)
class McNemarPair:
    """Exact McNemar test of one arm seed against one baseline seed on 0/1 correctness."""

    arm_seed: int  # position of the seed in the arm's values
    baseline_seed: int
    arm_only: int  # examples the arm gets right and the baseline wrong
    baseline_only: int
    p_value: float


@dataclass(frozen=True)
class McNemar:
    """Exact McNemar tests of every seed pair; `p_value` combines them by the intersection-union test
    (the largest one-sided p; two-sided, twice the smaller direction's largest)."""

    pairs: tuple[McNemarPair, ...]
    p_value: float
    alternative: Alternative


def _is_binary(array: NDArray[np.float64]) -> bool:
    return bool(np.all((array == 0) | (array == 1)))


def mcnemar_exact(
    arm_correct: ArrayLike, baseline_correct: ArrayLike, alternative: Alternative = "two-sided"
) -> McNemar:
    """Exact McNemar test on 0/1 correctness: under H0 an example the two disagree on is equally
    likely to favour either, so the arm's share of the discordant pairs is Binomial(b + c, 1/2).
    Several seeds: every (arm seed, baseline seed) pair, combined by the intersection-union test."""
    from scipy.stats import binomtest

    check_alternative(alternative)
    arm = as_seeds(arm_correct, MEAN, "arm")[..., 0]
    baseline = as_seeds(baseline_correct, MEAN, "baseline")[..., 0]
    if not (_is_binary(arm) and _is_binary(baseline)):
        raise ValueError("McNemar's test needs 0/1 correctness values")
    if arm.shape[1] != baseline.shape[1]:
        raise ValueError(f"arm scores {arm.shape[1]} examples, baseline {baseline.shape[1]}")
    pairs, greater, less = [], [], []
    for i, arm_seed in enumerate(arm):
        for j, baseline_seed in enumerate(baseline):
            arm_only = int(np.count_nonzero((arm_seed == 1) & (baseline_seed == 0)))
            baseline_only = int(np.count_nonzero((arm_seed == 0) & (baseline_seed == 1)))
            discordant = arm_only + baseline_only

            def test(side: str, k: int = arm_only, n: int = discordant) -> float:
                # No discordant pair: the data cannot tell the two apart at all.
                return float(binomtest(k, n, 0.5, alternative=side).pvalue) if n else 1.0

            greater.append(test("greater"))
            less.append(test("less"))
            pairs.append(McNemarPair(i, j, arm_only, baseline_only, test(alternative)))
    # Intersection-union (Berger 1982): "the arm is better whichever seeds are compared" is rejected
    # at the largest one-sided p. Two-sided, the direction must be the same for every pair: twice the
    # smaller of the two directions' largest p (a pair better and a pair worse reject nothing).
    if alternative == "greater":
        combined = max(greater)
    elif alternative == "less":
        combined = max(less)
    else:
        combined = min(1.0, 2 * min(max(greater), max(less)))
    return McNemar(tuple(pairs), combined, alternative)


def mcnemar_if_binary(
    arm_values: ArrayLike, baseline_values: ArrayLike, metric: Metric, alternative: Alternative = "two-sided"
) -> McNemar | None:
    """McNemar's test where it applies: 0/1 values scored by a `Mean` (correctness), else None."""
    if not isinstance(metric, Mean):
        return None
    arm, baseline = as_seeds(arm_values, metric, "arm"), as_seeds(baseline_values, metric, "baseline")
    if not (_is_binary(arm) and _is_binary(baseline)):
        return None
    return mcnemar_exact(arm[..., 0], baseline[..., 0], alternative)
