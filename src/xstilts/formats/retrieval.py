"""Retrieval tasks (Tatoeba, BUCC, LAReQA, Mewsli-X): nothing is trained; the encoder is scored directly.

Sentences are embedded by mean-pooling one hidden layer over the attention mask
(`xstilts.formats.sentence_embeddings`) and the embeddings are scored by the metric the task card
names, each benchmark as its reference scores it (`xstilts.formats.retrieval_benchmarks`): per-query
records, and the scores their recipes compute.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from xstilts.data.examples import RetrievalCorpus, pool_languages
from xstilts.errors import ConfigError, DataFormatError, XstiltsError
from xstilts.formats.base import Format
from xstilts.formats.retrieval_benchmarks import (
    MAP_K,
    Scored,
    check_lengths,
    choose_bucc_threshold,
    score_bucc,
    score_map,
    score_pooled,
    score_tatoeba,
)
from xstilts.formats.sentence_embeddings import Embed, embed_sentences
from xstilts.results.recipes import RecipeData

if TYPE_CHECKING:
    from torch import nn
    from transformers import PreTrainedTokenizerBase

    from xstilts.config.cards import TaskCard

RETRIEVAL_METRICS = ("tatoeba_accuracy", "bucc_f1", "map@20")
# Bump when the way a retrieval split is scored changes, so that cached evaluations are redone.
SCORING_VERSION = 2
Load = Callable[[str, str], RetrievalCorpus]  # (split, lang) -> that split's corpus in that language
# The split XTREME tunes the BUCC threshold on before applying it to test.
BUCC_TUNING_SPLIT = "dev"


class RetrievalFormat(Format):
    """The format that trains nothing: its records come from ranking embeddings, not from a head's
    predictions.

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

    def recipes(self, task: TaskCard) -> dict[str, RecipeData]:
        """The metrics of `task.metric` from the per-query records (module docstring); the BUCC
        threshold and its flag are settings of the scoring, not metrics."""
        from xstilts.metrics.retrieval import BUCC_METRICS, TATOEBA_METRICS, map_metrics

        self._check_metric(task)
        if task.metric == "tatoeba_accuracy":
            return dict(TATOEBA_METRICS)
        if task.metric == "bucc_f1":
            return dict(BUCC_METRICS)
        return map_metrics(MAP_K)

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
    ) -> Scored:
        """Per-query records of one corpus and the metrics of `task.metric` from them, as
        percentages (the BUCC threshold is a margin score).

        BUCC: `threshold` is applied as given; else it is chosen on `dev_corpus`; else it is tuned on
        `corpus` itself and flagged (see `score_bucc`). `embed_kwargs` go to `embed_sentences`
        (batch_size, max_length, device, progress).
        """
        self._check_metric(task)
        check_lengths(corpus, task.name)
        if dev_corpus is not None:
            check_lengths(dev_corpus, task.name, "dev corpus")
        embed = self._embedder(encoder, tokenizer, layer, embed_kwargs)
        if task.metric == "tatoeba_accuracy":
            return score_tatoeba(corpus, embed, task.name)
        if task.metric == "bucc_f1":
            return score_bucc(corpus, embed, threshold=threshold, dev_corpus=dev_corpus, task_name=task.name)
        return score_map(corpus, embed, k=MAP_K, task_name=task.name)

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
        check_lengths(dev_corpus, task.name, "dev corpus")
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
    ) -> dict[str, Scored]:
        """mAP@20 per query language over a multilingual pool (see `score_pooled`)."""
        check_lengths(pool, task.name, "pool")
        embed = self._embedder(encoder, tokenizer, layer, embed_kwargs)
        return score_pooled(pool, embed, embed, languages, size=size, task_name=task.name)

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
    ) -> dict[str, Scored]:
        """{lang: records and metrics} of one split, scored as the benchmark scores it.

        `load(split, lang)` reads a corpus. `size` keeps the first `size` queries per language (BUCC:
        of dev too, so that the threshold is tuned on a pool like the one it is applied to); the
        candidates of a pool all stay, since a smaller pool would be an easier task.
        """
        self._check_metric(task)
        if task.metric == "map@20":
            pool = pool_languages({lang: load(split, lang) for lang in task.split_languages(split)})
            return self.evaluate_pooled(
                encoder, tokenizer, pool, task, layer, languages, size, **embed_kwargs
            )
        scored = {}
        for lang in languages:
            corpus = _first(load(split, lang), size)
            dev = None
            if task.metric == "bucc_f1" and split != BUCC_TUNING_SPLIT:
                dev = _first(self._dev_corpus(task, load, split, lang), size)
            scored[lang] = self.evaluate(
                encoder, tokenizer, corpus, task, layer, dev_corpus=dev, **embed_kwargs
            )
        return scored

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


def _first(corpus: RetrievalCorpus, size: int | None) -> RetrievalCorpus:
    return corpus if size is None else corpus.head(size)


RETRIEVAL = RetrievalFormat()
