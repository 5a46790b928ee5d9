"""GLUE's tab-separated files (MNLI, QQP, SST-2, ...): a header row, then one example per row;
read into examples and written from hub rows.

Columns are found by their header name, because the GLUE files differ in layout (MNLI train has
12 columns, dev_matched 16, test_matched 10; QQP 6; SST-2 train 2 and test `index, sentence`).
A file without the label column (a test file) is read unlabelled.

Quoting is disabled, as GLUE's own loaders and Hugging Face's `glue` script read these files:
MNLI sentences open with an unbalanced `"` (`"Sure," he said`), and a csv reader would take the
rest of the file as one field. Fields are split on tabs only.

Ids are `<file stem>-<line>`, stable across reads and pointing back at the row in the file.

Malformed rows (a wrong number of fields, or a label outside `labels`) are errors naming file and
line. QQP's train.tsv has a few rows broken by a newline inside a question (line 97,931 of the
GLUE copy holds 3 fields); the reference loaders (GLUE's, transformers' QqpProcessor, HF `glue`)
drop such rows, so `malformed_rows: skip` drops them too, with a warning that counts them. A file
where more than 1 in 100 rows is malformed is still an error: that is a wrong file or wrong
options, not a few broken rows.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from xstilts.data.codecs._files import (
    check_label_option,
    choice_option,
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
from xstilts.data.examples import ClassificationExample
from xstilts.errors import DataFormatError

log = logging.getLogger(__name__)

# Skipping more than this share of rows means the file or the options are wrong.
MAX_SKIPPED_FRACTION = 0.01


def read_glue_tsv(
    path: Path,
    text_a_column: str = "sentence1",
    text_b_column: str | None = "sentence2",
    label_column: str = "label",
    labels: Sequence[str] | None = None,
    skip_labels: Sequence[str] = (),
    malformed_rows: str = "error",
) -> list[ClassificationExample]:
    """One example per row; `text_b_column: null` for single-sentence tasks (SST-2).

    skip_labels: label values that mark rows to leave out, not errors (NLI's `-`, no consensus
    among the annotators). malformed_rows: `error` (default) or `skip` (see the module docstring).
    """
    path = require_file(path)
    choice_option("malformed_rows", malformed_rows, ("error", "skip"))
    allowed = check_label_option(labels)
    skip = frozenset(skip_labels)
    lines = numbered_lines(path)
    header = next(((n, text) for n, text in lines if text), None)
    if header is None:
        raise no_records(path, "rows")
    header_line, names = header[0], header[1].split("\t")
    wanted = [text_a_column] if text_b_column is None else [text_a_column, text_b_column]
    for name in wanted:
        if name not in names:
            raise DataFormatError(
                path, header_line, f"the header has no column {name!r} (it has {', '.join(names)})"
            )
    text_a = names.index(text_a_column)
    text_b = None if text_b_column is None else names.index(text_b_column)
    # Test files have no label column: their examples are unlabelled.
    label_at = names.index(label_column) if label_column in names else None

    examples: list[ClassificationExample] = []
    skipped: list[tuple[int, str]] = []
    rows = no_consensus = 0
    for line, text in lines:
        if not text:
            continue
        rows += 1
        fields = text.split("\t")
        problem = None
        if len(fields) != len(names):
            problem = f"expected {len(names)} tab-separated fields as in the header, found {len(fields)}"
        elif label_at is not None and fields[label_at] not in skip and allowed is not None:
            if fields[label_at] not in allowed:
                problem = f"label {fields[label_at]!r} is not one of {', '.join(labels or ())}"
        if problem is not None:
            if malformed_rows == "error":
                raise DataFormatError(path, line, problem)
            skipped.append((line, problem))
            continue
        label = None if label_at is None else fields[label_at]
        if label is not None and label in skip:
            no_consensus += 1
            continue
        second = None if text_b is None else fields[text_b]
        examples.append(ClassificationExample(f"{path.stem}-{line}", fields[text_a], second, label))
    if skipped:
        first_line, first_problem = skipped[0]
        if len(skipped) > MAX_SKIPPED_FRACTION * rows:
            raise DataFormatError(
                path,
                first_line,
                f"{len(skipped)} of {rows} rows are malformed, too many to skip (the first: {first_problem})",
            )
        log.warning(
            "%s: skipped %d malformed rows of %d (first at line %d: %s)",
            path,
            len(skipped),
            rows,
            first_line,
            first_problem,
        )
    if no_consensus:
        log.info("%s: left out %d rows labelled %s", path, no_consensus, ", ".join(sorted(skip)))
    if not examples:
        raise no_records(path, "rows")
    return examples


def write_glue_tsv(
    rows: HubRows,
    files: Mapping[str, Path],
    text_a_column: str = "sentence1",
    text_b_column: str | None = "sentence2",
    label_column: str = "label",
    **_: Any,
) -> int:
    """GLUE tsv as `read_glue_tsv` reads it: a header with the card's column names, no quoting.

    The hub's columns are taken by the card's names where it has them (QQP's question1/question2,
    SST-2's sentence), else as the usual pair (MNLI's premise/hypothesis). Unlabelled splits
    (GLUE test, label -1) are written without the label column, as GLUE's test files are.
    """
    wanted = [text_a_column] if text_b_column is None else [text_a_column, text_b_column]
    if all(column in rows.columns for column in wanted):
        sources = wanted
    elif text_b_column is None:
        sources = [rows.pick(SINGLE_COLUMNS, "sentence")]
    else:
        sources = list(pair_columns(rows))
    label_source = rows.pick((label_column, "label", "gold_label"), "label")
    label_name = label_names(rows, label_source)
    labelled: bool | None = None
    written = 0
    with open(files["path"], "w", encoding="utf-8", newline="") as handle:
        for number, record in numbered_rows(rows):
            label = label_name(record.get(label_source))
            if labelled is None:
                labelled = label is not None
                handle.write("\t".join(wanted + ([label_column] if labelled else [])) + "\n")
            elif labelled != (label is not None):
                raise rows.error(number, "is labelled unlike the rows before it; a file is one or the other")
            fields = [string_column(rows, number, record, column) for column in sources]
            fields += [label] if label is not None else []
            for column, text in zip((*sources, label_source), fields, strict=False):
                no_line_breaks(rows, number, column, text)
            handle.write("\t".join(fields) + "\n")
            written += 1
    return written
