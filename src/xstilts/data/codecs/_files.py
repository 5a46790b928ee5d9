"""Helpers shared by the readers: opening files, splitting lines, and the checks every reader makes."""

from __future__ import annotations

import csv
import json
import re
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
            if b"\x00" in raw:
                raise nul_error(path, number, raw.index(b"\x00"))
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise DataFormatError(
                    path, number, f"not valid UTF-8 ({err.reason} at byte {err.start})"
                ) from None
            if number == 1 and text.startswith(_BOM):
                text = text[1:]
            yield text


def nul_error(path: Path, line: int, byte: int) -> DataFormatError:
    """A NUL byte is never text: it marks a binary or truncated file (a crash mid-write leaves
    runs of them), and tokenizers and C libraries downstream cut strings at it."""
    return DataFormatError(
        path,
        line,
        f"NUL byte (\\x00) at byte {byte + 1} of the line; text holds none (a binary or damaged file?)",
    )


class CountedLines:
    """`raw_lines` that remembers the last line it gave (the csv module only counts lines), so a
    csv error can say how long the line it choked on is."""

    def __init__(self, path: Path) -> None:
        self._lines = raw_lines(path)
        self.last = ""

    def __iter__(self) -> CountedLines:
        return self

    def __next__(self) -> str:
        self.last = next(self._lines)
        return self.last


def csv_error(
    path: Path, err: csv.Error, start: int, lines: CountedLines, end: int, hint: str = ""
) -> DataFormatError:
    """A csv.Error as one line naming where the bad row starts (`start`); `end` is the line the
    reader stopped on. A single line over the csv module's field limit is too long to be a row of
    this format, which no reader option changes; a quoted field that runs over several lines into
    the limit is an unclosed quote."""
    limit = csv.field_size_limit()
    if "field larger than field limit" in str(err):
        if end <= start:
            size = len(lines.last.encode("utf-8"))
            return DataFormatError(
                path,
                start,
                f"a line of {size:,} bytes exceeds the csv field limit of {limit:,} characters "
                "(a wrong or damaged file, or rows that lost their line breaks?)",
            )
        return DataFormatError(
            path,
            start,
            f"a quoted field opened on this line runs on for {end - start + 1} lines, past the csv field "
            f"limit of {limit:,} characters (an unclosed quote?){'; ' + hint if hint else ''}",
        )
    return DataFormatError(path, start, f"bad csv quoting ({err}){'; ' + hint if hint else ''}")


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


class IdRegistry:
    """Record ids from the file where it has them (else `<file stem>-<line>`), checked for repeats."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.first_line: dict[str, int] = {}

    def add(self, line: int, raw_id: Any) -> str:
        example_id = f"{self.path.stem}-{line}" if raw_id is None or raw_id == "" else str(raw_id)
        if example_id in self.first_line:
            raise DataFormatError(
                self.path, line, f"duplicate id {example_id!r} (first at line {self.first_line[example_id]})"
            )
        self.first_line[example_id] = line
        return example_id


def jsonl_records(path: Path, what: str = "records") -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) per non-blank line; CRLF line ends are fine (`\\r` is JSON whitespace).
    A file without any says it holds no `what`."""
    found = False
    for line, text in numbered_lines(path):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as err:
            raise DataFormatError(path, line, f"invalid JSON: {err.msg} (column {err.colno})") from None
        if not isinstance(record, dict):
            raise DataFormatError(path, line, f"expected a JSON object, found {type(record).__name__}")
        if _JSON_NUL in text and _holds_nul(record):
            raise DataFormatError(path, line, f"a string holds a NUL character ({_JSON_NUL}): not text")
        found = True
        yield line, record
    if not found:
        raise no_records(path, what)


def string_field(path: Path, line: int, record: dict[str, Any], key: str) -> str:
    if key not in record:
        raise DataFormatError(path, line, f"missing key {key!r}")
    value = record[key]
    if not isinstance(value, str):
        raise DataFormatError(path, line, f"{key} must be a string, found {type(value).__name__}")
    return value


def index_label(path: Path, line: int, value: Any, n_choices: int) -> int:
    """A 0-based choice index given as a JSON int or a csv digit string."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < n_choices:
        allowed = ", ".join(str(i) for i in range(n_choices))
        raise DataFormatError(path, line, f"label {value!r} is not one of {allowed}")
    return value


def load_json(path: Path) -> Any:
    """A whole-file JSON document (SQuAD style), BOM allowed; errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataFormatError(path, None, f"not valid UTF-8 ({err.reason} at byte {err.start})") from None
    if not text.strip():
        raise DataFormatError(path, None, "file is empty")
    if "\x00" in text:
        at = text.index("\x00")
        line_start = text.rfind("\n", 0, at) + 1
        raise nul_error(path, text.count("\n", 0, at) + 1, len(text[line_start:at].encode("utf-8")))
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataFormatError(path, err.lineno, f"invalid JSON: {err.msg} (column {err.colno})") from None
    if _JSON_NUL in text and _holds_nul(document):
        # The escape's line: the first `\u0000` not itself escaped (`\\u0000` is a backslash and "u0000").
        at = next(m.start() for m in _JSON_NUL_ESCAPE.finditer(text))
        raise DataFormatError(
            path, text.count("\n", 0, at) + 1, f"a string holds a NUL character ({_JSON_NUL}): not text"
        )
    return document


# A NUL written as a JSON escape: parsed, it is a NUL in the text like a raw one.
_JSON_NUL = "\\u0000"
_JSON_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def _holds_nul(value: Any) -> bool:
    """Whether any string in a parsed JSON value (keys included) holds a NUL character."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any("\x00" in key or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def json_field(path: Path, parent: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """parent[key], which must be of `kind`; parsed JSON has no line numbers, so errors name the JSON path."""
    if not isinstance(parent, dict):
        raise DataFormatError(path, None, f"{where or 'top level'}: expected a JSON object")
    if key not in parent:
        raise DataFormatError(path, None, f"{where or 'top level'}: missing key {key!r}")
    value = parent[key]
    # bool is an int subclass; an id or offset of `true` is a broken file, not a number.
    if not isinstance(value, kind) or isinstance(value, bool):
        name = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        place = f"{where}.{key}" if where else key
        raise DataFormatError(path, None, f"{place}: expected {name}, found {type(value).__name__}")
    return value
