"""What the data a run reads holds: a SHA-256 of each input file, for run identity.

A phase run's id names the content of every file it trains on, and an evaluation's cache name the
content of every file it scores on, so an edited file is noticed and a run trained on other files
(another `--data-dir`) is never reused. Only the content hash enters an identity, never the path,
size or modification time: the same files under another data directory (a moved or copied mirror)
name the same runs, which is what reuse is for.

Hashing reads the whole file, so each hash is cached in `<cache dir>/file-hashes.json`, keyed by
the file's absolute path, size and modification time (ns): a file is hashed again only when one
of those changes. The cache is only an optimisation: a missing, damaged or read-only one costs a
re-hash, never a wrong answer (short of a file rewritten to the same size within the same
nanosecond timestamp).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from xstilts.config.cards import TaskCard
from xstilts.config.registry import TaskRegistry
from xstilts.files import atomic_write_bytes

HASH_CACHE_NAME = "file-hashes.json"
_CACHE_VERSION = 1

# Per language, the reader's file arguments and the SHA-256 of each (None: the file is absent).
LanguageFiles = dict[str, str | None]


class FileHashes:
    """SHA-256 of data files, cached by (absolute path, size, mtime_ns) in a JSON file (or, with
    `cache_file` None, only for the life of this object)."""

    def __init__(self, cache_file: Path | None) -> None:
        self.cache_file = cache_file
        self._entries: dict[str, list[Any]] | None = None  # path -> [size, mtime_ns, sha256]
        self._new: dict[str, list[Any]] = {}

    def _loaded(self) -> dict[str, list[Any]]:
        if self._entries is None:
            self._entries = _read_cache(self.cache_file)
        return self._entries

    def digest(self, path: Path) -> str | None:
        """The file's SHA-256 (hex), None when there is no regular file at `path`."""
        key = os.path.abspath(path)
        try:
            stat = os.stat(key)
        except OSError:
            return None
        if not os.path.isfile(key):
            return None
        entries = self._loaded()
        known = entries.get(key)
        if known is not None and known[:2] == [stat.st_size, stat.st_mtime_ns]:
            return known[2]
        with open(key, "rb") as handle:
            sha = hashlib.file_digest(handle, "sha256").hexdigest()
        entries[key] = self._new[key] = [stat.st_size, stat.st_mtime_ns, sha]
        return sha

    def language_files(self, card: TaskCard, split: str, lang: str, data_dir: Path) -> LanguageFiles:
        return {name: self.digest(path) for name, path in card.files(split, lang, data_dir).items()}

    def selection(
        self, registry: TaskRegistry, task: str, split: str, languages: tuple[str, ...]
    ) -> dict[str, LanguageFiles]:
        """{language: {file argument: sha256}} of one task's split in these languages."""
        card = registry.card(task)
        return {lang: self.language_files(card, split, lang, registry.data_dir) for lang in languages}

    def card(self, registry: TaskRegistry, task: str) -> dict[str, dict[str, LanguageFiles]]:
        """Every split and language of a task: what a retrieval may read besides its own languages
        (a pool of every language of the split; BUCC's dev split, where its threshold is chosen)."""
        card = registry.card(task)
        return {
            split: self.selection(registry, task, split, tuple(card.split_languages(split)))
            for split in card.splits
        }

    def save(self) -> None:
        """Add the hashes computed here to the cache file (merged with what other processes wrote
        since it was read). A cache that cannot be written is left as it is."""
        if self.cache_file is None or not self._new:
            return
        entries = {**_read_cache(self.cache_file), **self._new}
        document = {"version": _CACHE_VERSION, "files": entries}
        try:
            atomic_write_bytes(self.cache_file, json.dumps(document, sort_keys=True).encode())
        except OSError:
            return
        self._new = {}


def _read_cache(cache_file: Path | None) -> dict[str, list[Any]]:
    if cache_file is None:
        return {}
    try:
        document = json.loads(Path(cache_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # none yet, unreadable or damaged: hash again
    if not isinstance(document, dict) or document.get("version") != _CACHE_VERSION:
        return {}
    files = document.get("files")
    if not isinstance(files, dict):
        return {}
    return {
        path: entry
        for path, entry in files.items()
        if isinstance(entry, list) and len(entry) == 3 and isinstance(entry[2], str)
    }
