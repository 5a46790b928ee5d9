"""Multiple-choice files: COPA, XCOPA and SIQA (jsonl), CommonsenseQA (jsonl, two schemas), CosmosQA (csv);
read into examples and written from hub rows.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from xstilts.data.codecs._files import (
    CountedLines,
    IdRegistry,
    csv_error,
    index_label,
    jsonl_records,
    no_records,
    numbered_lines,
    require_file,
    string_field,
)
from xstilts.data.codecs.hub_rows import HubRows, label_names, numbered_rows, string_column, write_jsonl
from xstilts.data.examples import MultipleChoiceExample
from xstilts.errors import DataFormatError

# COPA asks for the more plausible cause or effect; the model reads this as the question text.
COPA_QUESTIONS = {"cause": "What was the cause?", "effect": "What happened as a result?"}
_SIQA_LETTERS = ("A", "B", "C")
_COSMOS_HEADER = ("id", "context", "question", "answer0", "answer1", "answer2", "answer3")


def read_copa_jsonl(path: Path, labels_are_placeholders: bool = False) -> list[MultipleChoiceExample]:
    """COPA / XCOPA: `premise, choice1, choice2, question (cause|effect), label (0|1)`, optional `idx`.

    labels_are_placeholders=True: the file's labels carry no information (XTREME's COPA test file
    writes 0 for every item), so every label becomes None instead of a wrong gold answer.
    """
    path = require_file(path)
    examples: list[MultipleChoiceExample] = []
    ids = IdRegistry(path)
    for line, record in jsonl_records(path):
        premise, choice1, choice2, relation = (
            string_field(path, line, record, key) for key in ("premise", "choice1", "choice2", "question")
        )
        if relation not in COPA_QUESTIONS:
            raise DataFormatError(path, line, f"question {relation!r} is not one of cause, effect")
        label = None if labels_are_placeholders else index_label(path, line, record.get("label"), 2)
        example_id = ids.add(line, record.get("idx"))
        examples.append(
            MultipleChoiceExample(example_id, premise, COPA_QUESTIONS[relation], (choice1, choice2), label)
        )
    if not examples:
        raise no_records(path, "records")
    return examples


def read_siqa_jsonl(path: Path, labels: Path | None = None) -> list[MultipleChoiceExample]:
    """SocialIQa: `context, question, answerA, answerB, answerC`, label in `correct` (A|B|C).

    The original release keeps labels in a separate file, one per line as 1|2|3 (`labels`); given
    that file, its labels are used and must be one per record.
    """
    path = require_file(path)
    labels_path = require_file(labels) if labels is not None else None
    label_lines = _siqa_label_file(labels_path) if labels_path is not None else None
    examples: list[MultipleChoiceExample] = []
    for line, record in jsonl_records(path):
        context, question, *choices = (
            string_field(path, line, record, key)
            for key in ("context", "question", "answerA", "answerB", "answerC")
        )
        label: int | None = None
        if label_lines is not None:
            label = label_lines[len(examples)] if len(examples) < len(label_lines) else None
        elif "correct" in record:
            correct = record["correct"]
            if correct not in _SIQA_LETTERS:
                raise DataFormatError(path, line, f"correct {correct!r} is not one of A, B, C")
            label = _SIQA_LETTERS.index(correct)
        examples.append(
            MultipleChoiceExample(f"{path.stem}-{line}", context, question, tuple(choices), label)
        )
    if not examples:
        raise no_records(path, "records")
    if labels_path is not None and label_lines is not None and len(label_lines) != len(examples):
        raise DataFormatError(
            labels_path, None, f"has {len(label_lines)} labels but {path} has {len(examples)} records"
        )
    return examples


def _siqa_label_file(path: Path) -> list[int]:
    found: list[int] = []
    for line, text in numbered_lines(path):
        value = text.strip()
        if not value:
            continue
        if value not in ("1", "2", "3"):
            raise DataFormatError(path, line, f"label {value!r} is not one of 1, 2, 3")
        found.append(int(value) - 1)
    return found


def read_commonsenseqa_jsonl(path: Path) -> list[MultipleChoiceExample]:
    """CommonsenseQA in either schema; the label is the position of `answerKey` among the choice labels.

    HF export: `{id, question: str, choices: {label: [...], text: [...]}, answerKey}`.
    Official:  `{id, question: {stem, choices: [{label, text}, ...]}, answerKey}`.
    A missing or empty answerKey (test files) gives label None.
    """
    path = require_file(path)
    examples: list[MultipleChoiceExample] = []
    ids = IdRegistry(path)
    for line, record in jsonl_records(path):
        question_field = record.get("question")
        if isinstance(question_field, dict):
            question = string_field(path, line, question_field, "stem")
            raw_choices = question_field.get("choices")
            if not isinstance(raw_choices, list) or not all(isinstance(c, dict) for c in raw_choices):
                raise DataFormatError(path, line, "question.choices must be a list of {label, text} objects")
            letters = [string_field(path, line, choice, "label") for choice in raw_choices]
            texts = [string_field(path, line, choice, "text") for choice in raw_choices]
        else:
            question = string_field(path, line, record, "question")
            raw_choices = record.get("choices")
            if not isinstance(raw_choices, dict):
                raise DataFormatError(path, line, "choices must be an object {label: [...], text: [...]}")
            letters, texts = raw_choices.get("label"), raw_choices.get("text")
            if not _string_list(letters) or not _string_list(texts) or len(letters) != len(texts):
                raise DataFormatError(
                    path, line, "choices.label and choices.text must be lists of strings of one length"
                )
        if len(texts) < 2:
            raise DataFormatError(path, line, f"expected at least 2 choices, found {len(texts)}")
        answer_key = record.get("answerKey")
        label = None
        if answer_key not in (None, ""):
            if answer_key not in letters:
                raise DataFormatError(
                    path, line, f"answerKey {answer_key!r} is not one of {', '.join(letters)}"
                )
            label = letters.index(answer_key)
        example_id = ids.add(line, record.get("id"))
        examples.append(MultipleChoiceExample(example_id, "", question, tuple(texts), label))
    if not examples:
        raise no_records(path, "records")
    return examples


def read_cosmosqa_csv(path: Path) -> list[MultipleChoiceExample]:
    """CosmosQA csv: header `id,context,question,answer0..answer3,label`; label column optional (test)."""
    path = require_file(path)
    lines = CountedLines(path)
    reader = csv.reader(lines, strict=True)
    examples: list[MultipleChoiceExample] = []
    ids = IdRegistry(path)
    line = 0  # last line of the last row read; a csv.Error is about the row after it
    try:
        header = next(reader, None)
        if header is None:
            raise no_records(path, "records")
        has_label = tuple(header) == (*_COSMOS_HEADER, "label")
        if not has_label and tuple(header) != _COSMOS_HEADER:
            raise DataFormatError(
                path, 1, f"expected the header {','.join(_COSMOS_HEADER)},label; found {','.join(header)}"
            )
        line = reader.line_num
        for fields in reader:
            line = reader.line_num
            if not fields:
                continue
            if len(fields) != len(header):
                raise DataFormatError(
                    path, line, f"expected {len(header)} comma-separated columns, found {len(fields)}"
                )
            label = index_label(path, line, fields[7], 4) if has_label else None
            example_id = ids.add(line, fields[0])
            examples.append(
                MultipleChoiceExample(example_id, fields[1], fields[2], tuple(fields[3:7]), label)
            )
    except csv.Error as err:
        # Name the line where the bad row starts: an unclosed quote runs on to the end of the file.
        raise csv_error(path, err, line + 1, lines, reader.line_num) from None
    if not examples:
        raise no_records(path, "records")
    return examples


def _string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _choice_index(rows: HubRows, number: int, value: Any, n_choices: int) -> int | None:
    """A 0-based choice index (a ClassLabel's integer is one: names follow the choice order)."""
    if value is None or value == -1 or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < n_choices:
        raise rows.error(number, f"label {value!r} is not a choice index below {n_choices}")
    return value


def write_copa_jsonl(
    rows: HubRows, files: Mapping[str, Path], labels_are_placeholders: bool = False, **_: Any
) -> int:
    """COPA / XCOPA jsonl. Unlabelled rows (-1: SuperGLUE's test split) are only allowed where the
    card reads labels as placeholders; they get XTREME's placeholder 0 there."""

    def records() -> Iterator[dict[str, Any]]:
        for number, record in numbered_rows(rows):
            out = {
                key: string_column(rows, number, record, key)
                for key in ("premise", "choice1", "choice2", "question")
            }
            label = _choice_index(rows, number, record.get("label"), 2)
            if label is None:
                if not labels_are_placeholders:
                    raise rows.error(number, "has no label and the card reads this split's labels")
                label = 0
            out["label"] = label
            if record.get("idx") is not None:
                out["idx"] = record["idx"]
            yield out

    return write_jsonl(files["path"], records())


def write_siqa_jsonl(rows: HubRows, files: Mapping[str, Path], **_: Any) -> int:
    """SocialIQa jsonl with the answer letter in `correct`; the hub's label is "1".."3" (the
    numbering of the original label file), as a string or a ClassLabel."""
    keys = ("context", "question", "answerA", "answerB", "answerC")
    label_name = label_names(rows, "label")

    def records() -> Iterator[dict[str, Any]]:
        for number, record in numbered_rows(rows):
            out: dict[str, Any] = {key: string_column(rows, number, record, key) for key in keys}
            label = label_name(record.get("label"))
            if label is not None:
                if label not in ("1", "2", "3"):
                    raise rows.error(number, f"label {label!r} is not one of 1, 2, 3")
                out["correct"] = "ABC"[int(label) - 1]
            yield out

    return write_jsonl(files["path"], records())


def write_commonsenseqa_jsonl(rows: HubRows, files: Mapping[str, Path], **_: Any) -> int:
    """CommonsenseQA in the hub's own schema, which the reader reads as it is."""
    for column in ("question", "choices", "answerKey"):
        rows.pick((column,), column)
    return write_jsonl(files["path"], (dict(record) for record in rows.rows))


def write_cosmosqa_csv(rows: HubRows, files: Mapping[str, Path], **_: Any) -> int:
    """CosmosQA csv with the original header; the label column only when every row has a label."""
    for column in _COSMOS_HEADER:
        rows.pick((column,), column)
    records = [
        ([str(record.get(c, "")) for c in _COSMOS_HEADER], _choice_index(rows, n, record.get("label"), 4))
        for n, record in numbered_rows(rows)
    ]
    labelled = [label is not None for _, label in records]
    if any(labelled) and not all(labelled):
        raise rows.error(labelled.index(False) + 1, "has no label while other rows have one")
    with open(files["path"], "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*_COSMOS_HEADER, "label"] if all(labelled) else _COSMOS_HEADER)
        for fields, label in records:
            writer.writerow([*fields, str(label)] if label is not None else fields)
    return len(records)
