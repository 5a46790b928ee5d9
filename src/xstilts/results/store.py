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

Per-example records (what bootstrap intervals and paired tests between arms resample) are not rows
here: each evaluation writes them to one Parquet file beside its scores
(`xstilts.results.example_files`, which says why files), and the store keeps a pointer per
evaluated language (schema 2):

    example_files(study, arm, run, phase, seed, task, language, split, path, recorded_at)
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import xstilts
from xstilts.errors import ConfigError, XstiltsError
from xstilts.results.example_files import EvaluationExamples, ExamplesFile, read_examples_file
from xstilts.results.sqlite_file import open_connection, set_wal, transaction

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
        with self._connect(write=create) as conn:
            if not create and _schema(conn)[0] == 0:
                raise ConfigError(str(self.path), "the results store is empty (no study has run into it)")

    def _connect(self, write: bool) -> AbstractContextManager[sqlite3.Connection]:
        return _connect(self.path, write)

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
        with self._connect(write=True) as conn, transaction(conn):
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
            with self._connect(write=True) as conn, transaction(conn):
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
        """The per-example records of every evaluated language that matches (see `example_files`),
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


def check_store(path: Path) -> None:
    """Fail if a study could not record into the store at `path`, found by reading it only (`xstilts
    run` checks before it writes anything): not SQLite, another program's database, a newer schema,
    a damaged page (SQLite's quick_check reads every page; stores are small). A file with no schema
    yet passes: the study creates it."""
    with _connect(Path(path), write=False) as conn:
        verdict = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
    if verdict != "ok":
        verdict = " ".join(verdict.replace("*** in database main ***", "").split())  # one line
        raise XstiltsError(f"{path}: the results store is damaged ({verdict}); move it aside to start anew")


@contextmanager
def _connect(path: Path, write: bool) -> Iterator[sqlite3.Connection]:
    """A connection with the schema checked (and, for a writer, created or migrated). A reader that
    cannot write the file opens it read-only (`xstilts.results.sqlite_file`)."""
    try:
        conn = open_connection(path, write)
    except sqlite3.Error as err:
        raise XstiltsError(f"{path}: cannot open the results store ({err})") from None
    try:
        # In WAL mode NORMAL syncs at checkpoints, not at every commit: a power cut may lose the
        # last numbers (the runs' evals/*.json still have them) but never corrupts the file.
        conn.execute("PRAGMA synchronous=NORMAL")
        _prepare(conn, path, write)
        yield conn
    except sqlite3.DatabaseError as err:
        # "file is not a database", a full disk, a read-only directory: the user's to fix.
        full = getattr(err, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
        raise XstiltsError(f"{path}: results store: {'the disk is full: ' if full else ''}{err}") from None
    finally:
        conn.close()


def _schema(conn: sqlite3.Connection) -> tuple[int, int]:
    """(schema version, entries in sqlite_master). One statement, one snapshot: read apart, another
    process's schema could land in between and make a store it is creating look like another
    program's database."""
    return conn.execute(
        "SELECT user_version, (SELECT count(*) FROM sqlite_master) FROM pragma_user_version"
    ).fetchone()


def _prepare(conn: sqlite3.Connection, path: Path, write: bool) -> None:
    version, tables = _schema(conn)
    if version > SCHEMA_VERSION:
        raise XstiltsError(
            f"{path}: results store schema {version} is newer than this xstilts reads "
            f"({SCHEMA_VERSION}); upgrade xstilts"
        )
    # Checked before WAL is switched on: another program's database is left as it was.
    if version == 0 and tables:
        raise XstiltsError(f"{path}: an SQLite file, but not an xstilts results store")
    if version == SCHEMA_VERSION or not write:
        # Every migration after the first only adds a table, so an older store reads as it is
        # (no per-example pointers) without the write access an upgrade needs. A migration that
        # changes `results` must make older versions an error here again.
        return
    set_wal(conn)
    with transaction(conn):
        # Re-read inside the write lock: another process may have created the schema meanwhile.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for step in _MIGRATIONS[version:]:
            for statement in filter(str.strip, step.split(";")):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


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
