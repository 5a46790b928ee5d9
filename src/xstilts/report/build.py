"""A study's report from its output directory: the results store, and `study.json` for its resolved.

    report = build_report(Path("runs/x"))            # every study in runs/x/results.sqlite
    write_site(report, Path("runs/x/report"))        # xstilts.report.site: index.html + figures

Only the store's current rows count (`current_rows`: a study edited under the same name keeps its
older runs' numbers in the store, but they are not extra seeds). `study.json` describes the study
that last ran in the directory; another study in the same store is reported without a resolved (no
baseline unless `--baseline` names one, no scaling curves).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from xstilts.config.study import Study
from xstilts.errors import ConfigError
from xstilts.ranking.file import read_rankings
from xstilts.report.compare import Comparer
from xstilts.report.evidence import MIN_SEEDS, ExampleSource
from xstilts.report.model import ArmSummary, Curve, Report, Section, StudyReport
from xstilts.report.scaling import scaling_specs
from xstilts.report.sections import Gathered, gather_sections, robustness_rows, score_tables, seed_order, slug
from xstilts.report.selection import task_selection
from xstilts.report.study_file import (
    PRETRAINED,
    card_formats,
    describe_arm,
    load_study_json,
    resolve_baseline,
)
from xstilts.report.summary import benchmark_tables, heat_map, primary_sections, split_rows
from xstilts.results.store import STORE_NAME, ResultsStore
from xstilts.results.tables import current_rows

_VARIABLES = ("volume", "tasks", "mix")


def open_store(out_dir: Path) -> ResultsStore:
    """The directory's store, or the one-line error `xstilts report` exits 2 with."""
    if not out_dir.is_dir():
        what = (
            "not a directory (give the study's output directory)" if out_dir.exists() else "no such directory"
        )
        raise ConfigError(f"report {out_dir}", what)
    path = out_dir / STORE_NAME
    if not path.is_file():
        raise ConfigError(
            str(out_dir), f"no results store ({STORE_NAME}) here: `xstilts run STUDY --out DIR` makes one"
        )
    return ResultsStore(path, create=False)


def build_report(
    out_dir: Path,
    *,
    study: str | None = None,
    baseline: str | None = None,
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """The report of every study in the store (or `study`); `progress` is told each section as its
    statistics start (a study the size of Phang et al.'s takes minutes at 2,000 resamples)."""
    if resamples < 1:
        raise ConfigError("--resamples", f"must be at least 1, not {resamples}")
    if not 0 < confidence < 1:
        raise ConfigError("--confidence", f"must be between 0 and 1, not {confidence}")
    store = open_store(out_dir)
    names = store.studies()
    if not names:
        raise ConfigError(str(store.path), "the results store is empty (no study has recorded a number yet)")
    if study is not None and study not in names:
        raise ConfigError(f"--study {study}", f"no such study in {store.path} (it has {', '.join(names)})")
    chosen = [study] if study else names
    resolved = load_study_json(out_dir)
    formats = card_formats(resolved)
    rows = {name: current_rows(store.rows(study=name)) for name in chosen}
    if baseline is not None and not any(baseline in {r["arm"] for r in kept} for kept, _ in rows.values()):
        raise ConfigError(f"--baseline {baseline}", f"no arm of that name in {', '.join(chosen)}")
    rankings = read_rankings(out_dir)  # `xstilts rank`'s, for the task-selection section
    reports = []
    for name in chosen:
        kept, superseded = rows[name]
        own = resolved if resolved is not None and resolved.name == name else None
        comparer = Comparer(ExampleSource(store, name), resamples, confidence, seed)
        study_report = _study(name, kept, superseded, own, baseline, formats, comparer, progress)
        if rankings is not None and rankings.study == name:
            arms = [a.name for a in study_report.arms]
            found = task_selection(rankings, kept, study_report.baseline, arms, formats, comparer, slug(name))
            study_report = replace(study_report, selection=found)
        reports.append(study_report)
    return Report(str(out_dir), reports, confidence, resamples)


def _arm_order(rows: list[dict[str, Any]], resolved: Study | None) -> list[str]:
    present = list(dict.fromkeys(r["arm"] for r in rows if r["arm"] != PRETRAINED))
    planned = [a.name for a in resolved.arms if a.name in present] if resolved else []
    return planned + [a for a in present if a not in planned]


def _study(
    name: str,
    rows: list[dict[str, Any]],
    superseded: int,
    resolved: Study | None,
    requested: str | None,
    formats: dict[str, str],
    comparer: Comparer,
    progress: Callable[[str], None] | None,
) -> StudyReport:
    arms = _arm_order(rows, resolved)
    baseline = resolve_baseline(resolved, arms, requested)
    notes = []
    if superseded:
        notes.append(
            f"{superseded} numbers of older runs of the same arms are left out (the store keeps them)."
        )
    if resolved is None:
        notes.append(
            "No study.json for this study in the directory: arms are described by name only and no "
            "scaling curves are drawn."
        )
    planned = [a.name for a in resolved.arms if a.name not in arms] if resolved else []
    if planned:
        notes.append(
            f"Arms planned in study.json without results yet: {', '.join(planned)} (a study still running?)."
        )
    if baseline is None:
        waiting = [name for name in resolved.baselines if name in planned] if resolved else []
        notes.append(
            f"The baseline arm {waiting[0]} has no results yet: no differences."
            if waiting
            else "No baseline arm (none without an intermediate phase; --baseline names one): no differences."
        )
    gathered = gather_sections(rows, baseline, arms, formats)
    sections = []
    for i, g in enumerate(gathered):
        if progress is not None:
            progress(f"{name}: {g.title} ({i + 1}/{len(gathered)})")
        sections.append(
            Section(
                key=g.key,
                title=g.title,
                task=g.task,
                split=g.split,
                phase=g.phase,
                kind=g.kind,  # type: ignore[arg-type]
                metric=g.metrics[0],
                tables=score_tables(g),
                deltas=comparer.deltas(g),
                robustness=robustness_rows(g),
                sizes=comparer.sizes(g),
            )
        )
    primary = primary_sections(sections, {g.key for g in gathered if g.retrieval})
    by_key = {g.key: g for g in gathered}
    stem = slug(name)
    curves = _curves(stem, resolved, arms, [by_key[s.key] for s in primary], comparer)
    labels = {}
    for arm in resolved.arms if resolved else ():
        # The heat map's rows say which intermediate tasks an arm trained on, unless its name does.
        tasks = "+".join(arm.tasks) if len(arm.tasks) <= 3 else f"{len(arm.tasks)} tasks"
        if arm.intermediate and tasks != arm.name:
            labels[arm.name] = f"{arm.name} ({tasks})"
    baseline_seeds = seed_order({r["seed"] for r in rows if r["arm"] == baseline and r["seed"] is not None})
    if not baseline_seeds:
        baseline_seeds = list(resolved.seeds) if resolved and resolved.seeds else [None]
    notes += comparer.source.problems
    return StudyReport(
        name=name,
        description=resolved.description if resolved else "",
        baseline=baseline,
        arms=[_arm_summary(a, rows, resolved, baseline) for a in arms],
        sections=sections,
        benchmarks=benchmark_tables(rows, baseline, baseline_seeds, arms),
        heatmap=heat_map(f"{stem}-heatmap", primary, labels),
        curves=curves,
        split=split_rows(primary),
        statistics=_statistics(comparer),
        last_recorded=max((r.get("recorded_at") or "" for r in rows), default=""),
        notes=notes,
    )


def _arm_summary(
    arm: str, rows: list[dict[str, Any]], resolved: Study | None, baseline: str | None
) -> ArmSummary:
    found = resolved.arm(arm) if resolved else None
    description = describe_arm(found) if found else "(not in study.json)"
    seeds = {r["seed"] for r in rows if r["arm"] == arm}
    return ArmSummary(arm, description, len(seeds), arm == baseline)


def _curves(
    stem: str, resolved: Study | None, arms: list[str], primary: list[Gathered], comparer: Comparer
) -> list[Curve]:
    specs = scaling_specs(resolved, arms)
    curves = []
    for variable in _VARIABLES:
        # One figure per x axis: volumes in examples and in fractions (or English and Spanish shares)
        # are not one scale.
        axes = list(dict.fromkeys(s.x_label for s in specs if s.variable == variable))
        for n, x_label in enumerate(axes):
            chosen = [s for s in specs if s.variable == variable and s.x_label == x_label]
            name = variable if n == 0 else f"{variable}{n + 1}"
            for g in primary:
                series = [(spec, points) for spec in chosen if len(points := comparer.curve(g, spec)) > 1]
                if not series:
                    continue
                metric = g.metrics[0]
                y_label = f"gain in {metric} over {g.baseline}" if g.baseline else f"average {metric}"
                curves.append(Curve(f"{stem}-{name}-{g.key}", variable, g.title, x_label, y_label, series))
    return curves


def _statistics(comparer: Comparer) -> str:
    levels = comparer.levels
    total = sum(levels.values())
    confidence = f"{100 * comparer.confidence:g}%"
    parts = [
        f"{confidence} percentile bootstrap intervals ({comparer.resamples:,} resamples) of each arm's "
        "difference from the baseline, both arms scored on the same resampled examples; p: paired "
        f"bootstrap test (Koehn 2004; two-sided), below {1 - comparer.confidence:.3g} exactly when the "
        "interval excludes 0. "
        "With several seeds, a seed term is added: the seeds' variance beyond their example noise, "
        "drawn as Student's t (Welch's degrees of freedom); a trained arm with one seed is given the "
        "seed variance of the arm it is compared with (xstilts.stats says why). Where neither "
        "side has several seeds, there is no seed term: the interval covers test-set noise only, not "
        "what another training seed would change"
    ]
    if total:
        parts.append(
            f"{levels['examples']} of {total} comparisons resample examples; {levels['seeds']} have "
            f"seed scores only (no per-example scores in the store, {MIN_SEEDS} or more seeds: a "
            f"t-interval over seeds); {levels['none']} have no interval (no per-example scores and "
            f"fewer than {MIN_SEEDS} seeds)"
        )
    parts.append(
        "McNemar: exact test on 0/1 correctness per language; with several seeds, every pair of "
        "seeds must point the same way (intersection-union test)"
    )
    return ". ".join(parts) + "."
