"""The report's tables as Markdown (`xstilts report DIR --format md`): the blocks of `layout`. Figures
are drawn only by the HTML report (`xstilts report DIR`, into DIR/report): one found there is named by
its file, one not (yet) drawn is named by the command that draws it."""

from __future__ import annotations

from pathlib import Path

from xstilts.report.blocks import Block, FigureRef, Table
from xstilts.report.layout import report_blocks
from xstilts.report.model import Report

# site.REPORT_DIR, the HTML report's folder under DIR: not imported, as `site` loads matplotlib,
# which printing tables has no need of (tests check the two agree).
FIGURE_DIR = "report"


def _escape(text: str) -> str:
    # A bare `*` would start emphasis and `|` would end the cell.
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*")


def table_markdown(table: Table) -> str:
    lines = [f"**{_escape(table.title)}**", ""]
    lines.append("| " + " | ".join(_escape(h) for h in table.header) + " |")
    align = ["---:" if table.numeric(j) else "---" for j in range(len(table.header))]
    lines.append("|" + "|".join(align) + "|")
    for i, row in enumerate(table.rows):
        cells = [f"**{_escape(c)}**" if (i, j) in table.strong else _escape(c) for j, c in enumerate(row)]
        lines.append("| " + " | ".join(cells) + " |")
    if table.notes:
        lines += [""] + [_escape(note) for note in table.notes]
    return "\n".join(lines)


def _figure_markdown(figure: FigureRef, source: str) -> str:
    png = Path(source) / FIGURE_DIR / f"{figure.name}.png"
    if png.is_file():
        # Relative to DIR, as the HTML report links it; drawn by the last `xstilts report DIR`.
        where = f"Figure `{FIGURE_DIR}/{figure.name}.png` (and `.svg`)"
    else:
        where = f"Figure (not drawn yet: `xstilts report {source}` draws it)"
    return f"{where}: {_escape(figure.caption)}"


def block_markdown(block: Block, source: str = ".") -> str:
    parts = [f"{'#' * block.level} {_escape(block.title)}"]
    parts += [_escape(p) for p in block.paragraphs]
    for item in block.items:
        parts.append(_figure_markdown(item, source) if isinstance(item, FigureRef) else table_markdown(item))
    return "\n\n".join(parts)


def report_markdown(report: Report) -> str:
    head = f"# xstilts report: {_escape(report.source)}"
    blocks = (block_markdown(b, report.source) for b in report_blocks(report))
    return "\n\n".join([head, *blocks]) + "\n"
