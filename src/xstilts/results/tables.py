"""Results as rows: the tables `xstilts run` and `xstilts results` print, and CSV / Parquet exports.

One table per evaluated task, split and phase (a target task is evaluated after its target phase;
a retrieval task after each phase its study names): languages down, arms across (a task of forty
languages stays as wide as the study has arms), the task's primary metric, and an `avg` row over
the languages. With several seeds a cell is mean±std (sample standard deviation) over them, and
the avg row is the mean±std over seeds of each seed's average, so its spread is that of the
language average, not the mean of the per-language spreads. A retrieval task scored on the
pretrained model gets that as its first column in the tables of later phases: the baseline an
intermediate phase is to improve on.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from xstilts.errors import ConfigError, XstiltsError
from xstilts.files import atomic_write_bytes

if TYPE_CHECKING:
    from xstilts.config.study import Study

Style = Literal["text", "md"]

# Numbers recorded next to the scores that are settings or flags, not scores.
SKIP_METRICS = {"layer", "threshold", "threshold_from_test", "threshold_tuned_on_scored_data"}
# The headline metric of a row family whatever order its format reports them in: tagging and BUCC
# give precision and recall before F1, QA exact match before F1 (XTREME's tables lead with F1).
PREFERRED_METRICS = ("f1", "accuracy", "map@20")
# One evaluation: a row family that one run produces for one arm and seed.
EVALUATION = ("study", "arm", "phase", "seed", "task", "split")
SOME_SEEDS_MISSING = "* fewer seeds than the rest of its column (an unfinished study?)"


def primary_metric(rows: list[dict[str, Any]]) -> str:
    metrics = [r["metric"] for r in rows if r["metric"] not in SKIP_METRICS]
    if not metrics:
        raise XstiltsError(
            f"results of {rows[0]['task']}: no score among {sorted({r['metric'] for r in rows})}"
        )
    return next((m for m in PREFERRED_METRICS if m in metrics), metrics[0])


def current_rows(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Per evaluation, the rows of the run recorded last, and how many rows of other runs were left out.

    A study file edited under the same name (another data size, other hyperparameters) makes new runs
    for the same arm and seed; the store keeps the old runs' numbers, but averaging them in would
    count them as extra seeds. Rows without `recorded_at` (a run's own list) count as equally recent.
    """
    stamps: dict[tuple[Any, ...], dict[str, str]] = defaultdict(dict)
    for row in rows:
        runs = stamps[tuple(row.get(k) for k in EVALUATION)]
        runs[row["run"]] = max(runs.get(row["run"], ""), row.get("recorded_at") or "")
    latest = {key: max(runs, key=lambda run: (runs[run], run)) for key, runs in stamps.items()}
    kept = [r for r in rows if latest[tuple(r.get(k) for k in EVALUATION)] == r["run"]]
    return kept, len(rows) - len(kept)


def _stat(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f}±{statistics.stdev(values):.1f}"


class _Table:
    """Cells (language, column) -> {seed: value} of one task, split and phase."""

    def __init__(self) -> None:
        self.languages: list[str] = []
        self.columns: list[tuple[str, str]] = []  # (arm, phase): a baseline arm never merges with an arm
        self.cells: dict[tuple[str, tuple[str, str]], dict[Any, float]] = defaultdict(dict)
        self.task_versions: set[Any] = set()

    def add(self, row: dict[str, Any]) -> None:
        column = (row["arm"], row["phase"])
        if row["language"] not in self.languages:
            self.languages.append(row["language"])
        if column not in self.columns:
            self.columns.append(column)
        self.cells[(row["language"], column)][row["seed"]] = float(row["value"])
        if row.get("task_version") is not None:
            self.task_versions.add(row["task_version"])

    def seed_count(self) -> int:
        return max(len(self._seeds(c)) for c in self.columns)

    def _seeds(self, column: tuple[str, str]) -> set[Any]:
        return {s for lang in self.languages for s in self.cells.get((lang, column), {})}

    def body(self) -> tuple[list[list[str]], list[str]]:
        """Rows of strings (languages, then avg) and the notes under the table."""
        flagged = False
        lines: list[list[str]] = [[lang] for lang in self.languages] + [["avg"]]
        for column in self.columns:
            seeds = self._seeds(column)
            for line, lang in zip(lines, self.languages, strict=False):
                by_seed = self.cells.get((lang, column), {})
                cell = _stat(list(by_seed.values())) if by_seed else "-"
                if by_seed and len(by_seed) < len(seeds):
                    cell, flagged = cell + "*", True
                line.append(cell)
            # Each seed's own language average, over the seeds that have every language.
            complete = [
                s for s in seeds if all(s in self.cells.get((lang, column), {}) for lang in self.languages)
            ]
            averages = [
                statistics.mean(self.cells[(lang, column)][s] for lang in self.languages) for s in complete
            ]
            cell = _stat(averages) if averages else "-"
            if averages and len(complete) < len(seeds):
                cell, flagged = cell + "*", True
            lines[-1].append(cell)
        notes = [SOME_SEEDS_MISSING] if flagged else []
        if len(self.task_versions) > 1:
            versions = ", ".join(map(str, sorted(self.task_versions)))
            notes.append(f"! the columns come from different versions of the task ({versions})")
        return lines, notes

    def render(self, title: str, style: Style) -> str:
        header = ["language", *(arm for arm, _ in self.columns)]
        body, notes = self.body()
        if style == "md":
            # A bare `*` would start emphasis or, leading a line, a list item.
            body = [[cell.replace("*", "\\*") for cell in row] for row in body]
            notes = [note.replace("*", "\\*") for note in notes]
            lines = [f"### {title}", "", "| " + " | ".join(header) + " |"]
            lines.append("|" + "|".join(["---", *("---:" for _ in self.columns)]) + "|")
            lines += ["| " + " | ".join(row) + " |" for row in body]
            return "\n".join(lines + ([""] + notes if notes else []))
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
        return "\n".join(lines + notes)


def format_tables(rows: list[dict[str, Any]], style: Style = "text") -> str:
    """The tables of results rows (a run's list or a store's rows), as plain text or Markdown."""
    rows, _ = current_rows(rows)
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row.get("study"), row["task"], row["split"], row["phase"])].append(row)
    phases: dict[tuple[Any, ...], set[str]] = defaultdict(set)
    for study, task, split, phase in groups:
        phases[(study, task, split)].add(phase)
    several_studies = len({key[0] for key in groups}) > 1
    blocks = []
    for (study, task, split, phase), group in groups.items():
        task_phases = phases[(study, task, split)]
        if phase == "pretrained" and len(task_phases) > 1:
            continue  # it is the first column of the task's other tables
        baseline = groups.get((study, task, split, "pretrained"), []) if phase != "pretrained" else []
        metric = primary_metric(group)
        parts = [split, metric] + ([f"after {phase}"] if task_phases != {"target"} else [])
        table = _Table()
        for row in baseline + group:
            if row["metric"] == metric:
                table.add(row)
        if not table.columns:
            continue
        if table.seed_count() > 1:
            parts.append(f"mean±std over {table.seed_count()} seeds")
        title = (f"{study}: " if several_studies else "") + f"{task} ({', '.join(parts)})"
        blocks.append(table.render(title, style))
    return "\n\n".join(blocks)


def write_results(out_dir: Path, study: Study, rows: list[dict[str, Any]]) -> None:
    """results.json (every number), scores.json (benchmark averages) and results.txt (the tables)."""
    from xstilts.files import write_json
    from xstilts.metrics.benchmark import scores
    from xstilts.metrics.benchmark_text import format_scores

    write_json(out_dir / "results.json", rows)
    summary = scores(with_baseline_retrieval(rows, study))
    write_json(out_dir / "scores.json", summary)
    text = format_tables(rows) if rows else "(no results)"
    benchmark_text = format_scores(summary)
    if benchmark_text:
        text += "\n\n" + benchmark_text
    atomic_write_bytes(
        out_dir / "results.txt", f"study {study.name}: {study.description}\n\n{text}\n".encode()
    )


def with_baseline_retrieval(rows: list[dict[str, Any]], study: Study) -> list[dict[str, Any]]:
    """Rows for benchmark scores: an arm with no intermediate phase retrieves with the pretrained
    model, so its retrieval numbers (recorded once, under arm `pretrained`) count for it, per seed."""
    pretrained = [r for r in rows if r["phase"] == "pretrained"]
    baselines = [arm.name for arm in study.arms if not arm.intermediate]
    copies = [
        {**row, "arm": arm, "seed": seed} for arm in baselines for seed in study.seeds for row in pretrained
    ]
    return [r for r in rows if r["phase"] != "pretrained"] + copies


# --- exports ---------------------------------------------------------------------------------------
# `xstilts results` imports only this module and the store: the data and model modules (torch) would
# add seconds to printing a table.


def check_export_path(path: Path, option: str) -> None:
    """Before anything is written: the folder must exist and the path must not be one."""
    if not path.parent.is_dir():
        raise ConfigError(f"{option} {path}", f"no such directory {path.parent}")
    if path.is_dir():
        raise ConfigError(f"{option} {path}", "is a directory")


def export_csv(rows: list[dict[str, Any]], path: Path, columns: tuple[str, ...]) -> None:
    """One line per row; an empty seed is the pretrained model's, `nan` a metric that was not a number."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)  # floats are written as repr: read back with float() they are equal
    atomic_write_bytes(path, buffer.getvalue().encode("utf-8"))


def export_parquet(rows: list[dict[str, Any]], path: Path, columns: tuple[str, ...]) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise XstiltsError("--parquet needs pyarrow (pip install pyarrow)") from None
    types = {"seed": pa.int64(), "task_version": pa.int64(), "value": pa.float64()}
    schema = pa.schema([(c, types.get(c, pa.string())) for c in columns])
    table = pa.Table.from_pylist([{c: row.get(c) for c in columns} for row in rows], schema=schema)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    atomic_write_bytes(path, sink.getvalue().to_pybytes())
