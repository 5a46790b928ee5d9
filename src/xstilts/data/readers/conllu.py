"""CoNLL-U (Universal Dependencies) as tagging examples: the syntactic words with their UPOS or XPOS tags.

Written by hand rather than with the `conllu` package: tagging needs three columns of the word
lines, and this keeps the exact line numbers for errors without another dependency.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from xstilts.data.examples import TaggingExample
from xstilts.data.readers._files import (
    check_label,
    check_label_option,
    choice_option,
    no_records,
    numbered_lines,
    require_file,
)
from xstilts.errors import DataFormatError

_TAG_COLUMNS = {"upos": 3, "xpos": 4}
_SENT_ID_PREFIX = "# sent_id"


def read_conllu(
    path: Path, column: str = "upos", labels: Sequence[str] | None = None
) -> list[TaggingExample]:
    """One example per sentence, ids from `# sent_id` (else `<file stem>-<n>`, n counting from 1).

    Multiword-token lines (`3-4`, e.g. the surface form `don't`) and empty nodes (`8.1`, enhanced
    graphs only) are skipped, so the words are exactly the syntactic words that carry UPOS tags.
    """
    path = require_file(path)
    choice_option("column", column, tuple(_TAG_COLUMNS))
    tag_index = _TAG_COLUMNS[column]
    allowed = check_label_option(labels)
    examples: list[TaggingExample] = []
    seen_ids: dict[str, int] = {}
    words: list[str] = []
    tags: list[str] = []
    sent_id: str | None = None
    sent_id_line = 0

    def end_sentence() -> None:
        nonlocal sent_id
        if words:
            example_id = sent_id if sent_id is not None else f"{path.stem}-{len(examples) + 1}"
            if example_id in seen_ids:
                raise DataFormatError(
                    path,
                    sent_id_line,
                    f"duplicate sent_id {example_id!r} (first at line {seen_ids[example_id]})",
                )
            seen_ids[example_id] = sent_id_line
            examples.append(TaggingExample(example_id, tuple(words), tuple(tags)))
        words.clear()
        tags.clear()
        sent_id = None

    for line, text in numbered_lines(path):
        if not text.strip():
            end_sentence()
            continue
        if text.startswith("#"):
            if text.startswith(_SENT_ID_PREFIX):
                # The spec writes `# sent_id = X`; some older files write `# sent_id X`.
                sent_id = text[len(_SENT_ID_PREFIX) :].lstrip(" =").strip() or None
                sent_id_line = line
            continue
        fields = text.split("\t")
        if len(fields) != 10:
            raise DataFormatError(path, line, f"expected 10 tab-separated columns, found {len(fields)}")
        word_id = fields[0]
        if not word_id.isdigit():
            if _is_range_or_empty_node(word_id):
                continue
            raise DataFormatError(path, line, f"invalid word ID {word_id!r}")
        tag = fields[tag_index]
        check_label(path, line, tag, allowed, labels or ())
        if not words and sent_id is None:
            sent_id_line = line  # no sent_id: a duplicate is reported at the sentence's first word
        words.append(fields[1])
        tags.append(tag)
    end_sentence()
    if not examples:
        raise no_records(path, "sentences")
    return examples


def _is_range_or_empty_node(word_id: str) -> bool:
    for separator in ("-", "."):
        left, found, right = word_id.partition(separator)
        if found and left.isdigit() and right.isdigit():
            return True
    return False
