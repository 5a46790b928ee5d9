"""Mewsli-X (XTREME-R): entity mentions in WikiNews retrieve their WikiData entity's description.

The files are those XTREME-R's `scripts/download_mewslix_data.sh` leaves in `download/mewslix/`
(made by google-research `dense_representations_for_entity_retrieval/mel/get-mewsli-x.sh`):

  * `wikinews_mentions-{dev,test}.jsonl`: one article per line, `{"context": {"language", "text",
    "sentence_spans": [{"start", "end"}], "document_id", ...}, "mentions": [{"example_id",
    "entity_id", "mention_span": {"start", "end", "text"}}, ...]}`; all 11 languages in one file;
  * `candidate_set_entities.jsonl`: one entity per line, `{"entity_id", "title", "description",
    "description_language", "description_url", "sentence_spans"}` (about a million, 50 languages).

Texts are built as XTREME-R's `third_party/utils_mewslix.py` builds them for its baseline:

  * query (`preprocess_mention`): the one sentence holding the mention, with the mention marked as
    `{ mention }` (any `{...}` already in the sentence becomes `(...)`), prefixed by `mention: `,
    newlines turned into spaces and one pass of double spaces made single;
  * candidate (`preprocess_entity_description`): the description's sentences joined by spaces, with
    the same normalisation.

A mention's gold is its one entity, which must be in the candidate set. Errors name the file and
line: a mention that crosses a sentence break (the reference asserts on it), offsets outside the
text, or a mention text that differs from the text at its offsets.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from xstilts.data.codecs._files import jsonl_records, no_records, require_file
from xstilts.data.examples import RetrievalCorpus
from xstilts.errors import DataFormatError

# utils_mewslix: a mention is marked with these, and existing pairs of them are escaped to (...).
_MARKER_LEFT, _MARKER_RIGHT = "{", "}"
_ESCAPE = re.compile(rf"{re.escape(_MARKER_LEFT)}(.*?){re.escape(_MARKER_RIGHT)}")


def read_mewsli_x(mentions: Path, entities: Path) -> RetrievalCorpus:
    """Every mention of `mentions` (all languages; `query_languages` from each article's language)
    against every entity of `entities`."""
    mentions, entities = require_file(mentions), require_file(entities)
    candidate_ids, candidates = _read_entities(entities)
    known = set(candidate_ids)
    query_ids: list[str] = []
    queries: list[str] = []
    query_languages: list[str] = []
    gold: dict[str, frozenset[str]] = {}
    for line, record in jsonl_records(mentions, "mention records"):
        context = _field(mentions, line, record, "context", dict)
        language = _field(mentions, line, context, "language", str, "context.")
        text = _field(mentions, line, context, "text", str, "context.")
        if not text:
            raise DataFormatError(
                mentions,
                line,
                "context.text is empty: this is the release file without article text "
                "(wikinews_mentions_no_text-*.jsonl); get-mewsli-x.sh restores the text",
            )
        sentences = _spans(mentions, line, context, "sentence_spans", len(text), "context.")
        for index, mention in enumerate(_field(mentions, line, record, "mentions", list)):
            where = f"mentions[{index}]."
            example_id = _field(mentions, line, mention, "example_id", str, where)
            entity_id = _field(mentions, line, mention, "entity_id", str, where)
            span = _field(mentions, line, mention, "mention_span", dict, where)
            start, end = _offsets(mentions, line, span, len(text), f"{where}mention_span.")
            surface = _field(mentions, line, span, "text", str, f"{where}mention_span.")
            if text[start:end] != surface:
                raise DataFormatError(
                    mentions,
                    line,
                    f"{where}mention_span: text {surface!r} but the context has {text[start:end]!r}",
                )
            if example_id in gold:
                raise DataFormatError(mentions, line, f"{where}example_id {example_id!r} is repeated")
            if entity_id not in known:
                raise DataFormatError(mentions, line, f"{where}entity_id {entity_id!r} is not in {entities}")
            # utils_mewslix Span.locate_in: the first sentence that holds the whole mention.
            sentence = next(((s, e) for s, e in sentences if s <= start < e and s < end <= e), None)
            if sentence is None:
                raise DataFormatError(
                    mentions, line, f"{where}mention_span [{start}, {end}) lies in no single sentence"
                )
            query_ids.append(example_id)
            queries.append(_mention_query(text, sentence, start, end))
            query_languages.append(language)
            gold[example_id] = frozenset((entity_id,))
    if not query_ids:
        raise no_records(mentions, "mentions")
    return RetrievalCorpus(
        tuple(query_ids),
        tuple(queries),
        tuple(candidate_ids),
        tuple(candidates),
        gold,
        query_languages=tuple(query_languages),
    )


def _mention_query(text: str, sentence: tuple[int, int], start: int, end: int) -> str:
    """utils_mewslix.preprocess_mention on a context truncated to the mention's sentence (window 0)."""
    left = _ESCAPE.sub(r"(\1)", text[sentence[0] : start])
    right = _ESCAPE.sub(r"(\1)", text[end : sentence[1]])
    mention = text[start:end]
    query = f"{mention}: {left} {_MARKER_LEFT} {mention} {_MARKER_RIGHT} {right}"
    return _normalise(query)


def _normalise(text: str) -> str:
    # Exactly the reference's: str.splitlines (every Unicode line break), then ONE replace pass, so
    # three spaces become two, as they do there.
    return " ".join(text.splitlines()).replace("  ", " ").strip()


def _read_entities(path: Path) -> tuple[list[str], list[str]]:
    ids: list[str] = []
    descriptions: list[str] = []
    first_line: dict[str, int] = {}
    for line, record in jsonl_records(path, "entities"):
        entity_id = _field(path, line, record, "entity_id", str)
        description = _field(path, line, record, "description", str)
        spans = _spans(path, line, record, "sentence_spans", len(description))
        if entity_id in first_line:
            raise DataFormatError(path, line, f"entity_id {entity_id!r} repeats line {first_line[entity_id]}")
        first_line[entity_id] = line
        ids.append(entity_id)
        descriptions.append(_normalise(" ".join(description[s:e] for s, e in spans)))
    return ids, descriptions


def _field(path: Path, line: int, parent: dict[str, Any], key: str, kind: type, where: str = "") -> Any:
    if key not in parent:
        raise DataFormatError(path, line, f"missing key {where}{key}")
    value = parent[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise DataFormatError(
            path, line, f"{where}{key}: expected {kind.__name__}, found {type(value).__name__}"
        )
    return value


def _offsets(path: Path, line: int, span: dict[str, Any], length: int, where: str) -> tuple[int, int]:
    """A span's (start, end), checked as utils_mewslix Span checks it against its text."""
    start = _field(path, line, span, "start", int, where)
    end = _field(path, line, span, "end", int, where)
    if not 0 <= start < end <= length:
        raise DataFormatError(
            path,
            line,
            f"{where.rstrip('.')}: [{start}, {end}) is not a span of a text of {length} characters",
        )
    return start, end


def _spans(
    path: Path, line: int, parent: dict[str, Any], key: str, length: int, where: str = ""
) -> list[tuple[int, int]]:
    spans = []
    for index, span in enumerate(_field(path, line, parent, key, list, where)):
        if not isinstance(span, dict):
            raise DataFormatError(path, line, f"{where}{key}[{index}]: expected a JSON object")
        spans.append(_offsets(path, line, span, length, f"{where}{key}[{index}]."))
    return spans
