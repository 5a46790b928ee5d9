"""Token tagging: one tag per word (UD-POS, WikiANN NER, CoNLL, ...).

Words are split into sub-tokens; the word's tag is trained and predicted on its FIRST sub-token
and the other sub-tokens are ignored (-100), as in XTREME. Long sentences are never truncated:
they are cut at word boundaries into consecutive windows that together hold every word exactly
once, so every word of every sentence gets exactly one prediction.

A feature is one window:
    input_ids          sub-token ids with the tokenizer's special tokens around them
    example_index      position of the sentence in the example list
    window_word_start  index (in the sentence) of the first word of this window
    word_ids           per token: index of the word (in the sentence) it came from, -1 for specials
    label_ids          per token: tag id on a word's first sub-token, -100 everywhere else
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from xstilts.data.examples import TaggingExample
from xstilts.errors import ConfigError, XstiltsError
from xstilts.formats.base import Batch, Feature, FeatureSettings, TaskFormat, encoder_inputs, pad_rows
from xstilts.results.recipes import RecipeData, Records

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from xstilts.config.cards import TaskCard

NO_LABEL = -100
SPECIAL_WORD = -1
METRICS = ("f1", "accuracy")


class TokenTaggingHead(nn.Module):
    """Dropout and a linear projection of every token's hidden state to the tag logits."""

    def __init__(self, hidden_size: int, num_labels: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden_size, num_labels)

    def forward(self, hidden_states: torch.Tensor, batch: Batch) -> torch.Tensor:
        return self.classifier(self.dropout(hidden_states))


def _labels(task: TaskCard) -> list[str]:
    if not task.labels:
        raise ConfigError(f"task {task.name}", "a tagging task card needs `labels`")
    return task.labels


def _special_tokens(tokenizer: PreTrainedTokenizerBase) -> tuple[list[int], list[int]]:
    """The ids the tokenizer puts before and after a single sentence (<s> and </s> for XLM-R).

    Transformers 5 fast tokenizers no longer offer `build_inputs_with_special_tokens`, so we read
    the tokenizer's own post-processing off a probe word instead of assuming cls/sep ids.
    """
    bare = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a", add_special_tokens=True)["input_ids"]
    for start in range(len(full) - len(bare) + 1):
        if full[start : start + len(bare)] == bare:
            return full[:start], full[start + len(bare) :]
    raise XstiltsError("tokenizer: cannot find where its special tokens go around a sentence")


def _word_pieces(
    examples: Sequence[TaggingExample], tokenizer: PreTrainedTokenizerBase
) -> list[list[list[int]]]:
    """Sub-token ids of every word of every sentence.

    Sentences go to the fast tokenizer already split into words (one batched call, about four
    times quicker than a call per word) and `word_ids` gives each word its pieces back. With
    tokenizers 0.2x every pre-split word gets SentencePiece's leading "▁", as inside a normal
    sentence, whether the Metaspace prepend scheme is "always" or "first"; a tokenizer that does
    otherwise is caught by `_split_words_tokenise_alone` and gets its words tokenised one by one.
    """
    # Whole sentences are tokenised before windows cut them: verbose=False stops transformers'
    # warning about sequences longer than the model takes, which these never reach the model as.
    sentences = [list(ex.tokens) for ex in examples]
    if not any(sentences):
        grouped: list[list[list[int]]] = [[] for _ in sentences]
    elif _split_words_tokenise_alone(tokenizer):
        encoded = tokenizer(sentences, is_split_into_words=True, add_special_tokens=False, verbose=False)
        grouped = [[[] for _ in sentence] for sentence in sentences]
        for row, words in enumerate(grouped):
            for token_id, word in zip(encoded["input_ids"][row], encoded.word_ids(row), strict=True):
                words[word].append(token_id)
    else:
        flat = tokenizer(
            [word for sentence in sentences for word in sentence], add_special_tokens=False, verbose=False
        )
        ends = np.cumsum([len(sentence) for sentence in sentences]).tolist()
        grouped = [
            flat["input_ids"][end - len(sentence) : end]
            for sentence, end in zip(sentences, ends, strict=True)
        ]
    # A word that normalises to nothing (empty, a lone zero-width space) would vanish and lose
    # its prediction; like XTREME's reference code we stand <unk> in for it.
    return [[ids or [tokenizer.unk_token_id] for ids in words] for words in grouped]


def _split_words_tokenise_alone(tokenizer: PreTrainedTokenizerBase) -> bool:
    """Whether a word in a pre-split sentence gets the same pieces as the word alone (its own "▁")."""
    alone = tokenizer("Paris", add_special_tokens=False)["input_ids"]
    split = tokenizer(["in", "Paris"], is_split_into_words=True, add_special_tokens=False)
    return [t for t, w in zip(split["input_ids"], split.word_ids(), strict=True) if w == 1] == alone


def _windows(word_lengths: Sequence[int], budget: int) -> list[tuple[int, int]]:
    """Consecutive [start, end) word ranges whose sub-tokens fit in `budget`, covering every word once.

    A word longer than the whole budget sits alone in its window, cut to its first `budget`
    sub-tokens (see `_window_feature`).
    """
    windows: list[tuple[int, int]] = []
    start, used = 0, 0
    for word, length in enumerate(word_lengths):
        length = min(length, budget)
        if used + length > budget and word > start:
            windows.append((start, word))
            start, used = word, 0
        used += length
    windows.append((start, len(word_lengths)))  # an empty sentence still gets one (empty) window
    return windows


def _window_feature(
    pieces: Sequence[Sequence[int]],
    word_labels: Sequence[int],
    start: int,
    end: int,
    budget: int,
    prefix: Sequence[int],
    suffix: Sequence[int],
) -> Feature:
    """The tokens of words [start, end) of a sentence between the special tokens, with their labels."""
    input_ids, word_ids, labels = list(prefix), [SPECIAL_WORD] * len(prefix), [NO_LABEL] * len(prefix)
    for word in range(start, end):
        # Only a word longer than the whole window is cut here: it keeps its first sub-tokens,
        # and its first sub-token is the only one that carries its tag anyway.
        word_pieces = list(pieces[word][:budget])
        input_ids += word_pieces
        word_ids += [word] * len(word_pieces)
        labels += [word_labels[word]] + [NO_LABEL] * (len(word_pieces) - 1)
    input_ids += suffix
    word_ids += [SPECIAL_WORD] * len(suffix)
    labels += [NO_LABEL] * len(suffix)
    return {"input_ids": input_ids, "window_word_start": start, "word_ids": word_ids, "label_ids": labels}


def _is_chunk_tagging(labels: Sequence[str]) -> bool:
    """Whether the tags mark chunks (O, B-PER, I-PER, E-/S-/L-/U-...) rather than bare classes (POS)."""
    return all(tag == "O" or (len(tag) > 2 and tag[1] == "-" and tag[0] in "BIESLU") for tag in labels)


class TaggingFormat(TaskFormat):
    name = "tagging"

    def featurize(
        self,
        examples: Sequence[TaggingExample],
        tokenizer: PreTrainedTokenizerBase,
        task: TaskCard,
        settings: FeatureSettings,
    ) -> list[Feature]:
        label_ids = {label: i for i, label in enumerate(_labels(task))}
        prefix, suffix = _special_tokens(tokenizer)
        budget = settings.max_length - len(prefix) - len(suffix)
        if budget < 1:
            raise ConfigError(
                "max_length", f"{settings.max_length} leaves no room for words after special tokens"
            )
        features: list[Feature] = []
        for index, (ex, pieces) in enumerate(zip(examples, _word_pieces(examples, tokenizer), strict=True)):
            word_labels = self._word_labels(ex, label_ids, task)
            for start, end in _windows([len(p) for p in pieces], budget):
                feature = _window_feature(pieces, word_labels, start, end, budget, prefix, suffix)
                features.append({**feature, "example_index": index})
        return features

    @staticmethod
    def _word_labels(ex: TaggingExample, label_ids: dict[str, int], task: TaskCard) -> list[int]:
        if ex.tags is None:
            return [NO_LABEL] * len(ex.tokens)
        if len(ex.tags) != len(ex.tokens):
            raise XstiltsError(
                f"task {task.name}: example {ex.id} has {len(ex.tokens)} words but {len(ex.tags)} tags"
            )
        for tag in ex.tags:
            if tag not in label_ids:
                raise XstiltsError(
                    f"task {task.name}: example {ex.id} has tag {tag!r}, "
                    f"not one of the card's labels {task.labels}"
                )
        return [label_ids[tag] for tag in ex.tags]

    def collate(self, features: Sequence[Feature], pad_id: int) -> Batch:
        batch = encoder_inputs([f["input_ids"] for f in features], pad_id)
        batch["labels"] = pad_rows([f["label_ids"] for f in features], NO_LABEL)
        return batch

    def build_head(self, task: TaskCard, hidden_size: int) -> nn.Module:
        return TokenTaggingHead(hidden_size, len(_labels(task)))

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        labels = batch["labels"]
        if not bool((labels != NO_LABEL).any()):
            # Cross-entropy over zero targets is NaN; a batch with nothing to learn adds nothing.
            return logits.float().sum() * 0.0
        return nn.functional.cross_entropy(
            logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=NO_LABEL
        )

    def unbatch(self, logits: torch.Tensor, batch: Batch) -> list[np.ndarray]:
        lengths = batch["attention_mask"].sum(dim=1).tolist()
        rows = logits.detach().float().cpu().numpy()
        return [rows[i, :length] for i, length in enumerate(lengths)]

    def decode(
        self,
        examples: Sequence[TaggingExample],
        features: Sequence[Feature],
        logits: Sequence[np.ndarray],
        task: TaskCard,
        settings: FeatureSettings,
    ) -> list[list[str]]:
        labels = _labels(task)
        predictions: list[list[str | None]] = [[None] * len(ex.tokens) for ex in examples]
        for feature, rows in zip(features, logits, strict=True):
            word_ids = feature["word_ids"]
            if len(rows) != len(word_ids):
                raise RuntimeError(f"a window of {len(word_ids)} tokens has {len(rows)} logit rows")
            sentence = predictions[feature["example_index"]]
            for position, word in enumerate(word_ids):
                is_first_piece = word != SPECIAL_WORD and (position == 0 or word_ids[position - 1] != word)
                if not is_first_piece:
                    continue
                if sentence[word] is not None:
                    raise RuntimeError(f"word {word} of example {feature['example_index']} predicted twice")
                sentence[word] = labels[int(np.argmax(rows[position]))]
        for ex, sentence in zip(examples, predictions, strict=True):
            if any(tag is None for tag in sentence):
                raise RuntimeError(f"example {ex.id}: some words got no prediction (features do not match)")
        return predictions  # type: ignore[return-value]

    def records(
        self,
        examples: Sequence[TaggingExample],
        predictions: Sequence[Sequence[str]],
        task: TaskCard,
        lang: str | None = None,
    ) -> Records:
        """Per tagged sentence: `tokens_correct` and `tokens` (token accuracy is their summed ratio),
        for metric f1 also `chunks_correct`, `chunks_predicted` and `chunks_gold` (F1, precision and
        recall from their sums: micro-averaged chunk counts, seqeval's for chunk tags and seqeval
        0.0.12's for POS, see `xstilts.metrics.tagging`), and `prediction` (its tags)."""
        from xstilts.metrics.tagging import chunk_records, entity_chunks, seqeval_chunks, token_records

        self._check_metric(task)
        scored = [(ex, list(p)) for ex, p in zip(examples, predictions, strict=True) if ex.tags is not None]
        if not scored:
            raise XstiltsError(f"task {task.name}: no example has tags, so there is nothing to score")
        golds, preds = [list(ex.tags or ()) for ex, _ in scored], [p for _, p in scored]
        for gold, pred in zip(golds, preds, strict=True):
            if len(gold) != len(pred):
                raise XstiltsError(
                    f"task {task.name}: a prediction has {len(pred)} tags for {len(gold)} words"
                )
        records: Records = {"id": np.array([ex.id for ex, _ in scored], dtype=object)}
        records.update(token_records(golds, preds))
        if task.metric == "f1":
            chunks = entity_chunks if _is_chunk_tagging(_labels(task)) else seqeval_chunks
            records.update(chunk_records(golds, preds, chunks))
        prediction = np.empty(len(preds), dtype=object)
        prediction[:] = [tuple(p) for p in preds]  # element-wise: a list of lists would become 2-d
        records["prediction"] = prediction
        return records

    def recipes(self, task: TaskCard) -> dict[str, RecipeData]:
        """Token accuracy for metric accuracy; for f1 the chunk F1, precision and recall, and for POS
        tags (no chunk prefixes) token accuracy beside them, as XTREME reports UD-POS."""
        from xstilts.metrics.tagging import CHUNK_METRICS, TOKEN_ACCURACY

        self._check_metric(task)
        if task.metric != "f1":
            return dict(TOKEN_ACCURACY)
        return (
            dict(CHUNK_METRICS) if _is_chunk_tagging(_labels(task)) else {**CHUNK_METRICS, **TOKEN_ACCURACY}
        )

    @staticmethod
    def _check_metric(task: TaskCard) -> None:
        if task.metric not in METRICS:
            raise ConfigError(
                f"task {task.name}", f"metric {task.metric!r} is not a tagging metric ({', '.join(METRICS)})"
            )


TAGGING = TaggingFormat()
