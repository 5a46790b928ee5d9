"""Intermediate-task selection, the parts without a model: LogME against the closed form, overlap on
constructed data, the ranking-quality measures on hand-computed cases, joint gain replicates and the
proxy run's place in the plan."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy.stats import multivariate_normal

from xstilts.ranking.logme import log_evidence, logme, maximise_evidence
from xstilts.ranking.overlap import language_share, overlap, token_counts, weighted_jaccard
from xstilts.ranking.quality import measures, ndcg_at, ranking_quality, regret_at, spearman


@pytest.mark.parametrize("n, d", [(60, 5), (8, 20)], ids=["more-rows", "more-columns"])
def test_log_evidence_is_the_gaussian_marginal_likelihood(n: int, d: int) -> None:
    # y = F w + e with w ~ N(0, I / alpha), e ~ N(0, I / beta): y ~ N(0, I / beta + F F' / alpha).
    rng = np.random.default_rng(0)
    features = rng.normal(size=(n, d))
    y = features @ rng.normal(size=d) + 0.5 * rng.normal(size=n)
    for alpha, beta in [(0.7, 2.3), (5.0, 0.2)]:
        direct = multivariate_normal(np.zeros(n), np.eye(n) / beta + features @ features.T / alpha).logpdf(y)
        assert log_evidence(features, y, alpha, beta) == pytest.approx(direct, rel=1e-9)


def test_the_fixed_point_maximises_the_evidence() -> None:
    rng = np.random.default_rng(1)
    features = rng.normal(size=(200, 6))
    y = features @ rng.normal(size=6) + rng.normal(size=200)
    found = maximise_evidence(features, y)
    best = found.per_example * 200
    assert best == pytest.approx(log_evidence(features, y, found.alpha, found.beta))
    for scale_alpha in (0.9, 1.0, 1.1):
        for scale_beta in (0.9, 1.0, 1.1):
            assert (
                log_evidence(features, y, found.alpha * scale_alpha, found.beta * scale_beta) <= best + 1e-9
            )
    # The noise was N(0, 1): the noise precision found is near 1.
    assert found.beta == pytest.approx(1.0, rel=0.3)


def test_logme_prefers_features_that_separate_the_classes() -> None:
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 3, size=300)
    informative = np.eye(3)[labels] * 3 + 0.3 * rng.normal(size=(300, 3))
    noise = rng.normal(size=(300, 3))
    assert logme(informative, labels) > logme(noise, labels)
    # Class ids and their one-hot columns are the same targets.
    assert logme(informative, labels) == pytest.approx(logme(informative, np.eye(3)[labels]))
    with pytest.raises(ValueError, match="two classes"):
        logme(informative, np.zeros(300, dtype=int))


def test_overlap_on_constructed_data() -> None:
    first = token_counts([[0, 5, 6, 2], [0, 5, 5, 2]], special=[0, 2])
    assert first == {5: 3, 6: 1}
    assert weighted_jaccard(first, first) == 1.0
    assert weighted_jaccard(first, {7: 4}) == 0.0
    # p = (3/4, 1/4), q = (1/2, 0, 1/2) over tokens 5, 6, 7: sum min = 1/2, sum max = 3/4 + 1/4 + 1/2.
    assert weighted_jaccard(first, {5: 1, 7: 1}) == pytest.approx(0.5 / 1.5)
    # Only the distribution counts, not the data's size.
    assert weighted_jaccard(first, {5: 30, 6: 10}) == 1.0
    assert language_share(["en", "de"], ["de", "fr", "zh", "en"]) == 0.5
    found = overlap(first, {5: 1, 7: 1}, ["en"], ["de", "en"])
    assert (found.vocabulary, found.languages) == (pytest.approx(1 / 3), 0.5)
    assert found.score == pytest.approx((1 / 3 + 0.5) / 2)


GAINS = {"a": 3.0, "b": 1.0, "c": -1.0, "d": 0.0}


def test_quality_measures_on_hand_computed_cases() -> None:
    perfect = {"a": 4.0, "b": 3.0, "d": 2.0, "c": 1.0}
    assert measures(perfect, GAINS) == {"spearman": 1.0, "ndcg@3": 1.0, "regret@1": 0.0, "regret@3": 0.0}
    reversed_order = {arm: -v for arm, v in perfect.items()}
    assert spearman(reversed_order, GAINS) == pytest.approx(-1.0)
    # Method order d, a, b, c: regret@1 = 3 - 0; regret@3 = 0 (a is in the top 3).
    mixed = {"d": 4.0, "a": 3.0, "b": 2.0, "c": 1.0}
    assert regret_at(1, mixed, GAINS) == 3.0 and regret_at(3, mixed, GAINS) == 0.0
    # Relevance = gain + 1 (the lowest gain is -1): d 1, a 4, b 2, c 0. DCG@3 = 1/log2(2) + 4/log2(3)
    # + 2/log2(4); ideal a, b, d: 4 + 2/log2(3) + 1/log2(4).
    dcg = 1 + 4 / math.log2(3) + 2 / 2
    ideal = 4 + 2 / math.log2(3) + 1 / 2
    assert ndcg_at(3, mixed, GAINS) == pytest.approx(dcg / ideal)
    # ranks (d, a, b, c) = (1, 2, 3, 4) vs gains' ranks (3, 1, 2, 4): rho = 1 - 6 * (4 + 1 + 1 + 0) / 60.
    assert spearman(mixed, GAINS) == pytest.approx(1 - 6 * 6 / 60)
    assert ndcg_at(3, mixed, dict.fromkeys(GAINS, 2.0)) == 1.0
    assert math.isnan(spearman(dict.fromkeys(GAINS, 1.0), GAINS))


def _brute_force(measure, k: int, predicted: dict[str, float], gains: dict[str, float]) -> float:
    """The measure averaged over every strict order consistent with the method's scores (each tie
    broken every way, equally likely), by enumerating them."""
    import itertools

    orders = [
        order
        for order in itertools.permutations(predicted)
        if all(predicted[x] >= predicted[y] for x, y in itertools.pairwise(order))
    ]
    values = []
    for order in orders:
        strict = {arm: float(len(order) - i) for i, arm in enumerate(order)}
        values.append(measure(k, strict, gains))
    return sum(values) / len(values)


@pytest.mark.parametrize(
    "predicted",
    [
        {"a": 0.0, "b": 0.0, "c": 0.0, "d": 1.0},  # one first, three tied: the PAN-X proxy's shape
        {"a": 0.0, "b": 0.0, "c": 0.0, "d": 0.0},  # all tied
        {"a": 2.0, "b": 1.0, "c": 1.0, "d": 1.0},
        {"c": 5.0, "a": 5.0, "b": 1.0, "d": 1.0},
    ],
)
def test_tied_scores_count_every_order_alike(predicted: dict[str, float]) -> None:
    """regret@k and NDCG@k of a ranking with ties are the mean over every way to break the ties,
    whatever order the arms come in (the report reads them from a file, rank from the study)."""
    backwards = dict(reversed(list(predicted.items())))
    for k in (1, 2, 3):
        for measure in (regret_at, ndcg_at):
            expected = _brute_force(measure, k, predicted, GAINS)
            assert measure(k, predicted, GAINS) == pytest.approx(expected)
            assert measure(k, backwards, GAINS) == pytest.approx(expected)
    # spearman already ranks ties by their mean position
    if len(set(predicted.values())) > 1:
        assert spearman(predicted, GAINS) == pytest.approx(spearman(backwards, GAINS))


def test_quality_intervals_come_from_the_gains_replicates() -> None:
    perfect = {"a": 4.0, "b": 3.0, "d": 2.0, "c": 1.0}
    assert ranking_quality(perfect, GAINS)["spearman"].low is None
    # Replicates in which b sometimes beats a: regret@1 is then 0 or the gap, never negative.
    rng = np.random.default_rng(3)
    replicates = {arm: gain + rng.normal(scale=1.5, size=500) for arm, gain in GAINS.items()}
    found = ranking_quality(perfect, GAINS, replicates)
    assert found["spearman"].estimate == 1.0
    assert found["spearman"].low < 1.0 <= found["spearman"].high
    assert 0.0 <= found["regret@1"].low <= found["regret@1"].high
    assert found["regret@1"].high > 0.0
    # Without noise the interval is the point.
    exact = ranking_quality(perfect, GAINS, {arm: np.full(50, gain) for arm, gain in GAINS.items()})
    assert (exact["ndcg@3"].low, exact["ndcg@3"].high) == (1.0, 1.0)


def test_joint_gains_share_the_baseline_draw() -> None:
    from xstilts.results.recipes import PERCENT
    from xstilts.stats.joint import joint_gains
    from xstilts.stats.resampling import resample_examples

    rng = np.random.default_rng(4)
    base = {"de": rng.integers(0, 2, size=(3, 80))}
    arm = {"de": np.clip(base["de"] + rng.integers(0, 2, size=(3, 80)), 0, 1)}
    resampled = resample_examples([base, arm, arm], PERCENT, 300, 7)
    gains, replicates = joint_gains({"x": resampled[1], "y": resampled[2]}, resampled[0], ["de"], 7)
    expected = 100 * (arm["de"].mean() - base["de"].mean())
    assert gains["x"] == pytest.approx(expected) and gains["y"] == pytest.approx(expected)
    assert replicates["x"].shape == (300,)
    # Two identical arms differ only by their own seed-term draws, never by the baseline's.
    assert np.corrcoef(replicates["x"], replicates["y"])[0, 1] > 0.3


def test_a_proxy_run_is_its_own_node(tmp_path: Path, shared_data: Path) -> None:
    from xstilts.config.study import load_study
    from xstilts.plan.graph import build_plan
    from xstilts.ranking.candidates import candidates, proxy_node, target_steps

    study = {
        "name": "p",
        "model": "random:tiny",
        "data_dir": str(shared_data),
        "seeds": [1, 2],
        "target_training": {"batch_size": 8, "epochs": 2},
        "arms": [
            {"name": "none"},
            {"name": "nli", "intermediate": [{"task": "xnli", "split": "dev", "size": 16}]},
        ],
        "targets": [
            {
                "task": "pawsx",
                "train": {"split": "dev", "languages": ["en"], "size": 80},
                "evaluate": {"split": "dev", "languages": ["de"], "size": 8, "offset": 80},
            }
        ],
    }
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    loaded, registry = load_study(path)
    plan = build_plan(loaded, registry, tmp_path / "out")
    found = candidates(plan)
    assert found.arms == ["nli"] and set(found.intermediate) == {("nli", 1), ("nli", 2)}
    (case,) = found.cases
    target = case.nodes[("nli", 1)]
    assert target_steps(target) == 20  # 80 examples x 2 epochs / 8
    short = proxy_node(target, 0.1)
    assert short.training.max_steps == 2 and short.parent is target.parent
    assert short.phase == "proxy" and short.run.path.name.startswith("proxy-")
    assert short.id != target.id and short.id not in {node.id for node in plan.nodes}
    assert proxy_node(target, 0.1).id == short.id  # the same proxy again: the same cached run
    assert proxy_node(target, 0.2).id != short.id
