"""Tokenise once: features of a whole data file are cached on disk and reused by every run.

The key covers everything that changes the features: the format, the task card's version,
reader and labels, the data files (path, size, modification time), the tokenizer's full
definition (not its name: models that share XLM-R's vocabulary share the cache) and the
featurisation settings.

An entry is an Arrow IPC file, one row per feature and one column per key: plain data that
loading cannot turn into code (unlike the pickles of cache version 1, which are never read).
Arrow has no tuples, so a tuple comes back as a list (span_qa's offsets: every format only
indexes them). After writing an entry, the features are returned as read back from it, so a run
that finds the entry and the run that wrote it see the same values. An entry
that cannot be read (truncated, overwritten) is discarded with a note on stderr and rebuilt.
"""

from __future__ import annotations

import gc
import hashlib
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.ipc as ipc

from xstilts.config.cards import TaskCard
from xstilts.config.features import FeatureSettings
from xstilts.files import atomic_write_bytes
from xstilts.formats.base import Feature, TaskFormat

FEATURE_CACHE_VERSION = 2  # 1: pickle files (.pkl), never read again
VERSION_KEY = b"xstilts-features"  # in the Arrow schema's metadata


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
    path = cache_dir / "features" / f"{card.name}-{cache_key(fmt, card, files, tokenizer, settings)}.arrow"
    if path.is_file():
        try:
            return read_features(path)
        except DamagedEntry as damage:
            print(
                f"xstilts: discarding damaged feature cache entry {path} ({damage}); rebuilding",
                file=sys.stderr,
                flush=True,
            )
            path.unlink(missing_ok=True)
    features = fmt.featurize(examples, tokenizer, card, settings)
    try:
        table = features_table(features)
    except (pa.ArrowException, OverflowError, TypeError, ValueError) as error:
        # Values Arrow cannot hold in one column (say ints beyond 64 bits): used as they are, uncached.
        note = f"xstilts: features of {card.name} cannot be cached ({error}); not caching them"
        print(note, file=sys.stderr, flush=True)
        return features
    sink = pa.BufferOutputStream()
    with ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    atomic_write_bytes(path, sink.getvalue().to_pybytes())
    return table_features(table)


class DamagedEntry(Exception):
    """A feature cache entry that cannot be read back."""


def features_table(features: Sequence[Feature]) -> pa.Table:
    """One row per feature; Arrow infers each column's type from all its values. ValueError when
    the features do not share their keys (Arrow would add the missing ones as None)."""
    keys = features[0].keys() if features else set()
    if any(feature.keys() != keys for feature in features):
        raise ValueError("the features do not all have the same keys")
    table = pa.Table.from_pylist(list(features))
    return table.replace_schema_metadata({VERSION_KEY: str(FEATURE_CACHE_VERSION)})


def table_features(table: pa.Table) -> list[Feature]:
    with _garbage_collector_paused():
        return table.to_pylist()


def read_features(path: Path) -> list[Feature]:
    """The features of a cache entry; DamagedEntry if the file is not a complete one."""
    try:
        with pa.memory_map(str(path)) as source:  # the table's buffers live in the map: use them inside
            table = ipc.open_file(source).read_all()
            table.validate(full=True)  # offsets and lengths consistent: a damaged body fails here
            if (table.schema.metadata or {}).get(VERSION_KEY) != str(FEATURE_CACHE_VERSION).encode():
                raise DamagedEntry(f"not a version {FEATURE_CACHE_VERSION} feature cache entry")
            return table_features(table)
    except (pa.ArrowException, OSError, ValueError) as error:
        raise DamagedEntry(" ".join(f"{type(error).__name__}: {error}".split())) from error


@contextmanager
def _garbage_collector_paused() -> Iterator[None]:
    """Building millions of small lists triggers Python's cycle collector over and over, which then
    takes more time than the building (measured: 2-3x on span_qa features); these lists hold no
    cycles, so pausing it loses nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
