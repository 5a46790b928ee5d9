"""XTREME's tab-separated files: sentence pairs (XNLI, PAWS-X) and token-per-line tagging (UD-POS, PAN-X),
read into examples and written from hub rows.

Ids are `<file stem>-<n>` with n the 1-based position of the record (row or sentence) in the file,
so they are stable across runs and point a reader of a log back at the file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from xstilts.data.codecs._files import (
    CountedLines,
    check_label,
    check_label_option,
    choice_option,
    csv_error,
    no_records,
    numbered_lines,
    require_file,
)
from xstilts.data.codecs.hub_rows import (
    SINGLE_COLUMNS,
    HubRows,
    label_names,
    no_line_breaks,
    numbered_rows,
    pair_columns,
    string_column,
)
from xstilts.data.examples import ClassificationExample, TaggingExample
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
    lines = CountedLines(path)
    reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_MINIMAL, strict=True)
    line = 0  # last line of the last row read; a csv.Error is about the row after it
    try:
        for fields in reader:
            line = reader.line_num
            if fields:
                yield line, fields
    except csv.Error as err:
        # Name the line where the bad row starts: an unclosed quote runs on to the end of the file.
        hint = "if fields are not quoted, set quoted: false"
        raise csv_error(path, err, line + 1, lines, reader.line_num, hint) from None


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


def _tsv_field(text: str) -> str:
    """One field as Python csv QUOTE_MINIMAL writes it, except that a lone `\\r` is quoted too:
    the csv module leaves it bare when the line ends in `\\n`, and its reader then stops there."""
    if any(char in text for char in ('"', "\t", "\n", "\r")):
        return '"' + text.replace('"', '""') + '"'
    return text


def write_tsv_pairs(
    rows: HubRows, files: Mapping[str, Path], columns: int = 3, quoted: bool = True, **_: Any
) -> int:
    """`text_a<TAB>text_b<TAB>label` (or `text<TAB>label`), no header, as `read_tsv_pairs` reads."""
    if columns == 3:
        text_columns: tuple[str, ...] = pair_columns(rows)
    else:
        text_columns = (rows.pick(SINGLE_COLUMNS, "sentence"),)
    label_column = rows.pick(("label", "gold_label"), "label")
    label_name = label_names(rows, label_column)
    written = 0
    with open(files["path"], "w", encoding="utf-8", newline="") as handle:
        for number, record in numbered_rows(rows):
            label = label_name(record.get(label_column))
            if label is None:
                raise rows.error(number, "has no label; this file format needs one on every row")
            fields = [string_column(rows, number, record, column) for column in text_columns] + [label]
            if not quoted:
                for column, text in zip((*text_columns, label_column), fields, strict=True):
                    no_line_breaks(rows, number, column, text)
                    if text.startswith('"'):
                        raise rows.error(number, f"{column} starts with '\"'; set the reader option quoted")
            line = "\t".join(_tsv_field(f) for f in fields) if quoted else "\t".join(fields)
            handle.write(line + "\n")
            written += 1
    return written


def write_tsv_tagging(rows: HubRows, files: Mapping[str, Path], **_: Any) -> int:
    """`token<TAB>tag` per line, a blank line after each sentence, as `read_tsv_tagging` reads.

    Rows without tokens are skipped: they hold nothing to tag and the format has no way to write
    an empty sentence.
    """
    token_column = rows.pick(("tokens", "words"), "token")
    tag_column = rows.pick(("ner_tags", "pos_tags", "tags", "upos", "ner", "pos"), "tag")
    tag_name = label_names(rows, tag_column)
    written = 0
    with open(files["path"], "w", encoding="utf-8", newline="") as handle:
        for number, record in numbered_rows(rows):
            tokens, tags = record.get(token_column) or [], record.get(tag_column) or []
            if len(tokens) != len(tags):
                raise rows.error(number, f"has {len(tokens)} tokens but {len(tags)} tags")
            if not tokens:
                continue
            lines = []
            for position, (token, raw_tag) in enumerate(zip(tokens, tags, strict=True), 1):
                tag = tag_name(raw_tag)
                if not isinstance(token, str) or not token.strip(" \t"):
                    # The reader takes a line of only spaces for a sentence break.
                    raise rows.error(
                        number, f"token {position} is {token!r}; tokens must hold a visible character"
                    )
                if tag is None:
                    raise rows.error(number, f"token {position} ({token!r}) has no tag")
                no_line_breaks(rows, number, f"token {position}", token)
                no_line_breaks(rows, number, f"tag of token {position}", tag)
                lines.append(f"{token}\t{tag}\n")
            handle.write("".join(lines) + "\n")
            written += 1
    return written
