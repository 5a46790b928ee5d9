"""Atomic file and folder writes (no torch import here: the light commands use it too)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


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
