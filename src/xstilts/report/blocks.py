"""The pieces the report is laid out in (`layout`), which the HTML page and the Markdown output both
render: headed blocks of text tables and figures, and the text of their cells.

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

from xstilts.report.model import Cell, Curve, Delta

DASH = "-"
# Cells that read as numbers (scores, differences, p values, "-"): right-aligned, text left.
NUMERIC = re.compile(r"^[-+<]?\d|^-$")
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
