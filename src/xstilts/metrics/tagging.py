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

Every score here is a recipe over per-sentence counts (`xstilts.results.recipes`): chunks found over
all sentences joined, as seqeval finds them, and each counted in the sentence it starts in, so the
summed counts are seqeval's and the F1 recipe computes F1 from them as seqeval does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from xstilts.results.recipes import RecipeData, Records, scores

TagSequences = Sequence[Sequence[str]]
Chunk = tuple[str, int, int]  # (type, first word, last word) over the sentences joined with 'O'

# Micro F1 first (the primary metric), then precision and recall, of summed chunk counts.
CHUNK_METRICS: dict[str, RecipeData] = {
    "f1": ("f1", "chunks_correct", "chunks_predicted", "chunks_gold"),
    "precision": ("ratio", "chunks_correct", "chunks_predicted"),
    "recall": ("ratio", "chunks_correct", "chunks_gold"),
}
TOKEN_ACCURACY: dict[str, RecipeData] = {"accuracy": ("ratio", "tokens_correct", "tokens")}


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


def entity_chunks(sentences: TagSequences) -> set[Chunk]:
    """Entities of IOB2 tags as seqeval finds them (its default mode, as XTREME's evaluation)."""
    from seqeval.metrics.sequence_labeling import get_entities

    # seqeval joins a list of sentences with an 'O' after each, as `seqeval_chunks` does.
    return set(get_entities([list(sentence) for sentence in sentences]))


def chunk_records(
    golds: TagSequences, preds: TagSequences, chunks: Callable[[TagSequences], set[Chunk]]
) -> Records:
    """Per sentence, `chunks_correct`, `chunks_predicted` and `chunks_gold`: the chunks `chunks`
    finds over all sentences joined, each counted in the sentence it starts in, so the sums are the
    counts of the joined sequences whatever the tags."""
    gold_lists, pred_lists = _as_lists(golds, preds)
    gold_chunks, pred_chunks = chunks(gold_lists), chunks(pred_lists)
    # Both joins put one 'O' after every sentence: sentence k starts at sum(len + 1) before it.
    starts = np.cumsum([0] + [len(g) + 1 for g in gold_lists[:-1]])

    def per_sentence(found: set[Chunk]) -> np.ndarray:
        begins = np.array([begin for _, begin, _ in found], dtype=np.int64)
        sentence = np.searchsorted(starts, begins, side="right") - 1
        return np.bincount(sentence, minlength=len(gold_lists)).astype(np.int32)

    return {
        "chunks_correct": per_sentence(gold_chunks & pred_chunks),
        "chunks_predicted": per_sentence(pred_chunks),
        "chunks_gold": per_sentence(gold_chunks),
    }


def token_records(golds: TagSequences, preds: TagSequences) -> Records:
    """Per sentence, `tokens_correct` (words whose predicted tag is the gold one) and `tokens`."""
    gold_lists, pred_lists = _as_lists(golds, preds)
    return {
        "tokens_correct": np.array(
            [
                sum(g == p for g, p in zip(gs, ps, strict=True))
                for gs, ps in zip(gold_lists, pred_lists, strict=True)
            ],
            dtype=np.int32,
        ),
        "tokens": np.array([len(g) for g in gold_lists], dtype=np.int32),
    }


def entity_f1(golds: TagSequences, preds: TagSequences) -> dict[str, float]:
    """Entity-level micro F1, precision and recall on IOB2 tags: seqeval's entities and formula."""
    return scores(chunk_records(golds, preds, entity_chunks), CHUNK_METRICS)


def pos_chunk_f1(golds: TagSequences, preds: TagSequences) -> dict[str, float]:
    """F1, precision and recall over seqeval 0.0.12 chunks of bare UPOS tags (XTREME's UD-POS score)."""
    return scores(chunk_records(golds, preds, seqeval_chunks), CHUNK_METRICS)


def token_accuracy(golds: TagSequences, preds: TagSequences) -> float:
    """Percentage of words whose predicted tag equals the gold tag."""
    return scores(token_records(golds, preds), TOKEN_ACCURACY)["accuracy"]


def pos_scores(golds: TagSequences, preds: TagSequences) -> dict[str, float]:
    """XTREME's UD-POS numbers (seqeval precision/recall/F1 on the bare UPOS tags) plus token accuracy."""
    return {**pos_chunk_f1(golds, preds), "accuracy": token_accuracy(golds, preds)}
