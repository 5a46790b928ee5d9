"""Phase runs on disk: identified by a hash of everything that determines their output.

    OUT/runs/<phase>-<id>/config.json          what the run is (its identity and resolved settings)
                         metrics.json         training history and timing
                         checkpoint/encoder/  Hugging Face model + tokenizer (safetensors)
                         checkpoint/heads.safetensors
                         checkpoint/adapters/<phase>/  a LoRA run: its adapter instead of encoder/
                         evals/<name>.json    one file per evaluation of this run's model
                         DONE                 written last: the run is complete

A run is trained in a temporary sibling directory and renamed into place when complete, so a
killed process never leaves a directory that looks finished; a run whose DONE exists is reused.
While it trains, a run holds an exclusive lock (`.lock-<phase>-<id>`, released by the kernel even
on kill -9) so that two processes on one output directory never train it twice, and keeps its
training state in `.resume-<phase>-<id>/` so that a killed run continues where it stopped.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from xstilts.files import write_json
from xstilts.plan.identity import run_id


class RunDir:
    """One phase run's directory, `OUT/runs/<phase>-<id>`, and the files that manage its life."""

    def __init__(self, root: Path, phase: str, identity: dict[str, Any]) -> None:
        self.phase = phase
        self.identity = identity
        self.id = run_id(identity)
        self.path = root / "runs" / f"{phase}-{self.id}"

    @property
    def done(self) -> bool:
        return (self.path / "DONE").is_file()

    @property
    def checkpoint(self) -> Path:
        return self.path / "checkpoint"

    @property
    def resume_dir(self) -> Path:
        return self.path.parent / f".resume-{self.path.name}"

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run exclusively: a second process waits here, then finds it DONE and reuses it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.parent / f".lock-{self.path.name}", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                # Staging directories of killed attempts: nobody else can be using them now.
                for stale in self.path.parent.glob(f".tmp-{self.path.name}-*"):
                    shutil.rmtree(stale, ignore_errors=True)
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

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
        shutil.rmtree(self.resume_dir, ignore_errors=True)  # finished: the training state is spent

    def ensure_exists(self) -> None:
        """For runs with nothing to train (the pretrained model): just a config and evals."""
        if not self.done:
            self.path.mkdir(parents=True, exist_ok=True)
            # `kind`: the key older runs were written with; it names the phase.
            write_json(self.path / "config.json", {"kind": self.phase, "id": self.id, **self.identity})
            (self.path / "DONE").write_text("")

    def eval_path(self, name: str) -> Path:
        return self.path / "evals" / f"{name}.json"
