"""Writers: the inverse of the readers. Rows of a Hugging Face hub split -> files in a card's layout.

`xstilts data pull` loads a split with `datasets`, hands its rows to the writer registered for the
card's reader, and then reads the written files back with that reader; what a writer produces is
whatever its reader reads, in the XTREME `download/` formats (tsv pairs, token-per-line tagging,
SQuAD json, Tatoeba aligned text, COPA jsonl, ...).

Writers know the hub schemas of the benchmark datasets (column names differ between e.g.
`facebook/xnli` and `google/xtreme`'s XNLI config) and turn ClassLabel integers into names through
the split's features. A row a file format cannot hold (a tab inside a token, an unlabelled row in a
labelled format) is a DataFormatError naming the row, never silently changed.
"""

from __future__ import annotations

import csv
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


def _label_names(rows: HubRows, column: str) -> Callable[[Any], str | None]:
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


def _no_line_breaks(rows: HubRows, row: int, what: str, text: str, tabs_too: bool = True) -> str:
    bad = ("\n", "\r", "\t") if tabs_too else ("\n", "\r")
    if any(char in text for char in bad):
        kinds = "a tab or line break" if tabs_too else "a line break"
        raise rows.error(row, f"{what} {text!r} holds {kinds}, which this file format cannot hold")
    return text


def _numbered(rows: HubRows) -> Iterator[tuple[int, dict[str, Any]]]:
    return enumerate(rows.rows, 1)


def _string(rows: HubRows, row: int, record: dict[str, Any], column: str) -> str:
    value = record.get(column)
    if not isinstance(value, str):
        raise rows.error(row, f"{column} must be a string, found {type(value).__name__}")
    return value


# --- classification: XNLI, PAWS-X ------------------------------------------------------------

_PAIR_COLUMNS = (("premise", "hypothesis"), ("sentence1", "sentence2"), ("text_a", "text_b"))
_SINGLE_COLUMNS = ("sentence", "text", "text_a")


def _pair_columns(rows: HubRows) -> tuple[str, str]:
    pair = next((p for p in _PAIR_COLUMNS if p[0] in rows.columns and p[1] in rows.columns), None)
    if pair is None:
        looked = ", ".join(f"{a}+{b}" for a, b in _PAIR_COLUMNS)
        raise rows.error(
            None, f"no sentence-pair columns (looked for {looked}; it has {', '.join(rows.columns)})"
        )
    return pair


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
        text_columns: tuple[str, ...] = _pair_columns(rows)
    else:
        text_columns = (rows.pick(_SINGLE_COLUMNS, "sentence"),)
    label_column = rows.pick(("label", "gold_label"), "label")
    label_name = _label_names(rows, label_column)
    written = 0
    with open(files["path"], "w", encoding="utf-8", newline="") as handle:
        for number, record in _numbered(rows):
            label = label_name(record.get(label_column))
            if label is None:
                raise rows.error(number, "has no label; this file format needs one on every row")
            fields = [_string(rows, number, record, column) for column in text_columns] + [label]
            if not quoted:
                for column, text in zip((*text_columns, label_column), fields, strict=True):
                    _no_line_breaks(rows, number, column, text)
                    if text.startswith('"'):
                        raise rows.error(number, f"{column} starts with '\"'; set the reader option quoted")
            line = "\t".join(_tsv_field(f) for f in fields) if quoted else "\t".join(fields)
            handle.write(line + "\n")
            written += 1
    return written


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
        sources = [rows.pick(_SINGLE_COLUMNS, "sentence")]
    else:
        sources = list(_pair_columns(rows))
    label_source = rows.pick((label_column, "label", "gold_label"), "label")
    label_name = _label_names(rows, label_source)
    labelled: bool | None = None
    written = 0
    with open(files["path"], "w", encoding="utf-8", newline="") as handle:
        for number, record in _numbered(rows):
            label = label_name(record.get(label_source))
            if labelled is None:
                labelled = label is not None
                handle.write("\t".join(wanted + ([label_column] if labelled else [])) + "\n")
            elif labelled != (label is not None):
                raise rows.error(number, "is labelled unlike the rows before it; a file is one or the other")
            fields = [_string(rows, number, record, column) for column in sources]
            fields += [label] if label is not None else []
            for column, text in zip((*sources, label_source), fields, strict=False):
                _no_line_breaks(rows, number, column, text)
            handle.write("\t".join(fields) + "\n")
            written += 1
    return written


# --- tagging: UD-POS, PAN-X -------------------------------------------------------------------


def write_tsv_tagging(rows: HubRows, files: Mapping[str, Path], **_: Any) -> int:
    """`token<TAB>tag` per line, a blank line after each sentence, as `read_tsv_tagging` reads.

    Rows without tokens are skipped: they hold nothing to tag and the format has no way to write
    an empty sentence.
    """
    token_column = rows.pick(("tokens", "words"), "token")
    tag_column = rows.pick(("ner_tags", "pos_tags", "tags", "upos", "ner", "pos"), "tag")
    tag_name = _label_names(rows, tag_column)
    written = 0
    with open(files["path"], "w", encoding="utf-8", newline="") as handle:
        for number, record in _numbered(rows):
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
                _no_line_breaks(rows, number, f"token {position}", token)
                _no_line_breaks(rows, number, f"tag of token {position}", tag)
                lines.append(f"{token}\t{tag}\n")
            handle.write("".join(lines) + "\n")
            written += 1
    return written


def write_conllu(rows: HubRows, files: Mapping[str, Path], **_: Any) -> int:
    """CoNLL-U from universal-dependencies/universal_dependencies rows (`idx`, `text`, `tokens`,
    `lemmas`, `upos`, `xpos`, `head`, `deprel`).

    The hub's token lists also hold the multiword tokens (`don't` before `do` and `n't`), with
    UPOS `_` and no head; they are left out, so the file holds the syntactic words, numbered
    1..n as in the treebank (the heads still point at the right words). FEATS, DEPS and MISC are
    written `_`: the hub keeps them as Python reprs, and `read_conllu` reads none of them.
    """
    token_column = rows.pick(("tokens",), "token")
    upos_name = _label_names(rows, rows.pick(("upos",), "upos"))
    written = 0
    with open(files["path"], "w", encoding="utf-8", newline="") as handle:
        for number, record in _numbered(rows):
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
                    f"# text = {_no_line_breaks(rows, number, 'text', record['text'], tabs_too=False)}\n"
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
                    _no_line_breaks(rows, number, f"token {position + 1}", value)
                lines.append("\t".join(text) + "\n")
            if word:
                handle.write("".join(lines) + "\n")
                written += 1
    return written


# --- span QA: XQuAD, MLQA, TyDiQA-GoldP -------------------------------------------------------


def _answers(rows: HubRows, number: int, raw: Any) -> list[dict[str, Any]]:
    """The hub stores answers as {text: [...], answer_start: [...]} (a Sequence of a dict)."""
    if isinstance(raw, dict):
        texts, starts = raw.get("text") or [], raw.get("answer_start") or []
        if len(texts) != len(starts):
            raise rows.error(number, f"answers has {len(texts)} texts but {len(starts)} answer_start values")
        pairs = list(zip(texts, starts, strict=True))
    elif isinstance(raw, list):
        pairs = [(a.get("text"), a.get("answer_start")) for a in raw if isinstance(a, dict)]
    else:
        raise rows.error(number, f"answers must be a mapping or a list, found {type(raw).__name__}")
    return [{"text": text, "answer_start": start} for text, start in pairs]


def write_squad_json(
    rows: HubRows, files: Mapping[str, Path], version_2_with_negative: bool = False, **_: Any
) -> int:
    """SQuAD json. Rows that follow each other with the same title and context share an article
    and a paragraph, as in the files the hub rows were made from. A question without answers is
    unanswerable in SQuAD v2 (`is_impossible`, on cards that read v2) and unlabelled elsewhere."""
    articles: list[dict[str, Any]] = []
    has_title = "title" in rows.columns
    written = 0
    for number, record in _numbered(rows):
        context = _string(rows, number, record, "context")
        title = record.get("title") if has_title else None
        if not articles or (has_title and articles[-1].get("title") != title):
            articles.append({"title": title, "paragraphs": []} if has_title else {"paragraphs": []})
        paragraphs = articles[-1]["paragraphs"]
        if not paragraphs or paragraphs[-1]["context"] != context:
            paragraphs.append({"context": context, "qas": []})
        qa: dict[str, Any] = {
            "id": str(record.get("id") if record.get("id") not in (None, "") else f"row-{number}"),
            "question": _string(rows, number, record, "question"),
            "answers": _answers(rows, number, record.get("answers")),
        }
        if version_2_with_negative and not qa["answers"]:
            qa["is_impossible"] = True
        paragraphs[-1]["qas"].append(qa)
        written += 1
    document = {"version": f"xstilts pull of {rows.name}", "data": articles}
    with open(files["path"], "w", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False)
    return written


# --- retrieval: Tatoeba ----------------------------------------------------------------------


def _tatoeba_columns(rows: HubRows, first: dict[str, Any]) -> dict[str, str]:
    """Language code -> the column holding that side. google/xtreme names the languages in every
    row (`source_lang`: deu, `target_lang`: eng); mteb/tatoeba-bitext-mining has `sentence1` and
    `sentence2` in the order of its config's name (`deu-eng`)."""
    if {"source_sentence", "target_sentence", "source_lang", "target_lang"} <= set(rows.columns):
        return {first["source_lang"]: "source_sentence", first["target_lang"]: "target_sentence"}
    if {"sentence1", "sentence2"} <= set(rows.columns) and rows.config and rows.config.count("-") == 1:
        one, two = rows.config.split("-")
        return {one: "sentence1", two: "sentence2"}
    raise rows.error(
        None,
        "expected source_sentence/target_sentence with source_lang/target_lang, or sentence1/sentence2 "
        f"with a config named <code>-<code>; it has {', '.join(rows.columns)} (config {rows.config})",
    )


def write_tatoeba(rows: HubRows, files: Mapping[str, Path], **_: Any) -> int:
    """Two line-aligned files. A file gets the side whose language code is its name's
    extension, as in `tatoeba.deu-eng.deu` and `tatoeba.deu-eng.eng`."""
    records = list(rows.rows)
    if not records:
        raise rows.error(None, "has no rows")
    by_language = _tatoeba_columns(rows, records[0])
    column_of: dict[str, str] = {}
    for key, path in files.items():
        extension = path.name.rsplit(".", 1)[-1]
        if extension not in by_language:
            raise rows.error(
                None,
                f"cannot tell which column goes to {path.name}: the rows are in "
                f"{' and '.join(by_language)}, the file name ends in .{extension}",
            )
        column_of[key] = by_language[extension]
    handles = {key: open(path, "w", encoding="utf-8", newline="") for key, path in files.items()}
    try:
        for number, record in enumerate(records, 1):
            for key, column in column_of.items():
                # google/xtreme keeps each sentence's line end from the source file.
                sentence = _string(rows, number, record, column).rstrip("\r\n")
                if not sentence.strip():
                    raise rows.error(number, f"{column} is empty; the files must align line by line")
                handles[key].write(_no_line_breaks(rows, number, column, sentence, tabs_too=False) + "\n")
    finally:
        for handle in handles.values():
            handle.close()
    return len(records)


# --- multiple choice: COPA / XCOPA, SIQA, CommonsenseQA, CosmosQA -------------------------------


def _choice_index(rows: HubRows, number: int, value: Any, n_choices: int) -> int | None:
    """A 0-based choice index (a ClassLabel's integer is one: names follow the choice order)."""
    if value is None or value == -1 or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < n_choices:
        raise rows.error(number, f"label {value!r} is not a choice index below {n_choices}")
    return value


def _write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    written = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            written += 1
    return written


def write_copa_jsonl(
    rows: HubRows, files: Mapping[str, Path], labels_are_placeholders: bool = False, **_: Any
) -> int:
    """COPA / XCOPA jsonl. Unlabelled rows (-1: SuperGLUE's test split) are only allowed where the
    card reads labels as placeholders; they get XTREME's placeholder 0 there."""

    def records() -> Iterator[dict[str, Any]]:
        for number, record in _numbered(rows):
            out = {
                key: _string(rows, number, record, key)
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

    return _write_jsonl(files["path"], records())


def write_siqa_jsonl(rows: HubRows, files: Mapping[str, Path], **_: Any) -> int:
    """SocialIQa jsonl with the answer letter in `correct`; the hub's label is "1".."3" (the
    numbering of the original label file), as a string or a ClassLabel."""
    keys = ("context", "question", "answerA", "answerB", "answerC")
    label_name = _label_names(rows, "label")

    def records() -> Iterator[dict[str, Any]]:
        for number, record in _numbered(rows):
            out: dict[str, Any] = {key: _string(rows, number, record, key) for key in keys}
            label = label_name(record.get("label"))
            if label is not None:
                if label not in ("1", "2", "3"):
                    raise rows.error(number, f"label {label!r} is not one of 1, 2, 3")
                out["correct"] = "ABC"[int(label) - 1]
            yield out

    return _write_jsonl(files["path"], records())


def write_commonsenseqa_jsonl(rows: HubRows, files: Mapping[str, Path], **_: Any) -> int:
    """CommonsenseQA in the hub's own schema, which the reader reads as it is."""
    for column in ("question", "choices", "answerKey"):
        rows.pick((column,), column)
    return _write_jsonl(files["path"], (dict(record) for record in rows.rows))


def write_hellaswag_jsonl(rows: HubRows, files: Mapping[str, Path], **_: Any) -> int:
    """HellaSwag in the hub's own schema (`ctx_a`, `ctx_b`, `endings`, `label` "0".."3" or ""),
    which the reader reads as it is."""
    rows.pick(("endings",), "endings")
    rows.pick(("ctx_a", "ctx"), "context")
    return _write_jsonl(files["path"], (dict(record) for record in rows.rows))


_COSMOS_COLUMNS = ("id", "context", "question", "answer0", "answer1", "answer2", "answer3")


def write_cosmosqa_csv(rows: HubRows, files: Mapping[str, Path], **_: Any) -> int:
    """CosmosQA csv with the original header; the label column only when every row has a label."""
    for column in _COSMOS_COLUMNS:
        rows.pick((column,), column)
    records = [
        ([str(record.get(c, "")) for c in _COSMOS_COLUMNS], _choice_index(rows, n, record.get("label"), 4))
        for n, record in _numbered(rows)
    ]
    labelled = [label is not None for _, label in records]
    if any(labelled) and not all(labelled):
        raise rows.error(labelled.index(False) + 1, "has no label while other rows have one")
    with open(files["path"], "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*_COSMOS_COLUMNS, "label"] if all(labelled) else _COSMOS_COLUMNS)
        for fields, label in records:
            writer.writerow([*fields, str(label)] if label is not None else fields)
    return len(records)


# Keyed by the reader that reads what the writer writes (a card names its reader).
WRITERS: dict[str, Callable[..., int]] = {
    "xtreme_tsv_pairs": write_tsv_pairs,
    "xtreme_tsv_tagging": write_tsv_tagging,
    "squad_json": write_squad_json,
    "tatoeba": write_tatoeba,
    "copa_jsonl": write_copa_jsonl,
    "siqa_jsonl": write_siqa_jsonl,
    "commonsenseqa_jsonl": write_commonsenseqa_jsonl,
    "cosmosqa_csv": write_cosmosqa_csv,
    "glue_tsv": write_glue_tsv,
    "hellaswag_jsonl": write_hellaswag_jsonl,
    "conllu": write_conllu,
}

# Readers with no writer, and why: said to the user instead of a bare "unsupported".
NO_WRITER = {
    "bucc": "the hub's BUCC configs hold only the gold pairs, not the corpora to mine from",
}


def write(reader: str, rows: HubRows, files: Mapping[str, Path], options: Mapping[str, Any]) -> int:
    """Write `rows` to `files` in the format `reader` reads; the number of examples written."""
    writer = WRITERS.get(reader)
    if writer is None:
        why = NO_WRITER.get(reader, f"no writer is registered for it (writers: {', '.join(WRITERS)})")
        raise DataFormatError(rows.name, None, f"cannot write files for the reader {reader!r}: {why}")
    return writer(rows, files, **options)
