"""Exact match and token F1 for extractive QA, as the official evaluation scripts compute them.

Reproduced by hand from three scripts, because none of them is published as a library. XTREME's
`install_tools.sh` fetches its two: `third_party/evaluate_squad.py` is allenai/bi-att-flow's
`squad/evaluate-v1.1.py`, `third_party/evaluate_mlqa.py` is facebookresearch/MLQA's
`mlqa_evaluation_v1.py`; `scripts/eval_qa.sh` scores XQuAD and TyDiQA-GoldP with the first and MLQA
with the second, passing the context language.
  * SQuAD v1.1 `evaluate-v1.1.py` (XQuAD, TyDiQA-GoldP): lower-case, drop ASCII punctuation, drop
    English articles, collapse whitespace; token F1 and exact match take the maximum over the gold
    answers and are averaged over questions (an unanswered question counts 0 in both scripts).
  * SQuAD v2.0 `evaluate-v2.0.py`, only for unanswerable questions: their gold answer is the empty
    string, so a prediction that normalises to nothing scores 1 on both metrics and anything else 0.
  * MLQA `mlqa_evaluation_v1.py` (XTREME's `third_party/evaluate_mlqa.py`): the same pipeline with
    per-language articles, punctuation extended to every Unicode P* character, and for Chinese a
    mixed segmentation in which every CJK character is a token.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from xstilts.errors import ConfigError
from xstilts.results.recipes import RecipeData, Records, scores

# Both official scripts average each question's best F1 and exact match over the questions.
QA_METRICS: dict[str, RecipeData] = {"f1": ("mean", "f1"), "exact_match": ("mean", "exact_match")}

_ASCII_PUNCTUATION = frozenset(string.punctuation)
_ENGLISH_ARTICLES = re.compile(r"\b(a|an|the)\b")

# mlqa_evaluation_v1.py: remove_articles. The Vietnamese list is the script's (của là cái chiếc những);
# the Arabic pattern is the script's too: its first branch can never match, so every 'ال' goes.
_MLQA_ARTICLES: dict[str, re.Pattern[str] | None] = {
    "en": re.compile(r"\b(a|an|the)\b"),
    "es": re.compile(r"\b(un|una|unos|unas|el|la|los|las)\b"),
    "hi": None,  # "Hindi does not have formal articles"
    "vi": re.compile(r"\b(của|là|cái|chiếc|những)\b"),
    "de": re.compile(r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b"),
    "ar": re.compile(r"\sال^|ال"),
    "zh": None,  # "Chinese does not have formal articles"
}
_MLQA_MIXED_SEGMENTATION_LANGS = frozenset({"zh"})
MLQA_LANGUAGES = tuple(_MLQA_ARTICLES)
_CJK_CHARACTER = re.compile(r"[\u4e00-\u9fa5]")  # the script's range, not all of CJK


def _is_mlqa_punctuation(char: str) -> bool:
    # The script builds a set of every code point whose category starts with P, plus
    # string.punctuation; testing the category per character is the same set without the
    # second of start-up it costs to enumerate all of Unicode.
    return char in _ASCII_PUNCTUATION or unicodedata.category(char).startswith("P")


def normalize_answer(text: str) -> str:
    """SQuAD v1.1 normalisation: lower, remove punctuation, articles a/an/the, fix whitespace."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _ASCII_PUNCTUATION)
    text = _ENGLISH_ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _mixed_segmentation(text: str) -> list[str]:
    """mlqa_evaluation_v1.py: each CJK character (or punctuation mark) is a token; other runs split
    on whitespace."""
    tokens: list[str] = []
    pending = ""
    for char in text:
        if _CJK_CHARACTER.search(char) or _is_mlqa_punctuation(char):
            tokens.extend(pending.split())
            pending = ""
            tokens.append(char)
        else:
            pending += char
    tokens.extend(pending.split())
    return tokens


def mlqa_normalize_answer(text: str, lang: str) -> str:
    """MLQA normalisation for one answer language (en, es, de, ar, hi, vi, zh)."""
    if lang not in _MLQA_ARTICLES:
        raise ConfigError(
            "MLQA evaluation language", f"unknown language {lang!r} (known: {', '.join(MLQA_LANGUAGES)})"
        )
    text = text.lower()
    text = "".join(ch for ch in text if not _is_mlqa_punctuation(ch))
    articles = _MLQA_ARTICLES[lang]
    if articles is not None:
        text = articles.sub(" ", text)
    tokens = _mixed_segmentation(text) if lang in _MLQA_MIXED_SEGMENTATION_LANGS else text.split()
    return " ".join(t for t in tokens if t.strip())


def _token_f1(prediction_tokens: list[str], gold_tokens: list[str]) -> float:
    # evaluate-v1.1.py f1_score: no shared token scores 0 (including an empty prediction).
    common = Counter(prediction_tokens) & Counter(gold_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(prediction_tokens)
    recall = num_same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def _is_unanswerable(golds: Sequence[str]) -> bool:
    return all(g == "" for g in golds)  # also true for an empty list


def _question_scores(
    golds: Sequence[Sequence[str]], preds: Sequence[str], normalize: Callable[[str], str]
) -> Records:
    """Each question's `f1` and `exact_match` (0-1, the best over its gold answers)."""
    if len(golds) != len(preds):
        raise ValueError(f"QA scoring: {len(golds)} gold answer lists but {len(preds)} predictions")
    if not golds:
        raise ValueError("QA scoring: no questions to score")
    exact, f1 = [], []
    for answers, prediction in zip(golds, preds, strict=True):
        normalized_prediction = normalize(prediction)
        if _is_unanswerable(answers):
            # evaluate-v2.0.py: the gold is [''], so EM and F1 are both "prediction is empty too".
            hit = float(normalized_prediction == "")
            exact.append(hit)
            f1.append(hit)
            continue
        normalized_golds = [normalize(a) for a in answers]
        exact.append(max(float(normalized_prediction == g) for g in normalized_golds))
        f1.append(max(_token_f1(normalized_prediction.split(), g.split()) for g in normalized_golds))
    return {"f1": np.array(f1, dtype=np.float64), "exact_match": np.array(exact, dtype=np.float64)}


def squad_records(golds: Sequence[Sequence[str]], preds: Sequence[str]) -> Records:
    """Per question, SQuAD v1.1 `f1` and `exact_match` (0-1; v2.0 rule for unanswerable questions:
    gold `[]` or `[""]`)."""
    return _question_scores(golds, preds, normalize_answer)


def mlqa_records(golds: Sequence[Sequence[str]], preds: Sequence[str], lang: str) -> Records:
    """Per question, MLQA `f1` and `exact_match` (0-1) for answers in language `lang`."""
    mlqa_normalize_answer("", lang)  # rejects an unknown language before any scoring
    return _question_scores(golds, preds, lambda text: mlqa_normalize_answer(text, lang))


def squad_scores(golds: Sequence[Sequence[str]], preds: Sequence[str]) -> dict[str, float]:
    """SQuAD v1.1 F1 and exact match (percentages; F1 first, the primary metric)."""
    return scores(squad_records(golds, preds), QA_METRICS)


def mlqa_scores(golds: Sequence[Sequence[str]], preds: Sequence[str], lang: str) -> dict[str, float]:
    """MLQA F1 and exact match (percentages) for answers in language `lang`."""
    return scores(mlqa_records(golds, preds, lang), QA_METRICS)
