"""XTREME's tab-separated files: sentence pairs (XNLI, PAWS-X) and token-per-line tagging (UD-POS, PAN-X).

Ids are `<file stem>-<n>` with n the 1-based position of the record (row or sentence) in the file,
so they are stable across runs and point a reader of a log back at the file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path

from xstilts.data.examples import ClassificationExample, TaggingExample
from xstilts.data.readers._files import (
    check_label,
    check_label_option,
    choice_option,
    no_records,
    numbered_lines,
    raw_lines,
    require_file,
)
from xstilts.errors import DataFormatError


def read_tsv_pairs(
    path: Path,
    labels: Sequence[str] | None = None,
    columns: int = 3,
    quoted: bool = True,
) -> list[ClassificationExample]:
    """`text_a<TAB>text_b<TAB>label` rows (or `text<TAB>label` with columns=2), no header.

    quoted=True parses Python-csv QUOTE_MINIMAL fields, which PAWS-X needs: a field holding `"` is
    wrapped in quotes with the inner quotes doubled. The csv module does that unquoting correctly
    and keeps a quoted newline inside its field. quoted=False splits on tabs, for files whose
    fields may start with a bare `"`.
    """
    path = require_file(path)
    choice_option("columns", columns, (2, 3))
    allowed = check_label_option(labels)
    examples: list[ClassificationExample] = []
    for line, fields in _tsv_rows(path, quoted):
        if len(fields) != columns:
            raise DataFormatError(
                path, line, f"expected {columns} tab-separated columns, found {len(fields)}"
            )
        label = fields[-1]
        check_label(path, line, label, allowed, labels or ())
        example_id = f"{path.stem}-{len(examples) + 1}"
        if columns == 3:
            examples.append(ClassificationExample(example_id, fields[0], fields[1], label))
        else:
            examples.append(ClassificationExample(example_id, fields[0], None, label))
    if not examples:
        raise no_records(path, "rows")
    return examples


def _tsv_rows(path: Path, quoted: bool) -> Iterator[tuple[int, list[str]]]:
    """(line number where the row ends, fields) for every non-blank row."""
    if not quoted:
        yield from ((line, text.split("\t")) for line, text in numbered_lines(path) if text)
        return
    reader = csv.reader(raw_lines(path), delimiter="\t", quoting=csv.QUOTE_MINIMAL, strict=True)
    line = 0  # last line of the last row read; a csv.Error is about the row after it
    try:
        for fields in reader:
            line = reader.line_num
            if fields:
                yield line, fields
    except csv.Error as err:
        # Name the line where the bad row starts: an unclosed quote runs on to the end of the file.
        hint = "if fields are not quoted, set quoted: false"
        raise DataFormatError(path, line + 1, f"bad csv quoting ({err}); {hint}") from None


def read_tsv_tagging(path: Path, labels: Sequence[str] | None = None) -> list[TaggingExample]:
    """`token<TAB>tag` per line, a blank line between sentences, no header.

    No csv quoting: tokens include a bare `"`. Lines end at `\\n` (an `\\r` before it is dropped),
    and a line of only spaces/tabs counts as a sentence break. A token is kept exactly as written:
    the real files have tokens made of or holding a zero-width space (U+200B, PAN-X zh, UD zh/pt),
    which are real tokens with their own tag, so they are neither stripped nor dropped here. An
    empty token or tag is an error.
    """
    path = require_file(path)
    allowed = check_label_option(labels)
    examples: list[TaggingExample] = []
    tokens: list[str] = []
    tags: list[str] = []

    def end_sentence() -> None:
        if tokens:
            examples.append(TaggingExample(f"{path.stem}-{len(examples) + 1}", tuple(tokens), tuple(tags)))
            tokens.clear()
            tags.clear()

    for line, text in numbered_lines(path):
        if not text.strip(" \t"):
            end_sentence()
            continue
        fields = text.split("\t")
        if len(fields) != 2:
            raise DataFormatError(
                path, line, f"expected 2 tab-separated columns (token, tag), found {len(fields)}"
            )
        token, tag = fields
        if not token:
            raise DataFormatError(path, line, "empty token")
        if not tag:
            raise DataFormatError(path, line, "empty tag")
        if allowed is not None and tag not in allowed:
            check_label(path, line, tag, allowed, labels or ())
        tokens.append(token)
        tags.append(tag)
    end_sentence()
    if not examples:
        raise no_records(path, "sentences")
    return examples
