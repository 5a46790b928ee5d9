"""The report as one static HTML page: inline CSS, figures linked by relative paths, no script, no
font or URL from outside, so it opens from disk (or a copied folder) with no network."""

from __future__ import annotations

from html import escape

from xstilts.report.layout import Block, FigureRef, Table, report_blocks
from xstilts.report.model import Report

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 78rem;
       padding: 0 1rem; color: #1d1d1f; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.5rem; border-bottom: 2px solid #ccc; }
h3 { margin-top: 2rem; }
nav ul { columns: 2; font-size: 0.9rem; }
.wide { overflow-x: auto; margin: 0.5rem 0 1.2rem; }
table { border-collapse: collapse; font-size: 0.85rem; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 0.3rem 0; }
th, td { border: 1px solid #d0d0d0; padding: 0.2rem 0.5rem; white-space: nowrap; }
th { background: #f2f2f2; } td { text-align: right; } td:first-child { text-align: left; }
tbody tr:nth-child(even) { background: #fafafa; }
td.strong { font-weight: 700; background: #e8f1ff; } td.text { text-align: left; }
p.note { font-size: 0.8rem; color: #555; margin: 0.2rem 0; }
figure { margin: 1rem 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.85rem; color: #444; }
"""


def table_html(table: Table) -> str:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in table.header)
    # Numbers right-aligned, a column of text left (as the Markdown tables align them).
    text = {j for j in range(1, len(table.header)) if not table.numeric(j)}
    body = []
    for i, row in enumerate(table.rows):
        cells = []
        for j, cell in enumerate(row):
            if j == 0:
                cells.append(f'<th scope="row">{escape(cell)}</th>')
                continue
            classes = (["strong"] if (i, j) in table.strong else []) + (["text"] if j in text else [])
            attribute = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{attribute}>{escape(cell)}</td>")
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
