"""Builders several test modules share: results-store rows, toy task cards, and a short training run
of a fresh head on a tiny random XLM-R encoder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from xstilts.config.cards import TaskCard

if TYPE_CHECKING:
    import torch
    import transformers

# The tiny encoder's width: format heads are built for it.
TINY_HIDDEN_SIZE = 32


def result_row(**fields: Any) -> dict[str, Any]:
    """One results-store row (an accuracy of 50 on pawsx dev, English); `fields` replace its values."""
    base = {
        "study": "s",
        "arm": "none",
        "run": "r1",
        "phase": "target",
        "seed": 1,
        "task": "pawsx",
        "task_version": 1,
        "language": "en",
        "split": "dev",
        "metric": "accuracy",
        "value": 50.0,
    }
    return {**base, **fields}


def toy_card(name: str, format: str, metric: str, **fields: Any) -> TaskCard:
    """A card for tests that never read its files: by default no reader, English, one unused dev file;
    `fields` replace or add any other card field."""
    defaults: dict[str, Any] = {"reader": "none", "languages": ["en"], "splits": {"dev": {"path": "unused"}}}
    return TaskCard(name=name, format=format, metric=metric, **{**defaults, **fields})


def retrieval_card(metric: str, **fields: Any) -> TaskCard:
    """A retrieval card scored by `metric`, for any language, with an unused test file."""
    return toy_card(
        f"toy-{metric}", "retrieval", metric, languages=["xx"], splits={"test": {"path": "unused"}}, **fields
    )


def tiny_xlmr_encoder() -> transformers.XLMRobertaModel:
    """A one-layer random XLM-R encoder with the real vocabulary, so the real tokenizer's ids fit."""
    # Imported here: modules that only build rows or cards need not load transformers.
    import transformers

    config = transformers.XLMRobertaConfig(
        vocab_size=250002,
        hidden_size=TINY_HIDDEN_SIZE,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
    )
    return transformers.XLMRobertaModel(config)


@dataclass(frozen=True)
class ShortTraining:
    """Losses of a short training run on one batch."""

    before: float  # without dropout, before the first step
    steps: list[float]  # the training loss of each step, dropout on
    after: float  # without dropout, after the last step


def train_fresh_head(
    fmt: Any, card: TaskCard, batch: dict, learning_rate: float, steps: int = 30
) -> ShortTraining:
    """Train a fresh tiny encoder and a fresh `fmt` head for `card` on one collated batch with AdamW
    (seeded with 0, so the run repeats exactly)."""
    import torch

    torch.manual_seed(0)
    encoder, head = tiny_xlmr_encoder(), fmt.build_head(card, TINY_HIDDEN_SIZE)
    # The 250k-row word-embedding table stays frozen: updating it with AdamW makes each step ~10x
    # slower on CPU, and the encoder layer and head are what the format's wiring has to train.
    encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    params = [p for p in encoder.parameters() if p.requires_grad] + list(head.parameters())
    optimizer = torch.optim.AdamW(params, lr=learning_rate)

    def batch_loss() -> torch.Tensor:
        hidden = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        return fmt.loss(head(hidden.last_hidden_state, batch), batch)

    def loss_without_dropout() -> float:
        encoder.eval(), head.eval()
        with torch.no_grad():
            return batch_loss().item()

    before = loss_without_dropout()
    losses = []
    for _ in range(steps):
        encoder.train(), head.train()
        loss = batch_loss()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return ShortTraining(before, losses, loss_without_dropout())
