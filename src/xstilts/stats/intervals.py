"""Intervals and paired tests from bootstrap replicates: one arm's language average with its
interval (`summarise`), an arm against a baseline (`compare`), with the seed term where there are
several seeds.

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

"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from xstilts.stats.mcnemar import Alternative, McNemar, check_alternative
from xstilts.stats.resampling import Resampled, SeedLike


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
