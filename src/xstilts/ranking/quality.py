"""How well a method's ranking of the intermediate arms matches the measured gains.

For one target: `predicted[arm]` (higher: the method expects more transfer) against `gains[arm]`, each
arm's measured language-average gain over the no-intermediate baseline in points.

  * Spearman's rho (scipy.stats.spearmanr, ties averaged): 1 for the measured order, about 0 for a
    random one; NaN when either side is constant.
  * NDCG@k (Jarvelin & Kekalainen 2002): discounted gain of the method's top k against the best
    possible top k, with relevance = gain - the smallest gain among the arms (relevance must not be
    negative, and a constant shift of every gain should not change the score). 1 when every arm
    gains alike (any order is then the best).
  * regret@k: points between the best arm's gain and the best gain among the method's top k: what
    training only the k arms the method puts first gives up (Poth et al. 2021 report it relative to
    the best; points read without a reference).

Arms a method scores alike (a proxy whose every run is still at 0) have no order among them: NDCG
and regret are their expected values over every order of such ties, equally likely, so that neither
the study's arm order nor a file's key order decides them.

Intervals come from joint replicates of the gains (`xstilts.stats.joint`, drawn on the report's
resamples of the test examples and seeds): each replicate is a possible set of measured gains, every
quality measure is computed on each, and the interval is their percentiles. The predictions are held
fixed: the interval says how sure the measurement is that the method ranked well, not how the method
would score on other data.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

MEASURES = ("spearman", "ndcg@3", "regret@1", "regret@3")


def _common(predicted: Mapping[str, float], gains: Mapping[str, float]) -> list[str]:
    arms = [arm for arm in predicted if arm in gains and math.isfinite(predicted[arm])]
    if len(arms) < 2:
        raise ValueError(f"need at least two arms with both a prediction and a gain, got {arms}")
    return arms


def _tied_groups(predicted: Mapping[str, float], arms: list[str]) -> list[list[str]]:
    """Arms grouped by equal score, from the method's first choice to its last."""
    groups: dict[float, list[str]] = {}
    for arm in arms:
        groups.setdefault(predicted[arm], []).append(arm)
    return [groups[score] for score in sorted(groups, reverse=True)]


def _expected_max(above: float, values: list[float], m: int) -> float:
    """E[max(above, the largest of m values drawn without replacement from `values`)]: the i-th
    smallest (1-based) is the largest drawn with probability C(i-1, m-1) / C(g, m)."""
    ordered, g = sorted(values), len(values)
    total = math.comb(g, m)
    return sum(
        math.comb(i - 1, m - 1) / total * max(above, value)
        for i, value in enumerate(ordered, start=1)
        if i >= m
    )


def spearman(predicted: Mapping[str, float], gains: Mapping[str, float]) -> float:
    arms = _common(predicted, gains)
    x, y = [predicted[a] for a in arms], [gains[a] for a in arms]
    if len(set(x)) < 2 or len(set(y)) < 2:
        return math.nan
    from scipy.stats import spearmanr  # here: the report imports this module, and scipy is slow to load

    return float(spearmanr(x, y).statistic)


def ndcg_at(k: int, predicted: Mapping[str, float], gains: Mapping[str, float]) -> float:
    arms = _common(predicted, gains)
    floor = min(gains[a] for a in arms)
    discounts = 1.0 / np.log2(np.arange(2, min(k, len(arms)) + 2))
    # Every member of a tied group is equally likely at each of the group's positions: each position
    # holds the group's mean relevance in expectation.
    chosen = np.array(
        [
            statistics.fmean(gains[a] - floor for a in group)
            for group in _tied_groups(predicted, arms)
            for _ in group
        ][: len(discounts)]
    )
    ideal = np.array(sorted((gains[a] - floor for a in arms), reverse=True)[:k])
    best = float(ideal @ discounts)
    return 1.0 if best <= 0 else float(chosen @ discounts) / best


def regret_at(k: int, predicted: Mapping[str, float], gains: Mapping[str, float]) -> float:
    arms = _common(predicted, gains)
    best_taken, room = -math.inf, k
    for group in _tied_groups(predicted, arms):
        values = [gains[a] for a in group]
        if len(group) <= room:
            best_taken, room = max(best_taken, *values), room - len(group)
            if room == 0:
                break
        else:  # the cut falls inside this group: `room` of its arms, any of them alike
            best_taken, room = _expected_max(best_taken, values, room), 0
            break
    return max(gains[a] for a in arms) - best_taken


def measures(predicted: Mapping[str, float], gains: Mapping[str, float]) -> dict[str, float]:
    return {
        "spearman": spearman(predicted, gains),
        "ndcg@3": ndcg_at(3, predicted, gains),
        "regret@1": regret_at(1, predicted, gains),
        "regret@3": regret_at(3, predicted, gains),
    }


@dataclass(frozen=True)
class Measured:
    """One quality measure: its value on the measured gains and its percentile interval over the
    gains' replicates (None where there are no replicates)."""

    estimate: float
    low: float | None = None
    high: float | None = None


def ranking_quality(
    predicted: Mapping[str, float],
    gains: Mapping[str, float],
    replicates: Mapping[str, NDArray[np.float64]] | None = None,
    confidence: float = 0.95,
) -> dict[str, Measured]:
    """Every measure of `MEASURES` on the gains, with intervals when `replicates[arm]` (one array of
    gain replicates per arm, all the same length, drawn jointly) are given."""
    found = measures(predicted, gains)
    arms = _common(predicted, gains)
    if not replicates or any(arm not in replicates for arm in arms):
        return {name: Measured(value) for name, value in found.items()}
    draws = np.stack([np.asarray(replicates[arm], dtype=np.float64) for arm in arms])  # (arms, B)
    per_draw: dict[str, list[float]] = {name: [] for name in MEASURES}
    for b in range(draws.shape[1]):
        drawn = measures(predicted, dict(zip(arms, draws[:, b], strict=True)))
        for name, value in drawn.items():
            per_draw[name].append(value)
    tail = 100 * (1 - confidence) / 2
    result = {}
    for name, value in found.items():
        values = np.array(per_draw[name])
        values = values[np.isfinite(values)]
        if values.size == 0:
            result[name] = Measured(value)
            continue
        low, high = np.percentile(values, [tail, 100 - tail])
        result[name] = Measured(value, float(low), float(high))
    return result
