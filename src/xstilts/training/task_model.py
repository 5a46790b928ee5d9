"""The shared encoder with one head per task, and its safetensors checkpoint.

A checkpoint directory holds `encoder/` (the Hugging Face model and tokenizer, loadable by
`AutoModel.from_pretrained` and so by a `path:` model source) and `heads.safetensors` (every
task head, keys prefixed by the task name, the head shapes recorded in the metadata). A LoRA run's
checkpoint holds its adapter (`adapters/`, see training/adapters.py) instead of `encoder/`.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from xstilts.formats.base import Batch


class TaskModel(nn.Module):
    def __init__(self, encoder: PreTrainedModel, heads: dict[str, nn.Module]) -> None:
        super().__init__()
        self.encoder = encoder
        self.heads = nn.ModuleDict(heads)
        for head in self.heads.values():
            # Heads that share encoder weights (the MLM decoder is the input embedding matrix).
            tie = getattr(head, "tie_to_encoder", None)
            if tie is not None:
                tie(encoder)
        # Take the encoder's mode (from_pretrained gives eval). A wrapper left in nn.Module's default
        # training mode would switch a shared encoder into dropout the first time `predict` restores it.
        self.train(encoder.training)

    def forward(self, task: str, batch: Batch) -> torch.Tensor:
        hidden = self.encoder(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        ).last_hidden_state
        return self.heads[task](hidden, batch)


def save_checkpoint(directory: Path, model: TaskModel, tokenizer: PreTrainedTokenizerBase) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    model.encoder.save_pretrained(directory / "encoder")
    tokenizer.save_pretrained(directory / "encoder")
    save_heads(directory, model)


def save_heads(directory: Path, model: TaskModel) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {
        f"{task}.{key}": value.detach().cpu().contiguous()
        for task, head in model.heads.items()
        for key, value in head.state_dict().items()
    }
    if tensors:
        save_file(
            tensors, str(directory / "heads.safetensors"), metadata={"tasks": json.dumps(list(model.heads))}
        )


def load_heads(directory: Path, heads: dict[str, nn.Module]) -> None:
    """Fill freshly built heads (same shapes) with the weights saved in a checkpoint."""
    tensors = load_file(str(directory / "heads.safetensors"))
    for task, head in heads.items():
        prefix = f"{task}."
        head.load_state_dict({k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)})
