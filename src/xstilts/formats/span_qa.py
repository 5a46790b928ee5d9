"""Extractive (SQuAD-style) question answering: XQuAD, MLQA, TyDiQA-GoldP, SQuAD v1/v2.

Featurisation and decoding follow Hugging Face's `examples/pytorch/question-answering/run_qa.py`
(`prepare_train_features` / `postprocess_qa_predictions`): a long context is cut into windows
that overlap by `settings.doc_stride` tokens (the fast tokenizer's `stride`), each window repeats
the question, and the answer is labelled by token indices inside the window, or by <s> (index 0)
when the window does not hold it. Decoding picks the best-scoring legal span over all windows of
an example. That code lives in an example script, not in an importable library, hence this module.

Unanswerable questions (SQuAD v2): decoding may predict "" when the <s> score beats every span.
It does so when the task card says `reader_options: {version_2_with_negative: true}` (the only
way to know for unlabelled data) or when any example passed in is marked `is_impossible`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from xstilts.data.examples import QAExample
from xstilts.errors import ConfigError, XstiltsError
from xstilts.formats.base import Batch, Feature, FeatureSettings, TaskFormat, encoder_inputs
from xstilts.results.recipes import RecipeData, Records

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from xstilts.config.cards import TaskCard

Offset = tuple[int, int]

# Examples tokenised per call to the fast tokenizer: large enough to amortise the call,
# small enough that the overflowing windows of one call stay modest in memory.
TOKENIZE_CHUNK = 256


class SpanHead(nn.Module):
    """A linear layer giving a start and an end logit per token, as in `XLMRobertaForQuestionAnswering`."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.qa_outputs = nn.Linear(hidden_size, 2)

    def forward(self, hidden_states: torch.Tensor, batch: Batch) -> torch.Tensor:
        logits = self.qa_outputs(hidden_states)
        padding = (batch["attention_mask"] == 0).unsqueeze(-1)
        return logits.masked_fill(padding, torch.finfo(logits.dtype).min)


def _check_settings(task: TaskCard, settings: FeatureSettings, special_tokens: int) -> None:
    # The tokenizer needs room for the longest (cut) question, the special tokens, and more context
    # than the overlap, or it cannot advance from one window to the next.
    room = settings.max_length - settings.max_query_length - special_tokens
    if settings.doc_stride >= room:
        raise ConfigError(
            f"task {task.name}: feature settings",
            f"doc_stride {settings.doc_stride} (tokens of overlap between windows) must be smaller than "
            f"max_length {settings.max_length} - max_query_length {settings.max_query_length} - "
            f"{special_tokens} special tokens = {room}",
        )


def _cut_questions(
    questions: Sequence[str], tokenizer: PreTrainedTokenizerBase, max_tokens: int
) -> list[str]:
    """Questions cut, at a token boundary, to at most `max_tokens` tokens.

    The cut is made on the string (not the ids) so that question and context can still be tokenised
    as a pair in one batched call with offsets and overflow.
    """
    questions = [q.lstrip() for q in questions]  # as run_qa.py: leading spaces only waste window room
    encoded = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    return [
        _cut_question(question, offsets, tokenizer, max_tokens) if len(offsets) > max_tokens else question
        for question, offsets in zip(questions, encoded["offset_mapping"], strict=True)
    ]


def _cut_question(
    question: str, offsets: Sequence[Sequence[int]], tokenizer: PreTrainedTokenizerBase, max_tokens: int
) -> str:
    # Re-tokenising a prefix can split it differently, so the cut moves back a token until it fits.
    for keep in range(max_tokens, 0, -1):
        cut = question[: offsets[keep - 1][1]]
        if len(tokenizer(cut, add_special_tokens=False, verbose=False)["input_ids"]) <= max_tokens:
            return cut
    return ""


def _trimmed(offset: Sequence[int], context: str) -> Offset:
    """An offset without the leading whitespace that XLM-R's Metaspace pre-tokenizer folds into
    a word's first piece (" Paris" for "▁Paris"), so offsets slice out exact answer text."""
    start, end = int(offset[0]), int(offset[1])
    while start < end and context[start].isspace():
        start += 1
    return start, end


def _answer_span(example: QAExample, task: TaskCard) -> tuple[int, int] | None:
    """Character span [start, end) of the answer used for training, whitespace stripped; None if none."""
    if example.is_impossible or not example.answers:
        return None
    answer = example.answers[0]
    end = answer.start + len(answer.text)
    if answer.start < 0 or end > len(example.context) or example.context[answer.start : end] != answer.text:
        raise XstiltsError(
            f"task {task.name}: example {example.id}: answer {answer.text!r} is not found at character "
            f"{answer.start} of its context"
        )
    stripped = answer.text.strip()
    if not stripped:
        return None
    start = answer.start + answer.text.index(stripped)
    return start, start + len(stripped)


def _label_positions(offsets: Sequence[Offset | None], span: tuple[int, int] | None) -> tuple[int, int]:
    """Token indices of the answer inside one window, or (0, 0) (<s>) if the window does not hold it."""
    context = [(index, offset) for index, offset in enumerate(offsets) if offset is not None]
    if span is None or not context:
        return 0, 0
    start_char, end_char = span
    if not (context[0][1][0] <= start_char and context[-1][1][1] >= end_char):
        return 0, 0
    # As run_qa.py: the start is the last token starting at or before the answer, the end the first
    # token ending at or after it (so answers that cut through a token take the whole token).
    start = max(index for index, (token_start, _) in context if token_start <= start_char)
    end = min(index for index, (_, token_end) in context if token_end >= end_char)
    # A piece that overlaps its neighbour (XLM-R's lone "▁" before CJK text) can put the end first.
    return start, max(start, end)


def _best_span(
    start_logits: np.ndarray, end_logits: np.ndarray, candidates: np.ndarray, settings: FeatureSettings
) -> tuple[float, int, int] | None:
    """(score, start, end) of the best legal span among the top n_best starts and ends of a window."""
    if candidates.size == 0:
        return None
    starts = candidates[np.argsort(-start_logits[candidates], kind="stable")[: settings.n_best]]
    ends = candidates[np.argsort(-end_logits[candidates], kind="stable")[: settings.n_best]]
    lengths = ends[None, :] - starts[:, None] + 1
    legal = (lengths >= 1) & (lengths <= settings.max_answer_length)
    if not legal.any():
        return None
    scores = np.where(legal, start_logits[starts][:, None] + end_logits[ends][None, :], -np.inf)
    i, j = np.unravel_index(int(np.argmax(scores)), scores.shape)
    return float(scores[i, j]), int(starts[i]), int(ends[j])


def _gold_answers(examples: Sequence[QAExample], task: TaskCard) -> list[list[str]]:
    golds = []
    for ex in examples:
        if ex.is_impossible:
            golds.append([""])
        elif ex.answers:
            golds.append([a.text for a in ex.answers])
        else:
            raise XstiltsError(
                f"task {task.name}: example {ex.id} has no answer and is not marked unanswerable, "
                "so it cannot be scored (is this unlabelled data?)"
            )
    return golds


def _question_records(
    examples: Sequence[QAExample], predictions: Sequence[str], task: TaskCard, lang: str | None
) -> Records:
    """Each question's F1 and exact match (0-1). MLQA normalises answers per language, so its metric
    needs `lang`."""
    if len(examples) != len(predictions):
        raise ValueError(f"{len(examples)} examples but {len(predictions)} predictions")
    if task.metric not in ("squad", "mlqa"):
        raise ConfigError(
            f"task {task.name}", f"span_qa tasks are scored with metric squad or mlqa, not {task.metric!r}"
        )
    golds = _gold_answers(examples, task)
    if task.metric == "squad":
        from xstilts.metrics.squad import squad_records

        return squad_records(golds, list(predictions))
    if lang is None:
        raise ConfigError(
            f"task {task.name}", "metric 'mlqa' normalises answers per language: score it with a language"
        )
    from xstilts.metrics.squad import mlqa_records

    return mlqa_records(golds, list(predictions), lang)


class SpanQAFormat(TaskFormat):
    name = "span_qa"

    def featurize(
        self,
        examples: Sequence[QAExample],
        tokenizer: PreTrainedTokenizerBase,
        task: TaskCard,
        settings: FeatureSettings,
    ) -> list[Feature]:
        _check_settings(task, settings, tokenizer.num_special_tokens_to_add(pair=True))
        features: list[Feature] = []
        for chunk_start in range(0, len(examples), TOKENIZE_CHUNK):
            chunk = examples[chunk_start : chunk_start + TOKENIZE_CHUNK]
            encoded = tokenizer(
                _cut_questions([ex.question for ex in chunk], tokenizer, settings.max_query_length),
                [ex.context for ex in chunk],
                truncation="only_second",
                max_length=settings.max_length,
                stride=settings.doc_stride,
                return_overflowing_tokens=True,
                return_offsets_mapping=True,
            )
            spans = [_answer_span(ex, task) for ex in chunk]
            for window, local_index in enumerate(encoded["overflow_to_sample_mapping"]):
                context = chunk[local_index].context
                offsets: list[Offset | None] = [
                    _trimmed(offset, context) if sequence == 1 else None
                    for offset, sequence in zip(
                        encoded["offset_mapping"][window], encoded.sequence_ids(window), strict=True
                    )
                ]
                start, end = _label_positions(offsets, spans[local_index])
                features.append(
                    {
                        "input_ids": encoded["input_ids"][window],
                        "example_index": chunk_start + local_index,
                        "offsets": offsets,
                        "start_position": start,
                        "end_position": end,
                    }
                )
        return features

    def collate(self, features: Sequence[Feature], pad_id: int) -> Batch:
        batch = encoder_inputs([f["input_ids"] for f in features], pad_id)
        batch["start_positions"] = torch.tensor([f["start_position"] for f in features], dtype=torch.long)
        batch["end_positions"] = torch.tensor([f["end_position"] for f in features], dtype=torch.long)
        return batch

    def build_head(self, task: TaskCard, hidden_size: int) -> nn.Module:
        return SpanHead(hidden_size)

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        logits = logits.float()
        start_loss = nn.functional.cross_entropy(logits[..., 0], batch["start_positions"])
        end_loss = nn.functional.cross_entropy(logits[..., 1], batch["end_positions"])
        return (start_loss + end_loss) / 2

    def unbatch(self, logits: torch.Tensor, batch: Batch) -> list[np.ndarray]:
        rows = logits.detach().float().cpu().numpy()
        lengths = batch["attention_mask"].sum(dim=1).tolist()
        return [row[:length] for row, length in zip(rows, lengths, strict=True)]

    def decode(
        self,
        examples: Sequence[QAExample],
        features: Sequence[Feature],
        logits: Sequence[np.ndarray],
        task: TaskCard,
        settings: FeatureSettings,
    ) -> list[str]:
        allow_null = bool(task.reader_options.get("version_2_with_negative", False)) or any(
            ex.is_impossible for ex in examples
        )
        windows: dict[int, list[tuple[Feature, np.ndarray]]] = defaultdict(list)
        for feature, row in zip(features, logits, strict=True):
            if len(row) != len(feature["offsets"]):
                raise ValueError(f"logits of {len(row)} tokens for a feature of {len(feature['offsets'])}")
            windows[feature["example_index"]].append((feature, row))
        return [self._decode_example(ex, windows[i], allow_null, settings) for i, ex in enumerate(examples)]

    @staticmethod
    def _decode_example(
        example: QAExample,
        windows: list[tuple[Feature, np.ndarray]],
        allow_null: bool,
        settings: FeatureSettings,
    ) -> str:
        best: tuple[float, int, int] | None = None
        best_offsets: list[Any] = []
        null_score = np.inf
        for feature, row in windows:
            offsets = feature["offsets"]
            start_logits, end_logits = row[:, 0], row[:, 1]
            # As run_qa.py, the null score of an example is its lowest over windows.
            null_score = min(null_score, float(start_logits[0] + end_logits[0]))
            # Candidates are context tokens only (run_qa.py ranks all tokens, then drops the rest;
            # ranking context tokens keeps the whole n_best budget for real spans). Whitespace-only
            # pieces are left out: a span starting or ending on one is the same text as a neighbour's.
            candidates = np.array([i for i, o in enumerate(offsets) if o is not None and o[1] > o[0]], int)
            span = _best_span(start_logits, end_logits, candidates, settings)
            if span is not None and (best is None or span[0] > best[0]):
                best, best_offsets = span, offsets
        if best is None or (allow_null and null_score > best[0]):
            return ""
        _, start, end = best
        return example.context[best_offsets[start][0] : best_offsets[end][1]]

    def records(
        self,
        examples: Sequence[QAExample],
        predictions: Sequence[str],
        task: TaskCard,
        lang: str | None = None,
    ) -> Records:
        """`f1` and `exact_match` of each question (0-1: the best over its gold answers, as the
        official scripts average them) and `prediction` (the answer text); pass `lang` for metric
        mlqa."""
        return {
            "id": np.array([ex.id for ex in examples], dtype=object),
            **_question_records(examples, predictions, task, lang),
            "prediction": np.array(list(predictions), dtype=object),
        }

    def recipes(self, task: TaskCard) -> dict[str, RecipeData]:
        from xstilts.metrics.squad import QA_METRICS

        return dict(QA_METRICS)


SPAN_QA = SpanQAFormat()
