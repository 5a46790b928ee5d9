"""Sequence-tagging metrics as XTREME computes them.

XTREME scores both PAN-X (NER) and UD-POS with `seqeval.metrics.{precision,recall,f1}_score` on
lists of per-word tag sequences (`third_party/run_tag.py` `evaluate()` and `evaluate.py`
`METRIC_FUNCTION['udpos'] = f1`), and the XTREME paper reports F1 for POS. We call seqeval the same
way, in its default (conlleval-compatible) mode.

For POS that number is not token accuracy: seqeval (1.2.x) reads the first character of a tag as its
B/I/E/S/O prefix and the rest as the chunk type, so a run of equal tags ("NOUN NOUN") is one chunk
that must match as a whole, and SCONJ/SYM ("S"ingle) and INTJ ("I"nside) get the special handling of
those prefixes. `pos_scores` reports that F1 (what XTREME publishes) next to plain token accuracy.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from seqeval.metrics import f1_score, precision_score, recall_score

TagSequences = Sequence[Sequence[str]]


def _as_lists(golds: TagSequences, preds: TagSequences) -> tuple[list[list[str]], list[list[str]]]:
    if len(golds) != len(preds):
        raise ValueError(f"tagging scores: {len(golds)} gold sentences but {len(preds)} predicted")
    for index, (gold, pred) in enumerate(zip(golds, preds, strict=True)):
        if len(gold) != len(pred):
            raise ValueError(
                f"tagging scores: sentence {index} has {len(gold)} gold tags but {len(pred)} predicted"
            )
    if not any(golds):
        raise ValueError("tagging scores: no tags to score")
    # seqeval recognises a batch of sentences only when its items are lists (tuples are read as tags).
    return [list(g) for g in golds], [list(p) for p in preds]


def entity_f1(golds: TagSequences, preds: TagSequences) -> dict[str, float]:
    """Entity-level precision, recall and F1 (seqeval default mode, as XTREME's PAN-X evaluation)."""
    gold_lists, pred_lists = _as_lists(golds, preds)
    return {
        "precision": 100.0 * float(precision_score(gold_lists, pred_lists)),
        "recall": 100.0 * float(recall_score(gold_lists, pred_lists)),
        "f1": 100.0 * float(f1_score(gold_lists, pred_lists)),
    }


def token_accuracy(golds: TagSequences, preds: TagSequences) -> float:
    """Percentage of words whose predicted tag equals the gold tag."""
    gold_lists, pred_lists = _as_lists(golds, preds)
    total = sum(len(g) for g in gold_lists)
    correct = sum(
        g == p for gs, ps in zip(gold_lists, pred_lists, strict=True) for g, p in zip(gs, ps, strict=True)
    )
    return 100.0 * correct / total


def pos_scores(golds: TagSequences, preds: TagSequences) -> dict[str, float]:
    """XTREME's UD-POS numbers (seqeval precision/recall/F1 on the bare UPOS tags) plus token accuracy."""
    with warnings.catch_warnings():
        # seqeval warns "NOUN seems not to be NE tag" for every tag type; expected for POS.
        warnings.filterwarnings("ignore", message=".*seems not to be NE tag", category=UserWarning)
        scores = entity_f1(golds, preds)
    return {**scores, "accuracy": token_accuracy(golds, preds)}
