"""Each retrieval benchmark's scoring of embedded texts: Tatoeba, BUCC, and LAReQA / Mewsli-X over one
multilingual pool.

Every scorer yields per-query records (`xstilts.results.recipes.Records`: `id` and the query's
values) and computes its scores from them with the metric's recipes (`xstilts.metrics.retrieval`):
Tatoeba `correct` (0/1) and `prediction` (the nearest candidate's id); BUCC, per source sentence,
`pairs_correct`, `pairs_predicted`, `pairs_gold` at the threshold used and `prediction` (the target
mined for it, "" if none); LAReQA / Mewsli-X `average_precision` (AP@20, 0-1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from xstilts.data.examples import RetrievalCorpus
from xstilts.errors import XstiltsError
from xstilts.formats.sentence_embeddings import Embed
from xstilts.metrics.retrieval import TUNED_ON_SCORED
from xstilts.results.recipes import Records, scores

MAP_K = 20  # XTREME-R scores LAReQA and Mewsli-X at the top 20


@dataclass(frozen=True)
class Scored:
    """One language's retrieval evaluation: each query's records, and the scores: the metrics'
    recipes over those records, then the settings the scoring used (BUCC's threshold and whether it
    was tuned on the scored pairs)."""

    scores: dict[str, float]
    records: Records


def _gold_rows(corpus: RetrievalCorpus, rows: Sequence[int], task_name: str) -> list[set[int]]:
    """The gold candidates of the queries at `rows`, as row numbers of `corpus.candidates`."""
    row_of = {cid: row for row, cid in enumerate(corpus.candidate_ids)}
    gold: list[set[int]] = []
    for row in rows:
        qid = corpus.query_ids[row]
        unknown = sorted(c for c in corpus.gold.get(qid, ()) if c not in row_of)
        if unknown:
            raise XstiltsError(
                f"task {task_name}: query {qid!r} has gold candidates that are not in the corpus: {unknown}"
            )
        gold.append({row_of[c] for c in corpus.gold.get(qid, ())})
    return gold


def _gold_indices(corpus: RetrievalCorpus, task_name: str) -> list[set[int]]:
    """Each query's gold candidates as row numbers of `corpus.candidates`."""
    return _gold_rows(corpus, range(len(corpus.query_ids)), task_name)


def _gold_pairs(corpus: RetrievalCorpus) -> set[tuple[str, str]]:
    return {(qid, cid) for qid, cids in corpus.gold.items() for cid in cids}


def check_lengths(corpus: RetrievalCorpus, task_name: str, which: str = "corpus") -> None:
    if len(corpus.query_ids) != len(corpus.queries) or len(corpus.candidate_ids) != len(corpus.candidates):
        raise XstiltsError(f"task {task_name}: the {which} has ids and texts of different lengths")
    for languages, texts in (
        (corpus.query_languages, corpus.queries),
        (corpus.candidate_languages, corpus.candidates),
    ):
        if languages and len(languages) != len(texts):
            raise XstiltsError(f"task {task_name}: the {which} has languages and texts of different lengths")


# --- Tatoeba: the nearest candidate -------------------------------------------------------------------


def _tatoeba_gold(corpus: RetrievalCorpus, task_name: str) -> list[int]:
    """Each query's gold candidate row: from the gold mapping, else line by line."""
    if corpus.gold:
        gold_index = []
        for qid, golds in zip(corpus.query_ids, _gold_indices(corpus, task_name), strict=True):
            if len(golds) != 1:
                raise XstiltsError(
                    f"task {task_name}: query {qid!r} has {len(golds)} gold candidates; "
                    "tatoeba_accuracy needs exactly one"
                )
            gold_index.append(next(iter(golds)))
        return gold_index
    # No gold mapping: Tatoeba's line i of one file is the translation of line i of the other.
    if len(corpus.queries) != len(corpus.candidates):
        raise XstiltsError(
            f"task {task_name}: {len(corpus.queries)} queries but {len(corpus.candidates)} "
            "candidates, so they cannot be aligned line by line"
        )
    return list(range(len(corpus.queries)))


def score_tatoeba(corpus: RetrievalCorpus, embed: Embed, task_name: str = "tatoeba") -> Scored:
    """Accuracy of each query's cosine nearest candidate against its gold one."""
    from xstilts.metrics.retrieval import TATOEBA_METRICS, tatoeba_hits

    gold_index = _tatoeba_gold(corpus, task_name)
    correct, nearest = tatoeba_hits(embed(corpus.queries), embed(corpus.candidates), gold_index)
    records = {
        "id": np.array(corpus.query_ids, dtype=object),
        "correct": correct,
        "prediction": np.array([corpus.candidate_ids[int(i)] for i in nearest], dtype=object),
    }
    return Scored(scores(records, TATOEBA_METRICS), records)


# --- BUCC: mining, and a threshold chosen on dev --------------------------------------------------


def bucc_mine(corpus: RetrievalCorpus, embed: Embed) -> list[tuple[str, str, float]]:
    """Margin-mined candidate pairs (source id, target id, score) of a BUCC corpus."""
    from xstilts.metrics.retrieval import bucc_candidates

    return bucc_candidates(
        embed(corpus.queries),
        embed(corpus.candidates),
        corpus.query_ids,
        corpus.candidate_ids,
        src_texts=corpus.queries,
        tgt_texts=corpus.candidates,
    )


def choose_bucc_threshold(dev_corpus: RetrievalCorpus, embed: Embed, task_name: str = "bucc") -> float:
    """The margin threshold with the best F1 on the dev pairs (XTREME `bucc_optimize`)."""
    from xstilts.metrics.retrieval import bucc_best_threshold

    if not dev_corpus.gold:
        raise XstiltsError(f"task {task_name}: the dev corpus has no gold pairs to choose a threshold on")
    return bucc_best_threshold(bucc_mine(dev_corpus, embed), _gold_pairs(dev_corpus))


def score_bucc(
    corpus: RetrievalCorpus,
    embed: Embed,
    *,
    threshold: float | None = None,
    dev_corpus: RetrievalCorpus | None = None,
    task_name: str = "bucc",
) -> Scored:
    """F1, precision and recall (percentages) of the pairs mined from `corpus` at a threshold, and the
    threshold itself: the one given, else the one chosen on `dev_corpus` (XTREME's protocol), else
    one tuned on `corpus` itself, which is flagged with `TUNED_ON_SCORED`. Records per source
    sentence: a gold pair whose source is not among the queries still counts in recall (a row)."""
    from xstilts.metrics.retrieval import BUCC_METRICS, bucc_best_threshold, bucc_pair_counts

    if threshold is not None and dev_corpus is not None:
        raise XstiltsError(
            f"task {task_name}: give a BUCC threshold or a dev corpus to choose it on, not both"
        )
    if not corpus.gold:
        raise XstiltsError(f"task {task_name}: the corpus has no gold pairs to score BUCC against")
    flag: dict[str, float] = {}
    if threshold is None and dev_corpus is not None:
        threshold = choose_bucc_threshold(dev_corpus, embed, task_name)
    mined = bucc_mine(corpus, embed)
    gold = _gold_pairs(corpus)
    if threshold is None:
        threshold = bucc_best_threshold(mined, gold)
        flag[TUNED_ON_SCORED] = 1.0
    records = bucc_pair_counts(mined, gold, threshold, corpus.query_ids)
    return Scored({**scores(records, BUCC_METRICS), "threshold": float(threshold), **flag}, records)


# --- LAReQA and Mewsli-X: mAP@k, over one multilingual pool scored per query language -------------


def _average_precisions(
    corpus: RetrievalCorpus,
    rows: Sequence[int],
    gold: Sequence[set[int]],
    embed_queries: Embed,
    embed_candidates: Embed,
    k: int,
) -> np.ndarray:
    from xstilts.metrics.retrieval import average_precisions_at_k

    queries = embed_queries([corpus.queries[row] for row in rows])
    return average_precisions_at_k(queries, embed_candidates(corpus.candidates), gold, k)


def _map_scored(corpus: RetrievalCorpus, rows: Sequence[int], precisions: np.ndarray, k: int) -> Scored:
    from xstilts.metrics.retrieval import map_metrics

    records = {
        "id": np.array([corpus.query_ids[row] for row in rows], dtype=object),
        "average_precision": np.asarray(precisions, dtype=np.float64),
    }
    return Scored(scores(records, map_metrics(k)), records)


def score_map(
    corpus: RetrievalCorpus, embed: Embed, *, k: int = MAP_K, task_name: str = "retrieval"
) -> Scored:
    """mAP@k of every query of one corpus against all its candidates."""
    rows = range(len(corpus.query_ids))
    gold = _gold_indices(corpus, task_name)
    return _map_scored(corpus, rows, _average_precisions(corpus, rows, gold, embed, embed, k), k)


def score_pooled(
    pool: RetrievalCorpus,
    embed_queries: Embed,
    embed_candidates: Embed,
    languages: Sequence[str],
    *,
    size: int | None = None,
    k: int = MAP_K,
    task_name: str = "retrieval",
) -> dict[str, Scored]:
    """mAP@k per query language: the (first `size`) queries of each language rank every candidate of
    the pool, whatever its language. The pool is embedded once. With equally many queries in every
    language (XQuAD-R), the mean over languages is the reference's single mAP over all questions."""
    rows_of = {}
    for lang in languages:
        rows = pool.query_rows(lang)
        if not rows:
            known = sorted(set(pool.query_languages))
            raise XstiltsError(
                f"task {task_name}: no queries in language {lang!r} (the pool has {', '.join(known)})"
            )
        rows_of[lang] = rows if size is None else rows[:size]
    rows = [row for lang in languages for row in rows_of[lang]]
    gold = _gold_rows(pool, rows, task_name)
    for row, relevant in zip(rows, gold, strict=True):
        if not relevant:
            raise XstiltsError(f"task {task_name}: query {pool.query_ids[row]!r} has no relevant candidate")
    precisions = _average_precisions(pool, rows, gold, embed_queries, embed_candidates, k)
    scored: dict[str, Scored] = {}
    start = 0
    for lang in languages:
        count = len(rows_of[lang])
        scored[lang] = _map_scored(pool, rows_of[lang], precisions[start : start + count], k)
        start += count
    return scored
