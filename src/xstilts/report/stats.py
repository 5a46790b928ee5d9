"""Statistics for comparing arms: bootstrap confidence intervals, paired significance tests, language
averages, robustness summaries and scaling-curve bands. Pure numpy/scipy on per-example scores.

Data
----
An evaluation of one (arm, seed, task, language) is an array of per-example values, aligned by
example id across arms and seeds (row i is the same test example everywhere). Two kinds of metric:

  * `Mean`: the score is the mean of per-example values (0/1 correctness for accuracy, per-example
    token F1 for QA). `PERCENT` turns 0/1 correctness into a percentage.
  * `CountF1`: a corpus-level score recomputed from summed counts. Each example carries
    (true positives, predicted, gold) and F1 = 2 * sum(tp) / (sum(pred) + sum(gold)), the micro F1
    seqeval computes for NER and the BUCC F1 (a mean of per-sentence F1s would be another metric).

Both reduce to sums over examples followed by a function of the sums (`Metric.from_sums`), so a
bootstrap replicate is a weighted sum: a resample's index matrix (rows = replicates, drawn with a
seeded `numpy.random.Generator`) becomes a matrix of counts W (how often each example is drawn),
and every replicate's sums are one matrix product W @ values. There is no Python loop over
replicates, only over blocks of them, which bounds memory at a few tens of MB whatever the test set.

Values are given as (n_examples,) [or (n_examples, 3) for counts] for one seed, or
(n_seeds, n_examples) [(n_seeds, n_examples, 3)] for several. With several seeds the score of an
arm is the mean over seeds of each seed's score (as `xstilts results` averages seeds).

Resampling scheme
-----------------
One seed: the nonparametric bootstrap over examples, percentile interval (Efron & Tibshirani 1993,
*An Introduction to the Bootstrap*, ch. 6 and 13).

Several seeds: a two-level bootstrap that resamples seeds and examples. Each replicate draws
n_seeds seed indices with replacement and n_examples example indices with replacement, and scores
every drawn seed on the *same* drawn examples. Seeds and examples are crossed, not nested: every
seed's model is evaluated on the one test set, so a new test set would be shared by all seeds.
Drawing a fresh set of examples per seed would treat the seeds' test sets as independent and
average the example-level noise away (the interval would shrink with the number of seeds although
the test set does not grow). Resampling rows and columns of a crossed array independently is Owen's
"pigeonhole" bootstrap (Owen 2007, Ann. Appl. Stat. 1(2)); no bootstrap of a crossed design is
exactly unbiased (McCullagh 2000, Bernoulli 6(2)) and this one errs on the wide side. With few
seeds the seed level is coarse (three seeds give ten distinct multisets) and, like every
bootstrap, underestimates the seed variance by a factor (n_seeds - 1) / n_seeds.

Paired comparison (`paired_difference`): arm and baseline are scored on the same drawn examples in
every replicate (Koehn 2004, "Statistical significance tests for machine translation evaluation";
Dror et al. 2018, "The Hitchhiker's Guide to Testing Statistical Significance in NLP"), so what the
two arms share (hard examples are hard for both) cancels from the difference. Seeds are resampled
independently for each arm: an arm's seed 1 and the baseline's seed 1 start target training from
different encoders, so there is nothing to pair them on (and arms may have different seed counts).
The p-value is the paired bootstrap test with the replicate distribution shifted to the null
(Berg-Kirkpatrick et al. 2012, "An empirical investigation of statistical significance in NLP";
Efron & Tibshirani 1993 ch. 16): with d the observed difference and d* the replicates,
two-sided p = (1 + #{|d* - d| >= |d|}) / (1 + B), one-sided "greater" counts d* - d >= d, the "+1"
keeps a Monte Carlo p-value valid (Davison & Hinkley 1997, *Bootstrap Methods and their
Application*, sec. 4.2). For 0/1 correctness the exact McNemar test (McNemar 1947; a binomial
test on the discordant pairs) is reported beside it as a cross-check. With several seeds McNemar
is run for every (arm seed, baseline seed) pair and the combined p-value is the largest: the
intersection-union test (Berger 1982, Technometrics 24(4)), valid at its level without correction
for "the arm differs from the baseline whichever seeds are compared". Pooling discordant pairs over
seeds would not be a valid test: the same examples recur in every seed, so the pairs are not
independent.

Language averages (`language_average`): the score is the unweighted mean over languages (XTREME's
rule). Each language's examples are resampled independently (its test set is a separate sample),
the drawn seeds are shared by all languages in a replicate (a seed is one model evaluated in every
language), and each replicate's languages are averaged.

Scaling curves (`scaling_curve`): per x, the estimate and a pointwise band (each point resampled on
its own); not a simultaneous band over the whole curve.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

Alternative = Literal["two-sided", "greater", "less"]
SeedLike = int | np.random.SeedSequence
# Entries of one block of replicates x examples: its index and count matrices take about 50 MB,
# whatever the test set's size. Results do not depend on it (each stream is drawn in order).
_BLOCK_ENTRIES = 2_000_000


# --- metrics ---------------------------------------------------------------------------------------


class Metric(Protocol):
    """A score computable from per-example sums: `width` values per example, summed, then
    `from_sums`."""

    @property
    def width(self) -> int:
        """Values per example."""
        ...

    def from_sums(self, sums: NDArray[np.float64], n: int) -> NDArray[np.float64]:
        """Scores from sums over n examples; `sums` has shape (..., width), the result (...)."""
        ...

    def check(self, values: NDArray[np.float64]) -> None:
        """Raise ValueError for values this metric cannot score (shape (..., n, width))."""
        ...


@dataclass(frozen=True)
class Mean:
    """Mean of per-example values, times `scale` (the values' own unit by default)."""

    scale: float = 1.0
    width: ClassVar[int] = 1

    def from_sums(self, sums: NDArray[np.float64], n: int) -> NDArray[np.float64]:
        return sums[..., 0] * (self.scale / n)

    def check(self, values: NDArray[np.float64]) -> None:
        if not np.all(np.isfinite(values)):
            raise ValueError("per-example values must be finite (no NaN or infinity)")


@dataclass(frozen=True)
class CountF1:
    """F1 from summed (true positives, predicted, gold) counts, times `scale` (percent by default,
    as every metric in `xstilts.metrics`). Nothing predicted and nothing gold scores 0, as seqeval's
    `zero_division=0`."""

    scale: float = 100.0
    width: ClassVar[int] = 3

    def from_sums(self, sums: NDArray[np.float64], n: int) -> NDArray[np.float64]:
        true_positives = sums[..., 0]
        denominator = sums[..., 1] + sums[..., 2]
        f1 = np.divide(
            2.0 * true_positives,
            denominator,
            out=np.zeros_like(denominator, dtype=np.float64),
            where=denominator > 0,
        )
        return f1 * self.scale

    def check(self, values: NDArray[np.float64]) -> None:
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ValueError("counts must be finite and non-negative")
        tp, predicted, gold = values[..., 0], values[..., 1], values[..., 2]
        if np.any(tp > predicted) or np.any(tp > gold):
            raise ValueError("an example has more true positives than predicted or gold items")


MEAN = Mean()
PERCENT = Mean(scale=100.0)
F1_FROM_COUNTS = CountF1()


def _as_seeds(values: ArrayLike, metric: Metric, what: str = "values") -> NDArray[np.float64]:
    """Values as (n_seeds, n_examples, width)."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except ValueError as error:  # ragged: seeds with different numbers of examples
        raise ValueError(f"{what}: every seed must score the same examples ({error})") from None
    if metric.width == 1 and array.ndim >= 1:
        array = array[..., None]  # a Mean's scalar per example is a width-1 row of sums
    if array.ndim == 2:
        array = array[None]  # one seed
    if array.ndim != 3 or array.shape[-1] != metric.width:
        shapes = "(n_examples,) or (n_seeds, n_examples)"
        if metric.width != 1:
            shapes = f"(n_examples, {metric.width}) or (n_seeds, n_examples, {metric.width})"
        raise ValueError(f"{what}: shape {np.shape(values)}, expected {shapes}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{what}: no seeds or no examples")
    metric.check(array)
    return array


def _seed_scores(array: NDArray[np.float64], metric: Metric) -> NDArray[np.float64]:
    return metric.from_sums(array.sum(axis=1), array.shape[1])


def seed_scores(values: ArrayLike, metric: Metric = MEAN) -> list[float]:
    """Each seed's score on all its examples."""
    return [float(s) for s in _seed_scores(_as_seeds(values, metric), metric)]


def point_estimate(values: ArrayLike, metric: Metric = MEAN) -> float:
    """The score: the mean over seeds of each seed's score."""
    return float(np.mean(seed_scores(values, metric)))


# --- results ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """A point estimate with a percentile bootstrap interval. `std_error` is the standard deviation
    of the replicates."""

    estimate: float
    low: float
    high: float
    std_error: float
    confidence: float
    n_resamples: int

    @property
    def width(self) -> float:
        return self.high - self.low


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
    """Exact McNemar tests of every seed pair; `p_value` is their largest (intersection-union test)."""

    pairs: tuple[McNemarPair, ...]
    p_value: float
    alternative: Alternative


@dataclass(frozen=True)
class Difference(Interval):
    """Arm minus baseline: the interval of the difference, both scores and the paired tests."""

    arm: float
    baseline: float
    p_value: float  # paired bootstrap test, null-shifted
    alternative: Alternative
    mcnemar: McNemar | None  # only for 0/1 values scored by a Mean


# --- the bootstrap ---------------------------------------------------------------------------------


def _check_options(n_resamples: int, confidence: float) -> None:
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, not {n_resamples}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")


def _count_matrix(rng: np.random.Generator, rows: int, n: int) -> NDArray[np.float64]:
    """`rows` bootstrap resamples of n examples as counts: W[r, i] = times example i is drawn."""
    indices = rng.integers(0, n, size=(rows, n))
    flat = (np.arange(rows)[:, None] * n + indices).ravel()
    return np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(np.float64)


def _replicates(
    arms: Sequence[Mapping[str, NDArray[np.float64]]],
    metric: Metric,
    n_resamples: int,
    seed: SeedLike,
    paired: bool = True,
) -> tuple[list[float], list[NDArray[np.float64]]]:
    """Point estimates and bootstrap replicates (n_resamples,) of each arm's language average.

    `arms[a][language]` is (n_seeds_a, n_examples_language, width). Languages get independent example
    streams; within a language, `paired` arms share the drawn examples. Each arm draws its seeds once
    per replicate, for all languages.
    """
    languages = sorted(arms[0])
    if not languages:
        raise ValueError("no languages to score")
    for a, arm in enumerate(arms):
        if sorted(arm) != languages:
            raise ValueError(f"arm {a} has languages {sorted(arm)}, arm 0 has {languages}")
        seed_counts = {arm[lang].shape[0] for lang in languages}
        if len(seed_counts) > 1:
            raise ValueError(f"arm {a}: every language must have the same seeds (seed counts {seed_counts})")
    for lang in languages:
        sizes = {arm[lang].shape[1] for arm in arms}
        if paired and len(sizes) > 1:
            raise ValueError(f"{lang}: paired arms must score the same examples (sizes {sorted(sizes)})")

    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    streams = root.spawn(len(arms) + len(languages))
    seed_indices = []
    for arm, stream in zip(arms, streams[: len(arms)], strict=True):
        n_seeds = arm[languages[0]].shape[0]
        seed_indices.append(np.random.default_rng(stream).integers(0, n_seeds, size=(n_resamples, n_seeds)))

    points = [0.0] * len(arms)
    replicates = [np.zeros(n_resamples) for _ in arms]
    for lang, stream in zip(languages, streams[len(arms) :], strict=True):
        # Paired arms share one example stream; unpaired ones get one each, so that no stream's
        # draws interleave with another's and the replicates do not depend on the block size.
        rngs = [np.random.default_rng(s) for s in ([stream] if paired else stream.spawn(len(arms)))]
        # (n_examples, n_seeds * width): one matrix product gives every seed's sums at once.
        matrices = [arm[lang].transpose(1, 0, 2).reshape(arm[lang].shape[1], -1) for arm in arms]
        for a, arm in enumerate(arms):
            points[a] += float(_seed_scores(arm[lang], metric).mean()) / len(languages)
        block = max(1, min(n_resamples, _BLOCK_ENTRIES // max(arm[lang].shape[1] for arm in arms)))
        for start in range(0, n_resamples, block):
            stop = min(start + block, n_resamples)
            weights = None
            for a, (arm, matrix) in enumerate(zip(arms, matrices, strict=True)):
                n_seeds, n, width = arm[lang].shape
                if weights is None or not paired:
                    weights = _count_matrix(rngs[0 if paired else a], stop - start, n)
                sums = (weights @ matrix).reshape(stop - start, n_seeds, width)
                per_seed = metric.from_sums(sums, n)  # (block, n_seeds): every seed on the drawn examples
                drawn = np.take_along_axis(per_seed, seed_indices[a][start:stop], axis=1)
                replicates[a][start:stop] += drawn.mean(axis=1) / len(languages)
    return points, replicates


def _interval(estimate: float, replicates: NDArray[np.float64], confidence: float) -> Interval:
    alpha = 1.0 - confidence
    low, high = np.quantile(replicates, [alpha / 2, 1 - alpha / 2])
    return Interval(
        estimate=float(estimate),
        low=float(low),
        high=float(high),
        std_error=float(np.std(replicates, ddof=1)) if replicates.size > 1 else 0.0,
        confidence=confidence,
        n_resamples=int(replicates.size),
    )


def bootstrap_p_value(
    difference: float, replicates: NDArray[np.float64], alternative: Alternative = "two-sided"
) -> float:
    """Null-shifted bootstrap p-value of an observed difference (Berg-Kirkpatrick et al. 2012): the
    replicates minus the observed difference approximate the difference's distribution under H0."""
    shifted = np.asarray(replicates, dtype=np.float64) - difference
    if alternative == "two-sided":
        extreme = np.abs(shifted) >= abs(difference)
    elif alternative == "greater":
        extreme = shifted >= difference
    elif alternative == "less":
        extreme = shifted <= difference
    else:
        raise ValueError(f"alternative must be two-sided, greater or less, not {alternative!r}")
    return float((1 + np.count_nonzero(extreme)) / (1 + shifted.size))


def bootstrap_ci(
    values: ArrayLike,
    metric: Metric = MEAN,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: SeedLike = 0,
) -> Interval:
    """Percentile bootstrap interval of one arm's score: over examples for one seed, over seeds and
    examples (crossed) for several."""
    _check_options(n_resamples, confidence)
    array = _as_seeds(values, metric)
    (point,), (replicates,) = _replicates([{"": array}], metric, n_resamples, seed)
    return _interval(point, replicates, confidence)


# --- paired tests ----------------------------------------------------------------------------------


def _is_binary(array: NDArray[np.float64]) -> bool:
    return bool(np.all((array == 0) | (array == 1)))


def mcnemar_exact(
    arm_correct: ArrayLike, baseline_correct: ArrayLike, alternative: Alternative = "two-sided"
) -> McNemar:
    """Exact McNemar test on 0/1 correctness: under H0 an example the two disagree on is equally
    likely to favour either, so the arm's share of the discordant pairs is Binomial(b + c, 1/2).
    Several seeds: every (arm seed, baseline seed) pair, combined by the largest p-value."""
    from scipy.stats import binomtest

    arm = _as_seeds(arm_correct, MEAN, "arm")[..., 0]
    baseline = _as_seeds(baseline_correct, MEAN, "baseline")[..., 0]
    if not (_is_binary(arm) and _is_binary(baseline)):
        raise ValueError("McNemar's test needs 0/1 correctness values")
    if arm.shape[1] != baseline.shape[1]:
        raise ValueError(f"arm scores {arm.shape[1]} examples, baseline {baseline.shape[1]}")
    pairs = []
    for i, arm_seed in enumerate(arm):
        for j, baseline_seed in enumerate(baseline):
            arm_only = int(np.count_nonzero((arm_seed == 1) & (baseline_seed == 0)))
            baseline_only = int(np.count_nonzero((arm_seed == 0) & (baseline_seed == 1)))
            discordant = arm_only + baseline_only
            # No discordant pair: the data cannot tell the two apart at all.
            p = binomtest(arm_only, discordant, 0.5, alternative=alternative).pvalue if discordant else 1.0
            pairs.append(McNemarPair(i, j, arm_only, baseline_only, float(p)))
    return McNemar(tuple(pairs), max(p.p_value for p in pairs), alternative)


def _difference(
    arm_points: list[float],
    replicates: list[NDArray[np.float64]],
    confidence: float,
    alternative: Alternative,
    mcnemar: McNemar | None,
) -> Difference:
    observed = arm_points[0] - arm_points[1]
    differences = replicates[0] - replicates[1]
    interval = _interval(observed, differences, confidence)
    return Difference(
        **vars(interval),
        arm=arm_points[0],
        baseline=arm_points[1],
        p_value=bootstrap_p_value(observed, differences, alternative),
        alternative=alternative,
        mcnemar=mcnemar,
    )


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
    _check_options(n_resamples, confidence)
    bootstrap_p_value(0.0, np.zeros(1), alternative)  # rejects a bad alternative before any work
    arm = _as_seeds(arm_values, metric, "arm")
    baseline = _as_seeds(baseline_values, metric, "baseline")
    if arm.shape[1] != baseline.shape[1]:
        raise ValueError(f"arm scores {arm.shape[1]} examples, baseline {baseline.shape[1]}: not aligned")
    points, replicates = _replicates([{"": arm}, {"": baseline}], metric, n_resamples, seed, paired)
    mcnemar = None
    if isinstance(metric, Mean) and _is_binary(arm) and _is_binary(baseline):
        mcnemar = mcnemar_exact(arm[..., 0], baseline[..., 0], alternative)
    return _difference(points, replicates, confidence, alternative, mcnemar)


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
    difference of the averages (examples resampled within each language, seeds shared by the
    languages) and its bootstrap p-value. No McNemar here: it tests one set of examples."""
    _check_options(n_resamples, confidence)
    bootstrap_p_value(0.0, np.zeros(1), alternative)
    arm = {lang: _as_seeds(v, metric, f"{lang}") for lang, v in values_by_language.items()}
    if baseline_by_language is None:
        (point,), (replicates,) = _replicates([arm], metric, n_resamples, seed)
        return _interval(point, replicates, confidence)
    baseline = {lang: _as_seeds(v, metric, f"baseline {lang}") for lang, v in baseline_by_language.items()}
    points, replicates = _replicates([arm, baseline], metric, n_resamples, seed)
    return _difference(points, replicates, confidence, alternative, None)


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
    streams = (seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)).spawn(
        len(items)
    )
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
