"""Nearest-neighbour retrieval metrics over sentence embeddings, as XTREME / XTREME-R compute them.

All similarities are cosine: rows are L2-normalised here and searched with faiss `IndexFlatIP`.

  * Tatoeba (XTREME `evaluate_retrieval.py` -> `utils_retrieve.similarity_search`): plain nearest
    neighbour after L2 normalisation (an L2 index on unit vectors ranks exactly as cosine), no
    margin; accuracy of each query's neighbour against its aligned candidate.
  * BUCC (XTREME `utils_retrieve.py`, taken from LASER's `mine_bitexts.py` / `bucc.py`): ratio
    margin with k=4 neighbours both ways, the "max" retrieval strategy, the threshold that maximises
    F1 on gold pairs (`bucc_optimize`), and pairs at or above it extracted (`bucc_extract`).
  * LAReQA mAP@20 (XTREME-R `utils_lareqa.py` `average_precision_at_k` / `mean_avg_prec_at_k`, k=20):
    AP@k = sum over the relevant candidates in the top k of (relevant so far / rank), divided by
    min(k, number of relevant candidates); averaged over questions. The reference ranks the whole
    pool by the dot product of L2-normalised encodings, which is the cosine used here.
  * Mewsli-X mAP@20 (XTREME-R `utils_mewslix.py` `evaluate`, TOP_K=20): every mention has one gold
    entity, so AP@20 is 1 / rank of that entity when it is in the top 20, else 0: the same formula
    as LAReQA's, and what the reference calls "MRR/MAP@20".
  * BUCC's threshold, in XTREME `utils_retrieve.bucc_eval`, is chosen on gold pairs (`bucc_optimize`)
    where gold is given and otherwise taken as passed in; `evaluate_retrieval.py` mines dev, then
    test, carrying the dev threshold over. `bucc_best_threshold` and `bucc_f1` are the two halves.

Each metric is per query first (`tatoeba_hits`, `bucc_pair_counts`, `average_precisions_at_k`), and
the score is its recipe over those records (`xstilts.results.recipes`): the percentage of queries
whose neighbour is right, precision, recall and F1 of the summed pair counts, the mean AP.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

import numpy as np

from xstilts.results.recipes import RecipeData, Records, scores

# Set to 1.0 on a BUCC score whose threshold was tuned on the very pairs it scores (no other split
# to tune on: this mirror's BUCC has only dev). Such an F1 is optimistic and not XTREME's figure.
TUNED_ON_SCORED = "threshold_tuned_on_scored_data"

BuccCandidate = tuple[str, str, float]

TATOEBA_METRICS: dict[str, RecipeData] = {"accuracy": ("mean", "correct")}
BUCC_METRICS: dict[str, RecipeData] = {
    "f1": ("f1", "pairs_correct", "pairs_predicted", "pairs_gold"),
    "precision": ("ratio", "pairs_correct", "pairs_predicted"),
    "recall": ("ratio", "pairs_correct", "pairs_gold"),
}


def map_metrics(k: int) -> dict[str, RecipeData]:
    """mAP@k: the mean of the queries' `average_precision` (AP@k, 0-1), as a percentage."""
    return {f"map@{k}": ("mean", "average_precision")}


def _unit_rows(embeddings: np.ndarray, what: str) -> np.ndarray:
    import faiss  # imported here: the recipes above are read without loading it

    if embeddings.ndim != 2:
        raise ValueError(f"{what}: expected a 2-d embedding matrix, got shape {embeddings.shape}")
    rows = np.array(embeddings, dtype=np.float32, order="C", copy=True)  # faiss normalises in place
    faiss.normalize_L2(rows)
    return rows


def _knn(queries: np.ndarray, base: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k most cosine-similar rows of `base` for each row of `queries` (both unit rows)."""
    import faiss

    index = faiss.IndexFlatIP(base.shape[1])
    index.add(base)
    similarities, indices = index.search(queries, k)
    return similarities, indices


def _check_dims(a: np.ndarray, b: np.ndarray, what: str) -> None:
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"{what}: embedding sizes differ ({a.shape[1]} vs {b.shape[1]})")
    if len(a) == 0 or len(b) == 0:
        raise ValueError(f"{what}: nothing to search ({len(a)} queries, {len(b)} candidates)")


def tatoeba_hits(
    query_emb: np.ndarray, cand_emb: np.ndarray, gold_index: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Per query, whether its cosine nearest candidate is its gold one (0/1, int8), and that
    candidate's row."""
    queries = _unit_rows(query_emb, "tatoeba_accuracy queries")
    candidates = _unit_rows(cand_emb, "tatoeba_accuracy candidates")
    _check_dims(queries, candidates, "tatoeba_accuracy")
    if len(gold_index) != len(queries):
        raise ValueError(f"tatoeba_accuracy: {len(queries)} queries but {len(gold_index)} gold indices")
    _, nearest = _knn(queries, candidates, 1)
    return (nearest[:, 0] == np.asarray(gold_index)).astype(np.int8), nearest[:, 0]


def tatoeba_accuracy(query_emb: np.ndarray, cand_emb: np.ndarray, gold_index: Sequence[int]) -> float:
    """Percentage of queries whose cosine nearest candidate is their gold candidate."""
    correct, _ = tatoeba_hits(query_emb, cand_emb, gold_index)
    return scores({"correct": correct}, TATOEBA_METRICS)["accuracy"]


def _distinct_rows(texts: Sequence[str] | None, count: int) -> tuple[list[int], set[str]]:
    """Row of the first occurrence of each distinct text, and the texts that occur more than once
    (every row, and none, when there are no texts)."""
    if texts is None:
        return list(range(count)), set()
    if len(texts) != count:
        raise ValueError(f"bucc_candidates: {count} ids but {len(texts)} texts")
    first: dict[str, int] = {}
    repeated: set[str] = set()
    for row, text in enumerate(texts):
        if text in first:
            repeated.add(text)
        else:
            first[text] = row
    return list(first.values()), repeated


def _margin_best(
    similarities: np.ndarray, neighbours: np.ndarray, own_mean: np.ndarray, other_mean: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Ratio margin cos(x,y) / ((mean kNN cos of x + mean kNN cos of y) / 2) of each neighbour, and
    each row's best neighbour with its score (LASER `score_candidates` + argmax)."""
    scores = similarities / ((own_mean[:, None] + other_mean[neighbours]) / 2)
    best_column = scores.argmax(axis=1)
    rows = np.arange(len(scores))
    return neighbours[rows, best_column], scores[rows, best_column]


def bucc_candidates(
    src_emb: np.ndarray,
    tgt_emb: np.ndarray,
    src_ids: Sequence[str],
    tgt_ids: Sequence[str],
    *,
    src_texts: Sequence[str] | None = None,
    tgt_texts: Sequence[str] | None = None,
    neighborhood: int = 4,
) -> list[BuccCandidate]:
    """Mine candidate pairs (src_id, tgt_id, margin score), best first, one partner per sentence.

    With the texts given, sentences are first unified as XTREME does (`text_load_unify`: mining runs
    over distinct texts) and a text that occurs more than once yields no pair (`read_sent2id` drops
    repeated sentences, since an id cannot be told from the text).
    """
    if len(src_ids) != len(src_emb) or len(tgt_ids) != len(tgt_emb):
        raise ValueError(
            f"bucc_candidates: {len(src_emb)}/{len(tgt_emb)} embeddings but {len(src_ids)}/{len(tgt_ids)} ids"
        )
    src_rows, src_repeated = _distinct_rows(src_texts, len(src_ids))
    tgt_rows, tgt_repeated = _distinct_rows(tgt_texts, len(tgt_ids))
    x = _unit_rows(np.asarray(src_emb)[src_rows], "bucc_candidates source")
    y = _unit_rows(np.asarray(tgt_emb)[tgt_rows], "bucc_candidates target")
    _check_dims(x, y, "bucc_candidates")

    x2y_sim, x2y_ind = _knn(x, y, min(len(y), neighborhood))
    y2x_sim, y2x_ind = _knn(y, x, min(len(x), neighborhood))
    x2y_mean, y2x_mean = x2y_sim.mean(axis=1), y2x_sim.mean(axis=1)
    fwd_best, fwd_score = _margin_best(x2y_sim, x2y_ind, x2y_mean, y2x_mean)
    bwd_best, bwd_score = _margin_best(y2x_sim, y2x_ind, y2x_mean, x2y_mean)

    # LASER "max" strategy: pool forward and backward best pairs, take them best first, and keep a
    # pair only while neither side has been used; mine_bitext's default threshold keeps score > 0.
    pair_src = np.concatenate([np.arange(len(x)), bwd_best])
    pair_tgt = np.concatenate([fwd_best, np.arange(len(y))])
    pair_score = np.concatenate([fwd_score, bwd_score])
    seen_src: set[int] = set()
    seen_tgt: set[int] = set()
    mined: list[BuccCandidate] = []
    for pair in np.argsort(-pair_score, kind="stable"):  # stable: deterministic among equal scores
        i, j = int(pair_src[pair]), int(pair_tgt[pair])
        if i in seen_src or j in seen_tgt:
            continue
        seen_src.add(i)
        seen_tgt.add(j)
        if pair_score[pair] <= 0:
            continue
        src_row, tgt_row = src_rows[i], tgt_rows[j]
        if src_texts is not None and src_texts[src_row] in src_repeated:
            continue
        if tgt_texts is not None and tgt_texts[tgt_row] in tgt_repeated:
            continue
        mined.append((src_ids[src_row], tgt_ids[tgt_row], float(pair_score[pair])))
    return mined


def _gold_set(gold_pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    gold = {(str(s), str(t)) for s, t in gold_pairs}
    if not gold:
        raise ValueError("BUCC scoring: no gold pairs")
    return gold


def bucc_best_threshold(candidates: Sequence[BuccCandidate], gold_pairs: Iterable[tuple[str, str]]) -> float:
    """XTREME `bucc_optimize`: walk the candidates best first, and put the threshold halfway between
    the candidate where F1 peaks (first peak) and the next one. 0.0 when no candidate is gold."""
    gold = _gold_set(gold_pairs)
    ranked = sorted(candidates, key=lambda c: -c[2])
    threshold = 0.0
    best_f1 = 0.0
    correct = 0
    for extracted, (src, tgt, score) in enumerate(ranked, start=1):
        correct += (src, tgt) in gold
        if correct == 0:
            continue
        precision, recall = correct / extracted, correct / len(gold)
        f1 = 2 * precision * recall / (precision + recall)
        if f1 > best_f1:
            best_f1 = f1
            # XTREME indexes past the end when the peak is the last candidate; keeping every
            # candidate (threshold = its score, extraction is >=) is what it means there.
            next_score = ranked[extracted][2] if extracted < len(ranked) else score
            threshold = (score + next_score) / 2
    return threshold


def bucc_pair_counts(
    candidates: Sequence[BuccCandidate],
    gold_pairs: Iterable[tuple[str, str]],
    threshold: float,
    sources: Sequence[str] = (),
) -> Records:
    """Per source sentence, the pairs extracted at `threshold` (score at or above it, as a set), the
    gold pairs and both, counted by source: `pairs_predicted`, `pairs_gold`, `pairs_correct`, with
    `id` (the source) and `prediction` (its mined target, "" if none). Rows are `sources` in their
    order, then any other source of a gold or extracted pair, sorted: every pair counts in a row."""
    gold = _gold_set(gold_pairs)
    extracted = {(src, tgt) for src, tgt, score in candidates if score >= threshold}
    listed = list(sources)
    rows = listed + sorted({src for src, _ in gold | extracted} - set(listed))
    row_of = {src: row for row, src in enumerate(rows)}

    def per_source(pairs: set[tuple[str, str]]) -> np.ndarray:
        counts = np.zeros(len(rows), dtype=np.int32)
        for src, _ in pairs:
            counts[row_of[src]] += 1
        return counts

    targets: list[list[str]] = [[] for _ in rows]
    for src, tgt in sorted(extracted):
        targets[row_of[src]].append(tgt)
    return {
        "id": np.array(rows, dtype=object),
        "pairs_correct": per_source(extracted & gold),
        "pairs_predicted": per_source(extracted),
        "pairs_gold": per_source(gold),
        # Mining keeps one partner per sentence, so this is one id or "" (several would be joined).
        "prediction": np.array([" ".join(t) for t in targets], dtype=object),
    }


def bucc_f1(
    candidates: Sequence[BuccCandidate], gold_pairs: Iterable[tuple[str, str]], threshold: float
) -> dict[str, float]:
    """F1, precision and recall of the candidate pairs scoring at or above `threshold`."""
    return scores(bucc_pair_counts(candidates, gold_pairs, threshold), BUCC_METRICS)


def average_precisions_at_k(
    query_emb: np.ndarray, cand_emb: np.ndarray, gold: Sequence[Collection[int]], k: int = 20
) -> np.ndarray:
    """AP@k of every query (XTREME-R definition, see the module docstring), in [0, 1], cosine ranking.

    Kept per query so that one pool can be scored per query language without ranking it twice.
    """
    queries = _unit_rows(query_emb, "average_precisions_at_k queries")
    candidates = _unit_rows(cand_emb, "average_precisions_at_k candidates")
    _check_dims(queries, candidates, "average_precisions_at_k")
    if len(gold) != len(queries):
        raise ValueError(f"average_precisions_at_k: {len(queries)} queries but {len(gold)} gold sets")
    if k < 1:
        raise ValueError(f"average_precisions_at_k: k must be positive, got {k}")
    _, ranked = _knn(queries, candidates, min(k, len(candidates)))
    average_precisions = np.zeros(len(queries), dtype=np.float64)
    for query, relevant in enumerate(gold):
        if not relevant:
            raise ValueError(f"average_precisions_at_k: query {query} has no relevant candidate")
        hits = 0
        precision_sum = 0.0
        for rank, candidate in enumerate(ranked[query], start=1):
            if int(candidate) in relevant:
                hits += 1
                precision_sum += hits / rank
        average_precisions[query] = precision_sum / min(k, len(relevant))
    return average_precisions


def mean_average_precision_at_k(
    query_emb: np.ndarray, cand_emb: np.ndarray, gold: Sequence[Collection[int]], k: int = 20
) -> float:
    """mAP@k as a percentage: the mean of `average_precisions_at_k` over the queries."""
    precisions = average_precisions_at_k(query_emb, cand_emb, gold, k)
    return scores({"average_precision": precisions}, map_metrics(k))[f"map@{k}"]
