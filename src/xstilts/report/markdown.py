"""The report's tables as Markdown (`xstilts report DIR --format md`): the blocks of `layout`, figures
named by their files under DIR/report (written by the HTML report, not by this)."""

from __future__ import annotations

from xstilts.report.layout import Block, FigureRef, Table, report_blocks
from xstilts.report.model import Report


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


def block_markdown(block: Block) -> str:
    parts = [f"{'#' * block.level} {_escape(block.title)}"]
    parts += [_escape(p) for p in block.paragraphs]
    for item in block.items:
        if isinstance(item, FigureRef):
            parts.append(f"Figure `report/{item.name}.png` (and `.svg`): {_escape(item.caption)}")
        else:
            parts.append(table_markdown(item))
    return "\n\n".join(parts)


def report_markdown(report: Report) -> str:
    head = f"# xstilts report: {_escape(report.source)}"
    return "\n\n".join([head, *(block_markdown(b) for b in report_blocks(report))]) + "\n"
