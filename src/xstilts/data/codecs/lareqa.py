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

import logging
from pathlib import Path
from typing import Any

from xstilts.data.codecs._files import json_field, load_json, no_records, require_file
from xstilts.data.examples import RetrievalCorpus
from xstilts.errors import DataFormatError

log = logging.getLogger(__name__)


def read_lareqa(path: Path) -> RetrievalCorpus:
    """One language of XQuAD-R: its questions, its candidate sentences, each question's answer sentence(s)."""
    path = require_file(path)
    document = load_json(path)
    articles = json_field(path, document, "data", list, "")
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
        for paragraph_index, paragraph in enumerate(
            json_field(path, article, "paragraphs", list, where_article)
        ):
            paragraph_number += 1
            where = f"{where_article}.paragraphs[{paragraph_index}]"
            context = json_field(path, paragraph, "context", str, where)
            breaks = _sentence_breaks(path, paragraph, context, where)
            sentences = [context[start:end] for start, end in breaks]
            ids = [f"{paragraph_number}_{position}" for position in range(len(sentences))]
            kept = 0
            for qa_index, qa in enumerate(json_field(path, paragraph, "qas", list, where)):
                where_qa = f"{where}.qas[{qa_index}]"
                question_id = str(json_field(path, qa, "id", (str, int), where_qa))
                question = json_field(path, qa, "question", str, where_qa)
                answers = json_field(path, qa, "answers", list, where_qa)
                # The reference asserts one answer per question: XQuAD-R is SQuAD dev with one kept.
                if len(answers) != 1:
                    raise DataFormatError(
                        path,
                        None,
                        f"{where_qa}: question {question_id!r} has {len(answers)} answers, expected 1",
                    )
                start = json_field(path, answers[0], "answer_start", int, f"{where_qa}.answers[0]")
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
    for index, pair in enumerate(json_field(path, paragraph, "sentence_breaks", list, where)):
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
