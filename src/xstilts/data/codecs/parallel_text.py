"""Bitext retrieval: Tatoeba (two line-aligned files) and BUCC (id-keyed sentences plus gold pairs).

Tatoeba is also written from hub rows. BUCC is read only: the hub's BUCC configs hold only the
gold pairs, not the corpora to mine from.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from xstilts.data.codecs._files import no_records, numbered_lines, require_file
from xstilts.data.codecs.hub_rows import HubRows, no_line_breaks, string_column
from xstilts.data.examples import RetrievalCorpus
from xstilts.errors import DataFormatError


def read_tatoeba(source: Path, target: Path) -> RetrievalCorpus:
    """Line i of `source` (the xxx side: queries) translates line i of `target` (eng: candidates).

    Ids are `src-<line>` / `tgt-<line>` (1-based); the gold candidate of query i is candidate i.
    An empty line is an error: in a line-aligned pair it almost always means the files slipped.
    """
    source, target = require_file(source), require_file(target)
    queries = _sentences(source)
    candidates = _sentences(target)
    if len(queries) != len(candidates):
        raise DataFormatError(
            source,
            None,
            f"has {len(queries)} lines but {target} has {len(candidates)}; the files must align line by line",
        )
    query_ids = tuple(f"src-{n}" for n in range(1, len(queries) + 1))
    candidate_ids = tuple(f"tgt-{n}" for n in range(1, len(candidates) + 1))
    gold = {query: frozenset((candidate,)) for query, candidate in zip(query_ids, candidate_ids, strict=True)}
    return RetrievalCorpus(query_ids, tuple(queries), candidate_ids, tuple(candidates), gold)


def _sentences(path: Path) -> list[str]:
    sentences: list[str] = []
    for line, text in numbered_lines(path):
        if not text.strip():
            raise DataFormatError(path, line, "empty line")
        sentences.append(text)
    if not sentences:
        raise no_records(path, "lines")
    return sentences


def read_bucc(source: Path, target: Path, gold: Path) -> RetrievalCorpus:
    """`source` / `target`: `id<TAB>sentence` lines (queries / candidates); `gold`: `src-id<TAB>tgt-id`.

    Most sentences have no partner; only the gold pairs count. A query may have several gold
    candidates. Every gold id must name a sentence of its file.
    """
    source, target, gold = require_file(source), require_file(target), require_file(gold)
    query_ids, queries = _id_sentences(source)
    candidate_ids, candidates = _id_sentences(target)
    known_queries, known_candidates = set(query_ids), set(candidate_ids)
    pairs: dict[str, set[str]] = {}
    for line, text in numbered_lines(gold):
        if not text.strip():
            continue
        fields = text.split("\t")
        if len(fields) != 2:
            raise DataFormatError(
                gold, line, f"expected 2 tab-separated columns (source id, target id), found {len(fields)}"
            )
        query, candidate = fields
        if query not in known_queries:
            raise DataFormatError(gold, line, f"source id {query!r} is not in {source}")
        if candidate not in known_candidates:
            raise DataFormatError(gold, line, f"target id {candidate!r} is not in {target}")
        pairs.setdefault(query, set()).add(candidate)
    if not pairs:
        raise no_records(gold, "id pairs")
    frozen = {query: frozenset(found) for query, found in pairs.items()}
    return RetrievalCorpus(tuple(query_ids), tuple(queries), tuple(candidate_ids), tuple(candidates), frozen)


def _id_sentences(path: Path) -> tuple[list[str], list[str]]:
    ids: list[str] = []
    sentences: list[str] = []
    first_line: dict[str, int] = {}
    for line, text in numbered_lines(path):
        if not text.strip():
            continue
        sentence_id, tab, sentence = text.partition("\t")
        if not tab:
            raise DataFormatError(path, line, "expected `id<TAB>sentence`, found no tab")
        if not sentence_id:
            raise DataFormatError(path, line, "empty id")
        if sentence_id in first_line:
            raise DataFormatError(
                path, line, f"duplicate id {sentence_id!r} (first at line {first_line[sentence_id]})"
            )
        first_line[sentence_id] = line
        ids.append(sentence_id)
        sentences.append(sentence)
    if not ids:
        raise no_records(path, "sentences")
    return ids, sentences


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
                sentence = string_column(rows, number, record, column).rstrip("\r\n")
                if not sentence.strip():
                    raise rows.error(number, f"{column} is empty; the files must align line by line")
                handles[key].write(no_line_breaks(rows, number, column, sentence, tabs_too=False) + "\n")
    finally:
        for handle in handles.values():
            handle.close()
    return len(records)
