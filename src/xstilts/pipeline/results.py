"""Results of a study as rows, and the languages x arms tables printed at the end of a run."""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from xstilts.pipeline.runs import write_json
from xstilts.pipeline.study import Study

# The primary metric of each row family; the first a format reports otherwise.
SKIP_METRICS = {"layer", "threshold", "threshold_from_test"}


def _cell(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f}±{statistics.stdev(values):.1f}"


def _table(
    title: str, row_names: list[str], columns: list[str], cells: dict[tuple[str, str], list[float]]
) -> str:
    header = ["language", *columns]
    body = [[r, *(_cell(cells.get((r, c), [])) for c in columns)] for r in row_names]
    averages = ["avg"]
    for c in columns:
        per_language = [statistics.mean(cells[(r, c)]) for r in row_names if cells.get((r, c))]
        averages.append(
            f"{statistics.mean(per_language):.1f}" if len(per_language) == len(row_names) else "-"
        )
    body.append(averages)
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = [
        title,
        "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
        "  ".join("-" * w for w in widths),
    ]
    lines += [
        "  ".join(
            v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in body
    ]
    return "\n".join(lines)


def primary_metric(rows: list[dict[str, Any]]) -> str:
    return next(r["metric"] for r in rows if r["metric"] not in SKIP_METRICS)


def format_tables(rows: list[dict[str, Any]]) -> str:
    """One table per task: languages down, arms (and, for retrieval, phases) across."""
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_task[row["task"]].append(row)
    blocks = []
    for task, task_rows in by_task.items():
        metric = primary_metric(task_rows)
        cells: dict[tuple[str, str], list[float]] = defaultdict(list)
        languages: list[str] = []
        columns: list[str] = []
        for row in task_rows:
            if row["metric"] != metric:
                continue
            column = (
                row["arm"] if row["phase"] in ("target", "pretrained") else f"{row['arm']} ({row['phase']})"
            )
            if row["phase"] == "target" and any(r["phase"] != "target" for r in task_rows):
                column = f"{row['arm']} (target)"
            languages += [row["language"]] if row["language"] not in languages else []
            columns += [column] if column not in columns else []
            cells[(row["language"], column)].append(float(row["value"]))
        split = task_rows[0]["split"]
        blocks.append(_table(f"{task} ({split}, {metric})", languages, columns, cells))
    return "\n\n".join(blocks)


def write_results(out_dir: Path, study: Study, rows: list[dict[str, Any]]) -> None:
    write_json(out_dir / "results.json", rows)
    text = format_tables(rows) if rows else "(no results)"
    (out_dir / "results.txt").write_text(
        f"study {study.name}: {study.description}\n\n{text}\n", encoding="utf-8"
    )
