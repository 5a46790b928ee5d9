"""The report as one static HTML page: inline CSS, figures linked by relative paths, no script, no
font or URL from outside, so it opens from disk (or a copied folder) with no network."""

from __future__ import annotations

import re
from html import escape

from xstilts.report.blocks import Block, FigureRef, Table
from xstilts.report.layout import report_blocks
from xstilts.report.model import Report

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 78rem;
       padding: 0 1rem; color: #1d1d1f; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.5rem; border-bottom: 2px solid #ccc; }
h3 { margin-top: 2rem; }
nav ul { columns: 2; font-size: 0.9rem; }
.wide { overflow-x: auto; max-width: 100%; margin: 0.5rem 0 1.2rem; }
table { border-collapse: collapse; font-size: 0.85rem; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 0.3rem 0; }
th, td { border: 1px solid #d0d0d0; padding: 0.2rem 0.5rem; white-space: nowrap; }
thead th { white-space: normal; min-width: 3rem; vertical-align: bottom; }
th { background: #f2f2f2; } td { text-align: right; } td:first-child { text-align: left; }
tbody tr:nth-child(even) { background: #fafafa; }
td.strong { font-weight: 700; background: #e8f1ff; } td.text { text-align: left; white-space: normal; }
p.note { font-size: 0.8rem; color: #555; margin: 0.2rem 0; }
figure { margin: 1rem 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.85rem; color: #444; }
"""
# A wide table first narrows to fit the page, and only then scrolls inside its own `.wide` box (never
# the page). Headers wrap between words (and after "_"); text cells wrap, keeping "(en 4000)" whole.
# Number cells never wrap on their own, which would break some cells of a column and not others:
# a table too wide for the page on one line has every two-part cell put on two lines at once,
# "+4.1" over "[2.4, 6.3]", "+4.1 [2.4, 6.3]" over "p=0.010", "0.100" over "(0.853)".
_GROUP = re.compile(r"\[[^\]]*\]|\([^)]*\)")
# The page's 78rem at the tables' 0.85rem font holds about 160 digits; cells are padded ~2 each.
_LINE_CHARS = 150
_TEXT_CHARS = 30  # a wrapping text column takes about this much of the line when the table is full


def _keep_groups(text: str) -> str:
    # Spaces inside [...] and (...) become no-break spaces: an interval or a parenthesis stays whole.
    return _GROUP.sub(lambda m: m.group(0).replace(" ", "\u00a0"), text)


def _last_break(text: str) -> int:
    """Index of the last space outside [...] and (...), or -1: where a two-part cell is split."""
    depth, found = 0, -1
    for k, char in enumerate(text):
        depth += char in "[("
        depth -= char in "])"
        if char == " " and depth == 0:
            found = k
    return found


def _width(table: Table, text: set[int], split: bool) -> int:
    """The table's width in characters, every cell on one line (or split in two where it can be)."""
    total = 0
    for j, title in enumerate(table.header):
        cells = [row[j] for row in table.rows]
        if split and j not in text:
            cells = [part for c in cells for part in _parts(c)]
        longest = max((len(c) for c in cells), default=0)
        if j in text:
            longest = min(longest, _TEXT_CHARS)
        total += max(longest, *(len(word) for word in title.replace("_", " ").split())) + 2
    return total


def _parts(cell: str) -> list[str]:
    k = _last_break(cell)
    return [cell] if k < 0 else [cell[:k], cell[k + 1 :]]


def _header_html(text: str) -> str:
    # "structured_prediction" has no space to wrap at: allow a break after each underscore.
    return escape(text).replace("_", "_<wbr>")


def table_html(table: Table) -> str:
    head = "".join(f'<th scope="col">{_header_html(h)}</th>' for h in table.header)
    # Numbers right-aligned, a column of text left (as the Markdown tables align them).
    text = {j for j in range(1, len(table.header)) if not table.numeric(j)}
    split = _width(table, text, split=False) > _LINE_CHARS
    body = []
    for i, row in enumerate(table.rows):
        cells = []
        for j, cell in enumerate(row):
            if j == 0:
                cells.append(f'<th scope="row">{escape(cell)}</th>')
                continue
            classes = (["strong"] if (i, j) in table.strong else []) + (["text"] if j in text else [])
            attribute = f' class="{" ".join(classes)}"' if classes else ""
            parts = _parts(cell) if split and j not in text else [cell]
            content = "<br>".join(escape(_keep_groups(part)) for part in parts)
            cells.append(f"<td{attribute}>{content}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in table.notes)
    return (
        f'<div class="wide"><table id="{escape(table.anchor)}"><caption>{escape(table.title)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{notes}</div>"
    )


def _figure_html(name: str, caption: str) -> str:
    png, svg = escape(f"{name}.png"), escape(f"{name}.svg")
    return (
        f'<figure id="figure-{escape(name)}"><img src="{png}" alt="{escape(caption)}" loading="eager">'
        f'<figcaption>{escape(caption)} <a href="{svg}">SVG</a> · <a href="{png}">PNG</a>'
        "</figcaption></figure>"
    )


def block_html(block: Block) -> str:
    tag = f"h{block.level}"
    parts = [f'<section id="{escape(block.anchor)}"><{tag}>{escape(block.title)}</{tag}>']
    parts += [f"<p>{escape(p)}</p>" for p in block.paragraphs]
    for item in block.items:
        parts.append(
            _figure_html(item.name, item.caption) if isinstance(item, FigureRef) else table_html(item)
        )
    parts.append("</section>")
    return "\n".join(parts)


def report_html(report: Report) -> str:
    blocks = report_blocks(report)
    title = f"xstilts report: {', '.join(s.name for s in report.studies)}"
    toc = "".join(
        f'<li><a href="#{escape(b.anchor)}">{"" if b.level == 2 else "· "}{escape(b.title)}</a></li>'
        for b in blocks
    )
    body = "\n".join(block_html(b) for b in blocks)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>\n"
        f"<body><h1>{escape(title)}</h1>"
        f"<p>From {escape(report.source)}: the results store and study.json. "
        f"{100 * report.confidence:g}% intervals from {report.resamples:,} bootstrap resamples.</p>"
        f"<nav><ul>{toc}</ul></nav>\n{body}\n</body></html>\n"
    )
