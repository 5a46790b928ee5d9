"""The SQLite file under a results store: opening it (read-only where it cannot be written), the
WAL switch and write transactions. `xstilts.results.store` holds the schema and the rows.

A reader opens the store as a writer would whenever it may write the folder: SQLite then removes
the WAL side files (`-wal`, `-shm`) when the last connection closes, where a read-only connection
would leave them behind in the output directory. Where the folder or file cannot be written (a
read-only mount, a copied archive, another user's folder) a reader opens the file read-only
(`mode=ro`), and where SQLite cannot even open the `-shm` index there it reads the main file alone
(`immutable=1`), which holds every committed row once the WAL is empty (the last writer to close
checkpoints it). A non-empty WAL that cannot be read there is refused rather than read partly.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from xstilts.errors import XstiltsError

# How long a writer waits for another process's transaction before giving up. A transaction is
# one evaluation's rows (milliseconds), so this only runs out when a process hangs holding it.
BUSY_TIMEOUT_S = 120.0


def open_connection(path: Path, write: bool) -> sqlite3.Connection:
    """A connection to the store file, read-write, or read-only for a reader that cannot write it.
    isolation_level=None: no implicit transactions; writes open BEGIN IMMEDIATE themselves."""
    if write or writable(path):
        return sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    return _open_read_only(Path(path))


def writable(path: Path) -> bool:
    """Whether this process may write the file and make files beside it (SQLite's WAL side files).
    os.access also answers False on a read-only mount, for root too."""
    path = Path(path)
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)


def _open_read_only(path: Path) -> sqlite3.Connection:
    uri = f"{path.resolve().as_uri()}?mode=ro"  # as_uri percent-encodes '?', '#' and '%' in the path
    conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master")  # SQLite opens lazily: open the file now
        return conn
    except sqlite3.OperationalError as err:
        conn.close()
        if err.sqlite_errorcode != sqlite3.SQLITE_CANTOPEN:
            raise
    wal = path.with_name(path.name + "-wal")
    if wal.is_file() and wal.stat().st_size > 0:
        raise XstiltsError(
            f"{wal}: rows not yet folded into {path.name}, and SQLite cannot read them in a folder it "
            "cannot write; copy the folder somewhere writable and read it there"
        )
    return sqlite3.connect(f"{uri}&immutable=1", uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)


def set_wal(conn: sqlite3.Connection) -> None:
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
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
