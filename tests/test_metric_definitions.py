"""Per-task metrics against the reference evaluation scripts' definitions, edge case by edge case.

References: SQuAD `evaluate-v1.1.py` (XTREME's third_party/evaluate_squad.py), MLQA
`mlqa_evaluation_v1.py` (XTREME's third_party/evaluate_mlqa.py), seqeval 0.0.12 (what XTREME's
unpinned `pip install seqeval` gave in 2020) and XTREME's evaluate.py / evaluate_test.py.
"""

from __future__ import annotations

import statistics

import pytest
from seqeval.metrics import f1_score as installed_seqeval_f1

from xstilts.metrics.squad import mlqa_normalize_answer, mlqa_scores, normalize_answer, squad_scores
from xstilts.metrics.tagging import entity_f1, pos_chunk_f1, pos_scores, seqeval_chunks

# --- XTREME's own test case -----------------------------------------------------------------------

# google-research/xtreme mock_test_data/{labels,predictions}/mlqa/test-<lang>.json: (gold, prediction)
# per question; evaluate_test.py expects avg_exact_match 57.142857142857146, avg_f1 81.76870748299321.
XTREME_MLQA_MOCK = {
    "ar": [("الطرق الترابية", "الطرق الترابية"), ("شمال شرق", "شمال شرق")],
    "de": [("3050 und 3350 Meter", "3050 und 3350")],
    "en": [("had sustained skin, liver, and respiratory injuries", "had sustained skin,")],
    "es": [
        (
            "unas estructuras en forma de abanico que seguían un patrón de hojas, lenguas y lóbulos",
            "unas estructuras en",
        )
    ],
    "hi": [("उत्तर पूर्व", "उत्तर पूर्व")],
    "vi": [("Đài Loan", "Đài Loan"), ("Khách Gia", "Khách Gia")],
    "zh": [("电化电池", "电化电池")],
}


def test_mlqa_reproduces_xtremes_evaluate_test() -> None:
    per_language = {
        lang: mlqa_scores([[gold] for gold, _ in qas], [pred for _, pred in qas], lang)
        for lang, qas in XTREME_MLQA_MOCK.items()
    }
    # en: [had sustained skin] vs 7 gold tokens ("and" is no article): F1 = 2 * 3/7 / (10/7) = 0.6
    assert per_language["en"]["f1"] == pytest.approx(60.0)
    # es: "unas" and "un" are articles: [estructuras en] vs 13 gold tokens -> F1 = 2 * 2/13 / (15/13)
    assert per_language["es"]["f1"] == pytest.approx(100 * 4 / 15)
    # de: "Meter" missing: P = 1, R = 3/4 -> 6/7
    assert per_language["de"]["f1"] == pytest.approx(100 * 6 / 7)
    averages = {m: statistics.fmean(s[m] for s in per_language.values()) for m in ("exact_match", "f1")}
    assert averages == {
        "exact_match": pytest.approx(57.142857142857146),
        "f1": pytest.approx(81.76870748299321),
    }


# --- MLQA normalisation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("美国总统Barack Obama", "美 国 总 统 barack obama"),  # CJK characters split, Latin runs on spaces
        ("2008年北京奥运会。", "2008 年 北 京 奥 运 会"),  # "。" is Unicode punctuation, removed first
        ("北京，上海", "北 京 上 海"),
        ("㐀㐁", "㐀㐁"),  # CJK Extension A is outside the script's [\u4e00-\u9fa5]: not split
        ("ひらがな 東京", "ひらがな 東 京"),  # kana are not split either
    ],
)
def test_mlqa_chinese_mixed_segmentation(text: str, normalised: str) -> None:
    assert mlqa_normalize_answer(text, "zh") == normalised


def test_mlqa_chinese_f1_is_over_characters_but_squad_f1_is_not() -> None:
    # MLQA zh: [在, 北, 京] vs [北, 京, 市]: 2 common, P = R = 2/3 -> F1 2/3
    assert mlqa_scores([["北京市"]], ["在北京"], "zh")["f1"] == pytest.approx(100 * 2 / 3)
    # XQuAD zh is scored with the SQuAD script: one whitespace token each, no overlap -> 0
    assert squad_scores([["北京市"]], ["在北京"])["f1"] == 0.0


@pytest.mark.parametrize(
    ("text", "lang", "normalised"),
    [
        # ar: the pattern '\sال^|ال' removes every 'ال', even inside a word ("المال" -> "م")
        ("المال", "ar", "م"),
        (" الكتاب", "ar", "كتاب"),
        ("مكتبة الجامعة", "ar", "مكتبة جامعة"),
        # vi: của, là, cái, chiếc, những as whole words
        ("Hà Nội là thủ đô", "vi", "hà nội thủ đô"),
        ("Những con mèo của tôi", "vi", "con mèo tôi"),
        # es: un, una, unos, unas, el, la, los, las; "del" and "al" stay
        ("Los Angeles", "es", "angeles"),
        ("unos libros del niño", "es", "libros del niño"),
        ("¿Qué?", "es", "qué"),
        # de: ein, eine, einen, einem, eines, einer, der, die, das, den, dem, des; "dass" stays
        ("Der Hund, die Katze und das Haus", "de", "hund katze und haus"),
        ("dass deren Einer", "de", "dass deren"),
        ("eines Tages", "de", "tages"),
        # hi: no articles ("एक" = one stays), but the danda "।" is Unicode punctuation
        ("भारत।", "hi", "भारत"),
        ("एक किताब", "hi", "एक किताब"),
        # en: a/an/the, and Unicode punctuation such as the em dash
        ("The end — a beginning", "en", "end beginning"),
    ],
)
def test_mlqa_articles_and_punctuation_per_language(text: str, lang: str, normalised: str) -> None:
    assert mlqa_normalize_answer(text, lang) == normalised


# --- SQuAD v1.1 normalisation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("the-end", "theend"),  # punctuation goes before articles, and without a space
        ("U.S. a.m.", "us am"),
        ("The  Theory of An Another", "theory of another"),  # only whole-word a/an/the
        ("Rock’n’Roll", "rock’n’roll"),  # U+2019 is not in string.punctuation
        ("The end — a beginning", "end — beginning"),  # nor is the em dash
        ("भारत।", "भारत।"),  # nor the danda
    ],
)
def test_squad_normalisation(text: str, normalised: str) -> None:
    assert normalize_answer(text) == normalised


def test_squad_takes_the_maximum_over_golds_separately_for_em_and_f1() -> None:
    # gold 1 "big cat sat": F1 = 2 * 1 * 2/3 / (5/3) = 0.8; gold 2 "cat": F1 2/3; no exact match
    assert squad_scores([["big cat sat", "cat"]], ["the big cat"]) == {
        "exact_match": 0.0,
        "f1": pytest.approx(80.0),
    }
    # exact match with the second gold, F1 1 with it too
    assert squad_scores([["the cat sat", "A cat."]], ["cat"]) == {"exact_match": 100.0, "f1": 100.0}


def test_squad_f1_counts_repeated_tokens_once_each() -> None:
    # [cat, cat, dog] vs [cat, dog, dog]: multiset overlap {cat, dog} = 2 -> P = R = 2/3
    assert squad_scores([["cat dog dog"]], ["cat cat dog"])["f1"] == pytest.approx(100 * 2 / 3)


def test_squad_gold_that_normalises_to_nothing_follows_v1_1() -> None:
    # v1.1: "The" -> "" equals an empty prediction (EM 1) but has no token to overlap (F1 0)
    assert squad_scores([["The"]], [""]) == {"exact_match": 100.0, "f1": 0.0}


# --- seqeval chunks (NER and POS) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("gold", "pred"),
    [
        ([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "B-LOC"]]),
        ([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "O", "O", "B-ORG"]]),
        ([["O", "I-ORG", "I-ORG"], ["B-LOC"]], [["O", "B-ORG", "I-ORG"], ["I-LOC"]]),
        ([["B-PER", "B-PER", "I-LOC"]], [["B-PER", "I-PER", "I-LOC"]]),
    ],
)
def test_hand_written_chunks_agree_with_seqeval_on_iob2_tags(
    gold: list[list[str]], pred: list[list[str]]
) -> None:
    # entity_f1 is seqeval itself; the 0.0.12 chunker used for POS must agree with it on IOB2.
    assert entity_f1(gold, pred)["f1"] == pytest.approx(100 * installed_seqeval_f1(gold, pred))
    assert pos_chunk_f1(gold, pred)["f1"] == pytest.approx(entity_f1(gold, pred)["f1"])


def test_chunks_do_not_run_across_sentences() -> None:
    # each sentence is followed by 'O': NOUN(0), NOUN(2), not NOUN(0-1)
    assert seqeval_chunks([["NOUN"], ["NOUN"]]) == {("NOUN", 0, 0), ("NOUN", 2, 2)}


def test_pos_cconj_and_sconj_are_different_chunk_types() -> None:
    # seqeval 0.0.12 types are the whole tag; seqeval >= 1.0 would make both "CONJ" and score 100
    assert pos_scores([["SCONJ"]], [["CCONJ"]])["f1"] == 0.0


def test_pos_sentence_final_x_is_a_chunk() -> None:
    # gold {NOUN(0), X(1)}, pred {NOUN(0), VERB(1)}: 1 of 2 both ways -> P = R = F1 = 50
    # (seqeval >= 1.0 loses the final X, giving recall 100 and F1 66.7)
    assert pos_scores([["NOUN", "X"]], [["NOUN", "VERB"]]) == {
        "precision": pytest.approx(50.0),
        "recall": pytest.approx(50.0),
        "f1": pytest.approx(50.0),
        "accuracy": pytest.approx(50.0),
    }


def test_pos_prefix_letters_s_and_i() -> None:
    # SYM starts with S ("single"): SYM SYM is two chunks, unlike NOUN NOUN (one)
    assert seqeval_chunks([["SYM", "SYM"]]) == {("SYM", 0, 0), ("SYM", 1, 1)}
    assert seqeval_chunks([["NOUN", "NOUN"]]) == {("NOUN", 0, 1)}
    # gold SYM(0), SYM(1); pred SYM(0), NOUN(1): 1 correct of 2 -> 50
    assert pos_scores([["SYM", "SYM"]], [["SYM", "NOUN"]])["f1"] == pytest.approx(50.0)
    # INTJ starts with I: a run of INTJ is one chunk, opened by the type change
    assert seqeval_chunks([["NOUN", "INTJ", "INTJ"]]) == {("NOUN", 0, 0), ("INTJ", 1, 2)}


def test_tags_must_be_non_empty_strings() -> None:
    with pytest.raises(ValueError, match="not a non-empty string"):
        entity_f1([["B-PER", ""]], [["B-PER", "O"]])
