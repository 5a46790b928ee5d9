"""Hyperparameters of one training phase, and which of them make a run's identity.

Every field is part of a run's identity except `gradient_checkpointing` (it recomputes
activations instead of storing them, the same arithmetic: a run trained with it is the run
trained without it). The parameter-efficient keys (`method`, `lora`, `merge`) enter the identity
only when they differ from full fine-tuning, so runs planned before they existed keep their ids.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class LoraSettings(BaseModel):
    """LoRA (Hu et al. 2021) as `peft.LoraConfig` takes it: rank, scaling numerator, dropout on the
    adapter's input, and the encoder modules it adapts (named as in the Hugging Face model)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    r: int = Field(8, ge=1)
    # The update is scaled by alpha / r; alpha = 2r is the usual choice for encoders.
    alpha: float = Field(16.0, gt=0)
    dropout: float = Field(0.1, ge=0, lt=1)
    # peft's own default for BERT and XLM-R (its TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING):
    # the attention's query and value projections, as in the LoRA paper. Written out rather than
    # left to peft, so that a peft release changing its default cannot change a planned run.
    target_modules: tuple[str, ...] = Field(("query", "value"), min_length=1)


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
    # full: every encoder weight trains. lora: the encoder is frozen and a LoRA adapter (`lora`)
    # trains beside it, through peft; the run stores only the adapter and the heads.
    method: Literal["full", "lora"] = "full"
    lora: LoraSettings = LoraSettings()
    # How this phase starts from a parent trained with LoRA. true: the parent's adapter is merged
    # into the encoder's weights first. false: it stays a separate, frozen adapter and this phase's
    # fresh adapter is stacked on it (so this phase must be a LoRA phase too).
    merge: bool = True
    # Recompute each layer's activations in the backward pass instead of keeping them: less
    # memory, about a third more compute. Not part of the identity (the same arithmetic).
    gradient_checkpointing: bool = False

    @model_validator(mode="after")
    def _stacking_needs_an_adapter(self) -> TrainConfig:
        if not self.merge and self.method != "lora":
            raise ValueError("merge: false stacks a fresh adapter on the parent's, so it needs method: lora")
        return self

    def identity(self) -> dict[str, Any]:
        """The settings that decide what the phase trains (the `train` part of its run's identity)."""
        settings = self.model_dump(exclude={"gradient_checkpointing", "method", "lora", "merge"})
        if self.method != "full":
            settings["method"] = self.method
            settings["lora"] = self.lora.model_dump()
        if not self.merge:
            settings["merge"] = False
        return settings
