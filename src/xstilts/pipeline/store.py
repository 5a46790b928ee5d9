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
i + 1, so later tables (per-example predictions for reports) are one more entry there.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
            raise XstiltsError(
                f"{self.path}: results store schema {version} is older than this xstilts reads; "
                "run a study into it once to upgrade it"
            )
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
        params = [_params(row, now) for row in rows]
        if not params:
            return 0
        with self._connect(write=True) as conn, _transaction(conn):
            conn.executemany(_INSERT, params)
        return len(params)

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
        chosen = {k: v for k, v in where.items() if v is not None}
        sql = f"SELECT {', '.join(COLUMNS)} FROM results"
        if chosen:
            sql += " WHERE " + " AND ".join(f"{k} = ?" for k in chosen)
        with self._connect(write=False) as conn:
            found = conn.execute(sql + " ORDER BY rowid", tuple(chosen.values())).fetchall()
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
