"""The report laid out as headed blocks of text tables and figures, which the HTML page and the
Markdown output both render: the two show the same tables with the same cells.

A study opens with its arms and then its findings (each arm's gain on each task, with the heat map
of the same numbers), then the detail: benchmark scores, a section per task, scaling curves,
robustness and how the intervals were computed.

Cell conventions: scores are mean±std over seeds (plain mean with one seed) on a 0-100 scale, and
differences are in points of it; `*` marks a score over fewer seeds (or, in benchmark tables, fewer
languages or tasks) than the rest; a difference reads `+2.1 [0.4, 3.9]`, the estimate and its
interval, and is bold when the interval excludes 0 (the heat map figure marks it the same way).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from xstilts.report.model import BenchmarkTable, Cell, Curve, Delta, Report, Section, StudyReport
from xstilts.report.sections import slug
from xstilts.report.summary import primary_sections

DASH = "-"
# Cells that read as numbers (scores, differences, p values, "-"): right-aligned, text left.
NUMERIC = re.compile(r"^[-+<]?\d|^-$")
_KIND_NAMES = {"structured": "structured prediction", "sentence": "sentence-level", "other": "other"}
# Said once near the top and repeated where numbers are read: the store's scores are percentages.
UNITS = "Scores are on a 0-100 scale; gains and differences are in points of that scale."


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
    if value is None or math.isnan(value):  # NaN: nothing varied, nothing to test
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


def curve_unit(curve: Curve) -> str:
    """The y axis' unit: a gain over the baseline is in points, a plain average a 0-100 score."""
    return "(points)" if curve.y_label.startswith("gain") else "(0-100)"


def recorded(timestamp: str) -> str:
    """A store timestamp (ISO 8601, microseconds, UTC) to the minute: '2026-12-01 16:49 UTC'.

    The store writes UTC; a timestamp without an offset is read as UTC too. Text that is not a
    timestamp is shown as it is rather than hidden."""
    try:
        when = datetime.fromisoformat(timestamp)
    except ValueError:
        return timestamp
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _findings(study: StudyReport, level: str) -> Block | None:
    """The answer first: every non-baseline arm's gain on every task's language average.

    Columns are the sections the heat map and the structured/sentence split use (one per task:
    a target task after target training, a retrieval task after the intermediate phase); a cell
    is the language-average row of that section's difference table, so the two agree. The
    baseline's row gives its score, the level each gain is measured from."""
    # A task scored after a phase other than target training is a retrieval task (target tasks
    # are only scored after it): the set `summary.primary_sections` wants to choose their phase.
    retrieval_tasks = {s.task for s in study.sections if s.phase != "target"}
    retrieval = {s.key for s in study.sections if s.task in retrieval_tasks}
    columns = [s for s in primary_sections(study.sections, retrieval) if s.deltas and s.tables[0].rows]
    if not columns:
        return None
    arms: list[str] = []
    for s in columns:
        arms += [d.arm for d in s.deltas if d.arm not in arms]
    # A section's first score row is the arm its differences are from (as in `_delta_tables`).
    baseline = columns[0].tables[0].rows[0].arm

    def seeds(arm: str) -> str:
        # Seeds behind the language average (those that scored every language), per task;
        # one number when the tasks agree, else the range (the baseline's retrieval row is
        # the pretrained encoder: one model, one "seed").
        found = sorted({row.average.seeds for s in columns for row in s.tables[0].rows if row.arm == arm})
        if not found:
            return DASH
        return str(found[0]) if len(found) == 1 else f"{found[0]}-{found[-1]}"

    # Retrieval sections measure from the pretrained encoder, target sections from the baseline arm.
    firsts = list(dict.fromkeys(s.tables[0].rows[0].arm for s in columns))
    base = [f"baseline score ({' / '.join(firsts)})", *(score(s.tables[0].rows[0].average) for s in columns)]
    rows, strong = [[*base, seeds(baseline)]], set()
    measured = up = down = 0
    for i, arm in enumerate(arms, start=1):
        cells = []
        for j, s in enumerate(columns, start=1):
            d = next((d.average for d in s.deltas if d.arm == arm), None)
            cells.append(DASH if d is None else _gain_p(d))
            measured += d is not None and d.low is not None
            if d is not None and d.significant:
                strong.add((i, j))
                above = d.low is not None and d.low > 0  # else the interval is below 0
                up, down = up + above, down + (not above)
        rows.append([arm, *cells, seeds(arm)])
    header = ["arm", *(f"{s.title}, {s.metric}" for s in columns), "seeds"]
    table = Table(
        f"{slug(study.name)}-findings-table",
        f"Gain over {baseline} in the language average (points), {level} interval, p",
        header,
        rows,
        strong=strong,
    )
    block = Block(f"{slug(study.name)}-findings", "Findings: gain over the baseline", 3)
    block.paragraphs.append(
        f"{UNITS} Each cell: an arm's gain over {baseline} in the task's language average, its "
        f"{level} interval and the paired bootstrap p; bold: the interval excludes 0 "
        f"({_count(up, 'gain')} and {_count(down, 'loss', 'losses')} of {measured} with an interval, "
        "not corrected for the number of comparisons). seeds: the seeds that scored every language. "
        "Per-language differences are in each task's section below."
    )
    block.items.append(table)
    return block


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _gain_p(d: Delta) -> str:
    """'+4.1 [2.4, 6.3] p=0.010': the gain, its interval and its p in one cell."""
    if d.p_value is None:
        return delta(d)
    p = p_value(d.p_value)
    return f"{delta(d)} p{p}" if p.startswith("<") else f"{delta(d)} p={p}"


def coverage_notes(t: BenchmarkTable) -> list[str]:
    """A partial overall averages the tasks an arm has: arms with different tasks are not comparable
    there (an arm without a hard task looks better), so the table says so."""
    parts = [k for k, column in enumerate(t.columns) if column != "overall"]
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
    findings = _findings(study, level)
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
        for t in study.benchmarks:
            # The overall score first, beside the arm: the column read most, and the one a wide
            # table would otherwise push out of sight.
            order = sorted(range(len(t.columns)), key=lambda k: t.columns[k] != "overall")
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
