"""Phase runs on disk: identified by a hash of everything that determines their output.

    OUT/runs/<kind>-<id>/config.json          what the run is (its identity and resolved settings)
                         metrics.json         training history and timing
                         checkpoint/encoder/  Hugging Face model + tokenizer (safetensors)
                         checkpoint/heads.safetensors
                         evals/<name>.json    one file per evaluation of this run's model
                         DONE                 written last: the run is complete

A run is trained in a temporary sibling directory and renamed into place when complete, so a
killed process never leaves a directory that looks finished; a run whose DONE exists is reused.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import xstilts
from xstilts.data.feature_cache import atomic_write_bytes


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def run_id(identity: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json({**identity, "code": xstilts.__version__}).encode()).hexdigest()[:12]


def write_json(path: Path, value: Any) -> None:
    atomic_write_bytes(path, (json.dumps(value, indent=2, sort_keys=True, default=str) + "\n").encode())


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


class RunDir:
    def __init__(self, root: Path, kind: str, identity: dict[str, Any]) -> None:
        self.kind = kind
        self.identity = identity
        self.id = run_id(identity)
        self.path = root / "runs" / f"{kind}-{self.id}"

    @property
    def done(self) -> bool:
        return (self.path / "DONE").is_file()

    @property
    def checkpoint(self) -> Path:
        return self.path / "checkpoint"

    def staging(self) -> Path:
        """A fresh temporary directory to build the run in (a killed earlier attempt is discarded)."""
        tmp = self.path.parent / f".tmp-{self.path.name}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        return tmp

    def commit(self, staging: Path) -> None:
        (staging / "DONE").write_text("")
        if self.path.exists():  # an incomplete directory from an older layout: replace it
            shutil.rmtree(self.path)
        os.replace(staging, self.path)

    def ensure_exists(self) -> None:
        """For runs with nothing to train (the pretrained model): just a config and evals."""
        if not self.done:
            self.path.mkdir(parents=True, exist_ok=True)
            write_json(self.path / "config.json", {"kind": self.kind, "id": self.id, **self.identity})
            (self.path / "DONE").write_text("")

    def eval_path(self, name: str) -> Path:
        return self.path / "evals" / f"{name}.json"
