"""Retrieval tasks (Tatoeba, BUCC, LAReQA, Mewsli-X): nothing is trained; the encoder is scored directly.

Sentences are embedded by mean-pooling one hidden layer over the attention mask (special tokens
included), as XTREME's `evaluate_retrieval.py` does by default, and the embeddings are scored by
the metric the task card names (see `xstilts.metrics.retrieval`).

Every scoring function has a `*_with_examples` twin that also returns per-query columns (see
`TaskFormat.example_scores`: `id` and the query's values, whose mean or ratio of sums is the
metric): Tatoeba `correct` (0/1) and `prediction` (the nearest candidate's id); BUCC, per source
sentence, `pairs_correct`, `pairs_predicted`, `pairs_gold` at the threshold used and `prediction`
(the target mined for it, "" if none); LAReQA / Mewsli-X `average_precision` (AP@20, 0-1). The
plain functions are those twins without the columns, so the two can never score differently.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from tqdm import tqdm

from xstilts.data.examples import RetrievalCorpus, pool_languages
from xstilts.errors import ConfigError, DataFormatError, XstiltsError
from xstilts.formats.base import ExampleColumns, ExampleMetric, encoder_inputs

if TYPE_CHECKING:
    from torch import nn
    from transformers import PreTrainedTokenizerBase

    from xstilts.config.cards import TaskCard

RETRIEVAL_METRICS = ("tatoeba_accuracy", "bucc_f1", "map@20")
MAP_K = 20  # XTREME-R scores LAReQA and Mewsli-X at the top 20
# Bump when the way a retrieval split is scored changes, so that cached evaluations are redone.
SCORING_VERSION = 2
Embed = Callable[[Sequence[str]], np.ndarray]
Load = Callable[[str, str], RetrievalCorpus]  # (split, lang) -> that split's corpus in that language


def _check_layer(encoder: nn.Module, layer: int) -> None:
    # hidden_states holds the embedding output plus one entry per transformer layer.
    states = int(encoder.config.num_hidden_layers) + 1
    if not -states <= layer < states:
        raise ConfigError(
            "layer",
            f"{layer} is out of range for an encoder with {states} hidden states "
            f"(use {-states}..{states - 1})",
        )


def embed_sentences(
    encoder: nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    sentences: Sequence[str],
    layer: int,
    batch_size: int = 64,
    max_length: int = 128,
    device: torch.device | None = None,
    progress: bool = False,
) -> np.ndarray:
    """One float32 row per sentence, in input order: hidden state `layer` mean-pooled over the mask.

    `hidden_states[0]` is the embedding output and negative layers count from the top. Batches are
    cut from length-sorted sentences and padded only to their own longest row. The encoder is put
    in eval mode for the call (dropout would make embeddings random) and then restored; it is not
    moved: inputs go to `device`, by default the encoder's own.
    """
    _check_layer(encoder, layer)
    if batch_size < 1:
        raise ConfigError("batch_size", f"must be positive, got {batch_size}")
    if tokenizer.pad_token_id is None:
        raise ConfigError("tokenizer", "has no padding token, so sentences cannot be batched")
    if device is None:
        device = next(encoder.parameters()).device
    output = np.zeros((len(sentences), int(encoder.config.hidden_size)), dtype=np.float32)
    if not sentences:
        return output

    encoded = tokenizer(list(sentences), truncation=True, max_length=max_length)
    token_ids: list[list[int]] = encoded["input_ids"]
    # Longest first: little padding per batch, and an out-of-memory error shows on the first batch.
    order = sorted(range(len(sentences)), key=lambda i: -len(token_ids[i]))
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]

    was_training = encoder.training
    encoder.eval()
    try:
        with torch.inference_mode():
            for rows in tqdm(batches, desc="embedding", unit="batch", disable=not progress):
                batch = encoder_inputs([token_ids[i] for i in rows], tokenizer.pad_token_id)
                batch = {name: tensor.to(device) for name, tensor in batch.items()}
                # Pool in float32 whatever the encoder's dtype: a bf16 sum over 128 tokens loses digits.
                hidden = encoder(**batch, output_hidden_states=True).hidden_states[layer].float()
                mask = batch["attention_mask"].unsqueeze(-1).float()
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1)
                output[rows] = pooled.cpu().numpy()
    finally:
        encoder.train(was_training)
    return output


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


def _gold_indices(corpus: RetrievalCorpus, task: TaskCard) -> list[set[int]]:
    """Each query's gold candidates as row numbers of `corpus.candidates`."""
    return _gold_rows(corpus, range(len(corpus.query_ids)), task.name)


def _gold_pairs(corpus: RetrievalCorpus) -> set[tuple[str, str]]:
    return {(qid, cid) for qid, cids in corpus.gold.items() for cid in cids}


def _check_lengths(corpus: RetrievalCorpus, task_name: str, which: str = "corpus") -> None:
    if len(corpus.query_ids) != len(corpus.queries) or len(corpus.candidate_ids) != len(corpus.candidates):
        raise XstiltsError(f"task {task_name}: the {which} has ids and texts of different lengths")
    for languages, texts in (
        (corpus.query_languages, corpus.queries),
        (corpus.candidate_languages, corpus.candidates),
    ):
        if languages and len(languages) != len(texts):
            raise XstiltsError(f"task {task_name}: the {which} has languages and texts of different lengths")


# --- BUCC: mining, and a threshold chosen on dev --------------------------------------------------

# Set to 1.0 on a BUCC score whose threshold was tuned on the very pairs it scores (no other split
# to tune on: this mirror's BUCC has only dev). Such an F1 is optimistic and not XTREME's figure.
TUNED_ON_SCORED = "threshold_tuned_on_scored_data"
# The split XTREME tunes the BUCC threshold on before applying it to test.
BUCC_TUNING_SPLIT = "dev"


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
) -> dict[str, float]:
    """Precision, recall and F1 (percentages) of the pairs mined from `corpus` at a threshold, and the
    threshold itself: the one given, else the one chosen on `dev_corpus` (XTREME's protocol), else
    one tuned on `corpus` itself, which is flagged with `TUNED_ON_SCORED`."""
    scores, _ = score_bucc_with_examples(
        corpus, embed, threshold=threshold, dev_corpus=dev_corpus, task_name=task_name
    )
    return scores


def score_bucc_with_examples(
    corpus: RetrievalCorpus,
    embed: Embed,
    *,
    threshold: float | None = None,
    dev_corpus: RetrievalCorpus | None = None,
    task_name: str = "bucc",
) -> tuple[dict[str, float], ExampleColumns]:
    """`score_bucc`, and per source sentence the pair counts at the threshold used."""
    from xstilts.metrics.retrieval import bucc_best_threshold, bucc_f1

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
    scores = {**bucc_f1(mined, gold, threshold), "threshold": float(threshold), **flag}
    return scores, _bucc_columns(corpus, mined, gold, threshold)


def _bucc_columns(
    corpus: RetrievalCorpus,
    mined: Sequence[tuple[str, str, float]],
    gold: set[tuple[str, str]],
    threshold: float,
) -> ExampleColumns:
    """Each source sentence's share of `bucc_f1`'s counts: the pairs extracted as it extracts them
    (score at or above the threshold, as a set), the gold pairs, and both, counted by source."""
    extracted = {(src, tgt) for src, tgt, score in mined if score >= threshold}
    # A gold pair whose source is not among the queries still counts in bucc_f1's recall: it gets a row.
    sources = list(corpus.query_ids) + sorted({src for src, _ in gold} - set(corpus.query_ids))
    row_of = {src: row for row, src in enumerate(sources)}

    def per_source(pairs: set[tuple[str, str]]) -> np.ndarray:
        counts = np.zeros(len(sources), dtype=np.int32)
        for src, _ in pairs:
            counts[row_of[src]] += 1
        return counts

    targets: list[list[str]] = [[] for _ in sources]
    for src, tgt in sorted(extracted):
        targets[row_of[src]].append(tgt)
    return {
        "id": np.array(sources, dtype=object),
        "pairs_correct": per_source(extracted & gold),
        "pairs_predicted": per_source(extracted),
        "pairs_gold": per_source(gold),
        # Mining keeps one partner per sentence, so this is one id or "" (several would be joined).
        "prediction": np.array([" ".join(t) for t in targets], dtype=object),
    }


# --- LAReQA and Mewsli-X: one multilingual pool, scored per query language ---------------------------


def score_pooled(
    pool: RetrievalCorpus,
    embed_queries: Embed,
    embed_candidates: Embed,
    languages: Sequence[str],
    *,
    size: int | None = None,
    k: int = MAP_K,
    task_name: str = "retrieval",
) -> dict[str, dict[str, float]]:
    """mAP@k per query language: the (first `size`) queries of each language rank every candidate of
    the pool, whatever its language. The pool is embedded once. With equally many queries in every
    language (XQuAD-R), the mean over languages is the reference's single mAP over all questions."""
    scores, _ = score_pooled_with_examples(
        pool, embed_queries, embed_candidates, languages, size=size, k=k, task_name=task_name
    )
    return scores


def score_pooled_with_examples(
    pool: RetrievalCorpus,
    embed_queries: Embed,
    embed_candidates: Embed,
    languages: Sequence[str],
    *,
    size: int | None = None,
    k: int = MAP_K,
    task_name: str = "retrieval",
) -> tuple[dict[str, dict[str, float]], dict[str, ExampleColumns]]:
    """`score_pooled`, and per query language each query's `average_precision` (AP@k, 0-1)."""
    from xstilts.metrics.retrieval import average_precisions_at_k

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
    precisions = average_precisions_at_k(
        embed_queries([pool.queries[row] for row in rows]), embed_candidates(pool.candidates), gold, k
    )
    scores: dict[str, dict[str, float]] = {}
    columns: dict[str, ExampleColumns] = {}
    start = 0
    for lang in languages:
        count = len(rows_of[lang])
        scores[lang] = {f"map@{k}": 100.0 * float(np.mean(precisions[start : start + count]))}
        columns[lang] = {
            "id": np.array([pool.query_ids[row] for row in rows_of[lang]], dtype=object),
            "average_precision": np.asarray(precisions[start : start + count], dtype=np.float64),
        }
        start += count
    return scores, columns


class RetrievalFormat:
    """Not a TaskFormat: there is no head and nothing to featurise for training.

    `evaluate` scores one corpus; `evaluate_split` runs a benchmark's protocol over a split:
    Tatoeba per language; BUCC per language with the threshold chosen on dev when another split is
    scored; LAReQA and Mewsli-X (`map@20`) over one pool of every language of the split, per query
    language.

    How texts are embedded, for every task: one hidden layer mean-pooled (XTREME's Tatoeba / BUCC
    baseline, applied zero-shot), ranked by cosine, texts cut at `max_length` (default 128).
    XTREME-R's own LAReQA and Mewsli-X baselines are different models: mBERT / XLM-R fine-tuned as
    dual encoders (on SQuAD v1.1 / on the English Wikipedia mention-entity pairs) whose score is the
    dot product of L2-normalised last-layer [CLS] vectors (`BertForRetrieval`), with 96-token
    questions and 256-token candidates (LAReQA) or 64 tokens (Mewsli-X). What is shared with them
    is the texts and the scoring: LAReQA questions alone against their sentence immediately followed
    by its paragraph (`evaluate_retrieval.py`, task lareqa); Mewsli-X mentions marked up in their
    sentence against entity descriptions (`utils_mewslix`); mAP@20 over the whole pool.
    """

    name: ClassVar[str] = "retrieval"
    trainable: ClassVar[bool] = False

    def _embedder(
        self, encoder: nn.Module, tokenizer: PreTrainedTokenizerBase, layer: int, embed_kwargs: dict[str, Any]
    ) -> Embed:
        def embed(sentences: Sequence[str]) -> np.ndarray:
            return embed_sentences(encoder, tokenizer, sentences, layer, **embed_kwargs)

        return embed

    @staticmethod
    def _check_metric(task: TaskCard) -> None:
        if task.metric not in RETRIEVAL_METRICS:
            raise ConfigError(
                f"task {task.name}: metric",
                f"retrieval has no metric {task.metric!r} (known: {', '.join(RETRIEVAL_METRICS)})",
            )

    def evaluate(
        self,
        encoder: nn.Module,
        tokenizer: PreTrainedTokenizerBase,
        corpus: RetrievalCorpus,
        task: TaskCard,
        layer: int,
        dev_corpus: RetrievalCorpus | None = None,
        threshold: float | None = None,
        **embed_kwargs: Any,
    ) -> dict[str, float]:
        """Metrics of `task.metric` on one corpus, as percentages (the BUCC threshold is a margin score).

        BUCC: `threshold` is applied as given; else it is chosen on `dev_corpus`; else it is tuned on
        `corpus` itself and flagged (see `score_bucc`). `embed_kwargs` go to `embed_sentences`
        (batch_size, max_length, device, progress).
        """
        scores, _ = self.evaluate_with_examples(
            encoder, tokenizer, corpus, task, layer, dev_corpus, threshold, **embed_kwargs
        )
        return scores

    def evaluate_with_examples(
        self,
        encoder: nn.Module,
        tokenizer: PreTrainedTokenizerBase,
        corpus: RetrievalCorpus,
        task: TaskCard,
        layer: int,
        dev_corpus: RetrievalCorpus | None = None,
        threshold: float | None = None,
        **embed_kwargs: Any,
    ) -> tuple[dict[str, float], ExampleColumns]:
        """`evaluate`, and the per-query columns (module docstring) of the same scoring."""
        self._check_metric(task)
        _check_lengths(corpus, task.name)
        if dev_corpus is not None:
            _check_lengths(dev_corpus, task.name, "dev corpus")
        embed = self._embedder(encoder, tokenizer, layer, embed_kwargs)
        if task.metric == "tatoeba_accuracy":
            return self._tatoeba(corpus, task, embed)
        if task.metric == "bucc_f1":
            return score_bucc_with_examples(
                corpus, embed, threshold=threshold, dev_corpus=dev_corpus, task_name=task.name
            )
        from xstilts.metrics.retrieval import average_precisions_at_k

        gold = _gold_indices(corpus, task)
        queries, candidates = embed(corpus.queries), embed(corpus.candidates)
        precisions = average_precisions_at_k(queries, candidates, gold, k=MAP_K)
        # mean_average_precision_at_k's own expression, on the precisions ranked once.
        return {"map@20": 100.0 * float(np.mean(precisions))}, {
            "id": np.array(corpus.query_ids, dtype=object),
            "average_precision": np.asarray(precisions, dtype=np.float64),
        }

    def example_metrics(self, task: TaskCard) -> dict[str, ExampleMetric]:
        """How each score of `task.metric` is recomputed from the per-query columns (see
        `TaskFormat.example_metrics`); the BUCC threshold and its flag are settings, not scores."""
        self._check_metric(task)
        if task.metric == "tatoeba_accuracy":
            return {"accuracy": ("mean", "correct")}
        if task.metric == "bucc_f1":
            return {
                "f1": ("f1", "pairs_correct", "pairs_predicted", "pairs_gold"),
                "precision": ("ratio", "pairs_correct", "pairs_predicted"),
                "recall": ("ratio", "pairs_correct", "pairs_gold"),
            }
        return {f"map@{MAP_K}": ("mean", "average_precision")}

    def bucc_threshold(
        self,
        encoder: nn.Module,
        tokenizer: PreTrainedTokenizerBase,
        dev_corpus: RetrievalCorpus,
        task: TaskCard,
        layer: int,
        **embed_kwargs: Any,
    ) -> float:
        """The BUCC margin threshold chosen on `dev_corpus`, to apply to test with `evaluate(threshold=)`."""
        _check_lengths(dev_corpus, task.name, "dev corpus")
        return choose_bucc_threshold(
            dev_corpus, self._embedder(encoder, tokenizer, layer, embed_kwargs), task.name
        )

    def evaluate_pooled(
        self,
        encoder: nn.Module,
        tokenizer: PreTrainedTokenizerBase,
        pool: RetrievalCorpus,
        task: TaskCard,
        layer: int,
        languages: Sequence[str],
        size: int | None = None,
        **embed_kwargs: Any,
    ) -> dict[str, dict[str, float]]:
        """mAP@20 per query language over a multilingual pool (see `score_pooled`)."""
        scores, _ = self.evaluate_pooled_with_examples(
            encoder, tokenizer, pool, task, layer, languages, size, **embed_kwargs
        )
        return scores

    def evaluate_pooled_with_examples(
        self,
        encoder: nn.Module,
        tokenizer: PreTrainedTokenizerBase,
        pool: RetrievalCorpus,
        task: TaskCard,
        layer: int,
        languages: Sequence[str],
        size: int | None = None,
        **embed_kwargs: Any,
    ) -> tuple[dict[str, dict[str, float]], dict[str, ExampleColumns]]:
        """`evaluate_pooled`, and each query language's per-query columns."""
        _check_lengths(pool, task.name, "pool")
        embed = self._embedder(encoder, tokenizer, layer, embed_kwargs)
        return score_pooled_with_examples(pool, embed, embed, languages, size=size, task_name=task.name)

    def evaluate_split(
        self,
        encoder: nn.Module,
        tokenizer: PreTrainedTokenizerBase,
        task: TaskCard,
        load: Load,
        split: str,
        languages: Sequence[str],
        layer: int,
        size: int | None = None,
        **embed_kwargs: Any,
    ) -> dict[str, dict[str, float]]:
        """{lang: metrics} of one split, scored as the benchmark scores it.

        `load(split, lang)` reads a corpus. `size` keeps the first `size` queries per language (BUCC:
        of dev too, so that the threshold is tuned on a pool like the one it is applied to); the
        candidates of a pool all stay, since a smaller pool would be an easier task.
        """
        scores, _ = self.evaluate_split_with_examples(
            encoder, tokenizer, task, load, split, languages, layer, size, **embed_kwargs
        )
        return scores

    def evaluate_split_with_examples(
        self,
        encoder: nn.Module,
        tokenizer: PreTrainedTokenizerBase,
        task: TaskCard,
        load: Load,
        split: str,
        languages: Sequence[str],
        layer: int,
        size: int | None = None,
        **embed_kwargs: Any,
    ) -> tuple[dict[str, dict[str, float]], dict[str, ExampleColumns]]:
        """`evaluate_split`, and {lang: per-query columns} of the same scoring (module docstring)."""
        self._check_metric(task)
        if task.metric == "map@20":
            pool = pool_languages({lang: load(split, lang) for lang in task.split_languages(split)})
            return self.evaluate_pooled_with_examples(
                encoder, tokenizer, pool, task, layer, languages, size, **embed_kwargs
            )
        scores, columns = {}, {}
        for lang in languages:
            corpus = _first(load(split, lang), size)
            dev = None
            if task.metric == "bucc_f1" and split != BUCC_TUNING_SPLIT:
                dev = _first(self._dev_corpus(task, load, split, lang), size)
            scores[lang], columns[lang] = self.evaluate_with_examples(
                encoder, tokenizer, corpus, task, layer, dev_corpus=dev, **embed_kwargs
            )
        return scores, columns

    @staticmethod
    def _dev_corpus(task: TaskCard, load: Load, split: str, lang: str) -> RetrievalCorpus:
        if BUCC_TUNING_SPLIT not in task.splits or lang not in task.split_languages(BUCC_TUNING_SPLIT):
            raise XstiltsError(
                f"task {task.name}: scoring {split!r} in {lang!r} needs its {BUCC_TUNING_SPLIT!r} split to "
                "choose the mining threshold on, and the card has none for that language"
            )
        try:
            return load(BUCC_TUNING_SPLIT, lang)
        except DataFormatError as err:
            # Keep the file and line, and say why a dev file matters when test was asked for.
            why = f"task {task.name} needs {BUCC_TUNING_SPLIT} to choose the mining threshold for {split}"
            raise DataFormatError(err.path, err.line, f"{err.problem} ({why})") from None

    @staticmethod
    def _tatoeba(
        corpus: RetrievalCorpus, task: TaskCard, embed: Embed
    ) -> tuple[dict[str, float], ExampleColumns]:
        # The metric helpers' own normalisation and index: the per-query neighbours are the ones
        # tatoeba_accuracy counts (it keeps only the count, so they are searched once more here).
        from xstilts.metrics.retrieval import _knn, _unit_rows, tatoeba_accuracy

        gold_index = RetrievalFormat._tatoeba_gold(corpus, task)
        queries, candidates = embed(corpus.queries), embed(corpus.candidates)
        accuracy = tatoeba_accuracy(queries, candidates, gold_index)
        _, nearest = _knn(
            _unit_rows(queries, "tatoeba queries"), _unit_rows(candidates, "tatoeba candidates"), 1
        )
        correct = nearest[:, 0] == np.asarray(gold_index)
        return {"accuracy": accuracy}, {
            "id": np.array(corpus.query_ids, dtype=object),
            "correct": correct.astype(np.int8),
            "prediction": np.array([corpus.candidate_ids[int(i)] for i in nearest[:, 0]], dtype=object),
        }

    @staticmethod
    def _tatoeba_gold(corpus: RetrievalCorpus, task: TaskCard) -> list[int]:
        """Each query's gold candidate row: from the gold mapping, else line by line."""
        if corpus.gold:
            gold_index = []
            for qid, golds in zip(corpus.query_ids, _gold_indices(corpus, task), strict=True):
                if len(golds) != 1:
                    raise XstiltsError(
                        f"task {task.name}: query {qid!r} has {len(golds)} gold candidates; "
                        "tatoeba_accuracy needs exactly one"
                    )
                gold_index.append(next(iter(golds)))
        else:
            # No gold mapping: Tatoeba's line i of one file is the translation of line i of the other.
            if len(corpus.queries) != len(corpus.candidates):
                raise XstiltsError(
                    f"task {task.name}: {len(corpus.queries)} queries but {len(corpus.candidates)} "
                    "candidates, so they cannot be aligned line by line"
                )
            gold_index = list(range(len(corpus.queries)))
        return gold_index


def _first(corpus: RetrievalCorpus, size: int | None) -> RetrievalCorpus:
    return corpus if size is None else corpus.head(size)


RETRIEVAL = RetrievalFormat()
