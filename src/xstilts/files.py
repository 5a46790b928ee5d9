"""Atomic file and folder writes (no torch import here: the light commands use it too)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xstilts.errors import ConfigError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        # mkstemp makes the file private (0600); give it the permissions a plain open() would.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        if err.filename is None:  # a failed write() names no file: name the one being written
            err.filename = str(path)
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def replace_folder(destination: Path, fill: Callable[[Path], None]) -> None:
    """Build a folder with `fill(folder)` under a temporary name beside `destination`, then swap it
    in: a reader never sees half a folder or a mix of two, and a failed build leaves the old folder
    as it was. The old folder is moved aside first and removed after."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(dir=destination.parent, prefix=f".{destination.name}-building-"))
    aside: Path | None = None
    try:
        fill(building)
        # mkdtemp makes the folder private (0700); give it the permissions mkdir() would.
        os.chmod(building, 0o777 & ~_umask())
        if destination.exists():
            aside = Path(tempfile.mkdtemp(dir=destination.parent, prefix=f".{destination.name}-old-"))
            os.replace(destination, aside / destination.name)
        os.replace(building, destination)
    except BaseException:
        if aside is not None and not destination.exists():
            os.replace(aside / destination.name, destination)  # the old folder, back in place
        shutil.rmtree(building, ignore_errors=True)
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
        raise
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def write_json(path: Path, value: Any) -> None:
    """Indented, key-sorted JSON, written atomically."""
    atomic_write_bytes(path, (json.dumps(value, indent=2, sort_keys=True, default=str) + "\n").encode())


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def check_writable_folder(folder: Path, what: str) -> None:
    """Refuse, before anything is written, a folder that cannot be made or written in: one under a
    file, a file itself, or on a read-only file system or without write permission. `what` names it
    in the one-line error (an option: `--out`)."""
    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing.parent != existing:  # the nearest part already there
        existing = existing.parent
    where = f"{what} {folder}"
    if not existing.is_dir():
        if existing == folder:
            raise ConfigError(where, "is a file, not a folder")
        raise ConfigError(where, f"{existing} is a file, so no folder can be made under it")
    if not os.access(existing, os.W_OK | os.X_OK):
        read_only = bool(os.statvfs(existing).f_flag & os.ST_RDONLY)
        why = "is on a read-only file system" if read_only else "is not writable (permissions)"
        raise ConfigError(where, f"cannot write there: {existing} {why}")


# errno values that describe the machine, not a bug: the CLI answers an OSError with one of these in
# one line (what, where) and exit code 2 instead of a traceback.
FILE_SYSTEM_ERRNOS = frozenset(
    {
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EROFS,
        errno.EACCES,
        errno.EPERM,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.EEXIST,
    }
)
# How libraries that do not raise OSError say the disk is full: safetensors passes Rust's io::Error
# text on ("StorageFull", "No space left on device"), SQLite says "database or disk is full".
_FULL_DISK_TEXT = ("no space left on device", "storagefull", "disk quota exceeded", "disk is full")


@dataclass(frozen=True)
class FullDisk:
    path: Path | None  # the file that could not be written, where the error names it


def disk_full(err: BaseException) -> FullDisk | None:
    """Whether `err`, or an error it came from, is a full disk (or an exhausted quota)."""
    seen: set[int] = set()
    pending: list[BaseException] = [err]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return FullDisk(Path(current.filename) if current.filename else None)
        if any(text in str(current).lower() for text in _FULL_DISK_TEXT):
            return FullDisk(None)
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
    return None


def disk_full_message(full: FullDisk, folders: Sequence[Path]) -> str:
    """One line: the disk is full, where, and that the finished work is kept. Where the error names
    no file (safetensors, SQLite), it names the one of `folders` with the least space left."""
    where = full.path or min((Path(f) for f in folders), key=_free_bytes)
    return (
        f"the disk is full: no space left on the device of {where}; finished runs and recorded "
        "results are kept: make room, then run the same command again to finish"
    )


def _free_bytes(path: Path) -> int:
    existing = Path(path)
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    return shutil.disk_usage(existing).free


def describe_os_error(err: OSError) -> str:
    """An OSError of FILE_SYSTEM_ERRNOS as the CLI's one line."""
    where = f"{err.filename}: " if err.filename else ""
    what = f"{err.strerror or err}" + (f" (and {err.filename2})" if err.filename2 else "")
    return where + what + (" (the disk is full)" if disk_full(err) is not None else "")
