"""The report laid out as headed blocks of text tables and figures, which the HTML page and the
Markdown output both render: the two show the same tables with the same cells.

Cell conventions: scores are mean±std over seeds (plain mean with one seed); `*` marks a score over
fewer seeds (or, in benchmark tables, fewer languages or tasks) than the rest; a difference reads
`+2.1 [0.4, 3.9]`, the estimate and its interval, and is emphasised when the interval excludes 0.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from xstilts.report.model import Cell, Curve, Delta, Report, Section, StudyReport
from xstilts.report.sections import slug

DASH = "-"
# Cells that read as numbers (scores, differences, p values, "-"): right-aligned, text left.
NUMERIC = re.compile(r"^[-+<]?\d|^-$")
_KIND_NAMES = {"structured": "structured prediction", "sentence": "sentence-level", "other": "other"}


@dataclass
class Table:
    anchor: str
    title: str
    header: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)
    strong: set[tuple[int, int]] = field(default_factory=set)  # (row, column) cells to emphasise

    def numeric(self, column: int) -> bool:
        return column > 0 and all(NUMERIC.match(row[column]) for row in self.rows)


@dataclass
class FigureRef:
    name: str  # file stem: name.png and name.svg beside index.html
    caption: str


@dataclass
class Block:
    """A heading, its paragraphs, then tables and figures in the order they are shown."""

    anchor: str
    title: str
    level: int  # 2: a study, 3: a part of it
    paragraphs: list[str] = field(default_factory=list)
    items: list[Table | FigureRef] = field(default_factory=list)

    @property
    def tables(self) -> list[Table]:
        return [item for item in self.items if isinstance(item, Table)]


def number(value: float | None, signed: bool = False) -> str:
    if value is None or math.isnan(value):
        return DASH
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def p_value(value: float | None) -> str:
    if value is None:
        return DASH
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def score(cell: Cell | None) -> str:
    if cell is None or cell.mean is None:
        return DASH
    text = number(cell.mean) + (f"±{cell.std:.1f}" if cell.std is not None else "")
    return text + ("*" if cell.partial else "")


def delta(d: Delta | None) -> str:
    if d is None:
        return DASH
    if d.low is None or d.high is None:
        return number(d.estimate, signed=True)
    return f"{number(d.estimate, signed=True)} [{number(d.low)}, {number(d.high)}]"


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
    header = ["series", curve.x_label, "arms", curve.y_label, f"{level} CI"]
    return Table(f"{curve.name}-table", f"{curve.section}: {curve.x_label}", header, rows)


def study_blocks(study: StudyReport, confidence: float = 0.95) -> list[Block]:
    level = f"{100 * confidence:g}%"
    stem = slug(study.name)
    head = Block(stem, f"Study {study.name}", 2)
    if study.description:
        head.paragraphs.append(study.description)
    head.paragraphs.append(
        (f"Baseline arm: {study.baseline}." if study.baseline else "No baseline arm.")
        + f" Last number recorded {study.last_recorded or 'never'}."
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
    if study.benchmarks:
        bench = Block(f"{stem}-benchmarks", "Benchmark scores", 3)
        bench.paragraphs.append(
            "Each cell is the mean over seeds; * marks an average over the languages or tasks the study "
            "has, not all the benchmark's (partial). QA tasks score (F1 + exact match) / 2."
        )
        for t in study.benchmarks:
            header = ["arm", *(f"{c} ({t.coverage[c]})" for c in t.columns)]
            rows = [
                [arm, *(number(c.value) + ("*" if c.partial else "") for c in cells)] for arm, cells in t.rows
            ]
            bench.items.append(
                Table(f"{stem}-{t.benchmark}", f"{t.benchmark} ({t.overall_rule})", header, rows)
            )
        blocks.append(bench)
    for section in study.sections:
        block = Block(f"{stem}-{section.key}", section.title, 3)
        block.paragraphs.append(f"{_KIND_NAMES[section.kind]} task; rows: arms, columns: languages.")
        block.paragraphs += section.notes
        block.items += _score_tables(study, section) + _delta_tables(study, section, level)
        blocks.append(block)
    if study.heatmap is not None:
        heat = Block(f"{stem}-heatmap", "Intermediate x target: gain over the baseline", 3)
        h = study.heatmap
        strong = {(i, j + 1) for i, row in enumerate(h.significant) for j, s in enumerate(row) if s}
        rows = [
            [arm, *(number(v, signed=True) for v in values)]
            for arm, values in zip(h.rows, h.values, strict=True)
        ]
        heat.items.append(
            Table(
                f"{stem}-heatmap-table",
                "Gain in the language average",
                ["arm", *h.columns],
                rows,
                strong=strong,
            )
        )
        heat.items.append(
            FigureRef(
                h.name,
                "Gain of each intermediate arm on each task's language average "
                f"(* : the {level} interval excludes 0).",
            )
        )
        blocks.append(heat)
    if study.curves:
        curves = Block(f"{stem}-scaling", "Scaling curves", 3)
        curves.paragraphs.append(
            f"Pointwise {level} bands; arms at the same x are pooled as more seeds of one arm."
        )
        for curve in study.curves:
            curves.items.append(
                FigureRef(curve.name, f"{curve.section}: {curve.y_label} against {curve.x_label}.")
            )
            curves.items.append(_curve_table(curve, level))
        blocks.append(curves)
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
    blocks.append(stats)
    return blocks


def report_blocks(report: Report) -> list[Block]:
    return [block for study in report.studies for block in study_blocks(study, report.confidence)]
