"""SQuAD v1.1 / v2.0 JSON: XQuAD, MLQA, TyDiQA-GoldP, LAReQA's xquad-r; read into examples and
written from hub rows.

JSON cannot be read a record at a time without a streaming parser, and the biggest of these files
is a few MB, so the whole file is parsed at once. Structure errors name the JSON path of the bad
value (`data[3].paragraphs[0].qas[2]`), since parsed JSON has no line numbers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from xstilts.data.codecs._files import json_field, load_json, no_records, require_file
from xstilts.data.codecs.hub_rows import HubRows, numbered_rows, string_column
from xstilts.data.examples import Answer, QAExample
from xstilts.errors import DataFormatError

log = logging.getLogger(__name__)


def read_squad_json(
    path: Path, skip_bad_answers: bool = False, version_2_with_negative: bool = False
) -> list[QAExample]:
    """One example per question.

    version_2_with_negative=True (SQuAD v2.0 cards; the span_qa format reads the same option to
    allow "no answer" predictions): a question with an empty `answers` list is unanswerable even
    without `is_impossible` (v2 files converted from the Hugging Face hub's table, where an empty
    answer list is the only mark of an unanswerable question, leave the key out); an
    `is_impossible: false` question with no answers is then an error. Without it, such a question
    is read as unlabelled (test data), and XQuAD/MLQA/TyDiQA read exactly as before.

    Every answer must occur in the context. When `answer_start` does not point at the answer text,
    the nearest occurrence of that text is used instead (off-by-some offsets are a known defect of
    re-serialised SQuAD files); an answer whose text is empty or absent from the context is an
    error, or with skip_bad_answers=True it is dropped with a warning, and so is a question left
    with no answer by that.
    """
    path = require_file(path)
    document = load_json(path)
    articles = json_field(path, document, "data", list, "")
    examples: list[QAExample] = []
    id_uses: dict[str, int] = {}
    skipped = moved = 0
    for article_index, article in enumerate(articles):
        where_article = f"data[{article_index}]"
        paragraphs = json_field(path, article, "paragraphs", list, where_article)
        for paragraph_index, paragraph in enumerate(paragraphs):
            where_paragraph = f"{where_article}.paragraphs[{paragraph_index}]"
            context = json_field(path, paragraph, "context", str, where_paragraph)
            for qa_index, qa in enumerate(json_field(path, paragraph, "qas", list, where_paragraph)):
                where = f"{where_paragraph}.qas[{qa_index}]"
                raw_id = json_field(path, qa, "id", (str, int), where)
                question = json_field(path, qa, "question", str, where)
                is_impossible = bool(qa.get("is_impossible", False))
                if version_2_with_negative and not is_impossible:
                    given = json_field(path, qa, "answers", list, where)
                    if not given and "is_impossible" in qa:
                        raise DataFormatError(
                            path,
                            None,
                            f"question {raw_id!r} ({where}): is_impossible is false but it has no answers",
                        )
                    is_impossible = not given
                # v2: unanswerable questions carry `plausible_answers`, which are not answers.
                raw_answers = [] if is_impossible else json_field(path, qa, "answers", list, where)
                answers: list[Answer] = []
                for answer_index, raw_answer in enumerate(raw_answers):
                    answer_where = f"{where}.answers[{answer_index}]"
                    try:
                        answer = _located_answer(path, raw_answer, context, raw_id, answer_where)
                    except DataFormatError as err:
                        if not skip_bad_answers:
                            raise
                        log.warning("skipping an answer: %s", err)
                        continue
                    moved += answer.start != raw_answer["answer_start"]
                    answers.append(answer)
                if raw_answers and not answers:
                    skipped += 1
                    continue
                example_id = _unique_id(str(raw_id), id_uses)
                examples.append(QAExample(example_id, question, context, tuple(answers), is_impossible))
    if moved:
        log.warning("%s: moved %d answer_start offsets to where their text occurs", path, moved)
    if skipped:
        log.warning("%s: skipped %d questions whose answers are not in their context", path, skipped)
    if not examples:
        raise no_records(path, "questions")
    return examples


def _located_answer(path: Path, raw: Any, context: str, question_id: str | int, where: str) -> Answer:
    text = json_field(path, raw, "text", str, where)
    start = json_field(path, raw, "answer_start", int, where)
    if not text:
        raise DataFormatError(path, None, f"question {question_id!r} ({where}): answer text is empty")
    if context.startswith(text, start) and start >= 0:
        return Answer(text, start)
    nearest = _nearest_occurrence(context, text, start)
    if nearest is None:
        raise DataFormatError(
            path, None, f"question {question_id!r} ({where}): answer {text!r} does not occur in the context"
        )
    return Answer(text, nearest)


def _nearest_occurrence(context: str, text: str, start: int) -> int | None:
    best: int | None = None
    position = context.find(text)
    while position != -1:
        if best is None or abs(position - start) < abs(best - start):
            best = position
        position = context.find(text, position + 1)
    return best


def _unique_id(raw_id: str, uses: dict[str, int]) -> str:
    """The id itself the first time; `<id>#k` for its k-th repeat.

    XTREME's TyDiQA-GoldP train files cut every id down to its trailing number, so ids repeat
    (en: 89 distinct ids for 3696 questions). Numbering repeats in file order keeps ids unique and
    the same on every read. The loop skips a `<id>#k` that the file itself already used.
    """
    count = uses.get(raw_id, 0)
    uses[raw_id] = count + 1
    if count == 0:
        return raw_id
    candidate = f"{raw_id}#{count}"
    while candidate in uses:
        count += 1
        candidate = f"{raw_id}#{count}"
    uses[candidate] = 1
    uses[raw_id] = count + 1
    return candidate


def _hub_answers(rows: HubRows, number: int, raw: Any) -> list[dict[str, Any]]:
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
    for number, record in numbered_rows(rows):
        context = string_column(rows, number, record, "context")
        title = record.get("title") if has_title else None
        if not articles or (has_title and articles[-1].get("title") != title):
            articles.append({"title": title, "paragraphs": []} if has_title else {"paragraphs": []})
        paragraphs = articles[-1]["paragraphs"]
        if not paragraphs or paragraphs[-1]["context"] != context:
            paragraphs.append({"context": context, "qas": []})
        qa: dict[str, Any] = {
            "id": str(record.get("id") if record.get("id") not in (None, "") else f"row-{number}"),
            "question": string_column(rows, number, record, "question"),
            "answers": _hub_answers(rows, number, record.get("answers")),
        }
        if version_2_with_negative and not qa["answers"]:
            qa["is_impossible"] = True
        paragraphs[-1]["qas"].append(qa)
        written += 1
    document = {"version": f"xstilts pull of {rows.name}", "data": articles}
    with open(files["path"], "w", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False)
    return written
