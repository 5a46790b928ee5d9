"""Hyperparameters of one training phase. Every field is part of a run's identity."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    learning_rate: float = Field(2e-5, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    # Linear warm-up over this fraction of the optimiser steps, then linear decay to zero.
    warmup: float = Field(0.1, ge=0, lt=1)
    # Examples per forward pass; the optimiser sees batch_size * grad_accumulation.
    batch_size: int = Field(16, ge=1)
    grad_accumulation: int = Field(1, ge=1)
    epochs: float = Field(3.0, gt=0)
    # Stop after this many optimiser steps even if epochs are left (None: epochs decide).
    max_steps: int | None = Field(None, ge=1)
    max_grad_norm: float = Field(1.0, gt=0)
    # Early stopping: evaluate on the dev set every `eval_every` optimiser steps (None: once
    # per epoch), keep the best weights, stop after `patience` evaluations without improvement.
    eval_every: int | None = Field(None, ge=1)
    patience: int | None = Field(2, ge=1)
    # Batches of similar length waste less compute on padding.
    group_by_length: bool = True
    # Multi-task: which task the next batch comes from.
    sampler: Literal["uniform", "proportional", "temperature", "capped"] = "proportional"
    temperature: float = Field(2.0, gt=0)
    cap: int = Field(100_000, ge=1)
    # Word embeddings hold most of a multilingual encoder's parameters (96M of mE5-small's
    # 118M); freezing them makes CPU training ~1.5x faster.
    freeze_word_embeddings: bool = False
    # auto: bf16 autocast on GPUs that support it, fp32 elsewhere.
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    eval_batch_size: int = Field(64, ge=1)
