"""The report laid out as headed blocks of text tables and figures (`blocks`), which the HTML page
and the Markdown output both render: the two show the same tables with the same cells.

A study opens with its arms and then its findings (each arm's gain on each task, with the heat map
of the same numbers), then the detail: benchmark scores, a section per task, scaling curves,
robustness and how the intervals were computed.
"""

from __future__ import annotations

from xstilts.metrics.benchmark_text import TASK_MEAN
from xstilts.report.blocks import (
    DASH,
    Block,
    FigureRef,
    Table,
    curve_unit,
    delta,
    number,
    p_value,
    recorded,
    score,
)
from xstilts.report.findings import findings_block
from xstilts.report.model import BenchmarkTable, Curve, Delta, Report, Section, StudyReport
from xstilts.report.sections import slug
from xstilts.report.selection_layout import selection_block

_KIND_NAMES = {"structured": "structured prediction", "sentence": "sentence-level", "other": "other"}


def _score_tables(study: StudyReport, section: Section) -> list[Table]:
    tables = []
    for t in section.tables:
        rows = [
            [
                row.arm + (f" ({row.note})" if row.note else ""),
                *(score(row.cells.get(lang)) for lang in t.languages),
            ]
            + [score(row.average)]
            for row in t.rows
        ]
        notes = []
        if any(c.partial for row in t.rows for c in [*row.cells.values(), row.average]):
            notes.append("* fewer seeds than the arm has elsewhere (an unfinished study?)")
        sizes = [f"{lang} {section.sizes[lang]:,}" for lang in t.languages if lang in section.sizes]
        if sizes:
            notes.append(f"Test examples per language: {', '.join(sizes)}.")
        anchor = f"{slug(study.name)}-{section.key}-{slug(t.metric)}"
        tables.append(
            Table(anchor, f"{section.title}: {t.metric}", ["arm", *t.languages, "avg"], rows, notes)
        )
    return tables


def _delta_tables(study: StudyReport, section: Section, level: str) -> list[Table]:
    if not section.deltas:
        return []
    languages = section.tables[0].languages
    baseline = section.tables[0].rows[0].arm if section.tables[0].rows else study.baseline
    rows, strong = [], set()
    for i, d in enumerate(section.deltas):
        cells = [delta(d.languages.get(lang)) for lang in languages]
        resampled = {"examples": "examples", "seeds": "seeds only", "none": "no interval"}[d.level]
        rows.append([d.arm, *cells, delta(d.average), p_value(d.average.p_value), resampled])
        strong |= {
            (i, j + 1)
            for j, lang in enumerate(languages)
            if lang in d.languages and d.languages[lang].significant
        }
        if d.average.significant:
            strong.add((i, len(languages) + 1))
    header = ["arm", *languages, f"avg [{level} CI]", "p", "resampled"]
    title = f"{section.title}: difference from {baseline} ({section.metric})"
    tables = [Table(f"{slug(study.name)}-{section.key}-delta", title, header, rows, strong=strong)]
    tested = [d for d in section.deltas if d.level == "examples"]
    if tested:
        p_rows = [[d.arm, *(_p_pair(d.languages.get(lang)) for lang in languages)] for d in tested]
        tables.append(
            Table(
                f"{slug(study.name)}-{section.key}-p",
                f"{section.title}: p per language, paired bootstrap (exact McNemar)",
                ["arm", *languages],
                p_rows,
            )
        )
    return tables


def _p_pair(d: Delta | None) -> str:
    if d is None or d.p_value is None:
        return DASH
    return p_value(d.p_value) + (f" ({p_value(d.mcnemar_p)})" if d.mcnemar_p is not None else "")


def _robustness_table(study: StudyReport, section: Section) -> Table:
    header = [
        "arm",
        "seeds",
        "avg",
        "std over seeds",
        "mean seed std per language",
        "worst language",
        "worst",
        "best language",
        "best",
        "spread (best - worst)",
        "std across languages",
    ]
    rows = [
        [
            r.arm,
            str(r.seeds),
            number(r.average),
            number(r.seed_std),
            number(r.language_seed_std),
            r.worst_language,
            number(r.worst),
            r.best_language,
            number(r.best),
            number(r.spread),
            number(r.language_std),
        ]
        for r in section.robustness
    ]
    anchor = f"{slug(study.name)}-{section.key}-robustness"
    return Table(anchor, f"{section.title}: robustness ({section.metric})", header, rows)


def _curve_table(curve: Curve, level: str) -> Table:
    rows = []
    for spec, points in curve.series:
        for p in points:
            interval = DASH if p.low is None else f"[{number(p.low)}, {number(p.high)}]"
            rows.append(
                [
                    spec.label,
                    f"{p.x:g}",
                    ", ".join(p.arms),
                    number(p.estimate, signed=curve.y_label.startswith("gain")),
                    interval,
                ]
            )
    header = ["series", curve.x_label, "arms", f"{curve.y_label} {curve_unit(curve)}", f"{level} CI"]
    return Table(f"{curve.name}-table", f"{curve.section}: {curve.x_label}", header, rows)


# The columns that summarise a benchmark table's others: shown first, beside the arm, in this order.
_SUMMARY_COLUMNS = ("overall", TASK_MEAN)


def coverage_notes(t: BenchmarkTable) -> list[str]:
    """A partial overall averages the tasks an arm has: arms with different tasks are not comparable
    there (an arm without a hard task looks better), so the table says so."""
    parts = [k for k, column in enumerate(t.columns) if column not in _SUMMARY_COLUMNS]
    covered = {arm: frozenset(k for k in parts if cells[k].value is not None) for arm, cells in t.rows}
    if len(set(covered.values())) < 2:
        return []
    fewest = min(covered, key=lambda arm: len(covered[arm]))
    missing = ", ".join(t.columns[k] for k in parts if k not in covered[fewest])
    return [
        f"The arms do not all have the same tasks ({fewest} lacks {missing}): their overall scores "
        "average different tasks and are not comparable."
    ]


def study_blocks(study: StudyReport, confidence: float = 0.95) -> list[Block]:
    level = f"{100 * confidence:g}%"
    stem = slug(study.name)
    head = Block(stem, f"Study {study.name}", 2)
    if study.description:
        head.paragraphs.append(study.description)
    head.paragraphs.append(
        (f"Baseline arm: {study.baseline}." if study.baseline else "No baseline arm.")
        + f" Last number recorded {recorded(study.last_recorded) if study.last_recorded else 'never'}."
    )
    head.paragraphs += study.notes
    head.items.append(
        Table(
            f"{stem}-arms",
            "Arms",
            ["arm", "intermediate phase", "seeds", "baseline"],
            [[a.name, a.description, str(a.seeds), "yes" if a.baseline else ""] for a in study.arms],
        )
    )
    blocks = [head]
    findings = findings_block(study, level)
    if findings is not None:
        # Right after the arms: the study's answer before the detail it rests on. The heat map
        # draws the same numbers, so it sits here too (its own table would repeat this one).
        if study.heatmap is not None:
            findings.items.append(
                FigureRef(
                    study.heatmap.name,
                    "Gain (points) of each intermediate arm on each task's language average; "
                    f"bold: the {level} interval excludes 0, as in the table.",
                )
            )
        blocks.append(findings)
    if study.benchmarks:
        bench = Block(f"{stem}-benchmarks", "Benchmark scores", 3)
        bench.paragraphs.append(
            "Each cell is the mean over seeds, on a 0-100 scale; * marks an average over the languages or "
            "tasks the study has, not all the benchmark's (partial). QA tasks score (F1 + exact match) / 2."
        )
        bench.paragraphs += [t.method for t in study.benchmarks if t.method]
        for t in study.benchmarks:
            # The overall score first, beside the arm: the column read most, and the one a wide
            # table would otherwise push out of sight; the other rule's number next to it.
            rank = {column: i for i, column in enumerate(_SUMMARY_COLUMNS)}
            order = sorted(range(len(t.columns)), key=lambda k: rank.get(t.columns[k], len(rank)))
            header = ["arm", *(f"{t.columns[k]} ({t.coverage[t.columns[k]]})" for k in order)]
            rows = [
                [arm, *(number(cells[k].value) + ("*" if cells[k].partial else "") for k in order)]
                for arm, cells in t.rows
            ]
            notes = coverage_notes(t)
            bench.items.append(
                Table(f"{stem}-{t.benchmark}", f"{t.benchmark} ({t.overall_rule})", header, rows, notes)
            )
        blocks.append(bench)
    for section in study.sections:
        block = Block(f"{stem}-{section.key}", section.title, 3)
        block.paragraphs.append(
            f"{_KIND_NAMES[section.kind]} task; rows: arms, columns: languages. Scores 0-100, "
            "differences in points."
        )
        block.paragraphs += section.notes
        block.items += _score_tables(study, section) + _delta_tables(study, section, level)
        blocks.append(block)
    if study.curves:
        curves = Block(f"{stem}-scaling", "Scaling curves", 3)
        curves.paragraphs.append(
            f"Shaded: pointwise {level} bands; arms at the same x are pooled as more seeds of one arm. "
            "Gains in points of the 0-100 score."
        )
        for curve in study.curves:
            curves.items.append(
                FigureRef(
                    curve.name,
                    f"{curve.section}: {curve.y_label} {curve_unit(curve)} against {curve.x_label}; "
                    f"shaded: {level} band.",
                )
            )
            curves.items.append(_curve_table(curve, level))
        blocks.append(curves)
    selection = selection_block(study, level)
    if selection is not None:
        blocks.append(selection)
    robust = Block(f"{stem}-robustness", "Robustness", 3)
    robust.paragraphs.append(
        "Per arm, over the seeds that scored every language: the standard deviation over seeds of the "
        "language average, the worst and best language, their spread and the spread across languages."
    )
    robust.items += [_robustness_table(study, s) for s in study.sections if s.robustness]
    if study.split:
        rows = [
            [
                r.arm,
                str(r.structured_tasks),
                number(r.structured_score),
                number(r.structured_delta, signed=True),
                str(r.sentence_tasks),
                number(r.sentence_score),
                number(r.sentence_delta, signed=True),
            ]
            for r in study.split
        ]
        header = [
            "arm",
            "structured tasks",
            "structured avg",
            "structured gain",
            "sentence tasks",
            "sentence avg",
            "sentence gain",
        ]
        robust.items.append(
            Table(
                f"{stem}-split",
                "Structured prediction (POS, NER, QA) vs sentence-level targets (classification, retrieval)",
                header,
                rows,
                notes=["Means over tasks of each task's language average and gain over the baseline."],
            )
        )
    blocks.append(robust)
    stats = Block(f"{stem}-method", "How the intervals were computed", 3, [study.statistics])
    # build.py's text says how; this says how to read many of them at once.
    stats.paragraphs.append(
        "p values and intervals are per comparison: per-language and per-task p values are not "
        "corrected for multiple comparisons, so with many languages, tasks and arms some will fall "
        "below 0.05 (and some intervals exclude 0) by chance alone."
    )
    blocks.append(stats)
    return blocks


def report_blocks(report: Report) -> list[Block]:
    return [block for study in report.studies for block in study_blocks(study, report.confidence)]
