"""Rows of a Hugging Face hub split, and the helpers every codec's writer shares.

`xstilts data pull` loads a split with `datasets` and hands its rows, as `HubRows`, to the writer of
the card's codec; what a writer produces is whatever its reader reads, in the XTREME `download/`
formats (tsv pairs, token-per-line tagging, SQuAD json, Tatoeba aligned text, COPA jsonl, ...).

Writers know the hub schemas of the benchmark datasets (column names differ between e.g.
`facebook/xnli` and `google/xtreme`'s XNLI config) and turn ClassLabel integers into names through
the split's features. A row a file format cannot hold (a tab inside a token, an unlabelled row in a
labelled format) is a DataFormatError naming the row, never silently changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xstilts.errors import DataFormatError


@dataclass
class HubRows:
    """The rows of one hub split, the columns they have, and the features that type them."""

    name: str  # where the rows came from, for messages: "google/xtreme PAN-X.de [validation]"
    columns: list[str]
    rows: Iterable[dict[str, Any]]
    features: Mapping[str, Any] | None = None
    config: str | None = None  # the hub config, e.g. `deu-eng`, which can name the languages
    # The card's label set: says whether a ClassLabel is written as its name or its integer.
    labels: Sequence[str] | None = None

    def error(self, row: int | None, problem: str) -> DataFormatError:
        return DataFormatError(self.name, None, problem if row is None else f"row {row}: {problem}")

    def pick(self, candidates: Iterable[str], what: str) -> str:
        """The first of `candidates` that is a column (hub datasets name the same field differently)."""
        candidates = list(candidates)
        for name in candidates:
            if name in self.columns:
                return name
        raise self.error(
            None,
            f"no {what} column (looked for {', '.join(candidates)}; it has {', '.join(self.columns)})",
        )

    def class_names(self, column: str) -> list[str] | None:
        """The ClassLabel names of a column (or of its list elements), None if it holds no ClassLabel."""
        feature = (self.features or {}).get(column)
        for candidate in (feature, getattr(feature, "feature", None)):
            names = getattr(candidate, "names", None)
            if isinstance(names, list):
                return names
        return None


def label_names(rows: HubRows, column: str) -> Callable[[Any], str | None]:
    """Value -> label as the card writes it; None for an unlabelled row (ClassLabel -1, None, "").

    A ClassLabel integer becomes its name (XNLI's `entailment`, PAN-X's `B-PER`), except where the
    card's labels are the integers themselves: GLUE's files write QQP and SST-2 labels as 0/1
    while the hub names them `not_duplicate`/`duplicate` and `negative`/`positive`.
    """
    names = rows.class_names(column)
    if names is not None and rows.labels:
        wanted = set(rows.labels)
        if not set(names) <= wanted and {str(i) for i in range(len(names))} <= wanted:
            names = None  # the integer is the label

    def name(value: Any) -> str | None:
        if value is None or value == "" or value == -1:
            return None
        if names is not None and isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value < len(names):
                return str(value)  # out of range: let the label check name the bad value
            return names[value]
        return str(value)

    return name


def no_line_breaks(rows: HubRows, row: int, what: str, text: str, tabs_too: bool = True) -> str:
    bad = ("\n", "\r", "\t") if tabs_too else ("\n", "\r")
    if any(char in text for char in bad):
        kinds = "a tab or line break" if tabs_too else "a line break"
        raise rows.error(row, f"{what} {text!r} holds {kinds}, which this file format cannot hold")
    return text


def numbered_rows(rows: HubRows) -> Iterator[tuple[int, dict[str, Any]]]:
    return enumerate(rows.rows, 1)


def string_column(rows: HubRows, row: int, record: dict[str, Any], column: str) -> str:
    value = record.get(column)
    if not isinstance(value, str):
        raise rows.error(row, f"{column} must be a string, found {type(value).__name__}")
    return value


# Sentence-pair and single-sentence columns as the classification datasets on the hub name them.
PAIR_COLUMNS = (("premise", "hypothesis"), ("sentence1", "sentence2"), ("text_a", "text_b"))
SINGLE_COLUMNS = ("sentence", "text", "text_a")


def pair_columns(rows: HubRows) -> tuple[str, str]:
    pair = next((p for p in PAIR_COLUMNS if p[0] in rows.columns and p[1] in rows.columns), None)
    if pair is None:
        looked = ", ".join(f"{a}+{b}" for a, b in PAIR_COLUMNS)
        raise rows.error(
            None, f"no sentence-pair columns (looked for {looked}; it has {', '.join(rows.columns)})"
        )
    return pair


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    """One JSON object a line; the number written."""
    written = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            written += 1
    return written
