"""A study's rows grouped into sections (one per evaluated task), their score tables and robustness.

A section is (task, split, phase): a target task after target training, or a retrieval task after
a phase. A retrieval task scored on the pretrained encoder and after the intermediate phase gets
one section, "after intermediate", in which the pretrained encoder's numbers stand for the baseline
arm (it has no intermediate phase: its encoder *is* the pretrained one, as the benchmark scores
count it, `with_baseline_retrieval`), or, when the study has no baseline arm, for a row named
`pretrained`, which is then the section's baseline.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from xstilts.config.formats import format_info
from xstilts.metrics.benchmark import RETRIEVAL, builtin_benchmarks
from xstilts.report.model import Cell, RobustRow, ScoreRow, ScoreTable
from xstilts.report.study_file import PRETRAINED, task_kind
from xstilts.results.tables import SKIP_METRICS, primary_metric
from xstilts.stats.robustness import robustness

Cells = dict[str, dict[Any, float]]  # {language: {seed: value}}


@dataclass
class Gathered:
    """One section's numbers: per arm label, per metric, {language: {seed: value}}."""

    key: str
    title: str
    task: str
    split: str
    phase: str
    kind: str
    retrieval: bool
    arms: list[str] = field(default_factory=list)
    baseline: str | None = None
    # The store's (arm, phase) behind each label: the baseline's row in an intermediate section is
    # the pretrained model's.
    source: dict[str, tuple[str, str]] = field(default_factory=dict)
    values: dict[str, dict[str, Cells]] = field(default_factory=dict)
    runs: dict[str, dict[Any, str]] = field(default_factory=dict)
    languages: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)

    def cells(self, label: str, metric: str | None = None) -> Cells:
        return self.values.get(label, {}).get(metric or self.metrics[0], {})


def seed_order(seeds: Any) -> list[Any]:
    return sorted(seeds, key=lambda s: (s is not None, s))


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "x"


def _benchmark_task(task: str):
    for bench in builtin_benchmarks().values():
        if task in {t.name for t in bench.tasks}:
            return bench.task(task)
    return None


def gather_sections(
    rows: list[dict[str, Any]], baseline: str | None, arm_order: list[str], formats: dict[str, str]
) -> list[Gathered]:
    """Sections in the order: target tasks, then tasks scored after other phases (first recorded first)."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["metric"] not in SKIP_METRICS and not math.isnan(float(row["value"])):
            groups[(row["task"], row["split"], row["phase"])].append(row)
    phases: dict[tuple[str, str], set[str]] = defaultdict(set)
    for task, split, phase in groups:
        phases[(task, split)].add(phase)
    sections = []
    for (task, split, phase), group in groups.items():
        if phase == PRETRAINED and len(phases[(task, split)]) > 1:
            continue  # the baseline row of the task's other sections
        bench_task = _benchmark_task(task)
        fmt = formats.get(task)
        retrieval = (fmt is not None and format_info(fmt).retrieval) or (
            bench_task is not None and bench_task.category == RETRIEVAL
        )
        title = task + (f" ({split})" if phase == "target" else f" ({split}, after {phase})")
        g = Gathered(
            slug(f"{task}-{split}-{phase}"), title, task, split, phase, task_kind(task, fmt), retrieval
        )
        primary = primary_metric(group)
        others = [m for m in (bench_task.metrics if bench_task else ()) if m != primary]
        present = {r["metric"] for r in group}
        g.metrics = [primary, *(m for m in others if m in present)]
        pretrained = groups.get((task, split, PRETRAINED), []) if phase == "intermediate" else []
        trained = {row["arm"] for row in group}
        if phase != PRETRAINED:
            g.baseline = baseline
        if pretrained:
            # The baseline arm has no intermediate phase, so no rows here: the pretrained encoder's
            # are its. A baseline that does have one (--baseline) keeps its own; `pretrained` is a row.
            stands_for = baseline if baseline is not None and baseline not in trained else PRETRAINED
            g.baseline = baseline if baseline in trained else stands_for
            _add(g, stands_for, (PRETRAINED, PRETRAINED), pretrained)
        for row in group:
            if row["metric"] in g.metrics:
                _add(g, row["arm"], (row["arm"], phase), [row])
        if g.baseline not in g.values:
            g.baseline = None
        order = {name: i for i, name in enumerate(arm_order)}
        # The baseline first, then the pretrained encoder where it is a row of its own, then the arms.
        g.arms = sorted(g.values, key=lambda a: (a != g.baseline, a != PRETRAINED, order.get(a, len(order))))
        sections.append(g)
    return sorted(sections, key=lambda g: g.phase != "target")


def _add(g: Gathered, label: str, source: tuple[str, str], rows: list[dict[str, Any]]) -> None:
    g.source[label] = source
    for row in rows:
        if row["metric"] not in g.metrics:
            continue
        g.values.setdefault(label, {}).setdefault(row["metric"], {}).setdefault(row["language"], {})[
            row["seed"]
        ] = float(row["value"])
        g.runs.setdefault(label, {})[row["seed"]] = row["run"]
        if row["language"] not in g.languages:
            g.languages.append(row["language"])


def _cell(values: list[float], partial: bool) -> Cell:
    if not values:
        return Cell(None, None, 0)
    std = statistics.stdev(values) if len(values) > 1 else None
    return Cell(statistics.fmean(values), std, len(values), partial)


def complete_seeds(cells: Cells, languages: list[str]) -> list[Any]:
    """The seeds that scored every one of `languages`."""
    if not languages or any(lang not in cells for lang in languages):
        return []
    return seed_order(set.intersection(*(set(cells[lang]) for lang in languages)))


def seed_averages(cells: Cells, languages: list[str]) -> list[float]:
    """Each complete seed's average over the languages."""
    return [statistics.fmean(cells[lang][s] for lang in languages) for s in complete_seeds(cells, languages)]


def score_tables(g: Gathered) -> list[ScoreTable]:
    tables = []
    for metric in g.metrics:
        rows = []
        for label in g.arms:
            cells = g.cells(label, metric)
            seeds = {s for by_seed in cells.values() for s in by_seed}
            by_language = {
                lang: _cell(list(cells[lang].values()), len(cells[lang]) < len(seeds))
                for lang in g.languages
                if lang in cells
            }
            averages = seed_averages(cells, g.languages)
            average = _cell(averages, 0 < len(averages) < len(seeds))
            note = "pretrained encoder" if g.source[label][1] == PRETRAINED and label != PRETRAINED else ""
            rows.append(ScoreRow(label, by_language, average, note))
        tables.append(ScoreTable(metric, list(g.languages), rows))
    return tables


def robustness_rows(g: Gathered) -> list[RobustRow]:
    """Per arm, over the seeds that scored every language of the section."""
    found = []
    for label in g.arms:
        cells = g.cells(label)
        seeds = complete_seeds(cells, g.languages)
        if not seeds:
            continue
        summary = robustness({lang: [cells[lang][s] for s in seeds] for lang in g.languages})
        stds = [s for s in summary.seed_std.values() if s is not None]
        found.append(
            RobustRow(
                arm=label,
                seeds=len(seeds),
                average=summary.average,
                seed_std=summary.average_seed_std,
                language_seed_std=statistics.fmean(stds) if stds else None,
                worst_language=summary.worst_language,
                worst=summary.worst,
                best_language=summary.best_language,
                best=summary.best,
                spread=summary.spread,
                language_std=summary.language_std,
            )
        )
    return found
