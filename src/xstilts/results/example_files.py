"""Per-example records on disk: one zstd Parquet file per evaluation, beside its scores.

Each evaluation writes `runs/<run>/evals/<name>.examples.parquet` (`write_examples_file`): every
evaluated language's records (the columns a format's `records` gives) in one table, and in the
file's metadata the recipe of each metric (`xstilts.results.recipes.RecipeData`), so the numbers
can be recomputed from the file alone. The results store points at these files
(`xstilts.results.store.ResultsStore.examples`).

Why files and not rows of the store: XNLI test (15 languages x 5,010 pairs) for 11 arms and one seed
is 826,650 examples. Measured with their ids, 0/1 correctness and predicted labels: 124 MiB as rows
keyed like `results`, 27 MiB with the key factored out into an evaluation number, 2.2 MiB as 11 zstd
Parquet files (204 KiB each, read back in 25 ms). Rows would also hold every study's write lock for
the length of a 75,000-row insert, and a report reads one evaluation at a time anyway.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xstilts.errors import XstiltsError
from xstilts.results.recipes import RecipeData, Records, Rows, scores

# Schema metadata key of an examples file: JSON with the metric recipes and what was evaluated.
_EXAMPLES_META = b"xstilts.examples"
EXAMPLES_FILE_VERSION = 1


@dataclass(frozen=True)
class ExamplesFile:
    """One evaluation's per-example records: {language: columns}, the recipe of each metric
    computed from them (the format's `recipes`), and what the writer recorded about it (`info`)."""

    languages: dict[str, Records]
    metrics: dict[str, RecipeData]
    info: dict[str, Any]


@dataclass(frozen=True)
class EvaluationExamples:
    """The per-example records of one evaluated language, with the results key they belong to.

    Rows are the evaluated examples in data order; arms evaluated on the same selection have the
    same ids in the same order (align by `columns["id"]` all the same: it is the contract)."""

    study: str
    arm: str
    run: str
    phase: str
    seed: int | None
    task: str
    language: str
    split: str
    path: Path
    columns: Records
    metrics: dict[str, RecipeData]

    def __len__(self) -> int:
        return len(self.columns["id"])

    def scores(self, rows: Rows = None) -> dict[str, float]:
        """The evaluation's metrics recomputed from these rows by their recipes, or from `rows` of
        them (indices, with repeats for a bootstrap resample)."""
        return scores(self.columns, self.metrics, rows)


def _arrow_column(values: np.ndarray) -> Any:
    import pyarrow as pa

    # Object columns (ids, labels, answers, tag tuples) go through lists so pyarrow infers string or
    # list<string>; numeric columns keep their compact dtype (int8 correctness, int32 counts).
    return pa.array(values.tolist()) if values.dtype == object else pa.array(values)


def write_examples_file(
    path: Path,
    languages: Mapping[str, Records],
    metrics: Mapping[str, Sequence[str]],
    **info: Any,
) -> None:
    """One evaluation's per-example records, every language in one zstd Parquet file, atomically.

    Columns: `language`, then each language's columns (the same names in every language; `id`
    first), so a file is one table however many languages it holds. `info` (JSON) is kept with the
    metric recipes in the file's metadata.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from xstilts.files import atomic_write_bytes

    names: list[str] | None = None
    for lang, columns in languages.items():
        if names is None:
            names = list(columns)
        if list(columns) != names or "id" not in columns:
            raise ValueError(f"examples of {lang}: columns {list(columns)}, expected {names} with an id")
        if any(np.ndim(v) != 1 for v in columns.values()):
            raise ValueError(f"examples of {lang}: every column needs one value per example (1-d)")
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"examples of {lang}: columns of different lengths {sorted(lengths)}")
    names = names or ["id"]
    merged: dict[str, Any] = {
        "language": pa.array(
            [lang for lang, columns in languages.items() for _ in range(len(columns["id"]))], pa.string()
        )
    }
    for name in names:
        parts = [np.asarray(columns[name]) for columns in languages.values()]
        merged[name] = _arrow_column(np.concatenate(parts)) if parts else pa.array([], pa.string())
    meta = {
        "version": EXAMPLES_FILE_VERSION,
        "metrics": {k: list(v) for k, v in metrics.items()},
        "info": info,
    }
    table = pa.table(merged).replace_schema_metadata({_EXAMPLES_META: json.dumps(meta, default=str).encode()})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    atomic_write_bytes(path, sink.getvalue().to_pybytes())


def read_examples_file(path: Path) -> ExamplesFile:
    """What `write_examples_file` wrote: {language: columns as NumPy arrays}, in the written order."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as err:  # pyarrow's ArrowInvalid is a ValueError
        raise XstiltsError(f"{path}: cannot read the per-example file ({err})") from None
    raw = (table.schema.metadata or {}).get(_EXAMPLES_META)
    if raw is None:
        raise XstiltsError(f"{path}: not an xstilts per-example file")
    meta = json.loads(raw)
    if meta.get("version", 0) > EXAMPLES_FILE_VERSION:
        raise XstiltsError(f"{path}: per-example file version {meta['version']} is newer than this xstilts")
    languages_column = table.column("language").to_numpy(zero_copy_only=False)
    everything = {
        name: table.column(name).to_numpy(zero_copy_only=False)
        for name in table.column_names
        if name != "language"
    }
    languages: dict[str, Records] = {}
    for lang in dict.fromkeys(languages_column.tolist()):  # in the order written
        mask = languages_column == lang
        languages[lang] = {name: values[mask] for name, values in everything.items()}
    return ExamplesFile(languages, {k: tuple(v) for k, v in meta["metrics"].items()}, meta.get("info", {}))


def examples_path(eval_path: Path) -> Path:
    """Where the per-example file of the evaluation whose scores are at `eval_path` (.json) lives."""
    return eval_path.with_name(eval_path.stem + ".examples.parquet")
