"""Helpers shared by the readers: opening files, splitting lines, and the checks every reader makes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from xstilts.errors import ConfigError, DataFormatError

_BOM = "\ufeff"


def require_file(path: str | Path) -> Path:
    """The path as a Path, or DataFormatError if nothing readable is there."""
    path = Path(path)
    if not path.exists():
        raise DataFormatError(path, None, "file not found")
    if not path.is_file():
        raise DataFormatError(path, None, "not a regular file")
    return path


def raw_lines(path: Path) -> Iterator[str]:
    """Decoded lines of a UTF-8 file, line endings kept (the csv module needs them).

    Lines end at `\\n` only. Text-mode files would also break at a lone `\\r`, and str.splitlines at
    U+2028, U+0085 and friends, any of which can sit inside a sentence of a web-crawled corpus and
    would silently shift every later line. Decoding line by line also gives exact line numbers
    for encoding errors.
    """
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise DataFormatError(
                    path, number, f"not valid UTF-8 ({err.reason} at byte {err.start})"
                ) from None
            if number == 1 and text.startswith(_BOM):
                text = text[1:]
            yield text


def numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, line without its `\\n` or `\\r\\n`) for every line of the file."""
    for number, text in enumerate(raw_lines(path), 1):
        yield number, text.rstrip("\r\n")


def no_records(path: Path, what: str) -> DataFormatError:
    problem = "file is empty" if path.stat().st_size == 0 else f"file holds no {what}"
    return DataFormatError(path, None, problem)


def check_label_option(labels: Sequence[str] | None) -> frozenset[str] | None:
    if labels is None:
        return None
    if isinstance(labels, str) or not all(isinstance(label, str) for label in labels):
        raise ConfigError("reader option labels", f"must be a list of strings, got {labels!r}")
    return frozenset(labels)


def check_label(
    path: Path, line: int, label: str, allowed: frozenset[str] | None, labels: Sequence[str]
) -> None:
    """Raise if `label` is outside the allowed set (`labels` keeps the order for the message)."""
    if allowed is not None and label not in allowed:
        raise DataFormatError(path, line, f"label {label!r} is not one of {', '.join(labels)}")


def choice_option(name: str, value: Any, allowed: Sequence[Any]) -> None:
    if value not in allowed:
        shown = ", ".join(repr(option) for option in allowed)
        raise ConfigError(f"reader option {name}", f"must be one of {shown}, got {value!r}")
