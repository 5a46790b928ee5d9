"""Sequence-tagging metrics as XTREME computes them.

XTREME scores both PAN-X (NER) and UD-POS with `seqeval.metrics.{precision,recall,f1}_score` on
lists of per-word tag sequences (`third_party/run_tag.py` `evaluate()`, and `evaluate.py`
`METRIC_FUNCTION = {'panx': f1, 'udpos': f1, ...}`), and the XTREME paper reports F1 for POS too.

Which seqeval: XTREME's `install_tools.sh` runs an unpinned `pip install seqeval`. When XTREME
(March 2020) and Phang et al. (2020) produced their numbers the current release was 0.0.12 (PyPI:
0.0.12 on 2019-06-05, the next one, 0.0.13, on 2020-09-30, 1.0.0 on 2020-10-11). seqeval 0.0.12's
`get_entities` reads a tag's first character as its B/I/E/S/O prefix and `tag.split('-')[-1]` as its
chunk type. seqeval >= 1.0 takes the type as `tag[1:].split('-', 1)[-1] or '_'` instead: the same for
`B-PER`, but for bare UPOS tags it drops the first letter, so
  * CCONJ and SCONJ both become type CONJ: a CCONJ predicted for a gold SCONJ counts as correct;
  * X becomes type '_', the type of 'O', so an X that ends a sentence never closes its chunk and is
    lost from both gold and prediction.
Entity F1 (NER, IOB2 tags) is therefore seqeval's own, on which every version agrees; only the POS
chunks are computed here, by hand, with 0.0.12's rules (`seqeval_chunks`): no maintained release
reproduces XTREME's 2020 POS numbers any more.

For POS that F1 is not token accuracy: a run of equal tags ("NOUN NOUN") is one chunk that must
match as a whole, and SCONJ/SYM ("S"ingle) and INTJ ("I"nside) get the handling of those prefixes.
`pos_scores` reports that F1 (what XTREME publishes) next to plain token accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence

TagSequences = Sequence[Sequence[str]]
Chunk = tuple[str, int, int]  # (type, first word, last word) over the sentences joined with 'O'


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
    for tags in (*golds, *preds):
        for tag in tags:
            if not isinstance(tag, str) or not tag:
                raise ValueError(f"tagging scores: tag {tag!r} is not a non-empty string")
    return [list(g) for g in golds], [list(p) for p in preds]


# seqeval 0.0.12 sequence_labeling.end_of_chunk / start_of_chunk, rule for rule.
def _chunk_ends(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    return (
        prev_tag in ("E", "S")
        or (prev_tag in ("B", "I") and tag in ("B", "S", "O"))
        or (prev_tag not in ("O", ".") and prev_type != type_)
    )


def _chunk_starts(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    return (
        tag in ("B", "S")
        or (prev_tag in ("E", "S", "O") and tag in ("E", "I"))
        or (tag not in ("O", ".") and prev_type != type_)
    )


def seqeval_chunks(sentences: TagSequences) -> set[Chunk]:
    """Chunks as seqeval 0.0.12 `get_entities` finds them (prefix mode): sentences are joined with an
    'O' after each, a tag's first character is its prefix and the text after its last '-' its type."""
    labels = [label for sentence in sentences for label in [*sentence, "O"]]
    chunks: set[Chunk] = set()
    prev_tag, prev_type, begin = "O", "", 0
    for i, label in enumerate([*labels, "O"]):
        if not isinstance(label, str) or not label:
            raise ValueError(f"tagging scores: tag {label!r} is not a non-empty string")
        tag, type_ = label[0], label.split("-")[-1]
        if _chunk_ends(prev_tag, tag, prev_type, type_):
            chunks.add((prev_type, begin, i - 1))
        if _chunk_starts(prev_tag, tag, prev_type, type_):
            begin = i
        prev_tag, prev_type = tag, type_
    return chunks


def entity_f1(golds: TagSequences, preds: TagSequences) -> dict[str, float]:
    """Entity-level micro precision, recall and F1 on IOB2 tags, by seqeval (as XTREME's evaluation)."""
    from seqeval.metrics import f1_score, precision_score, recall_score

    gold_lists, pred_lists = _as_lists(golds, preds)
    # F1 first: the primary metric (early stopping and tables use the first one).
    return {
        "f1": 100.0 * f1_score(gold_lists, pred_lists, zero_division=0),
        "precision": 100.0 * precision_score(gold_lists, pred_lists, zero_division=0),
        "recall": 100.0 * recall_score(gold_lists, pred_lists, zero_division=0),
    }


def pos_chunk_f1(golds: TagSequences, preds: TagSequences) -> dict[str, float]:
    """Precision, recall and F1 over seqeval 0.0.12 chunks of bare UPOS tags (XTREME's UD-POS score)."""
    gold_lists, pred_lists = _as_lists(golds, preds)
    gold_chunks, pred_chunks = seqeval_chunks(gold_lists), seqeval_chunks(pred_lists)
    correct = len(gold_chunks & pred_chunks)
    precision = correct / len(pred_chunks) if pred_chunks else 0.0
    recall = correct / len(gold_chunks) if gold_chunks else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"f1": 100.0 * f1, "precision": 100.0 * precision, "recall": 100.0 * recall}


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
    return {**pos_chunk_f1(golds, preds), "accuracy": token_accuracy(golds, preds)}
