"""Retrieval tasks (Tatoeba, BUCC, LAReQA): nothing is trained; the encoder is scored directly.

Sentences are embedded by mean-pooling one hidden layer over the attention mask (special tokens
included), as XTREME's `evaluate_retrieval.py` does by default, and the embeddings are scored by
the metric the task card names (see `xstilts.metrics.retrieval`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from tqdm import tqdm

from xstilts.data.examples import RetrievalCorpus
from xstilts.errors import ConfigError, XstiltsError
from xstilts.formats.base import encoder_inputs

if TYPE_CHECKING:
    from torch import nn
    from transformers import PreTrainedTokenizerBase

    from xstilts.tasks.card import TaskCard

RETRIEVAL_METRICS = ("tatoeba_accuracy", "bucc_f1", "map@20")
Embed = Callable[[Sequence[str]], np.ndarray]


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


def _gold_indices(corpus: RetrievalCorpus, task: TaskCard) -> list[set[int]]:
    """Each query's gold candidates as row numbers of `corpus.candidates`."""
    row_of = {cid: row for row, cid in enumerate(corpus.candidate_ids)}
    gold: list[set[int]] = []
    for qid in corpus.query_ids:
        unknown = sorted(c for c in corpus.gold.get(qid, ()) if c not in row_of)
        if unknown:
            raise XstiltsError(
                f"task {task.name}: query {qid!r} has gold candidates that are not in the corpus: {unknown}"
            )
        gold.append({row_of[c] for c in corpus.gold.get(qid, ())})
    return gold


def _gold_pairs(corpus: RetrievalCorpus) -> set[tuple[str, str]]:
    return {(qid, cid) for qid, cids in corpus.gold.items() for cid in cids}


class RetrievalFormat:
    """Not a TaskFormat: there is no head and nothing to featurise for training."""

    name: ClassVar[str] = "retrieval"
    trainable: ClassVar[bool] = False

    def evaluate(
        self,
        encoder: nn.Module,
        tokenizer: PreTrainedTokenizerBase,
        corpus: RetrievalCorpus,
        task: TaskCard,
        layer: int,
        dev_corpus: RetrievalCorpus | None = None,
        **embed_kwargs: Any,
    ) -> dict[str, float]:
        """Metrics of `task.metric` on `corpus`, as percentages (the BUCC threshold is a margin score).

        `embed_kwargs` go to `embed_sentences` (batch_size, max_length, device, progress).
        """
        if task.metric not in RETRIEVAL_METRICS:
            raise ConfigError(
                f"task {task.name}: metric",
                f"retrieval has no metric {task.metric!r} (known: {', '.join(RETRIEVAL_METRICS)})",
            )
        for which, data in (("corpus", corpus), ("dev corpus", dev_corpus)):
            if data is None:
                continue
            if len(data.query_ids) != len(data.queries) or len(data.candidate_ids) != len(data.candidates):
                raise XstiltsError(f"task {task.name}: the {which} has ids and texts of different lengths")

        def embed(sentences: Sequence[str]) -> np.ndarray:
            return embed_sentences(encoder, tokenizer, sentences, layer, **embed_kwargs)

        if task.metric == "tatoeba_accuracy":
            return {"accuracy": self._tatoeba(corpus, task, embed)}
        if task.metric == "bucc_f1":
            return self._bucc(corpus, task, dev_corpus, embed)
        from xstilts.metrics.retrieval import mean_average_precision_at_k

        gold = _gold_indices(corpus, task)
        queries, candidates = embed(corpus.queries), embed(corpus.candidates)
        return {"map@20": mean_average_precision_at_k(queries, candidates, gold, k=20)}

    @staticmethod
    def _tatoeba(corpus: RetrievalCorpus, task: TaskCard, embed: Embed) -> float:
        from xstilts.metrics.retrieval import tatoeba_accuracy

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
        return tatoeba_accuracy(embed(corpus.queries), embed(corpus.candidates), gold_index)

    @staticmethod
    def _bucc(
        corpus: RetrievalCorpus, task: TaskCard, dev_corpus: RetrievalCorpus | None, embed: Embed
    ) -> dict[str, float]:
        from xstilts.metrics.retrieval import bucc_best_threshold, bucc_candidates, bucc_f1

        def mine(data: RetrievalCorpus) -> list[tuple[str, str, float]]:
            return bucc_candidates(
                embed(data.queries),
                embed(data.candidates),
                data.query_ids,
                data.candidate_ids,
                src_texts=data.queries,
                tgt_texts=data.candidates,
            )

        for which, data in (("corpus", corpus), ("dev corpus", dev_corpus)):
            if data is not None and not data.gold:
                raise XstiltsError(f"task {task.name}: the {which} has no gold pairs to score BUCC against")
        candidates = mine(corpus)
        gold = _gold_pairs(corpus)
        extra: dict[str, float] = {}
        if dev_corpus is not None:
            threshold = bucc_best_threshold(mine(dev_corpus), _gold_pairs(dev_corpus))
        else:
            # Optimistic: the threshold is tuned on the very pairs it is scored on. Flagged in the result.
            threshold = bucc_best_threshold(candidates, gold)
            extra["threshold_from_test"] = 1.0
        return {**bucc_f1(candidates, gold, threshold), "threshold": threshold, **extra}


RETRIEVAL = RetrievalFormat()
