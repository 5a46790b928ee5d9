"""The "Task selection" section: `xstilts rank`'s rankings (`OUT/rankings.json`) against the gains the
study measured, for each target that has both.

The truth is each ranked arm's language-average gain over the baseline on the target, from the same
rows and the same resamples as the section's difference table (`Comparer`); its replicates are drawn
jointly for all arms (`xstilts.stats.joint`), so each is one possible set of measured gains, and every
ranking-quality measure gets its interval from them (`xstilts.ranking.quality`).
"""

from __future__ import annotations

import statistics
from typing import Any

import numpy as np

from xstilts.ranking.file import Rankings
from xstilts.ranking.quality import ranking_quality
from xstilts.report.compare import Comparer
from xstilts.report.model import Delta, MethodQuality, SelectionTarget, TaskSelection
from xstilts.report.sections import Gathered, gather_sections, seed_averages
from xstilts.stats.joint import joint_gains


def measured_gains(
    g: Gathered, arms: list[str], comparer: Comparer
) -> tuple[str, dict[str, float], dict[str, np.ndarray] | None]:
    """The level of evidence, each arm's gain over the section's baseline and its joint replicates
    (None with no evidence to resample: one seed and no per-example scores)."""
    assert g.baseline is not None
    labels = [g.baseline, *arms]
    languages = [lang for lang in g.languages if all(lang in g.cells(label) for label in labels)]
    if not languages:
        return "none", {}, None
    level, _ = comparer.evidence(g, labels)
    if level == "none":
        base = statistics.fmean(seed_averages(g.cells(g.baseline), languages) or [float("nan")])
        gains = {
            arm: statistics.fmean(seed_averages(g.cells(arm), languages) or [float("nan")]) - base
            for arm in arms
        }
        return level, gains, None
    resampled = comparer.resampled(g, level)
    gains, replicates = joint_gains(
        {arm: resampled[arm] for arm in arms},
        resampled[g.baseline],
        languages,
        comparer.stream(g.key, "task-selection"),
    )
    return level, gains, replicates


def _interval(estimate: float, draws: np.ndarray | None, confidence: float) -> Delta:
    if draws is None or draws.size < 2:
        return Delta(estimate)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(draws, [tail, 100 - tail])
    return Delta(estimate, float(low), float(high))


def task_selection(
    rankings: Rankings | None,
    rows: list[dict[str, Any]],
    baseline: str | None,
    arm_order: list[str],
    formats: dict[str, str],
    comparer: Comparer,
    stem: str,
) -> TaskSelection | None:
    """The section, or None unless the study has both rankings and measured gains for a target."""
    if rankings is None or baseline is None:
        return None
    sections = {g.key: g for g in gather_sections(rows, baseline, arm_order, formats) if g.phase == "target"}
    keys = list(dict.fromkeys(key for m in rankings.methods.values() for key in m.targets))
    targets = []
    for key in keys:
        g = sections.get(key)
        if g is None or g.baseline is None:
            continue
        ranked = {a for m in rankings.methods.values() if key in m.targets for a in m.targets[key].scores}
        arms = [a for a in g.arms if a in ranked and a != g.baseline]
        if len(arms) < 2:
            continue
        level, gains, replicates = measured_gains(g, arms, comparer)
        methods = []
        for name, method in rankings.methods.items():
            if key not in method.targets:
                continue
            scores = {a: v for a, v in method.targets[key].scores.items() if a in gains}
            if len(scores) < 2:
                continue
            found = ranking_quality(scores, gains, replicates, comparer.confidence)
            methods.append(
                MethodQuality(
                    name,
                    scores,
                    {measure: Delta(q.estimate, q.low, q.high) for measure, q in found.items()},
                    method.seconds,
                    method.prerequisite_seconds,
                    rankings.share(name),
                    rankings.share(name, with_prerequisites=True),
                )
            )
        if not methods:
            continue
        intervals = {
            arm: _interval(gain, None if replicates is None else replicates[arm], comparer.confidence)
            for arm, gain in gains.items()
        }
        title = g.title
        targets.append(
            SelectionTarget(key, title, g.baseline, f"{stem}-selection-{key}", intervals, level, methods)
        )
    if not targets:
        return None
    return TaskSelection(targets, rankings.arms_cost.seconds, rankings.arms_cost.source)
