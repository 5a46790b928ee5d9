"""Sentence embeddings for retrieval: one hidden layer of the encoder, mean-pooled over the attention
mask (special tokens included), as XTREME's `evaluate_retrieval.py` does by default."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from tqdm import tqdm

from xstilts.errors import ConfigError
from xstilts.formats.base import encoder_inputs

if TYPE_CHECKING:
    from torch import nn
    from transformers import PreTrainedTokenizerBase

# Texts -> one float32 row each.
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
