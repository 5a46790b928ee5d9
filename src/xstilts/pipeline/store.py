"""The results store: every number a study produces, one row each, in OUT/results.sqlite.

    results(study, arm, run, phase, seed, task, task_version, language, split, metric, value,
            code_version, recorded_at)

A row is keyed by (study, arm, run, phase, seed, task, language, split, metric): recording the
same evaluation again (a re-run that reuses its cached runs) replaces its numbers instead of
adding rows. `seed` is NULL for the pretrained model, which no seed trains; `value` is NULL for a
metric that came out NaN (read back as NaN).

Several `xstilts run` processes may write one store at once: the file is in WAL mode (readers
never block the writer), every write is one `BEGIN IMMEDIATE` transaction (it takes the write
lock up front, so two writers queue on the busy timeout instead of failing with "database is
locked" when a read lock cannot be upgraded), and the schema is created inside such a
transaction too. WAL needs a local file system: SQLite's locks are unreliable over NFS.

The schema version is `PRAGMA user_version`; `_MIGRATIONS[i]` takes a store from version i to
i + 1, so later tables are one more entry there.

Per-example scores (what bootstrap intervals and paired tests between arms resample) are not rows
here: each evaluation writes them to one Parquet file beside its scores,
`runs/<run>/evals/<name>.examples.parquet` (`write_examples_file`), and the store keeps a pointer
per evaluated language (schema 2):

    example_files(study, arm, run, phase, seed, task, language, split, path, recorded_at)

Why files and not rows: XNLI test (15 languages x 5,010 pairs) for 11 arms and one seed is 826,650
examples. Measured with their ids, 0/1 correctness and predicted labels: 124 MiB as rows keyed like
`results`, 27 MiB with the key factored out into an evaluation number, 2.2 MiB as 11 zstd Parquet
files (204 KiB each, read back in 25 ms). Rows would also hold every study's write lock for the
length of a 75,000-row insert, and a report reads one evaluation at a time anyway.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

import xstilts
from xstilts.errors import ConfigError, XstiltsError

STORE_NAME = "results.sqlite"

COLUMNS = (
    "study",
    "arm",
    "run",
    "phase",
    "seed",
    "task",
    "task_version",
    "language",
    "split",
    "metric",
    "value",
    "code_version",
    "recorded_at",
)
KEY = ("study", "arm", "run", "phase", "seed", "task", "language", "split", "metric")
# A NULL seed (the pretrained model) must still collide with itself: SQLite's UNIQUE treats NULLs
# as distinct, so the key indexes the seed as the text 'none', which no integer seed equals.
_KEY_SQL = ", ".join("ifnull(seed, 'none')" if k == "seed" else k for k in KEY)
# One evaluation of one language: a results key without the metric.
EXAMPLE_KEY = tuple(k for k in KEY if k != "metric")
_EXAMPLE_KEY_SQL = ", ".join("ifnull(seed, 'none')" if k == "seed" else k for k in EXAMPLE_KEY)
EXAMPLE_FILE_COLUMNS = (*EXAMPLE_KEY, "path", "recorded_at")
# A results row may name the Parquet file of its evaluation's per-example scores under this key.
EXAMPLES_FILE_FIELD = "examples_file"

_MIGRATIONS = (
    f"""
    CREATE TABLE results (
        study TEXT NOT NULL,
        arm TEXT NOT NULL,
        run TEXT NOT NULL,
        phase TEXT NOT NULL,
        seed INTEGER,
        task TEXT NOT NULL,
        task_version INTEGER NOT NULL,
        language TEXT NOT NULL,
        split TEXT NOT NULL,
        metric TEXT NOT NULL,
        value REAL,
        code_version TEXT NOT NULL,
        recorded_at TEXT NOT NULL
    );
    CREATE UNIQUE INDEX results_key ON results ({_KEY_SQL});
    CREATE INDEX results_task ON results (study, task);
    """,
    f"""
    CREATE TABLE example_files (
        study TEXT NOT NULL,
        arm TEXT NOT NULL,
        run TEXT NOT NULL,
        phase TEXT NOT NULL,
        seed INTEGER,
        task TEXT NOT NULL,
        language TEXT NOT NULL,
        split TEXT NOT NULL,
        path TEXT NOT NULL,
        recorded_at TEXT NOT NULL
    );
    CREATE UNIQUE INDEX example_files_key ON example_files ({_EXAMPLE_KEY_SQL});
    """,
)
SCHEMA_VERSION = len(_MIGRATIONS)

# How long a writer waits for another process's transaction before giving up. A transaction is
# one evaluation's rows (milliseconds), so this only runs out when a process hangs holding it.
BUSY_TIMEOUT_S = 120.0

_INSERT = (
    f"INSERT INTO results ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)}) "
    f"ON CONFLICT ({_KEY_SQL}) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in ("task_version", "value", "code_version", "recorded_at"))
)
_INSERT_EXAMPLE_FILE = (
    f"INSERT INTO example_files ({', '.join(EXAMPLE_FILE_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in EXAMPLE_FILE_COLUMNS)}) "
    f"ON CONFLICT ({_EXAMPLE_KEY_SQL}) DO UPDATE SET path = excluded.path, recorded_at = excluded.recorded_at"
)


class ResultsStore:
    """One SQLite file of results rows. `create=False` opens an existing store only (readers)."""

    def __init__(self, path: Path, create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise ConfigError(str(self.path), "no results store here")
        # Create or migrate the schema now, so a store that cannot be used (not SQLite, written by
        # a newer xstilts) stops a study before it trains anything.
        with self._connect(write=create):
            pass

    @contextmanager
    def _connect(self, write: bool) -> Iterator[sqlite3.Connection]:
        try:
            # isolation_level=None: no implicit transactions; writes open BEGIN IMMEDIATE themselves.
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as err:
            raise XstiltsError(f"{self.path}: cannot open the results store ({err})") from None
        try:
            # In WAL mode NORMAL syncs at checkpoints, not at every commit: a power cut may lose the
            # last numbers (the runs' evals/*.json still have them) but never corrupts the file.
            conn.execute("PRAGMA synchronous=NORMAL")
            self._prepare(conn, write)
            yield conn
        except sqlite3.DatabaseError as err:
            # "file is not a database", a full disk, a read-only directory: the user's to fix.
            raise XstiltsError(f"{self.path}: results store: {err}") from None
        finally:
            conn.close()

    def _prepare(self, conn: sqlite3.Connection, write: bool) -> None:
        # One statement, one snapshot: read apart, another process's schema could land in between
        # and make a store it is creating look like another program's database.
        version, tables = conn.execute(
            "SELECT user_version, (SELECT count(*) FROM sqlite_master) FROM pragma_user_version"
        ).fetchone()
        if version > SCHEMA_VERSION:
            raise XstiltsError(
                f"{self.path}: results store schema {version} is newer than this xstilts reads "
                f"({SCHEMA_VERSION}); upgrade xstilts"
            )
        if version == SCHEMA_VERSION:
            return
        # Checked before WAL is switched on: another program's database is left as it was.
        if version == 0 and tables:
            raise XstiltsError(f"{self.path}: an SQLite file, but not an xstilts results store")
        if not write:
            if version == 0:
                raise ConfigError(str(self.path), "the results store is empty (no study has run into it)")
            # Every migration after the first only adds a table, so an older store reads as it is
            # (no per-example pointers) without the write access an upgrade needs. A migration that
            # changes `results` must make older versions an error here again.
            return
        _set_wal(conn)
        with _transaction(conn):
            # Re-read inside the write lock: another process may have created the schema meanwhile.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for step in _MIGRATIONS[version:]:
                for statement in filter(str.strip, step.split(";")):
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def record(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Write rows in one transaction (all of them or none); a row already there is replaced.

        Each row needs every KEY field, `value` and `task_version`; `code_version` defaults to this
        xstilts, `recorded_at` to now (UTC). Returns the number of rows written.
        """
        now = datetime.now(UTC).isoformat(timespec="microseconds")
        rows = list(rows)
        params = [_params(row, now) for row in rows]
        if not params:
            return 0
        # Rows that name their evaluation's per-example file (`examples_file`) point to it too, in the
        # same transaction: the numbers and the examples behind them are recorded together or not at all.
        pointers = self._pointer_params(
            [{**row, "path": row[EXAMPLES_FILE_FIELD]} for row in rows if row.get(EXAMPLES_FILE_FIELD)], now
        )
        with self._connect(write=True) as conn, _transaction(conn):
            conn.executemany(_INSERT, params)
            conn.executemany(_INSERT_EXAMPLE_FILE, pointers)
        return len(params)

    def record_examples(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Point evaluations at their per-example files, one transaction; a pointer already there is
        replaced. Each row needs every EXAMPLE_KEY field and `path` (a file written by
        `write_examples_file`); rows of one evaluation's metrics may repeat a language. Returns the
        number of pointers written."""
        params = self._pointer_params(list(rows), datetime.now(UTC).isoformat(timespec="microseconds"))
        if params:
            with self._connect(write=True) as conn, _transaction(conn):
                conn.executemany(_INSERT_EXAMPLE_FILE, params)
        return len(params)

    def _pointer_params(self, rows: list[Mapping[str, Any]], now: str) -> list[tuple[Any, ...]]:
        unique: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        for row in rows:
            missing = [k for k in (*EXAMPLE_KEY, "path") if row.get(k) is None and k != "seed"]
            if missing or "seed" not in row:
                raise ValueError(f"example file row {dict(row)} lacks {', '.join(missing or ['seed'])}")
            record = {
                **{k: str(row[k]) for k in EXAMPLE_KEY if k != "seed"},
                "seed": None if row["seed"] is None else int(row["seed"]),
                "path": self._stored_path(Path(row["path"])),
                "recorded_at": now,
            }
            unique[tuple(record[k] for k in EXAMPLE_KEY)] = tuple(record[c] for c in EXAMPLE_FILE_COLUMNS)
        return list(unique.values())

    def _stored_path(self, path: Path) -> str:
        """Relative to the store's directory when inside it (the whole output directory can move)."""
        resolved, home = path.resolve(), self.path.parent.resolve()
        return str(resolved.relative_to(home)) if resolved.is_relative_to(home) else str(resolved)

    def example_files(
        self,
        study: str | None = None,
        *,
        arm: str | None = None,
        task: str | None = None,
        phase: str | None = None,
        split: str | None = None,
        language: str | None = None,
    ) -> list[dict[str, Any]]:
        """Pointers as dicts (EXAMPLE_FILE_COLUMNS, `path` absolute), in the order first recorded;
        None matches anything. A store from before per-example files has none."""
        where = {
            "study": study,
            "arm": arm,
            "task": task,
            "phase": phase,
            "split": split,
            "language": language,
        }
        sql, values = _select("example_files", EXAMPLE_FILE_COLUMNS, where)
        with self._connect(write=False) as conn:
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'example_files'").fetchone():
                return []
            found = conn.execute(sql, values).fetchall()
        result = []
        for values in found:
            row = dict(zip(EXAMPLE_FILE_COLUMNS, values, strict=True))
            row["path"] = str(self.path.parent / row["path"])  # an absolute path stays as it is
            result.append(row)
        return result

    def examples(
        self,
        study: str | None = None,
        *,
        arm: str | None = None,
        task: str | None = None,
        phase: str | None = None,
        split: str | None = None,
        language: str | None = None,
    ) -> list[EvaluationExamples]:
        """The per-example scores of every evaluated language that matches (see `example_files`),
        each file read once. A pointer whose file is gone is an error: its rows cannot be rebuilt
        without the model."""
        files: dict[str, ExamplesFile] = {}
        found = []
        for pointer in self.example_files(
            study, arm=arm, task=task, phase=phase, split=split, language=language
        ):
            path = pointer["path"]
            if path not in files:
                files[path] = read_examples_file(Path(path))
            data = files[path]
            if pointer["language"] not in data.languages:
                raise XstiltsError(f"{path}: no examples of language {pointer['language']!r}")
            found.append(
                EvaluationExamples(
                    **{k: pointer[k] for k in EXAMPLE_KEY},
                    path=Path(path),
                    columns=data.languages[pointer["language"]],
                    metrics=data.metrics,
                )
            )
        return found

    def rows(
        self,
        study: str | None = None,
        *,
        arm: str | None = None,
        task: str | None = None,
        phase: str | None = None,
        split: str | None = None,
    ) -> list[dict[str, Any]]:
        """Rows as dicts (COLUMNS), in the order they were first recorded; None matches anything."""
        where = {"study": study, "arm": arm, "task": task, "phase": phase, "split": split}
        sql, values = _select("results", COLUMNS, where)
        with self._connect(write=False) as conn:
            found = conn.execute(sql, values).fetchall()
        result = []
        for values in found:
            row = dict(zip(COLUMNS, values, strict=True))
            row["value"] = math.nan if row["value"] is None else row["value"]
            result.append(row)
        return result

    def studies(self) -> list[str]:
        """Study names, in the order they first recorded a number."""
        with self._connect(write=False) as conn:
            found = conn.execute("SELECT study FROM results GROUP BY study ORDER BY min(rowid)").fetchall()
        return [name for (name,) in found]

    def __len__(self) -> int:
        with self._connect(write=False) as conn:
            return conn.execute("SELECT count(*) FROM results").fetchone()[0]


# --- Per-example files -------------------------------------------------------------------------------

# Schema metadata key of an examples file: JSON with the metric recipes and what was evaluated.
_EXAMPLES_META = b"xstilts.examples"
EXAMPLES_FILE_VERSION = 1
ExampleColumns = dict[str, np.ndarray]


@dataclass(frozen=True)
class ExamplesFile:
    """One evaluation's per-example scores: {language: columns} and how each metric is recomputed
    from them (`TaskFormat.example_metrics`), plus what the writer recorded about it (`info`)."""

    languages: dict[str, ExampleColumns]
    metrics: dict[str, tuple[str, ...]]
    info: dict[str, Any]


@dataclass(frozen=True)
class EvaluationExamples:
    """The per-example scores of one evaluated language, with the results key they belong to.

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
    columns: ExampleColumns
    metrics: dict[str, tuple[str, ...]]

    def __len__(self) -> int:
        return len(self.columns["id"])

    def scores(self, rows: np.ndarray | Sequence[int] | None = None) -> dict[str, float]:
        """The evaluation's metrics recomputed from these rows, or from `rows` of them (indices, with
        repeats for a bootstrap resample)."""
        return metrics_from_examples(self.columns, self.metrics, rows)


def metrics_from_examples(
    columns: Mapping[str, np.ndarray],
    metrics: Mapping[str, Sequence[str]],
    rows: np.ndarray | Sequence[int] | None = None,
) -> dict[str, float]:
    """Each metric of a recipe (see `xstilts.formats.base.ExampleMetric`) from summed columns.

    On all rows this gives back the format's `score` (to rounding: sums in another order); with
    `rows` (indices, repeats allowed) the metric of that resample.
    """
    chosen = None if rows is None else np.asarray(rows, dtype=np.int64)
    count = len(next(iter(columns.values()))) if chosen is None else len(chosen)

    def total(name: str) -> float:
        values = np.asarray(columns[name])
        return float(np.sum(values if chosen is None else values[chosen], dtype=np.float64))

    result = {}
    for name, (kind, *parts) in metrics.items():
        if kind == "mean":
            result[name] = 100.0 * total(parts[0]) / count if count else math.nan
        elif kind == "ratio":
            denominator = total(parts[1])
            result[name] = 100.0 * total(parts[0]) / denominator if denominator else 0.0
        elif kind == "f1":
            correct = total(parts[0])
            result[name] = 100.0 * 2 * correct / (total(parts[1]) + total(parts[2])) if correct else 0.0
        elif kind == "perplexity":
            tokens = total(parts[1])
            result[name] = math.exp(-total(parts[0]) / tokens) if tokens else math.nan
        else:
            raise ValueError(f"metric {name}: unknown recipe {kind!r}")
    return result


def _arrow_column(values: np.ndarray) -> Any:
    import pyarrow as pa

    # Object columns (ids, labels, answers, tag tuples) go through lists so pyarrow infers string or
    # list<string>; numeric columns keep their compact dtype (int8 correctness, int32 counts).
    return pa.array(values.tolist()) if values.dtype == object else pa.array(values)


def write_examples_file(
    path: Path,
    languages: Mapping[str, ExampleColumns],
    metrics: Mapping[str, Sequence[str]],
    **info: Any,
) -> None:
    """One evaluation's per-example columns, every language in one zstd Parquet file, atomically.

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
    languages: dict[str, ExampleColumns] = {}
    for lang in dict.fromkeys(languages_column.tolist()):  # in the order written
        mask = languages_column == lang
        languages[lang] = {name: values[mask] for name, values in everything.items()}
    return ExamplesFile(languages, {k: tuple(v) for k, v in meta["metrics"].items()}, meta.get("info", {}))


def examples_path(eval_path: Path) -> Path:
    """Where the per-example file of the evaluation whose scores are at `eval_path` (.json) lives."""
    return eval_path.with_name(eval_path.stem + ".examples.parquet")


def _set_wal(conn: sqlite3.Connection) -> None:
    """WAL mode, waiting out other connections. It persists in the file, so this runs once per store,
    but two studies may start on a new store together: switching needs every other connection idle
    and SQLite answers "database is locked" at once instead of calling the busy handler."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if err.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _params(row: Mapping[str, Any], now: str) -> tuple[Any, ...]:
    missing = [k for k in (*KEY, "value", "task_version") if k not in row]
    if missing:
        raise ValueError(f"results row {dict(row)} lacks {', '.join(missing)}")
    value = float(row["value"])
    record = {
        **{k: str(row[k]) for k in KEY if k != "seed"},
        "seed": None if row["seed"] is None else int(row["seed"]),
        "task_version": int(row["task_version"]),
        # SQLite would store NaN as NULL anyway; doing it here says so, and `rows` reads NULL as NaN.
        "value": None if math.isnan(value) else value,
        "code_version": str(row.get("code_version") or xstilts.__version__),
        "recorded_at": str(row.get("recorded_at") or now),
    }
    return tuple(record[c] for c in COLUMNS)


def _select(table: str, columns: Iterable[str], where: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
    """SELECT of `columns` in recording order, filtered on the `where` values that are not None."""
    chosen = {k: v for k, v in where.items() if v is not None}
    sql = f"SELECT {', '.join(columns)} FROM {table}"
    if chosen:
        sql += " WHERE " + " AND ".join(f"{k} = ?" for k in chosen)
    return sql + " ORDER BY rowid", tuple(chosen.values())
