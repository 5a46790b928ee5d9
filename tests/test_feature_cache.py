"""The tokenised-feature cache: Arrow files that hold no code, read back exactly, healed when damaged."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

from xstilts.config.features import FeatureSettings
from xstilts.config.formats import get_format
from xstilts.config.registry import TaskRegistry
from xstilts.data.feature_cache import cache_key, cached_features

# One task of every format that featurises, with a split and language the shared data has.
SAMPLES = [
    ("xnli", "dev", "en", FeatureSettings(max_length=64)),
    ("panx", "dev", "de", FeatureSettings(max_length=32)),  # long sentences: several windows
    ("xquad", "test", "de", FeatureSettings(max_length=96, doc_stride=16, max_query_length=24)),
    ("copa", "train", "en", FeatureSettings(max_length=48)),
    ("mlm-tatoeba", "train", "de", FeatureSettings(max_length=16)),
]


def lists_for_tuples(value: Any) -> Any:
    """`value` with every tuple a list, the one change Arrow makes (it has no tuples)."""
    if isinstance(value, tuple | list):
        return [lists_for_tuples(v) for v in value]
    if isinstance(value, dict):
        return {k: lists_for_tuples(v) for k, v in value.items()}
    return value


def assert_same(a: Any, b: Any, where: str = "") -> None:
    """Equal and of the same types all the way down (1 == 1.0 == True would pass a plain ==)."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            assert_same(a[key], b[key], f"{where}/{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}/{i}")
    else:
        assert a == b, where


@pytest.fixture(scope="module")
def registry(shared_data: Path) -> TaskRegistry:
    return TaskRegistry(shared_data)


def sample(registry: TaskRegistry, task: str, split: str, lang: str) -> tuple[Any, list, dict[str, Path]]:
    card = registry.card(task)
    return card, registry.load(task, split, lang)[:40], registry.files(task, split, lang)


@pytest.mark.parametrize(("task", "split", "lang", "settings"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_features_read_back_exactly_as_featurised(
    registry: TaskRegistry, tiny, tmp_path: Path, task: str, split: str, lang: str, settings: FeatureSettings
) -> None:
    card, examples, files = sample(registry, task, split, lang)
    fmt = get_format(card.format)
    featurised = fmt.featurize(examples, tiny.tokenizer, card, settings)
    written = cached_features(fmt, card, files, examples, tiny.tokenizer, settings, tmp_path)
    (entry,) = (tmp_path / "features").iterdir()
    assert entry.suffix == ".arrow" and entry.read_bytes()[:6] == b"ARROW1"
    found = cached_features(fmt, card, files, examples, tiny.tokenizer, settings, tmp_path)
    assert_same(found, written)  # a run that finds the entry sees what the run that wrote it saw
    assert_same(found, lists_for_tuples(featurised))  # ints stay ints, None stays None


def test_no_features_are_an_entry_too(registry: TaskRegistry, tiny, tmp_path: Path) -> None:
    card, _, files = sample(registry, "copa", "train", "en")  # (multiple_choice featurises nothing)
    fmt, settings = get_format(card.format), FeatureSettings()
    assert cached_features(fmt, card, files, [], tiny.tokenizer, settings, tmp_path) == []
    assert cached_features(fmt, card, files, [], tiny.tokenizer, settings, tmp_path) == []


class WritesMarker:
    """A pickle that runs code when loaded: it creates `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


def damage_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def damage_garbage(path: Path) -> None:
    path.write_bytes(b"\x07garbage, not Arrow" * 50)


def damage_pickle(path: Path) -> None:
    path.write_bytes(pickle.dumps(WritesMarker(path.parent / "pwned")))


@pytest.mark.parametrize("damage", [damage_half, damage_garbage, damage_pickle])
def test_a_damaged_entry_is_discarded_with_a_note_and_rebuilt(
    registry: TaskRegistry, tiny, tmp_path: Path, capsys: pytest.CaptureFixture[str], damage
) -> None:
    card, examples, files = sample(registry, "xnli", "dev", "en")
    fmt, settings = get_format(card.format), FeatureSettings(max_length=64)
    expected = cached_features(fmt, card, files, examples, tiny.tokenizer, settings, tmp_path)
    (entry,) = (tmp_path / "features").iterdir()
    damage(entry)
    capsys.readouterr()

    again = cached_features(fmt, card, files, examples, tiny.tokenizer, settings, tmp_path)
    assert_same(again, expected)
    notes = capsys.readouterr().err.splitlines()
    assert len(notes) == 1 and notes[0].startswith(
        f"xstilts: discarding damaged feature cache entry {entry} ("
    )
    assert notes[0].endswith("; rebuilding")
    assert not (tmp_path / "features" / "pwned").exists()  # a planted pickle never runs
    cached_features(fmt, card, files, examples, tiny.tokenizer, settings, tmp_path)
    assert capsys.readouterr().err == ""  # the rewritten entry is whole


def test_a_pickle_of_the_old_cache_version_is_never_read(
    registry: TaskRegistry, tiny, tmp_path: Path
) -> None:
    card, examples, files = sample(registry, "xnli", "dev", "en")
    fmt, settings = get_format(card.format), FeatureSettings(max_length=64)
    marker = tmp_path / "pwned"
    old_name = f"{card.name}-{cache_key(fmt, card, files, tiny.tokenizer, settings)}.pkl"
    (tmp_path / "features").mkdir()
    (tmp_path / "features" / old_name).write_bytes(pickle.dumps(WritesMarker(marker)))
    pickle.loads((tmp_path / "features" / old_name).read_bytes())  # the payload does run under pickle
    assert marker.exists()
    marker.unlink()

    features = cached_features(fmt, card, files, examples, tiny.tokenizer, settings, tmp_path)
    assert features and not marker.exists()
