"""LAReQA's XQuAD-R (XTREME-R): SQuAD v1.1 JSON whose paragraphs add `sentence_breaks`.

One file holds one language. Its questions retrieve answer *sentences*; the candidates are every
sentence of every paragraph. This reader follows XTREME-R's `third_party/utils_lareqa.py`
(`load_data`, `generate_examples`) and `evaluate_retrieval.py` (task `lareqa`):

  * sentences are `context[start:end]` for each `[start, end]` of `sentence_breaks` (the paragraph's
    `sentences` list, the same strings in the release, is not read);
  * a question's answer sentence is the first one with `start <= answer_start < end`; every sentence
    of its paragraph with that same text is relevant. A question whose answer starts in no sentence
    is skipped with a warning, as the reference does (none in XQuAD-R);
  * a paragraph's sentences enter the pool only when at least one of its questions is kept, since
    the reference adds candidates while walking the kept questions;
  * a candidate's text is its sentence followed directly by its paragraph with newlines removed,
    the string XTREME-R's evaluation embeds (`(sentence + context).replace("\\n", "")`).

Ids: questions keep their SQuAD id, which XQuAD-R shares across languages (LAReQA's `xling_id`);
candidates are `<paragraph number>_<sentence number>` (paragraphs counted from 1 through the file,
sentences from 0), the reference's uid without its language. `pool_languages` qualifies both with the
language and links each question to its answer sentences in every language.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from xstilts.data.examples import RetrievalCorpus
from xstilts.data.readers._files import no_records, require_file
from xstilts.errors import DataFormatError

log = logging.getLogger(__name__)


def read_lareqa(path: Path) -> RetrievalCorpus:
    """One language of XQuAD-R: its questions, its candidate sentences, each question's answer sentence(s)."""
    path = require_file(path)
    document = _load_json(path)
    articles = _field(path, document, "data", list, "")
    query_ids: list[str] = []
    queries: list[str] = []
    candidate_ids: list[str] = []
    candidates: list[str] = []
    gold: dict[str, frozenset[str]] = {}
    seen: set[str] = set()
    skipped = 0
    paragraph_number = 0
    for article_index, article in enumerate(articles):
        where_article = f"data[{article_index}]"
        for paragraph_index, paragraph in enumerate(_field(path, article, "paragraphs", list, where_article)):
            paragraph_number += 1
            where = f"{where_article}.paragraphs[{paragraph_index}]"
            context = _field(path, paragraph, "context", str, where)
            breaks = _sentence_breaks(path, paragraph, context, where)
            sentences = [context[start:end] for start, end in breaks]
            ids = [f"{paragraph_number}_{position}" for position in range(len(sentences))]
            kept = 0
            for qa_index, qa in enumerate(_field(path, paragraph, "qas", list, where)):
                where_qa = f"{where}.qas[{qa_index}]"
                question_id = str(_field(path, qa, "id", (str, int), where_qa))
                question = _field(path, qa, "question", str, where_qa)
                answers = _field(path, qa, "answers", list, where_qa)
                # The reference asserts one answer per question: XQuAD-R is SQuAD dev with one kept.
                if len(answers) != 1:
                    raise DataFormatError(
                        path,
                        None,
                        f"{where_qa}: question {question_id!r} has {len(answers)} answers, expected 1",
                    )
                start = _field(path, answers[0], "answer_start", int, f"{where_qa}.answers[0]")
                if not 0 <= start < len(context):
                    raise DataFormatError(
                        path, None, f"{where_qa}.answers[0]: answer_start {start} is outside the context"
                    )
                if question_id in seen:
                    raise DataFormatError(path, None, f"{where_qa}: question id {question_id!r} is repeated")
                seen.add(question_id)
                answer = next((context[s:e] for s, e in breaks if s <= start < e), None)
                if answer is None:
                    skipped += 1
                    continue
                kept += 1
                query_ids.append(question_id)
                queries.append(question)
                gold[question_id] = frozenset(i for i, s in zip(ids, sentences, strict=True) if s == answer)
            if kept:
                candidate_ids.extend(ids)
                candidates.extend((sentence + context).replace("\n", "") for sentence in sentences)
    if skipped:
        log.warning("%s: skipped %d questions whose answer starts in no sentence", path, skipped)
    if not query_ids:
        raise no_records(path, "questions with an answer sentence")
    return RetrievalCorpus(tuple(query_ids), tuple(queries), tuple(candidate_ids), tuple(candidates), gold)


def _sentence_breaks(path: Path, paragraph: Any, context: str, where: str) -> list[tuple[int, int]]:
    breaks: list[tuple[int, int]] = []
    for index, pair in enumerate(_field(path, paragraph, "sentence_breaks", list, where)):
        ok = (
            isinstance(pair, list)
            and len(pair) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) for n in pair)
        )
        if not ok or not 0 <= pair[0] < pair[1] <= len(context):
            raise DataFormatError(
                path,
                None,
                f"{where}.sentence_breaks[{index}]: expected [start, end] with "
                f"0 <= start < end <= {len(context)} (the context's length), found {pair!r}",
            )
        breaks.append((pair[0], pair[1]))
    return breaks


def _load_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataFormatError(path, None, f"not valid UTF-8 ({err.reason} at byte {err.start})") from None
    if not text.strip():
        raise DataFormatError(path, None, "file is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise DataFormatError(path, err.lineno, f"invalid JSON: {err.msg} (column {err.colno})") from None


def _field(path: Path, parent: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
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
