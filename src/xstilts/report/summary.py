"""Views across a study's sections: XTREME / XTREME-R scores, the intermediate x target heat map,
and the structured-prediction vs sentence-level split."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from typing import Any

from xstilts.metrics.benchmark import builtin_benchmarks, scores
from xstilts.metrics.benchmark_text import TASK_MEAN, overall_method, overall_rule, shows_task_mean
from xstilts.report.model import BenchmarkCell, BenchmarkTable, HeatMap, Section, SplitRow
from xstilts.report.study_file import PRETRAINED
from xstilts.results.tables import SKIP_METRICS

# Which section of a task stands for it where a study scores it after several phases: the benchmark
# scores' choice (`PHASE_PREFERENCE`), retrieval on the encoder before target training.
_RETRIEVAL_PHASES = ("intermediate", PRETRAINED, "target")
_OTHER_PHASES = ("target", "intermediate", PRETRAINED)


def primary_sections(sections: list[Section], retrieval: set[str]) -> list[Section]:
    """One section per task, in the order of `sections`."""
    chosen: dict[str, Section] = {}
    for section in sections:
        order = _RETRIEVAL_PHASES if section.key in retrieval else _OTHER_PHASES
        current = chosen.get(section.task)
        if current is None or order.index(section.phase) < order.index(current.phase):
            chosen[section.task] = section
    return [s for s in sections if chosen.get(s.task) is s]


def _mean(values: list[float | None]) -> float | None:
    found = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.fmean(found) if found else None


def benchmark_tables(
    rows: list[dict[str, Any]], baseline: str | None, baseline_seeds: list[Any], arm_order: list[str]
) -> list[BenchmarkTable]:
    """Per benchmark the study has any task of: arms down; task, category and overall scores across (and
    the plain mean of the tasks where the overall is a mean of categories: xtreme's evaluate.py rule),
    each the mean over seeds of a seed's score. A score over fewer languages (or tasks) than the
    benchmark's is the average of what is there and is marked partial."""
    usable = [r for r in rows if r["metric"] not in SKIP_METRICS and not math.isnan(float(r["value"]))]
    own = [r for r in usable if r["phase"] != PRETRAINED]
    if baseline is not None:
        # The baseline's encoder is the pretrained one: its retrieval numbers count for it, per seed.
        own += [
            {**r, "arm": baseline, "seed": seed}
            for seed in baseline_seeds
            for r in usable
            if r["phase"] == PRETRAINED
        ]
    summary = scores(own)
    tables = []
    for bench in builtin_benchmarks().values():
        entries = [e for e in summary["overall"] if e["benchmark"] == bench.name]
        covered = [
            t.name
            for t in bench.tasks
            if any(e["tasks"][t.name]["partial_score"] is not None for e in entries)
        ]
        if not covered:
            continue
        categories = [c for c in bench.categories if any(c in e["partial_categories"] for e in entries)]
        coverage = {
            t: f"{max(e['tasks'][t]['languages'] for e in entries)}/{len(bench.task(t).languages)} languages"
            for t in covered
        }
        for t in covered:
            # A study may score a task only on another split (the demo's PAWS-X dev subset): then the
            # number is not the benchmark's, and the header says on which split it is.
            splits = sorted({e["sources"][t]["split"] for e in entries if t in e.get("sources", {})})
            if splits and splits != [bench.task(t).split]:
                coverage[t] += f", on {'/'.join(splits)}, not {bench.task(t).split}"
        for c in categories:
            coverage[c] = f"{sum(t in covered for t in bench.categories[c])}/{len(bench.categories[c])} tasks"
        coverage["overall"] = f"{len(covered)}/{len(bench.tasks)} tasks"
        extra = [TASK_MEAN] if shows_task_mean(bench) else []
        for column in extra:
            coverage[column] = coverage["overall"]
        by_arm: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for e in entries:
            by_arm[e["arm"]].append(e)
        order = {name: i for i, name in enumerate(arm_order)}
        table_rows = []
        for arm in sorted(by_arm, key=lambda a: order.get(a, len(order))):
            systems = by_arm[arm]
            cells = [
                _bench_cell([(s["tasks"][t]["score"], s["tasks"][t]["partial_score"]) for s in systems])
                for t in covered
            ]
            cells += [
                _bench_cell([(s["categories"].get(c), s["partial_categories"].get(c)) for s in systems])
                for c in categories
            ]
            cells.append(_bench_cell([(s["overall"], s["partial_overall"]) for s in systems]))
            if extra:
                cells.append(_bench_cell([(s["task_mean"], s["partial_task_mean"]) for s in systems]))
            table_rows.append((arm, cells))
        columns = [*covered, *categories, "overall", *extra]
        tables.append(
            BenchmarkTable(
                bench.name, overall_rule(bench), columns, coverage, table_rows, overall_method(bench)
            )
        )
    return tables


def _bench_cell(per_seed: list[tuple[float | None, float | None]]) -> BenchmarkCell:
    values = [full if full is not None else partial for full, partial in per_seed]
    mean = _mean(values)
    return BenchmarkCell(mean, mean is not None and any(full is None for full, _ in per_seed))


def heat_map(name: str, primary: list[Section], labels: dict[str, str]) -> HeatMap | None:
    """Average gain of each intermediate arm (rows) on each task (columns)."""
    arms: list[str] = []
    for section in primary:
        arms += [d.arm for d in section.deltas if d.arm not in arms]
    columns = [s for s in primary if s.deltas]
    if not arms or not columns:
        return None
    values: list[list[float | None]] = []
    significant: list[list[bool]] = []
    for arm in arms:
        found = [{d.arm: d for d in s.deltas}.get(arm) for s in columns]
        values.append(
            [None if d is None or math.isnan(d.average.estimate) else d.average.estimate for d in found]
        )
        significant.append([d is not None and d.average.significant for d in found])
    return HeatMap(name, [labels.get(a, a) for a in arms], [s.task for s in columns], values, significant)


def split_rows(primary: list[Section]) -> list[SplitRow]:
    """Per arm, mean gain and mean score over its structured prediction and its sentence-level tasks."""
    arms: list[str] = []
    for section in primary:
        arms += [r.arm for r in section.tables[0].rows if r.arm not in arms]
    found = []
    for arm in arms:
        parts: dict[str, tuple[list[float | None], list[float | None]]] = {
            "structured": ([], []),
            "sentence": ([], []),
        }
        for section in primary:
            if section.kind not in parts:
                continue
            row = next((r for r in section.tables[0].rows if r.arm == arm), None)
            if row is None:
                continue
            delta = next((d.average.estimate for d in section.deltas if d.arm == arm), None)
            parts[section.kind][0].append(delta)
            parts[section.kind][1].append(row.average.mean)
        (s_delta, s_score), (t_delta, t_score) = parts["structured"], parts["sentence"]
        found.append(
            SplitRow(
                arm=arm,
                structured_delta=_mean(s_delta),
                structured_score=_mean(s_score),
                structured_tasks=len(s_score),
                sentence_delta=_mean(t_delta),
                sentence_score=_mean(t_score),
                sentence_tasks=len(t_score),
            )
        )
    return found
