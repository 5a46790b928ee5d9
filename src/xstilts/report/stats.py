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

Examples
--------
The nonparametric bootstrap over examples, percentile interval (Efron & Tibshirani 1993, *An
Introduction to the Bootstrap*, ch. 6 and 13). `resample_examples` scores every seed of every arm on
the same resamples of a language's examples: every seed's model is evaluated on the one test set,
so a new test set would be shared by all seeds and all arms. The resamples are named by the
language under the caller's seed, so an arm's replicates do not depend on which other arms are
resampled with it.

Seeds
-----
Several seeds add a second source of variance: a seed's score moves with the seed (initialisation,
data order) as well as with the test set. Resampling seeds as well as examples (Owen's 2007
"pigeonhole" bootstrap, which this module did first) counts each seed's own example noise about
3 - 2/S times and, with three seeds, has only ten distinct seed multisets: simulated 95% intervals
covered 99.5% without seed variance and 82-90% with it. Instead the score is split in two terms:

  * the example term: replicates of the mean over all seeds, each seed scored on the same
    resamples (each seed's example noise counted once, averaged over seeds);
  * the seed term: the seeds' sample variance of their scores less the example noise in it (the
    variance of a seed's score around the seeds' mean over the resamples, times S / (S - 1)),
    floored at 0, over S; drawn as Student's t with S - 1 degrees of freedom (Welch-Satterthwaite
    for a difference of two arms: Welch 1947), as a t-interval accounts for a variance estimated
    from few seeds.

Each replicate is the example replicate plus a draw of the seed term; the interval is percentiles of
those. In simulations of 0/1 correctness with 3 seeds per arm (tests and `docs/benchmarks.md`) the
95% interval of a difference covered 96-98% and the test rejected 2-4% under the null; one seed,
95% and 5%. With one value per seed (a store without per-example files) the interval is the
t-interval over seeds. A trained arm with one seed hides its seed variance; compared with an arm of
several seeds it is given theirs, as one term with their degrees of freedom (`compare`; 95% coverage
in the same simulations); the pretrained encoder is one fixed model, no seed term. The seed-variance
estimate is unbiased for any covariance between seeds when the metric is a mean (the noise it
subtracts is the trace of the centred per-seed covariance over n (S - 1)); for F1 from counts it
holds to first order (simulated null rejection 3-6.7%, `bench/report_calibration.py`).

Paired comparison (`compare`, `paired_difference`): arm and baseline are scored on the same drawn
examples in every replicate (Koehn 2004, "Statistical significance tests for machine translation
evaluation"; Dror et al. 2018, "The Hitchhiker's Guide to Testing Statistical Significance in NLP"),
so what the two arms share (hard examples are hard for both) cancels from the difference. The
p-value is Koehn's paired bootstrap test, the share of replicates on the wrong side of 0
(`bootstrap_p_value`): the smallest level at which the percentile interval excludes 0, so a
difference marked significant by its interval and its p-value never disagree. When nothing varies at
all (every replicate equal) the bootstrap has no distribution: p is NaN unless the difference is 0.
For 0/1 correctness the exact McNemar test (McNemar 1947; a binomial test on the discordant pairs)
is reported beside it as a cross-check. With several seeds McNemar is run for every (arm seed,
baseline seed) pair and combined by the intersection-union test (Berger 1982, Technometrics 24(4)):
the largest one-sided p-value, and two-sided twice the smaller of the two directions' largest (a
pair better and a pair worse reject nothing). Pooling discordant pairs over seeds would not be a
valid test: the same examples recur in every seed, so the pairs are not independent.

Language averages (`language_average`, `compare` over several languages): the score is the
unweighted mean over languages (XTREME's rule). Each language's examples are resampled
independently (its test set is a separate sample), and a seed's score is its language average (a
seed is one model evaluated in every language), so the seed term is that of the averages.

Scaling curves (`scaling_curve`): per x, the estimate and a pointwise band (each point resampled on
its own); not a simultaneous band over the whole curve.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

# The metrics, McNemar's test and the robustness summaries live in modules of their own; they are
# named here too, so that `xstilts.report.stats` is the one import for the report's statistics.
from xstilts.report.mcnemar import (
    Alternative,
    McNemar,
    McNemarPair,
    check_alternative,
    mcnemar_exact,
    mcnemar_if_binary,
)
from xstilts.report.robustness import Robustness, robustness
from xstilts.report.scores import (
    F1_FROM_COUNTS,
    MEAN,
    PERCENT,
    CountF1,
    Mean,
    Metric,
    as_seeds,
    point_estimate,
    seed_scores,
    seed_scores_of,
)

__all__ = [
    "F1_FROM_COUNTS",
    "MEAN",
    "PERCENT",
    "CountF1",
    "CurvePoint",
    "Difference",
    "Interval",
    "McNemar",
    "McNemarPair",
    "Mean",
    "Metric",
    "Resampled",
    "Robustness",
    "bootstrap_ci",
    "bootstrap_p_value",
    "child_stream",
    "compare",
    "language_average",
    "mcnemar_exact",
    "mcnemar_if_binary",
    "paired_difference",
    "point_estimate",
    "pool",
    "resample_examples",
    "robustness",
    "scaling_curve",
    "seed_scores",
    "summarise",
]

SeedLike = int | np.random.SeedSequence
# Entries of one block of replicates x examples: its index and count matrices take about 80 MB,
# whatever the test set's size. Results do not depend on it (each stream is drawn in order).
_BLOCK_ENTRIES = 2_000_000


# --- results ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """A point estimate with a percentile bootstrap interval. `std_error`: the square root of the
    example replicates' variance plus the seed term's (the replicates' own spread includes Student's
    t tails, whose variance is not the seed term's)."""

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
class Difference(Interval):
    """Arm minus baseline: the interval of the difference, both scores and the paired tests."""

    arm: float
    baseline: float
    p_value: float  # paired bootstrap test (Koehn 2004); NaN when nothing varied
    alternative: Alternative
    mcnemar: McNemar | None  # only for 0/1 values scored by a Mean


# --- the bootstrap ---------------------------------------------------------------------------------


def _check_options(n_resamples: int, confidence: float) -> None:
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, not {n_resamples}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")


def child_stream(seed: SeedLike, *key: int) -> np.random.SeedSequence:
    """The stream named `key` under `seed`. Unlike `SeedSequence.spawn`, it leaves `seed` as it was
    and does not depend on how many streams were taken before: a name always gives the same draws."""
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, *key))


def _name_key(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


# Stream names under a call's seed: the seed term's draws, and each language's example draws.
_SEED_TERM, _EXAMPLES = 0, 1


def _count_matrix(rng: np.random.Generator, rows: int, n: int) -> NDArray[np.float64]:
    """`rows` bootstrap resamples of n examples as counts: W[r, i] = times example i is drawn."""
    indices = rng.integers(0, n, size=(rows, n))
    flat = (np.arange(rows)[:, None] * n + indices).ravel()
    return np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(np.float64)


@dataclass(frozen=True)
class Resampled:
    """One arm in one language: each seed's score on the whole test set, (n_seeds,), and on every
    bootstrap resample of the examples, (n_resamples, n_seeds)."""

    scores: NDArray[np.float64]
    replicates: NDArray[np.float64]


def resample_examples(
    arms: Sequence[Mapping[str, ArrayLike]],
    metric: Metric,
    n_resamples: int,
    seed: SeedLike,
    paired: bool = True,
) -> list[dict[str, Resampled]]:
    """Every arm's per-seed scores on bootstrap resamples of each language's examples.

    `arms[a][language]` is (n_seeds, n_examples[, width]); an arm may lack a language. A language's
    resamples come from the stream named by the language, and `paired` arms share them (all arms
    with the language must then score the same examples, aligned), so an arm's numbers do not
    depend on which other arms are resampled with it. `paired=False` gives each arm its own draws.
    """
    _check_options(n_resamples, 0.5)
    arrays = [{lang: as_seeds(v, metric, lang) for lang, v in arm.items()} for arm in arms]
    resampled: list[dict[str, Resampled]] = [{} for _ in arms]
    for lang in sorted({lang for arm in arrays for lang in arm}):
        having = [a for a, arm in enumerate(arrays) if lang in arm]
        sizes = {arrays[a][lang].shape[1] for a in having}
        if paired and len(sizes) > 1:
            raise ValueError(f"{lang}: paired arms must score the same examples (sizes {sorted(sizes)})")
        stream = child_stream(seed, _EXAMPLES, _name_key(lang))
        # (n_examples, n_seeds * width) per arm: one matrix product gives every seed's sums at once,
        # and paired arms, drawn together, share one product.
        matrices = [arrays[a][lang].transpose(1, 0, 2).reshape(arrays[a][lang].shape[1], -1) for a in having]
        if paired:
            draws = [(np.random.default_rng(stream), np.concatenate(matrices, axis=1))]
        else:
            draws = [
                (np.random.default_rng(child_stream(stream, a)), m)
                for a, m in zip(having, matrices, strict=True)
            ]
        replicates = {a: np.empty((n_resamples, arrays[a][lang].shape[0])) for a in having}
        block = max(1, min(n_resamples, _BLOCK_ENTRIES // max(sizes)))
        for start in range(0, n_resamples, block):
            stop = min(start + block, n_resamples)
            columns = np.concatenate(
                [_count_matrix(rng, stop - start, matrix.shape[0]) @ matrix for rng, matrix in draws], axis=1
            )
            at = 0
            for a in having:
                n_seeds, n, width = arrays[a][lang].shape
                part = columns[:, at : at + n_seeds * width].reshape(stop - start, n_seeds, width)
                replicates[a][start:stop] = metric.from_sums(part, n)
                at += n_seeds * width
        for a in having:
            resampled[a][lang] = Resampled(seed_scores_of(arrays[a][lang], metric), replicates[a])
    return resampled


def pool(arms: Sequence[Mapping[str, Resampled]]) -> dict[str, Resampled]:
    """Several arms resampled together, as if their seeds were the seeds of one arm (a scaling
    curve's point made of several arms); languages all of them have."""
    languages = [lang for lang in arms[0] if all(lang in arm for arm in arms)]
    return {
        lang: Resampled(
            np.concatenate([arm[lang].scores for arm in arms]),
            np.concatenate([arm[lang].replicates for arm in arms], axis=1),
        )
        for lang in languages
    }


@dataclass(frozen=True)
class _Side:
    """One arm's language average: the estimate, its example-level replicates (every seed scored on
    the same resamples, averaged) and the seed term (the variance of a seed's score around the
    seeds' mean that is not example noise)."""

    estimate: float
    replicates: NDArray[np.float64]
    seed_variance: float
    raw_variance: float  # the seeds' sample variance, example noise included (0 with one seed)
    n_seeds: int
    varies: bool  # whether anything at all varies: the examples' scores or the seeds'


def _side(arm: Mapping[str, Resampled], languages: Sequence[str]) -> _Side:
    if not languages:
        raise ValueError("no languages to score")
    missing = [lang for lang in languages if lang not in arm]
    if missing:
        raise ValueError(f"no scores for languages {missing}")
    counts = {arm[lang].scores.size for lang in languages}
    if len(counts) > 1:
        raise ValueError(f"every language must have the same seeds (seed counts {sorted(counts)})")
    # A seed is one model evaluated in every language: average languages within each seed.
    scores = np.mean([arm[lang].scores for lang in languages], axis=0)
    replicates = np.mean([arm[lang].replicates for lang in languages], axis=0)  # (B, S)
    n_seeds, resamples = scores.size, replicates.shape[0]
    seed_variance = raw_variance = 0.0
    if n_seeds > 1:
        # The seeds' sample variance holds the seed-to-seed variance plus each seed's own example
        # noise (its errors that the other seeds do not share). That noise is measured by how a seed's
        # score moves around the seeds' mean over the resamples, a variance of (S - 1) / S of it.
        deviations = replicates - replicates.mean(axis=1, keepdims=True)
        noise = (
            float(deviations.var(axis=0, ddof=1).mean()) * n_seeds / (n_seeds - 1) if resamples > 1 else 0.0
        )
        raw_variance = float(scores.var(ddof=1))
        seed_variance = max(0.0, raw_variance - noise)
    varies = bool(np.ptp(replicates) > 0 or np.ptp(scores) > 0)
    return _Side(float(scores.mean()), replicates.mean(axis=1), seed_variance, raw_variance, n_seeds, varies)


def _seed_term(
    terms: Sequence[tuple[float, int]], size: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """`size` draws of the seed term of a score or a difference: `terms` are (variance, degrees of
    freedom) of each arm's part, its seed variance over its number of seeds. With known variances the
    draws would be normal; estimated from a few seeds they are Student's t with the Welch-Satterthwaite
    degrees of freedom (Welch 1947), as Welch's t-interval widens for the same reason."""
    terms = [(variance, df) for variance, df in terms if variance > 0 and df > 0]
    total = sum(variance for variance, _ in terms)
    if total == 0:
        return np.zeros(size)
    freedom = total**2 / sum(variance**2 / df for variance, df in terms)
    return math.sqrt(total) * rng.standard_t(freedom, size=size)


def _interval(
    estimate: float, replicates: NDArray[np.float64], std_error: float, confidence: float
) -> Interval:
    # Order statistics k and B + 1 - k of the sorted replicates, k = ceil(alpha (B + 1) / 2 - 1): with
    # c replicates at or below 0 the interval excludes 0 when c < k, and the two-sided p of
    # `bootstrap_p_value`, 2 (1 + c) / (B + 1), is below alpha exactly then, whatever B: a bold
    # difference and its p never disagree. (For B = 1,000 or 2,000 this is the usual ceil(alpha B / 2).)
    ordered = np.sort(replicates)
    k = max(1, math.ceil((1.0 - confidence) * (ordered.size + 1) / 2 - 1 - 1e-9))
    return Interval(
        estimate=float(estimate),
        low=float(ordered[k - 1]),
        high=float(ordered[ordered.size - k]),
        std_error=std_error,
        confidence=confidence,
        n_resamples=int(ordered.size),
    )


def bootstrap_p_value(replicates: ArrayLike, alternative: Alternative = "two-sided") -> float:
    """The paired bootstrap test of Koehn (2004): the share of replicates on the wrong side of 0,
    p = (1 + #{d* <= 0}) / (1 + B) for "greater" (the arm better), (1 + #{d* >= 0}) / (1 + B) for
    "less", and twice the smaller of the two (at most 1) two-sided: the smallest level at which the
    percentile interval excludes 0. The "+1" keeps a Monte Carlo p-value valid (Davison & Hinkley
    1997, sec. 4.2)."""
    check_alternative(alternative)
    values = np.asarray(replicates, dtype=np.float64)
    greater = (1 + np.count_nonzero(values <= 0)) / (1 + values.size)
    less = (1 + np.count_nonzero(values >= 0)) / (1 + values.size)
    if alternative == "greater":
        return float(greater)
    if alternative == "less":
        return float(less)
    return float(min(1.0, 2 * min(greater, less)))


def summarise(
    arm: Mapping[str, Resampled], languages: Sequence[str], confidence: float, seed: SeedLike
) -> Interval:
    """One arm's language average with its interval (`seed` names the seed term's draws)."""
    side = _side(arm, languages)
    term = [(side.seed_variance / side.n_seeds, side.n_seeds - 1)]
    replicates = side.replicates + _seed_term(term, side.replicates.size, np.random.default_rng(seed))
    std_error = math.sqrt(_variance(side.replicates) + side.seed_variance / side.n_seeds)
    return _interval(side.estimate, replicates, std_error, confidence)


def _variance(replicates: NDArray[np.float64]) -> float:
    return float(np.var(replicates, ddof=1)) if replicates.size > 1 else 0.0


def compare(
    arm: Mapping[str, Resampled],
    baseline: Mapping[str, Resampled],
    languages: Sequence[str],
    confidence: float,
    seed: SeedLike,
    alternative: Alternative = "two-sided",
    mcnemar: McNemar | None = None,
    baseline_fixed: bool = False,
    arm_fixed: bool = False,
) -> Difference:
    """Arm minus baseline on the average of `languages`: the interval of the difference and the
    paired bootstrap p-value. `arm` and `baseline` must come from one `resample_examples` call
    (paired: the same resamples); `seed` names the seed term's draws.

    A trained arm with one seed has a seed variance that its one score cannot show. When the other
    side has several seeds, it is given theirs (arms trained alike vary alike, the pooled-variance
    assumption): one term of the other side's seed variance / S plus its raw sample variance (example
    noise left in, erring wide), with S - 1 degrees of freedom, the only ones there are (two terms
    would be taken for independent estimates). `baseline_fixed` / `arm_fixed` say a side has no seed
    variance at all (the pretrained encoder, one fixed model)."""
    check_alternative(alternative)
    a, b = _side(arm, languages), _side(baseline, languages)
    terms = []
    for side, other, fixed in ((a, b, arm_fixed), (b, a, baseline_fixed)):
        if side.n_seeds > 1:
            terms.append((side.seed_variance / side.n_seeds, side.n_seeds - 1))
        elif not fixed and other.n_seeds > 1:
            # Borrowed: replaces the other side's own term (added below only when nothing borrows).
            terms = [(other.seed_variance / other.n_seeds + other.raw_variance, other.n_seeds - 1)]
            break
    examples = a.replicates - b.replicates
    replicates = examples + _seed_term(terms, examples.size, np.random.default_rng(seed))
    std_error = math.sqrt(_variance(examples) + sum(variance for variance, _ in terms))
    observed = a.estimate - b.estimate
    interval = _interval(observed, replicates, std_error, confidence)
    if a.varies or b.varies:
        p_value = bootstrap_p_value(replicates, alternative)
    else:
        # Nothing varies anywhere (every example and seed scores the same): the bootstrap has no
        # distribution to test against. Equal arms do not differ; unequal ones are not testable here.
        p_value = 1.0 if observed == 0 else math.nan
    return Difference(
        **vars(interval),
        arm=a.estimate,
        baseline=b.estimate,
        p_value=p_value,
        alternative=alternative,
        mcnemar=mcnemar,
    )


def bootstrap_ci(
    values: ArrayLike,
    metric: Metric = MEAN,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: SeedLike = 0,
) -> Interval:
    """Percentile bootstrap interval of one arm's score: over examples, plus the seed term where
    there are several seeds."""
    _check_options(n_resamples, confidence)
    (arm,) = resample_examples([{"": values}], metric, n_resamples, seed)
    return summarise(arm, [""], confidence, child_stream(seed, _SEED_TERM))


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
    _check_options(n_resamples, confidence)
    check_alternative(alternative)
    arm = as_seeds(arm_values, metric, "arm")
    baseline = as_seeds(baseline_values, metric, "baseline")
    if arm.shape[1] != baseline.shape[1]:
        raise ValueError(f"arm scores {arm.shape[1]} examples, baseline {baseline.shape[1]}: not aligned")
    resampled = resample_examples([{"": arm}, {"": baseline}], metric, n_resamples, seed, paired)
    mcnemar = mcnemar_if_binary(arm, baseline, metric, alternative)
    return compare(*resampled, [""], confidence, child_stream(seed, _SEED_TERM), alternative, mcnemar)


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
    _check_options(n_resamples, confidence)
    check_alternative(alternative)
    languages = sorted(values_by_language)
    if baseline_by_language is None:
        (arm,) = resample_examples([values_by_language], metric, n_resamples, seed)
        return summarise(arm, languages, confidence, child_stream(seed, _SEED_TERM))
    if sorted(baseline_by_language) != languages:
        raise ValueError(f"the arm has languages {languages}, the baseline {sorted(baseline_by_language)}")
    arm, baseline = resample_examples([values_by_language, baseline_by_language], metric, n_resamples, seed)
    return compare(arm, baseline, languages, confidence, child_stream(seed, _SEED_TERM), alternative)


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
