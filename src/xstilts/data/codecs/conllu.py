"""CoNLL-U (Universal Dependencies) as tagging examples: the syntactic words with their UPOS or XPOS tags;
read into examples and written from hub rows.

Written by hand rather than with the `conllu` package: tagging needs three columns of the word
lines, and this keeps the exact line numbers for errors without another dependency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from xstilts.data.codecs._files import (
    check_label,
    check_label_option,
    choice_option,
    no_records,
    numbered_lines,
    require_file,
)
from xstilts.data.codecs.hub_rows import HubRows, label_names, no_line_breaks, numbered_rows
from xstilts.data.examples import TaggingExample
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


def write_conllu(rows: HubRows, files: Mapping[str, Path], **_: Any) -> int:
    """CoNLL-U from universal-dependencies/universal_dependencies rows (`idx`, `text`, `tokens`,
    `lemmas`, `upos`, `xpos`, `head`, `deprel`).

    The hub's token lists also hold the multiword tokens (`don't` before `do` and `n't`), with
    UPOS `_` and no head; they are left out, so the file holds the syntactic words, numbered
    1..n as in the treebank (the heads still point at the right words). FEATS, DEPS and MISC are
    written `_`: the hub keeps them as Python reprs, and `read_conllu` reads none of them.
    """
    token_column = rows.pick(("tokens",), "token")
    upos_name = label_names(rows, rows.pick(("upos",), "upos"))
    written = 0
    with open(files["path"], "w", encoding="utf-8", newline="") as handle:
        for number, record in numbered_rows(rows):
            tokens = record.get(token_column) or []
            upos = [upos_name(tag) for tag in record.get("upos") or []]
            columns = {
                key: record.get(key) or [None] * len(tokens) for key in ("lemmas", "xpos", "head", "deprel")
            }
            if any(len(values) != len(tokens) for values in (upos, *columns.values())):
                raise rows.error(number, "its token columns differ in length")
            lines = []
            if record.get("idx"):
                lines.append(f"# sent_id = {record['idx']}\n")
            if record.get("text"):
                lines.append(
                    f"# text = {no_line_breaks(rows, number, 'text', record['text'], tabs_too=False)}\n"
                )
            word = 0
            for position, token in enumerate(tokens):
                if upos[position] in (None, "_"):
                    continue  # a multiword token's surface form
                word += 1
                fields = [
                    str(word),
                    token,
                    columns["lemmas"][position],
                    upos[position],
                    columns["xpos"][position],
                    None,
                    columns["head"][position],
                    columns["deprel"][position],
                    None,
                    None,
                ]
                text = ["_" if f in (None, "", "None") else str(f) for f in fields]
                for value in text:
                    no_line_breaks(rows, number, f"token {position + 1}", value)
                lines.append("\t".join(text) + "\n")
            if word:
                handle.write("".join(lines) + "\n")
                written += 1
    return written
