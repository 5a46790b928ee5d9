"""Masked language modelling: continued multilingual MLM as an intermediate "task".

Phang et al. (2020) compare English intermediate tasks with continuing the encoder's own
pre-training objective on multilingual text. Here that objective is one more task format, so a
study arm lists an MLM selection like any other intermediate task: alone, or beside labelled
tasks (the sampler then mixes MLM batches with theirs).

Masking (BERT's recipe): 15% of the non-special tokens of a feature are chosen as targets; of
those, 80% become the mask token, 10% a random token of the vocabulary (never a special token),
10% stay as they are. The number of targets is 15% of the candidates rounded stochastically
(up with probability equal to the fraction), so it is 15% on average as with a per-token coin
flip, with less spread; a very short sentence can get no target at all.

Which tokens are masked is decided in `collate`, not at featurise time:
  - training (autograd on, as in the loop's training step): a fresh draw for every batch, so a
    feature is masked differently in every epoch (RoBERTa's dynamic masking). The draw comes
    from a generator seeded by NumPy's global random state, which `seed_everything(seed)`
    seeds at the start of `train`; nothing else in the loop draws from it (the batch streams
    and the task sampler have their own generators, dropout uses torch's), so the masks are a
    function of the run's seed alone: the same on a CPU and a GPU, with or without dev
    evaluations in between.
  - evaluation (autograd off: `predict` runs under `torch.inference_mode`): a fixed mask per
    feature, drawn from a seed that is a checksum of its token ids (`mask_seed`), so dev scores
    are comparable between evaluations, runs and subsets. Evaluation masks use the same
    80/10/10 recipe, as Hugging Face's `run_mlm` evaluates: accuracy and perplexity measure the
    training objective itself.

The head is BERT's and RoBERTa's LM head (dense, GELU, layer norm, then a projection onto the
vocabulary plus a bias) built generically: the decoder weight IS the encoder's input embedding
matrix (`encoder.get_input_embeddings().weight`, tied, as in `XLMRobertaForMaskedLM` and
`BertForMaskedLM`), so predictions are over the tokenizer's vocabulary in any encoder. The head
does not register that matrix as its own parameter: the heads checkpoint then holds only the
head's dense, layer norm and bias (about 1 MB for a 250k vocabulary, not the 1 GB matrix), and
the optimiser sees the matrix once, through the encoder. A head must be tied before use:
`MaskedLMHead.tie_to_encoder(encoder)`; the vocabulary-sized bias gets its size from the encoder
then, or from a checkpoint loaded before the head met its encoder.

With `freeze_word_embeddings` the tied decoder is frozen with the embeddings (it is the same
tensor). MLM still trains: the encoder layers, the head's dense, layer norm and bias learn to
predict against the fixed embedding matrix. Untying it instead would add a vocabulary x hidden
matrix (256M parameters for XLM-R Large) to train; not worth it for a baseline.

The encoder is loaded without the pre-trained model's own LM head (`AutoModel`), so this head
starts fresh (its decoder is pre-trained: the embeddings): the first MLM steps mostly fit the
head.

Only masked positions are projected onto the vocabulary: the head returns logits of shape
(masked tokens in the batch, vocabulary), in row-major order of the batch's `labels`. A full
(batch, length, 250k) logit tensor would take gigabytes.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from xstilts.data.examples import TextExample
from xstilts.errors import ConfigError, XstiltsError
from xstilts.formats.base import Batch, Feature, FeatureSettings, TaskFormat, encoder_inputs, pad_rows
from xstilts.results.recipes import RecipeData, Records

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from xstilts.config.cards import TaskCard

NO_LABEL = -100
MASK_PROBABILITY = 0.15  # share of a feature's non-special tokens that become targets
MASK_SHARE = 0.8  # of the targets: replaced by the mask token ...
RANDOM_SHARE = 0.1  # ... by a random token; the rest are kept unchanged
METRIC = "mlm_accuracy"
# Token ids travel as float32 in `unbatch`'s arrays: exact below 2**24.
_LARGEST_EXACT_ID = 2**24
# Part of every evaluation mask seed: changing it (or the masking recipe) changes every dev mask.
_EVAL_MASK_SALT = b"xstilts masked_lm eval v1"


@dataclass(frozen=True)
class MaskedTokenPredictions:
    """What the model made of one example's masked tokens, in position order."""

    gold: tuple[int, ...]  # the original token ids
    predicted: tuple[int, ...]  # the most probable token id at each position
    log_probs: tuple[float, ...]  # natural log-probability the model gave the gold token


class MaskedLMHead(nn.Module):
    """dense -> GELU -> layer norm -> tied decoder (the encoder's input embeddings) + bias."""

    def __init__(
        self, hidden_size: int, layer_norm_eps: float = 1e-12, initializer_range: float = 0.02
    ) -> None:
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.layer_norm = nn.LayerNorm(hidden_size, eps=layer_norm_eps)
        # Vocabulary-sized; empty until the head is tied or loaded (see module docstring).
        self.bias = nn.Parameter(torch.zeros(0))
        # As Hugging Face initialises BERT/RoBERTa heads.
        nn.init.normal_(self.dense.weight, std=initializer_range)
        nn.init.zeros_(self.dense.bias)
        # A tuple, so that nn.Module does not register the encoder's embeddings as part of this head.
        self._embeddings: tuple[nn.Module, ...] = ()

    @property
    def tied(self) -> bool:
        return bool(self._embeddings)

    def tie_to_encoder(self, encoder: PreTrainedModel) -> None:
        """Use `encoder`'s input embedding matrix as the decoder weight (idempotent)."""
        embeddings = encoder.get_input_embeddings()
        weight = embeddings.weight
        vocab_size, hidden_size = weight.shape
        if hidden_size != self.dense.out_features:
            raise XstiltsError(
                f"masked_lm head: built for hidden size {self.dense.out_features}, "
                f"but the encoder's embeddings have {hidden_size}"
            )
        if self.bias.numel() == 0:
            self.bias = nn.Parameter(
                torch.zeros(vocab_size, device=self.dense.weight.device, dtype=self.dense.weight.dtype)
            )
        elif self.bias.shape[0] != vocab_size:
            raise XstiltsError(
                f"masked_lm head: its bias covers a vocabulary of {self.bias.shape[0]} tokens, "
                f"the encoder's embeddings {vocab_size}: the checkpoint is of another model"
            )
        # The encoder's own layer norms use this epsilon (1e-5 for XLM-R, 1e-12 for BERT).
        self.layer_norm.eps = float(getattr(encoder.config, "layer_norm_eps", self.layer_norm.eps))
        self._embeddings = (embeddings,)

    def forward(self, hidden_states: torch.Tensor, batch: Batch) -> torch.Tensor:
        if not self._embeddings:
            raise RuntimeError(
                "masked_lm head used before tie_to_encoder(encoder): its decoder is the encoder's embeddings"
            )
        selected = hidden_states[batch["labels"] != NO_LABEL]
        x = self.layer_norm(nn.functional.gelu(self.dense(selected)))
        return nn.functional.linear(x, self._embeddings[0].weight, self.bias)

    def _load_from_state_dict(
        self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any
    ) -> None:
        saved = state_dict.get(prefix + "bias")
        if saved is not None and self.bias.numel() == 0:
            # Loaded before it met its encoder (a run's heads are loaded, then the model built):
            # the checkpoint says how large the vocabulary is; tie_to_encoder checks it later.
            self.bias = nn.Parameter(
                torch.zeros(saved.shape, device=self.dense.weight.device, dtype=self.dense.weight.dtype)
            )
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def _mask_seed(input_ids: Sequence[int]) -> int:
    return zlib.crc32(np.asarray(input_ids, dtype=np.int64).tobytes(), zlib.crc32(_EVAL_MASK_SALT))


def mask_feature(feature: Feature, rng: np.random.Generator) -> tuple[list[int], list[int]]:
    """(input ids with the targets masked, labels: the original id at targets, -100 elsewhere)."""
    ids = np.asarray(feature["input_ids"], dtype=np.int64)
    masking = feature["masking"]
    candidates = np.setdiff1d(np.arange(len(ids)), np.asarray(feature["special_positions"], dtype=np.int64))
    expected = MASK_PROBABILITY * len(candidates)
    count = int(expected) + int(rng.random() < expected - int(expected))
    chosen = np.sort(rng.choice(candidates, size=count, replace=False))
    labels = np.full(len(ids), NO_LABEL, dtype=np.int64)
    labels[chosen] = ids[chosen]
    roll = rng.random(count)
    masked = ids.copy()
    masked[chosen[roll < MASK_SHARE]] = masking["mask_token_id"]
    to_random = chosen[(roll >= MASK_SHARE) & (roll < MASK_SHARE + RANDOM_SHARE)]
    masked[to_random] = _random_tokens(rng, len(to_random), masking["vocab_size"], masking["special_ids"])
    return masked.tolist(), labels.tolist()


def _random_tokens(
    rng: np.random.Generator, n: int, vocab_size: int, special_ids: Sequence[int]
) -> np.ndarray:
    """n token ids drawn uniformly from the vocabulary without its special tokens.

    A random <pad> inside a sentence would even move RoBERTa's position ids, which skip pads.
    """
    tokens = rng.integers(0, vocab_size, size=n)
    special = np.asarray(special_ids, dtype=np.int64)
    while (redraw := np.isin(tokens, special)).any():
        tokens[redraw] = rng.integers(0, vocab_size, size=int(redraw.sum()))
    return tokens


class MaskedLMFormat(TaskFormat):
    name = "masked_lm"

    def featurize(
        self,
        examples: Sequence[TextExample],
        tokenizer: PreTrainedTokenizerBase,
        task: TaskCard,
        settings: FeatureSettings,
    ) -> list[Feature]:
        """One feature per window of `max_length` tokens: a long paragraph is cut into consecutive
        windows (each between the special tokens) rather than truncated, so no text is lost.

        A feature holds `input_ids` (unmasked), `special_positions` (never masked: the tokenizer's
        special tokens, also where the text itself spells one, such as a literal "<mask>"),
        `mask_seed` (its evaluation mask) and `masking`, one dict shared by all features of a call:
        the mask token id, the vocabulary size and the special ids, which `collate` needs.
        """
        for ex in examples:
            if not isinstance(ex, TextExample):
                raise ConfigError(
                    f"task {task.name}",
                    f"format masked_lm reads text examples (reader plain_text), got {type(ex).__name__}",
                )
        if tokenizer.mask_token_id is None:
            raise ConfigError(f"task {task.name}", "the model's tokenizer has no mask token")
        special_ids = sorted(set(tokenizer.all_special_ids))
        masking = {
            "mask_token_id": tokenizer.mask_token_id,
            "vocab_size": len(tokenizer),
            "special_ids": special_ids,
        }
        if not examples:
            return []
        encoded = tokenizer(
            [ex.text for ex in examples],
            truncation=True,
            max_length=settings.max_length,
            return_overflowing_tokens=True,
            return_special_tokens_mask=True,
        )
        special_set = set(special_ids)
        features: list[Feature] = []
        for ids, special_mask, index in zip(
            encoded["input_ids"],
            encoded["special_tokens_mask"],
            encoded["overflow_to_sample_mapping"],
            strict=True,
        ):
            features.append(
                {
                    "input_ids": ids,
                    "example_index": index,
                    "special_positions": [
                        p
                        for p, (t, s) in enumerate(zip(ids, special_mask, strict=True))
                        if s or t in special_set
                    ],
                    "mask_seed": _mask_seed(ids),
                    "masking": masking,
                }
            )
        return features

    def collate(self, features: Sequence[Feature], pad_id: int) -> Batch:
        if torch.is_grad_enabled():
            # Training: one generator per batch, seeded from NumPy's global state (see module docstring).
            batch_rng = np.random.default_rng(np.random.randint(0, 2**63 - 1, dtype=np.int64))
            rngs = [batch_rng] * len(features)
        else:
            rngs = [np.random.default_rng(f["mask_seed"]) for f in features]
        rows, labels = zip(
            *(mask_feature(f, rng) for f, rng in zip(features, rngs, strict=True)), strict=True
        )
        batch = encoder_inputs(rows, pad_id)
        batch["labels"] = pad_rows(labels, NO_LABEL)
        return batch

    def build_head(self, task: TaskCard, hidden_size: int) -> nn.Module:
        return MaskedLMHead(hidden_size)

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        labels = batch["labels"]
        targets = labels[labels != NO_LABEL]
        if targets.numel() == 0:
            # Cross-entropy over zero targets is NaN; a batch of very short texts adds nothing.
            return logits.float().sum() * 0.0
        return nn.functional.cross_entropy(logits.float(), targets)

    def unbatch(self, logits: torch.Tensor, batch: Batch) -> list[np.ndarray]:
        """Per feature an array (masked tokens, 3): gold id, predicted id, log-probability of the gold.

        Reduced on the device: the full rows (a 250k vocabulary each) would not fit in memory
        for a whole dev set.
        """
        if logits.shape[-1] > _LARGEST_EXACT_ID:
            raise XstiltsError(
                f"masked_lm: a vocabulary of {logits.shape[-1]} ids does not fit float32 exactly"
            )
        labels = batch["labels"]
        selected = labels != NO_LABEL
        gold = labels[selected]
        scores = logits.detach().float()
        gold_log_prob = scores.gather(1, gold[:, None])[:, 0] - torch.logsumexp(scores, dim=-1)
        table = torch.stack([gold.float(), scores.argmax(dim=-1).float(), gold_log_prob], dim=1)
        counts = selected.sum(dim=1).tolist()
        return np.split(table.cpu().numpy(), np.cumsum(counts)[:-1].tolist())

    def decode(
        self,
        examples: Sequence[TextExample],
        features: Sequence[Feature],
        logits: Sequence[np.ndarray],
        task: TaskCard,
        settings: FeatureSettings,
    ) -> list[MaskedTokenPredictions]:
        parts: list[list[np.ndarray]] = [[] for _ in examples]
        for feature, rows in zip(features, logits, strict=True):
            parts[feature["example_index"]].append(np.asarray(rows, dtype=np.float64).reshape(-1, 3))
        predictions = []
        for example_parts in parts:
            table = np.concatenate(example_parts) if example_parts else np.zeros((0, 3))
            predictions.append(
                MaskedTokenPredictions(
                    tuple(int(v) for v in table[:, 0]),
                    tuple(int(v) for v in table[:, 1]),
                    tuple(float(v) for v in table[:, 2]),
                )
            )
        return predictions

    def records(
        self,
        examples: Sequence[TextExample],
        predictions: Sequence[MaskedTokenPredictions],
        task: TaskCard,
        lang: str | None = None,
    ) -> Records:
        """Per text: `tokens` (masked), `tokens_correct` (predicted as the original) and
        `log_prob_sum` (natural log-probability of its original tokens): masked-token accuracy (a
        percentage, primary: early stopping maximises it) and perplexity (exp of the mean negative
        log-likelihood of the gold tokens; not a percentage) come from their sums. The predicted
        token ids are not kept (not compact)."""
        if task.metric != METRIC:
            raise ConfigError(
                f"task {task.name}", f"masked_lm tasks are scored with metric {METRIC}, not {task.metric!r}"
            )
        if len(predictions) != len(examples):
            raise XstiltsError(
                f"task {task.name}: {len(predictions)} predictions for {len(examples)} examples"
            )
        tokens = np.array([len(p.gold) for p in predictions], dtype=np.int32)
        if not tokens.sum():
            raise XstiltsError(
                f"task {task.name}: no token was masked in these texts, so there is nothing to score"
            )
        return {
            "id": np.array([ex.id for ex in examples], dtype=object),
            "tokens_correct": np.array(
                [sum(g == q for g, q in zip(p.gold, p.predicted, strict=True)) for p in predictions],
                dtype=np.int32,
            ),
            "tokens": tokens,
            "log_prob_sum": np.array([sum(p.log_probs) for p in predictions], dtype=np.float64),
        }

    def recipes(self, task: TaskCard) -> dict[str, RecipeData]:
        return {
            "accuracy": ("ratio", "tokens_correct", "tokens"),
            "perplexity": ("perplexity", "log_prob_sum", "tokens"),
        }


MASKED_LM = MaskedLMFormat()
