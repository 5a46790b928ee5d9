"""The report's statistics, checked against normal theory, closed-form variances, hand-computed tests
and a plain loop-per-replicate bootstrap (the arithmetic is in the comments)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from xstilts.results.recipes import F1_FROM_COUNTS, MEAN, PERCENT, CountF1
from xstilts.stats.estimates import bootstrap_ci, language_average, paired_difference, scaling_curve
from xstilts.stats.intervals import Difference, bootstrap_p_value, compare
from xstilts.stats.mcnemar import mcnemar_exact
from xstilts.stats.resampling import resample_examples
from xstilts.stats.robustness import robustness
from xstilts.stats.seed_scores import point_estimate, seed_scores


def correlated_arms(
    rng: np.random.Generator, n: int, baseline: float, gain: float
) -> tuple[np.ndarray, np.ndarray]:
    """0/1 correctness of two arms that share example difficulty (hard examples are hard for both)."""
    difficulty = rng.normal(size=n)
    threshold = norm.ppf(1 - baseline)
    noise_b, noise_a = rng.normal(scale=0.5, size=(2, n))
    baseline_correct = (difficulty + noise_b > threshold).astype(float)
    arm_correct = (difficulty + noise_a > threshold - gain).astype(float)
    return arm_correct, baseline_correct


# --- one arm ---------------------------------------------------------------------------------------


def test_interval_of_a_mean_converges_to_the_normal_theory_interval() -> None:
    # A skewed sample (exponential) of 10,000: its mean is near-normal, so the percentile interval
    # should be mean ± 1.96 s / sqrt(n). Monte Carlo error of a 2.5% quantile with 4,000 replicates
    # is about 0.06 standard errors, so 0.2 standard errors is a loose but meaningful tolerance.
    values = np.random.default_rng(7).exponential(scale=2.0, size=10_000)
    se = values.std(ddof=1) / math.sqrt(values.size)
    z = norm.ppf(0.975)
    result = bootstrap_ci(values, n_resamples=4000)
    assert result.estimate == pytest.approx(values.mean(), rel=1e-12)
    assert result.low == pytest.approx(values.mean() - z * se, abs=0.2 * se)
    assert result.high == pytest.approx(values.mean() + z * se, abs=0.2 * se)
    assert result.std_error == pytest.approx(se, rel=0.05)
    # A 90% interval is narrower by the ratio of normal quantiles, 1.645 / 1.960.
    narrower = bootstrap_ci(values, n_resamples=4000, confidence=0.90)
    assert narrower.width / result.width == pytest.approx(norm.ppf(0.95) / z, rel=0.06)


def test_degenerate_sample_gives_zero_width_interval() -> None:
    ones = bootstrap_ci(np.ones(300), metric=PERCENT)
    assert (ones.estimate, ones.low, ones.high, ones.std_error) == (100.0, 100.0, 100.0, 0.0)
    # 0.1 is not exact in binary: the weighted sums may differ in the last bits, nothing more.
    tenths = bootstrap_ci(np.full((3, 250), 0.1))
    assert tenths.estimate == pytest.approx(0.1, abs=1e-15)
    assert tenths.width < 1e-12


def test_several_seeds_equal_to_each_other_give_the_one_seed_interval() -> None:
    values = np.random.default_rng(3).random(400)
    one = bootstrap_ci(values)
    four = bootstrap_ci(np.tile(values, (4, 1)))
    assert four.low == pytest.approx(one.low, abs=1e-12)
    assert four.high == pytest.approx(one.high, abs=1e-12)


def test_seed_level_widens_the_interval_when_seeds_disagree() -> None:
    # Additive model: seed s, example i scores x_i + d_s. The example term is var(x)/n; the seed term
    # is the seeds' sample variance / S (nothing of a seed's score here is example noise).
    rng = np.random.default_rng(11)
    x = rng.normal(0.6, 0.2, size=2000)
    offsets = np.array([-0.03, 0.0, 0.01, 0.04, -0.02])
    agreeing = bootstrap_ci(np.tile(x, (5, 1)), n_resamples=4000)
    disagreeing = bootstrap_ci(x[None, :] + offsets[:, None], n_resamples=4000)
    assert disagreeing.width > 1.5 * agreeing.width
    expected = math.sqrt(offsets.var(ddof=1) / offsets.size + x.var() / x.size)
    assert disagreeing.std_error == pytest.approx(expected, rel=0.05)
    assert disagreeing.estimate == pytest.approx(x.mean() + offsets.mean())


def test_seeds_alone_give_the_t_interval() -> None:
    # No example varies (one value per seed, as a store without per-example files): the interval is
    # the one-sample t-interval, mean +- t(S-1) s / sqrt(S): t(3, 0.975) = 3.182 for 4 seeds.
    from scipy.stats import t

    scores = np.array([[70.0], [72.0], [71.0], [75.0]])
    result = bootstrap_ci(scores, n_resamples=20_000)
    half = t.ppf(0.975, 3) * scores.std(ddof=1) / 2
    assert result.estimate == pytest.approx(72.0)
    assert result.low == pytest.approx(72.0 - half, rel=0.01)
    assert result.high == pytest.approx(72.0 + half, rel=0.01)


def test_example_noise_of_each_seed_is_not_counted_as_seed_variance() -> None:
    # y[s, i] = x_i + d_s + e[s, i]: each seed also errs on its own examples (e). The score's variance
    # over new test sets and new seeds is var(x)/n + var(e)/(n S) + var(d)/S. The seeds' sample
    # variance holds var(d) + var(e)/n, and the report must not count that var(e)/n a second time
    # (resampling seeds and examples both would count it about 3 - 2/S times).
    rng = np.random.default_rng(4)
    n, seeds = 3000, 4
    x = rng.normal(0.6, 0.1, size=n)
    noise = rng.normal(0.0, 0.4, size=(seeds, n))
    no_seed_effect = bootstrap_ci(x + noise, n_resamples=3000)
    right = math.sqrt(0.1**2 / n + 0.4**2 / (n * seeds))
    counted_again = math.sqrt(0.1**2 / n + (3 - 2 / seeds) * 0.4**2 / (n * seeds))  # about 1.5 x right
    # The seed variance estimated from 4 seeds is above 0 by chance (here it adds some 12%).
    assert 0.95 * right < no_seed_effect.std_error < 1.2 * right < counted_again
    offsets = np.array([-0.02, 0.01, 0.03, -0.015])
    values = x + noise + offsets[:, None]
    with_seed_effect = bootstrap_ci(values, n_resamples=3000)
    # The seed term: the seed scores' sample variance less the example noise in it, 0.4^2 / n.
    seed_variance = values.mean(axis=1).var(ddof=1) - 0.4**2 / n
    expected = math.sqrt(0.1**2 / n + 0.4**2 / (n * seeds) + seed_variance / seeds)
    assert with_seed_effect.std_error == pytest.approx(expected, rel=0.1)


def test_resampled_seed_scores_match_a_loop_per_replicate() -> None:
    # The vectorised count-matrix bootstrap against the scheme written out one replicate at a time
    # with another generator: draw examples, score every seed on them, average the seeds.
    rng = np.random.default_rng(5)
    counts = np.stack(
        [
            np.stack([rng.integers(0, 3, 300), rng.integers(1, 4, 300), rng.integers(1, 4, 300)], axis=-1)
            for _ in range(3)
        ]
    )
    counts[..., 0] = np.minimum(counts[..., 0], np.minimum(counts[..., 1], counts[..., 2]))
    loop_rng = np.random.default_rng(99)
    replicates = []
    for _ in range(3000):
        examples = loop_rng.integers(0, 300, 300)
        f1s = []
        for s in range(3):
            tp, pred, gold = counts[s, examples].sum(axis=0)
            f1s.append(100 * 2 * tp / (pred + gold))
        replicates.append(np.mean(f1s))
    (arm,) = resample_examples([{"": counts}], F1_FROM_COUNTS, 3000, seed=0)
    vectorised = arm[""].replicates.mean(axis=1)
    assert arm[""].scores == pytest.approx(seed_scores(counts, F1_FROM_COUNTS))
    assert np.std(vectorised, ddof=1) == pytest.approx(np.std(replicates, ddof=1), rel=0.08)
    assert np.mean(vectorised) == pytest.approx(np.mean(replicates), abs=0.1 * np.std(replicates))


def test_same_seed_same_result_other_seed_other_draws() -> None:
    arm, base = correlated_arms(np.random.default_rng(2), 500, 0.6, 0.3)
    values = np.stack([arm, base])
    assert bootstrap_ci(values, seed=4) == bootstrap_ci(values, seed=4)
    assert paired_difference(arm, base, seed=4) == paired_difference(arm, base, seed=4)
    assert bootstrap_ci(values, seed=4) != bootstrap_ci(values, seed=5)


def test_results_do_not_depend_on_the_block_size(monkeypatch: pytest.MonkeyPatch) -> None:
    # Replicates are computed in blocks to bound memory; each stream is drawn in order, so a block
    # of 7 replicates gives the same numbers as one block of all of them.
    import xstilts.stats.resampling as stats

    arm, base = correlated_arms(np.random.default_rng(2), 300, 0.6, 0.3)
    values = np.stack([arm, base, arm])
    whole = [bootstrap_ci(values, n_resamples=50), paired_difference(arm, base, n_resamples=50)]
    whole.append(paired_difference(arm, base, n_resamples=50, paired=False))
    monkeypatch.setattr(stats, "_BLOCK_ENTRIES", 7 * 300)
    blocks = [bootstrap_ci(values, n_resamples=50), paired_difference(arm, base, n_resamples=50)]
    blocks.append(paired_difference(arm, base, n_resamples=50, paired=False))
    assert blocks == whole


# --- F1 from counts --------------------------------------------------------------------------------


def test_f1_from_summed_counts_is_the_corpus_f1_not_a_mean_of_example_f1s() -> None:
    # (tp, predicted, gold) per example; sums 4, 6, 6 -> F1 = 2*4 / (6+6) = 2/3.
    counts = np.array([[1, 2, 2], [0, 1, 0], [2, 2, 3], [1, 1, 1]])
    assert point_estimate(counts, F1_FROM_COUNTS) == pytest.approx(200 / 3)
    assert point_estimate(counts, CountF1(scale=1.0)) == pytest.approx(2 / 3)
    # Per-example F1s are 0.5, 0, 0.8, 1: their mean, 0.575, is another number.
    assert point_estimate(counts, F1_FROM_COUNTS) != pytest.approx(57.5)
    # Nothing predicted and nothing gold anywhere scores 0, as seqeval's zero_division=0.
    assert point_estimate(np.zeros((3, 3)), F1_FROM_COUNTS) == 0.0


def test_f1_from_counts_equals_seqeval_entity_f1_and_its_interval_contains_it() -> None:
    from seqeval.metrics.sequence_labeling import get_entities

    from xstilts.metrics.tagging import entity_f1

    rng = np.random.default_rng(8)
    tags = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG"]
    golds = [list(rng.choice(tags, size=rng.integers(3, 12))) for _ in range(400)]
    # Predictions: the gold tags with one in five replaced at random.
    preds = [[t if rng.random() > 0.2 else str(rng.choice(tags)) for t in g] for g in golds]
    counts = []
    for gold, pred in zip(golds, preds, strict=True):
        gold_entities, pred_entities = set(get_entities(gold)), set(get_entities(pred))
        counts.append([len(gold_entities & pred_entities), len(pred_entities), len(gold_entities)])
    expected = entity_f1(golds, preds)["f1"]
    result = bootstrap_ci(np.array(counts), metric=F1_FROM_COUNTS)
    assert result.estimate == pytest.approx(expected, rel=1e-12)
    assert result.low < expected < result.high
    assert 0 < result.width < 20


def test_counts_that_cannot_be_rejected() -> None:
    with pytest.raises(ValueError, match="more true positives"):
        bootstrap_ci(np.array([[2, 1, 3]]), metric=F1_FROM_COUNTS)
    with pytest.raises(ValueError, match="non-negative"):
        bootstrap_ci(np.array([[0, -1, 3]]), metric=F1_FROM_COUNTS)
    with pytest.raises(ValueError, match="expected"):
        bootstrap_ci(np.ones((4, 2)), metric=F1_FROM_COUNTS)


def test_ratio_of_summed_counts() -> None:
    from xstilts.results.recipes import RATIO

    # (tokens right, tokens) per sentence: 8 of 10 tokens, 80%, not the mean of 75%, (none), 83%.
    counts = np.array([[3, 4], [0, 0], [5, 6]])
    assert point_estimate(counts, RATIO) == pytest.approx(80.0)
    # Swapping the columns would give 125%: a numerator above its denominator is refused.
    with pytest.raises(ValueError, match="numerator"):
        point_estimate(counts[:, ::-1], RATIO)
    result = bootstrap_ci(counts, RATIO, n_resamples=500)
    assert 0 <= result.low <= 80.0 <= result.high <= 100.0


# --- paired comparison -----------------------------------------------------------------------------


def test_paired_interval_is_narrower_than_unpaired_on_correlated_arms() -> None:
    arm, base = correlated_arms(np.random.default_rng(1), 2000, 0.6, 0.15)
    assert np.corrcoef(arm, base)[0, 1] > 0.5
    paired = paired_difference(arm, base, n_resamples=4000)
    unpaired = paired_difference(arm, base, n_resamples=4000, paired=False)
    assert paired.estimate == unpaired.estimate == pytest.approx(arm.mean() - base.mean())
    assert paired.width < 0.7 * unpaired.width
    # Closed forms: paired se = sd(a_i - b_i)/sqrt(n); unpaired se = sqrt(var(a)/n + var(b)/n).
    n = arm.size
    assert paired.std_error == pytest.approx((arm - base).std() / math.sqrt(n), rel=0.05)
    assert unpaired.std_error == pytest.approx(math.sqrt((arm.var() + base.var()) / n), rel=0.05)


def test_clear_difference_is_significant_and_identical_arms_are_not() -> None:
    arm, base = correlated_arms(np.random.default_rng(4), 1000, 0.6, 0.4)
    clear = paired_difference(arm, base, metric=PERCENT)
    assert clear.estimate == pytest.approx(100 * (arm.mean() - base.mean()))
    assert clear.estimate > 5 and clear.low > 0
    assert clear.p_value < 0.05
    assert clear.mcnemar is not None and clear.mcnemar.p_value < 0.05
    assert isinstance(clear, Difference) and clear.arm == pytest.approx(100 * arm.mean())

    same = paired_difference(base, base.copy())
    # Every shifted replicate is 0 and |0| >= |0|: p = (1 + B) / (1 + B).
    assert same.p_value == 1.0
    assert same.estimate == same.low == same.high == 0.0
    assert same.mcnemar is not None and same.mcnemar.p_value == 1.0


def test_paired_bootstrap_rejects_about_five_percent_under_the_null() -> None:
    # 300 data sets of per-example scores in [0, 1] (QA F1-like) where both arms are the same system
    # up to noise: a test at 0.05 should reject about 15 of them (binomial sd about 3.8).
    rng = np.random.default_rng(21)
    rejections = 0
    for k in range(300):
        shared = rng.random(200)
        arm, base = np.clip(shared + rng.normal(0, 0.2, size=(2, 200)), 0, 1)
        rejections += paired_difference(arm, base, n_resamples=500, seed=k).p_value < 0.05
    assert 6 <= rejections <= 30
    # 0/1 correctness at this size has few discordant pairs, and both tests turn conservative
    # (about 3% for each in a 1,000-data-set run): neither may reject more than about 5%.
    bootstrap_rejections = mcnemar_rejections = 0
    for k in range(300):
        arm, base = correlated_arms(rng, 200, 0.6, 0.0)
        result = paired_difference(arm, base, n_resamples=500, seed=k)
        bootstrap_rejections += result.p_value < 0.05
        mcnemar_rejections += result.mcnemar.p_value < 0.05
    assert bootstrap_rejections <= 22 and mcnemar_rejections <= 22


def test_one_sided_p_values() -> None:
    # 50 replicates, 10 each of -1, 0, 1, 2, 3. greater: (1 + #{<= 0} = 20) / 51; less: (1 + #{>= 0}
    # = 40) / 51; two-sided: twice the smaller, 42 / 51.
    replicates = np.repeat([-1.0, 0.0, 1.0, 2.0, 3.0], 10)
    assert bootstrap_p_value(replicates, "greater") == pytest.approx(21 / 51)
    assert bootstrap_p_value(replicates, "less") == pytest.approx(41 / 51)
    assert bootstrap_p_value(replicates) == pytest.approx(42 / 51)
    assert bootstrap_p_value(-replicates) == pytest.approx(42 / 51)
    with pytest.raises(ValueError, match="alternative"):
        bootstrap_p_value(replicates, "both")  # type: ignore[arg-type]


def test_the_interval_excludes_zero_exactly_when_p_is_below_alpha() -> None:
    # Whatever the number of resamples and the level (the order statistics are chosen for it); p is
    # compared a hair below alpha, as 2 (1 + c) / (B + 1) may equal alpha to the last bit.
    rng = np.random.default_rng(17)
    for resamples, confidence in [(2000, 0.95), (1500, 0.95), (999, 0.95), (1001, 0.9), (400, 0.99)]:
        for k in range(40):
            arm, base = correlated_arms(rng, 150, 0.6, rng.uniform(0.0, 0.35))
            result = paired_difference(arm, base, n_resamples=resamples, confidence=confidence, seed=k)
            excludes = result.low > 0 or result.high < 0
            assert excludes == (result.p_value < 1 - confidence - 1e-12), (resamples, confidence, k)


def test_nothing_varies_nothing_tested() -> None:
    # Every example right for the arm and wrong for the baseline: every replicate is 1. The bootstrap
    # has no distribution to test against (McNemar, beside it, has the discordant pairs).
    result = paired_difference([1.0], [0.0])
    assert result.estimate == 1.0 and math.isnan(result.p_value)
    assert result.mcnemar is not None and result.mcnemar.p_value == 1.0
    five = paired_difference(np.ones(5), np.zeros(5))
    assert math.isnan(five.p_value) and five.mcnemar.p_value == pytest.approx(2 / 32)


@pytest.mark.slow
def test_null_rejection_with_several_seeds_and_seed_variance() -> None:
    # 200 data sets: both arms the same system, 3 seeds each, a seed effect on the latent scale and
    # per-seed example noise. A valid test at 0.05 rejects about 10 (binomial sd about 3); resampling
    # seeds and examples both, as this module once did, rejected about 20.
    rng = np.random.default_rng(23)
    threshold = norm.ppf(0.4)
    rejections = 0
    for k in range(200):
        z = rng.normal(size=300)

        def arm(z: np.ndarray = z) -> np.ndarray:
            seeds = rng.normal(0, 0.15, size=(3, 1))
            return (z + seeds + rng.normal(0, 0.5, size=(3, 300)) > threshold).astype(float)

        rejections += paired_difference(arm(), arm(), n_resamples=400, seed=k).p_value < 0.05
    assert 2 <= rejections <= 16
    # A trained baseline with one seed against three: it borrows the arm's seed variance. Resampling
    # seeds rejected about 18% here, two independent Welch terms about 10%; at most 8% may.
    rejections = 0
    for k in range(200):
        z = rng.normal(size=300)
        seeds = rng.normal(0, 0.15, size=(4, 1))
        values = (z + seeds + rng.normal(0, 0.5, size=(4, 300)) > threshold).astype(float)
        rejections += paired_difference(values[:3], values[3:], n_resamples=400, seed=k).p_value < 0.05
    assert rejections <= 16


def test_mcnemar_exact_equals_the_binomial_by_hand() -> None:
    # 5 both right, 8 only the arm right, 2 only the baseline right, 3 both wrong.
    arm = np.array([1] * 5 + [1] * 8 + [0] * 2 + [0] * 3)
    base = np.array([1] * 5 + [0] * 8 + [1] * 2 + [0] * 3)
    result = mcnemar_exact(arm, base)
    (pair,) = result.pairs
    assert (pair.arm_only, pair.baseline_only) == (8, 2)
    # Two-sided: 2 * P(X <= 2), X ~ Bin(10, 1/2) = 2 * (1 + 10 + 45) / 1024 = 112 / 1024.
    assert result.p_value == pytest.approx(112 / 1024)
    # One-sided, the arm better: P(X >= 8) = (45 + 10 + 1) / 1024.
    assert mcnemar_exact(arm, base, "greater").p_value == pytest.approx(56 / 1024)
    # A second arm seed with 5 arm-only and 0 baseline-only pairs: 2 * (1/2)^5 = 1/16. The combined
    # (intersection-union) p-value is the larger of the two.
    arm_seed_2 = base.copy()
    arm_seed_2[5:10] = 1  # right on 5 of the baseline's misses, wrong nowhere the baseline is right
    both = mcnemar_exact(np.stack([arm, arm_seed_2]), base)
    assert [p.p_value for p in both.pairs] == pytest.approx([112 / 1024, 2 / 32])
    assert both.p_value == pytest.approx(112 / 1024)
    # Seeds that disagree in direction (one 15 examples better, one 15 worse) reject nothing.
    base = np.zeros(40)
    better, worse = base.copy(), base.copy()
    better[:15] = 1
    base_worse = base.copy()
    base_worse[20:35] = 1
    split = mcnemar_exact(np.stack([better, worse]), np.stack([base, base_worse]))
    assert split.p_value == 1.0
    with pytest.raises(ValueError, match="0/1"):
        mcnemar_exact(np.array([0.5, 1.0]), np.array([1.0, 0.0]))


def test_mcnemar_only_for_zero_one_values_under_a_mean() -> None:
    rng = np.random.default_rng(0)
    scores = paired_difference(rng.random(50), rng.random(50), n_resamples=100)
    assert scores.mcnemar is None
    counts = np.ones((50, 3))
    assert paired_difference(counts, counts, metric=F1_FROM_COUNTS, n_resamples=100).mcnemar is None


def test_paired_difference_with_seeds() -> None:
    # Arm: 3 seeds, baseline: 2 (the counts may differ).
    rng = np.random.default_rng(6)
    x = rng.normal(0.5, 0.2, size=1500)
    arm_offsets, base_offsets = np.array([0.05, 0.09, 0.07]), np.array([0.0, 0.02])
    arm = x[None, :] + arm_offsets[:, None]
    base = x[None, :] + base_offsets[:, None]
    result = paired_difference(arm, base, n_resamples=4000)
    assert result.estimate == pytest.approx(0.06)
    # The shared x cancels; what is left is each arm's seed spread: s2(arm) / 3 + s2(baseline) / 2.
    expected = math.sqrt(arm_offsets.var(ddof=1) / 3 + base_offsets.var(ddof=1) / 2)
    assert result.std_error == pytest.approx(expected, rel=1e-6)
    # A trained baseline with one seed hides its seed variance: it is given the arm's (pooled);
    # a fixed one (the pretrained encoder) has none.
    one = paired_difference(arm, base[:1], n_resamples=4000)
    assert one.std_error == pytest.approx(math.sqrt(arm_offsets.var(ddof=1) * (1 / 3 + 1)), rel=1e-6)
    resampled = resample_examples([{"": arm}, {"": base[:1]}], MEAN, 1000, seed=0)
    fixed = compare(*resampled, [""], 0.95, seed=0, baseline_fixed=True)
    assert fixed.std_error == pytest.approx(math.sqrt(arm_offsets.var(ddof=1) / 3), rel=1e-6)
    # The other way round: a fixed arm (the pretrained encoder) against a baseline of 2 seeds.
    flipped = compare(
        resampled[1], resample_examples([{"": base}], MEAN, 1000, seed=0)[0], [""], 0.95, 0, arm_fixed=True
    )
    assert flipped.std_error == pytest.approx(math.sqrt(base_offsets.var(ddof=1) / 2), rel=1e-6)
    with pytest.raises(ValueError, match="not aligned"):
        paired_difference(arm, base[:, :-1])


# --- languages, robustness, curves -----------------------------------------------------------------


def test_language_average_difference_resamples_languages_independently_and_shares_seeds() -> None:
    rng = np.random.default_rng(12)
    sizes = {"de": 400, "es": 900, "zh": 250}
    arm, base = {}, {}
    for lang, n in sizes.items():
        a, b = correlated_arms(rng, n, 0.6, 0.2)
        arm[lang], base[lang] = a, b
    result = language_average(arm, base, n_resamples=4000)
    diffs = {lang: arm[lang].mean() - base[lang].mean() for lang in sizes}
    assert result.estimate == pytest.approx(np.mean(list(diffs.values())))
    # Independent languages: var(average) = sum of per-language paired variances / L^2.
    expected = math.sqrt(sum((arm[lg] - base[lg]).var() / n for lg, n in sizes.items())) / len(sizes)
    assert result.std_error == pytest.approx(expected, rel=0.05)
    assert result.p_value < 0.05

    # One arm with 4 seeds whose offsets hold in every language (a seed is one model): the seed term
    # of the average is s2(offsets)/S, not s2(offsets)/(S*L) as independent languages would give.
    offsets = np.array([-0.1, 0.0, 0.05, 0.1])
    seeded = {lang: values[None, :] + offsets[:, None] for lang, values in base.items()}
    average = language_average(seeded, n_resamples=4000)
    examples_term = sum(base[lg].var() / n for lg, n in sizes.items()) / len(sizes) ** 2
    assert average.std_error == pytest.approx(math.sqrt(offsets.var(ddof=1) / 4 + examples_term), rel=0.06)
    assert not isinstance(average, Difference)
    with pytest.raises(ValueError, match="languages"):
        language_average(arm, {"de": base["de"]})


def test_robustness_summaries_by_hand() -> None:
    scores = {"de": [70.0, 74.0, 72.0], "sw": [50.0, 58.0, 54.0], "fr": [80.0, 80.0, 80.0]}
    summary = robustness(scores)
    assert summary.language_means == {"de": 72.0, "sw": 54.0, "fr": 80.0}
    # de: deviations -2, 2, 0 -> sample variance 8/2 -> std 2; sw: -4, 4, 0 -> 4; fr: 0.
    assert summary.seed_std == pytest.approx({"de": 2.0, "sw": 4.0, "fr": 0.0})
    # Seed averages (70+50+80)/3 = 66.67, (74+58+80)/3 = 70.67, (72+54+80)/3 = 68.67: std 2.
    assert summary.average == pytest.approx(206 / 3)
    assert summary.average_seed_std == pytest.approx(2.0)
    assert (summary.worst_language, summary.worst) == ("sw", 54.0)
    assert (summary.best_language, summary.best) == ("fr", 80.0)
    assert summary.spread == 26.0
    # Language means 72, 54, 80 around 206/3: squared deviations sum to 1064/3 -> variance 532/3.
    assert summary.language_std == pytest.approx(math.sqrt(532 / 3))
    one_seed = robustness({"de": 70.0, "en": 80.0})
    assert one_seed.seed_std == {"de": None, "en": None} and one_seed.average_seed_std is None
    with pytest.raises(ValueError, match="same seeds"):
        robustness({"de": [1.0, 2.0], "en": [1.0]})


def test_robustness_from_per_example_values() -> None:
    # seed_scores: each seed's metric, here percent correct: 3/4 and 1/4.
    per_seed = seed_scores(np.array([[1, 1, 1, 0], [0, 0, 1, 0]]), PERCENT)
    assert per_seed == [75.0, 25.0]
    assert robustness({"de": per_seed}).seed_std["de"] == pytest.approx(math.sqrt(2 * 25.0**2))


def test_scaling_curve_bands() -> None:
    rng = np.random.default_rng(9)
    base = (rng.random(800) < 0.55).astype(float)
    # Accuracy rising with volume: 0.55 + gain, examples flipped from wrong to right.
    points = {}
    for volume, gain in [(4000, 0.12), (1000, 0.05), (2000, 0.09)]:
        values = base.copy()
        wrong = np.flatnonzero(values == 0)
        values[wrong[: int(gain * base.size)]] = 1.0
        points[volume] = np.stack([values, values])  # two identical seeds
    curve = scaling_curve(points, metric=PERCENT, n_resamples=1000)
    assert [p.x for p in curve] == [1000.0, 2000.0, 4000.0]
    # Two identical seeds: the band is the binomial one, 2 * 1.96 * sqrt(p (1 - p) / n) points wide.
    p = curve[0].interval.estimate / 100
    assert curve[0].interval.width == pytest.approx(2 * 196 * math.sqrt(p * (1 - p) / 800), rel=0.1)
    means = [p.interval.estimate for p in curve]
    assert means == sorted(means)
    for point in curve:
        assert point.interval.low <= point.interval.estimate <= point.interval.high
        assert point.interval.width > 0

    gains = scaling_curve(points, metric=PERCENT, baseline=base, n_resamples=1000)
    # The gain at 1000 is exactly the 40 flipped examples of 800: 5 points.
    assert gains[0].interval.estimate == pytest.approx(100 * int(0.05 * 800) / 800)
    assert all(isinstance(p.interval, Difference) and p.interval.p_value < 0.05 for p in gains)
    # Per-language points are language averages; a point's band depends only on its position.
    by_language = scaling_curve([(1, {"de": base, "fr": base}), (2, {"de": base, "fr": 1 - base})])
    assert by_language[1].interval.estimate == pytest.approx(0.5)
    alone = scaling_curve([(1, {"de": base, "fr": base})])
    assert alone[0].interval == by_language[0].interval


def test_inputs_that_are_rejected() -> None:
    with pytest.raises(ValueError, match="same examples"):
        bootstrap_ci([[1.0, 0.0], [1.0]])
    with pytest.raises(ValueError, match="finite"):
        bootstrap_ci([1.0, float("nan")])
    with pytest.raises(ValueError, match="no seeds or no examples"):
        bootstrap_ci(np.zeros((2, 0)))
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([1.0, 0.0], confidence=95)
    assert point_estimate([[1.0, 0.0], [1.0, 1.0]], MEAN) == pytest.approx(0.75)
