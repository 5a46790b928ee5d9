"""One-call statistics from per-example values: an arm's bootstrap interval, the paired difference of
two arms, language averages and scaling curves. Each resamples with `resample_examples` and
summarises with `summarise` or `compare`.

Scaling curves (`scaling_curve`): per x, the estimate and a pointwise band (each point resampled on
its own); not a simultaneous band over the whole curve.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from numpy.typing import ArrayLike

from xstilts.results.recipes import MEAN, Metric
from xstilts.stats.intervals import Difference, Interval, compare, summarise
from xstilts.stats.mcnemar import Alternative, check_alternative, mcnemar_if_binary
from xstilts.stats.resampling import SEED_TERM, SeedLike, check_options, child_stream, resample_examples
from xstilts.stats.seed_scores import as_seeds


def bootstrap_ci(
    values: ArrayLike,
    metric: Metric = MEAN,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: SeedLike = 0,
) -> Interval:
    """Percentile bootstrap interval of one arm's score: over examples, plus the seed term where
    there are several seeds."""
    check_options(n_resamples, confidence)
    (arm,) = resample_examples([{"": values}], metric, n_resamples, seed)
    return summarise(arm, [""], confidence, child_stream(seed, SEED_TERM))


# --- paired comparison -----------------------------------------------------------------------------


def paired_difference(
    arm_values: ArrayLike,
    baseline_values: ArrayLike,
    metric: Metric = MEAN,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: SeedLike = 0,
    alternative: Alternative = "two-sided",
    paired: bool = True,
) -> Difference:
    """Arm minus baseline with a bootstrap interval and p-value; the drawn examples are shared by the
    two arms (`paired=False` draws them independently: the unpaired interval, for comparison). For
    0/1 values under a `Mean` metric the exact McNemar test comes with it."""
    check_options(n_resamples, confidence)
    check_alternative(alternative)
    arm = as_seeds(arm_values, metric, "arm")
    baseline = as_seeds(baseline_values, metric, "baseline")
    if arm.shape[1] != baseline.shape[1]:
        raise ValueError(f"arm scores {arm.shape[1]} examples, baseline {baseline.shape[1]}: not aligned")
    resampled = resample_examples([{"": arm}, {"": baseline}], metric, n_resamples, seed, paired)
    mcnemar = mcnemar_if_binary(arm, baseline, metric, alternative)
    return compare(*resampled, [""], confidence, child_stream(seed, SEED_TERM), alternative, mcnemar)


# --- languages -------------------------------------------------------------------------------------


def language_average(
    values_by_language: Mapping[str, ArrayLike],
    baseline_by_language: Mapping[str, ArrayLike] | None = None,
    metric: Metric = MEAN,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: SeedLike = 0,
    alternative: Alternative = "two-sided",
) -> Interval | Difference:
    """The unweighted average over languages with its interval; with a baseline, the paired
    difference of the averages (examples resampled within each language, the seed term of each
    arm's average) and its bootstrap p-value. No McNemar here: it tests one set of examples."""
    check_options(n_resamples, confidence)
    check_alternative(alternative)
    languages = sorted(values_by_language)
    if baseline_by_language is None:
        (arm,) = resample_examples([values_by_language], metric, n_resamples, seed)
        return summarise(arm, languages, confidence, child_stream(seed, SEED_TERM))
    if sorted(baseline_by_language) != languages:
        raise ValueError(f"the arm has languages {languages}, the baseline {sorted(baseline_by_language)}")
    arm, baseline = resample_examples([values_by_language, baseline_by_language], metric, n_resamples, seed)
    return compare(arm, baseline, languages, confidence, child_stream(seed, SEED_TERM), alternative)


# --- scaling curves --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CurvePoint:
    """One x of a scaling curve (data volume, number of tasks, mix ratio) and its band there."""

    x: float
    interval: Interval  # a Difference when the curve is a gain over a baseline


PointValues = ArrayLike | Mapping[str, ArrayLike]


def scaling_curve(
    points: Mapping[float, PointValues] | Sequence[tuple[float, PointValues]],
    metric: Metric = MEAN,
    baseline: PointValues | None = None,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: SeedLike = 0,
) -> list[CurvePoint]:
    """The score at each x with a pointwise bootstrap band, sorted by x. A point's values are one
    evaluation (array) or {language: array} (its language average). With `baseline` (same form,
    same examples) each point is its paired difference from the baseline instead."""
    items = list(points.items()) if isinstance(points, Mapping) else list(points)
    if not items:
        raise ValueError("a scaling curve needs at least one point")
    # One independent stream per point, by position: a point's band does not depend on the others'.
    streams = [child_stream(seed, k) for k in range(len(items))]
    curve = []
    for (x, values), stream in zip(items, streams, strict=True):
        by_language = isinstance(values, Mapping)
        if baseline is not None and isinstance(baseline, Mapping) != by_language:
            raise ValueError(f"x={x}: the baseline and the point must both be per-language or both not")
        if by_language:
            interval = language_average(values, baseline, metric, n_resamples, confidence, stream)
        elif baseline is not None:
            interval = paired_difference(values, baseline, metric, n_resamples, confidence, stream)
        else:
            interval = bootstrap_ci(values, metric, n_resamples, confidence, stream)
        curve.append(CurvePoint(float(x), interval))
    return sorted(curve, key=lambda point: point.x)
