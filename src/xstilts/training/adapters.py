"""LoRA phases through peft: adding a phase's adapter, stacking it on a parent's, saving and loading
adapters, merging them into the encoder's weights.

An encoder a LoRA phase trains is a `peft.PeftModel` around the Hugging Face encoder; each phase's
adapter is named after the phase (`intermediate`, `target`), so that a target adapter stacked on an
intermediate one keeps both apart. A run saves only its own adapter, in peft's format
(`adapter_config.json` and `adapter_model.safetensors`), under `checkpoint/adapters/<phase>/`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from peft import LoraConfig, PeftModel, get_peft_model
from transformers import PreTrainedModel

from xstilts.config.training import LoraSettings

# The folder of a run's checkpoint that holds its adapter (peft adds a sub-folder per adapter name).
ADAPTERS = "adapters"

Encoder = PreTrainedModel | PeftModel


@contextmanager
def _quiet_peft() -> Iterator[None]:
    """peft asks transformers 5 for a property it has renamed; the deprecation warning is noise to a
    user (nothing they can change), printed on every adapter added or loaded."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield


def lora_config(settings: LoraSettings) -> LoraConfig:
    return LoraConfig(
        r=settings.r,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=list(settings.target_modules),
        bias="none",
    )


def adapter_names(encoder: Encoder) -> list[str]:
    """The adapters an encoder carries, all active (none for a plain encoder)."""
    return list(encoder.peft_config) if isinstance(encoder, PeftModel) else []


def add_adapter(encoder: Encoder, settings: LoraSettings, name: str) -> PeftModel:
    """A fresh trainable LoRA adapter `name` on `encoder`, whose own weights (and any adapter it
    already carries: stacking) stay frozen. Both adapters act in the forward pass."""
    if not isinstance(encoder, PeftModel):
        # get_peft_model freezes every weight of the base model and makes the adapter trainable.
        with _quiet_peft():
            return get_peft_model(encoder, lora_config(settings), adapter_name=name)
    frozen = adapter_names(encoder)
    with _quiet_peft():
        encoder.add_adapter(name, lora_config(settings))
    # PeftModel.set_adapter takes one name; the tuner underneath activates several at once.
    encoder.base_model.set_adapter([*frozen, name])
    encoder.set_requires_grad(frozen, requires_grad=False)
    encoder.set_requires_grad(name, requires_grad=True)
    return encoder


def load_adapter(encoder: Encoder, checkpoint: Path, name: str) -> PeftModel:
    """`encoder` with the adapter a run saved in `checkpoint`, frozen, added to those it carries."""
    directory = adapter_dir(checkpoint, name)
    if not isinstance(encoder, PeftModel):
        with _quiet_peft():
            return PeftModel.from_pretrained(encoder, directory, adapter_name=name, is_trainable=False)
    present = adapter_names(encoder)
    with _quiet_peft():
        encoder.load_adapter(directory, adapter_name=name, is_trainable=False)
    encoder.base_model.set_adapter([*present, name], inference_mode=True)
    return encoder


def merged(encoder: Encoder) -> PreTrainedModel:
    """The plain encoder with every adapter it carries added into its weights (W + scale * B A)."""
    if not isinstance(encoder, PeftModel):
        return encoder
    with _quiet_peft():
        return encoder.merge_and_unload()


def adapter_dir(checkpoint: Path, name: str) -> Path:
    return checkpoint / ADAPTERS / name


def save_adapter(encoder: PeftModel, checkpoint: Path, name: str) -> None:
    """Only adapter `name`'s weights (not the base encoder, not a stacked parent's adapter)."""
    encoder.save_pretrained(checkpoint / ADAPTERS, selected_adapters=[name], safe_serialization=True)
