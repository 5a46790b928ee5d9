"""Metric values worked out by hand (the arithmetic is in the comments)."""

from __future__ import annotations

import numpy as np
import pytest

from xstilts.errors import ConfigError
from xstilts.metrics.classification import accuracy
from xstilts.metrics.retrieval import (
    bucc_best_threshold,
    bucc_candidates,
    bucc_f1,
    mean_average_precision_at_k,
    tatoeba_accuracy,
)
from xstilts.metrics.squad import mlqa_normalize_answer, mlqa_scores, normalize_answer, squad_scores
from xstilts.metrics.tagging import entity_f1, pos_scores, token_accuracy

# --- classification -------------------------------------------------------------------------------


def test_accuracy_is_a_percentage() -> None:
    # 3 of 4 right -> 75
    assert accuracy(["a", "b", "c", "a"], ["a", "b", "c", "b"]) == pytest.approx(75.0)


def test_accuracy_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="2 gold labels but 1 predictions"):
        accuracy(["a", "b"], ["a"])


# --- SQuAD ----------------------------------------------------------------------------------------


def test_normalize_answer_drops_case_punctuation_articles_and_extra_space() -> None:
    assert normalize_answer("The  Quick, brown fox!") == "quick brown fox"
    # articles only as whole words: "theatre" and "anna" stay
    assert normalize_answer("An apple in the theatre, Anna") == "apple in theatre anna"


def test_squad_f1_on_partial_overlap() -> None:
    # pred "the cat sat on the mat" -> [cat, sat, on, mat]; gold "a cat on a mat" -> [cat, on, mat]
    # common 3: precision 3/4, recall 3/3, F1 = 2 * .75 * 1 / 1.75 = 6/7
    scores = squad_scores([["a cat on a mat"]], ["the cat sat on the mat"])
    assert scores["f1"] == pytest.approx(100 * 6 / 7)
    assert scores["exact_match"] == 0.0


def test_squad_takes_the_best_gold_and_averages_over_questions() -> None:
    # q1: vs "cat" F1 = 2 * (1/2 * 1) / 1.5 = 2/3, vs "The cat sat." exact -> 1 (max = 1, EM 1)
    # q2: pred "dog" vs "a cat": no overlap -> 0
    scores = squad_scores([["cat", "The cat sat."], ["a cat"]], ["cat sat", "dog"])
    assert scores["f1"] == pytest.approx(50.0)
    assert scores["exact_match"] == pytest.approx(50.0)


def test_squad_unanswerable_question_scores_an_empty_prediction() -> None:
    # v2 rule: gold '' -> EM = F1 = [prediction normalises to '']; "The." normalises to ''
    assert squad_scores([[], [""], []], ["", "The.", "Paris"]) == {
        "exact_match": pytest.approx(200 / 3),
        "f1": pytest.approx(200 / 3),
    }


def test_squad_keeps_unicode_punctuation_that_mlqa_removes() -> None:
    # string.punctuation lacks « », so SQuAD sees one token "«hola»" != "hola"; MLQA strips them.
    assert squad_scores([["Hola"]], ["«Hola»"])["f1"] == 0.0
    assert mlqa_scores([["Hola"]], ["«Hola»"], "es")["exact_match"] == 100.0


# --- MLQA -----------------------------------------------------------------------------------------


def test_mlqa_chinese_mixed_segmentation() -> None:
    # each CJK character is a token, Latin runs split on whitespace
    assert mlqa_normalize_answer("NBA球员 Yao Ming。", "zh") == "nba 球 员 yao ming"
    # pred [北, 京, 大, 学] vs gold [北, 京]: common 2, P = 2/4, R = 2/2, F1 = 2 * .5 / 1.5 = 2/3
    scores = mlqa_scores([["北京"]], ["北京大学"], "zh")
    assert scores["f1"] == pytest.approx(100 * 2 / 3)
    assert scores["exact_match"] == 0.0


def test_mlqa_spanish_and_german_articles() -> None:
    # es: "el" is an article, "del" is not
    assert mlqa_normalize_answer("El Museo del Prado", "es") == "museo del prado"
    assert mlqa_scores([["Museo del Prado"]], ["el Museo del Prado"], "es")["exact_match"] == 100.0
    # de: "die" removed -> exact; under English rules "die" stays: P = 2/3, R = 1, F1 = 0.8
    assert mlqa_scores([["Deutsche Bank"]], ["die Deutsche Bank"], "de")["exact_match"] == 100.0
    assert squad_scores([["Deutsche Bank"]], ["die Deutsche Bank"])["f1"] == pytest.approx(80.0)


def test_mlqa_arabic_and_vietnamese_articles() -> None:
    # ar: every 'ال' is removed (the script's pattern), so "الكتاب" == "كتاب"
    assert mlqa_scores([["كتاب"]], ["الكتاب"], "ar")["exact_match"] == 100.0
    # vi: "những" is on the script's list
    assert mlqa_scores([["con mèo"]], ["những con mèo"], "vi")["exact_match"] == 100.0


def test_mlqa_rejects_an_unknown_language() -> None:
    with pytest.raises(ConfigError, match="unknown language 'fr'"):
        mlqa_scores([["a"]], ["a"], "fr")


# --- tagging --------------------------------------------------------------------------------------


def test_entity_f1_counts_a_split_entity_as_wrong() -> None:
    # gold entities: PER(0-1), LOC(3); predicted: PER(0), PER(1), LOC(3) -> 1 correct
    # precision 1/3, recall 1/2, F1 = 2 * (1/6) / (5/6) = 0.4; token accuracy 3/4
    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    pred = [["B-PER", "B-PER", "O", "B-LOC"]]
    assert entity_f1(gold, pred) == {
        "precision": pytest.approx(100 / 3),
        "recall": pytest.approx(50.0),
        "f1": pytest.approx(40.0),
    }
    assert token_accuracy(gold, pred) == pytest.approx(75.0)


def test_entity_f1_default_mode_lets_i_open_an_entity_like_conlleval() -> None:
    # I-PER I-PER is read as one PER(0-1) entity, so both entities match
    gold = (("B-PER", "I-PER", "O", "B-LOC"),)  # tuples are accepted too
    pred = (("I-PER", "I-PER", "O", "B-LOC"),)
    assert entity_f1(gold, pred)["f1"] == pytest.approx(100.0)


def test_pos_scores_report_xtreme_seqeval_f1_next_to_accuracy() -> None:
    # seqeval on bare UPOS tags: gold chunks NOUN(0-1), VERB(2); predicted NOUN(0), VERB(1-2) -> none
    # match, F1 0, although 2 of 3 tags are right
    scores = pos_scores([["NOUN", "NOUN", "VERB"]], [["NOUN", "VERB", "VERB"]])
    assert scores["f1"] == 0.0
    assert scores["accuracy"] == pytest.approx(200 / 3)
    # no runs: DET NOUN VERB ADV vs ... ADJ -> 3 of 4 chunks right both ways, F1 = accuracy = 75
    scores = pos_scores([["DET", "NOUN", "VERB", "ADV"]], [["DET", "NOUN", "VERB", "ADJ"]])
    assert scores["f1"] == pytest.approx(75.0)
    assert scores["accuracy"] == pytest.approx(75.0)


def test_tagging_rejects_sentences_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="sentence 0 has 2 gold tags but 1 predicted"):
        token_accuracy([["O", "O"]], [["O"]])


# --- retrieval ------------------------------------------------------------------------------------


def test_tatoeba_accuracy_ranks_by_cosine_not_inner_product() -> None:
    # query [1, .1]: c0 = [10, 5] has the larger inner product (10.5 vs 1.01), but c1 = [1, .1] is
    # the same direction (cosine 1 vs 0.934), so cosine picks c1.
    # query [0, 1]: cosines 5/11.18 = 0.447, 0.1/1.005 = 0.0995, 1 for c2 -> c2
    queries = np.array([[1.0, 0.1], [0.0, 1.0]], dtype=np.float32)
    candidates = np.array([[10.0, 5.0], [1.0, 0.1], [0.0, 3.0]], dtype=np.float32)
    assert tatoeba_accuracy(queries, candidates, [1, 2]) == 100.0
    assert tatoeba_accuracy(queries, candidates, [0, 2]) == 50.0


def _direct_margin_mining(x: np.ndarray, y: np.ndarray, k: int) -> list[tuple[int, int, float]]:
    """The LASER margin mining written out with dense numpy, for checking."""
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    y = y / np.linalg.norm(y, axis=1, keepdims=True)
    cos = x @ y.T
    src_mean = np.sort(cos, axis=1)[:, ::-1][:, :k].mean(axis=1)  # mean of each x's k best cosines
    tgt_mean = np.sort(cos.T, axis=1)[:, ::-1][:, :k].mean(axis=1)
    margin = cos / ((src_mean[:, None] + tgt_mean[None, :]) / 2)
    # margin of each pair, restricted to x's k-NN (forward) or y's k-NN (backward)
    fwd_allowed = cos >= np.sort(cos, axis=1)[:, ::-1][:, k - 1 : k]
    bwd_allowed = cos >= np.sort(cos, axis=0)[::-1, :][k - 1 : k, :]
    pool = [(i, int(np.argmax(np.where(fwd_allowed[i], margin[i], -np.inf)))) for i in range(len(x))]
    pool += [(int(np.argmax(np.where(bwd_allowed[:, j], margin[:, j], -np.inf))), j) for j in range(len(y))]
    pool.sort(key=lambda p: -margin[p])
    seen_x, seen_y, mined = set(), set(), []
    for i, j in pool:
        if i not in seen_x and j not in seen_y:
            seen_x.add(i)
            seen_y.add(j)
            mined.append((i, j, float(margin[i, j])))
    return mined


@pytest.mark.parametrize("neighborhood", [4, 2])
def test_bucc_margin_scores_match_a_direct_numpy_computation(neighborhood: int) -> None:
    # 3x3: with k=4 every sentence's neighbourhood is all 3 on the other side (k = min(3, 4)).
    x = np.array([[1.0, 0.2, 0.0], [0.1, 1.0, 0.3], [0.5, 0.5, 0.5]], dtype=np.float32)
    y = np.array([[0.9, 0.1, 0.1], [0.0, 0.2, 1.0], [0.2, 1.0, 0.1]], dtype=np.float32)
    mined = bucc_candidates(x, y, ["s0", "s1", "s2"], ["t0", "t1", "t2"], neighborhood=neighborhood)
    expected = _direct_margin_mining(x, y, min(3, neighborhood))
    assert [(s, t) for s, t, _ in mined] == [(f"s{i}", f"t{j}") for i, j, _ in expected]
    np.testing.assert_allclose([m[2] for m in mined], [e[2] for e in expected], rtol=1e-5)


def test_bucc_margin_score_by_hand_for_one_pair() -> None:
    # x0 = y0 = e1, x1 = y1 = e2 (orthogonal). k = 2: every mean kNN cosine = (1 + 0) / 2 = 0.5,
    # so margin(x0, y0) = 1 / ((0.5 + 0.5) / 2) = 2, and the off-diagonal margins are 0.
    eye = np.eye(2, dtype=np.float32)
    mined = bucc_candidates(eye, eye, ["s0", "s1"], ["t0", "t1"])
    assert sorted((s, t) for s, t, _ in mined) == [("s0", "t0"), ("s1", "t1")]
    assert [score for _, _, score in mined] == pytest.approx([2.0, 2.0])


def test_bucc_never_pairs_a_sentence_whose_text_repeats() -> None:
    # "same" occurs twice on the source side, so neither of its ids can be reported (XTREME's
    # read_sent2id drops repeated sentences); the distinct sentence still pairs.
    x = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    y = np.array([[1.0, 0.05], [0.05, 1.0]], dtype=np.float32)
    mined = bucc_candidates(
        x, y, ["s0", "s1", "s2"], ["t0", "t1"], src_texts=["same", "same", "other"], tgt_texts=["a", "b"]
    )
    assert [(s, t) for s, t, _ in mined] == [("s2", "t1")]


def test_bucc_threshold_maximises_f1_and_sits_halfway_to_the_next_candidate() -> None:
    candidates = [("s1", "t1", 1.5), ("s2", "t2", 1.4), ("s3", "t3", 1.2), ("s4", "t4", 1.1)]
    gold = {("s1", "t1"), ("s3", "t3")}
    # prefixes: 1 -> P 1, R .5, F1 .667; 2 -> .5/.5, .5; 3 -> P 2/3, R 1, F1 .8; 4 -> .5/1, .667
    # peak at the 3rd candidate -> threshold (1.2 + 1.1) / 2 = 1.15
    threshold = bucc_best_threshold(candidates, gold)
    assert threshold == pytest.approx(1.15)
    # at 1.15: 3 extracted, 2 correct -> P 66.7, R 100, F1 80
    assert bucc_f1(candidates, gold, threshold) == {
        "precision": pytest.approx(200 / 3),
        "recall": pytest.approx(100.0),
        "f1": pytest.approx(80.0),
    }


def test_bucc_threshold_edge_cases() -> None:
    # the peak is the last candidate: keep everything (threshold = its score)
    assert bucc_best_threshold([("a", "b", 2.0), ("c", "d", 1.0)], {("c", "d")}) == pytest.approx(1.0)
    # nothing correct: threshold 0 and all scores 0
    assert bucc_best_threshold([("a", "b", 2.0)], {("x", "y")}) == 0.0
    assert bucc_f1([("a", "b", 2.0)], {("x", "y")}, 0.0) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_map_at_k_on_a_toy_ranking() -> None:
    # candidates at angles 0, 10, 20, 30, 40 degrees; the query at 0 ranks them 0, 1, 2, 3, 4
    angles = np.deg2rad([0, 10, 20, 30, 40])
    candidates = np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)
    query = np.array([[3.0, 0.0]], dtype=np.float32)  # unnormalised on purpose
    # relevant {1, 3}: hits at ranks 2 and 4 -> (1/2 + 2/4) / min(20, 2) = 0.5
    assert mean_average_precision_at_k(query, candidates, [{1, 3}], k=20) == pytest.approx(50.0)
    # k = 3: only the hit at rank 2 -> (1/2) / min(3, 2) = 0.25
    assert mean_average_precision_at_k(query, candidates, [{1, 3}], k=3) == pytest.approx(25.0)
    # k = 1: no hit -> 0 (divisor min(1, 2) = 1)
    assert mean_average_precision_at_k(query, candidates, [{1, 3}], k=1) == 0.0
    # mean over two queries: AP 0.5 and, for relevant {0} at rank 1, AP 1 -> 75
    both = np.concatenate([query, query])
    assert mean_average_precision_at_k(both, candidates, [{1, 3}, {0}], k=20) == pytest.approx(75.0)


def test_map_at_k_rejects_a_query_without_relevant_candidates() -> None:
    with pytest.raises(ValueError, match="query 0 has no relevant candidate"):
        mean_average_precision_at_k(np.eye(2, dtype=np.float32), np.eye(2, dtype=np.float32), [set(), {1}])
