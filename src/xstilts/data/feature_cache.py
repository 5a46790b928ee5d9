"""Tokenise once: features of a whole data file are cached on disk and reused by every run.

The key covers everything that changes the features: the format, the task card's version,
reader and labels, the data files (path, size, modification time), the tokenizer's full
definition (not its name: models that share XLM-R's vocabulary share the cache) and the
featurisation settings.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xstilts.config.cards import TaskCard
from xstilts.config.features import FeatureSettings
from xstilts.files import atomic_write_bytes
from xstilts.formats.base import Feature, TaskFormat

FEATURE_CACHE_VERSION = 1


def tokenizer_fingerprint(tokenizer: Any) -> str:
    cached = getattr(tokenizer, "_xstilts_fingerprint", None)
    if cached is None:
        definition = (
            tokenizer.backend_tokenizer.to_str()
            if hasattr(tokenizer, "backend_tokenizer")
            else repr(tokenizer)
        )
        cached = hashlib.sha256(definition.encode()).hexdigest()[:16]
        tokenizer._xstilts_fingerprint = cached
    return cached


def cache_key(
    fmt: TaskFormat, card: TaskCard, files: dict[str, Path], tokenizer: Any, settings: FeatureSettings
) -> str:
    stats = {k: [str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns] for k, p in sorted(files.items())}
    key = {
        "v": FEATURE_CACHE_VERSION,
        "format": fmt.name,
        "task": [card.name, card.version, card.reader, card.reader_options, card.labels],
        "files": stats,
        "tokenizer": tokenizer_fingerprint(tokenizer),
        "settings": settings.identity(),
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:24]


def cached_features(
    fmt: TaskFormat,
    card: TaskCard,
    files: dict[str, Path],
    examples: Sequence[Any],
    tokenizer: Any,
    settings: FeatureSettings,
    cache_dir: Path | None,
) -> list[Feature]:
    if cache_dir is None:
        return fmt.featurize(examples, tokenizer, card, settings)
    path = cache_dir / "features" / f"{card.name}-{cache_key(fmt, card, files, tokenizer, settings)}.pkl"
    if path.is_file():
        with path.open("rb") as handle:
            return pickle.load(handle)
    features = fmt.featurize(examples, tokenizer, card, settings)
    atomic_write_bytes(path, pickle.dumps(features, protocol=pickle.HIGHEST_PROTOCOL))
    return features


def subset_features(features: Sequence[Feature], keep: Sequence[int]) -> list[Feature]:
    """Features of the kept examples, their example_index renumbered to positions in `keep`."""
    if list(keep) == list(range(len(keep))) and all(f["example_index"] < len(keep) for f in features):
        return list(features)
    position = {old: new for new, old in enumerate(keep)}
    return [
        {**f, "example_index": position[f["example_index"]]}
        for f in features
        if f["example_index"] in position
    ]
