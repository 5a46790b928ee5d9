"""Training state on disk, so that a killed run continues where it stopped.

Everything that decides what the next optimiser step does is saved: model and optimiser
weights, the learning-rate schedule, each task's batch stream and the task sampler, every random
generator (Python, NumPy, torch CPU and CUDA), the counters, the dev history and the best
weights kept for early stopping. A resumed CPU run therefore takes exactly the steps the
uninterrupted run would have taken and ends with the same weights.

The file is written to a temporary name and renamed, so a kill during the write leaves the
previous state intact.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch


def random_states() -> dict[str, Any]:
    states: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_random_states(states: dict[str, Any]) -> None:
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


class TrainingCheckpoint:
    """Where one run keeps its training state, and how often it refreshes it.

    `every_steps` (tests, short runs) and `every_seconds` (long GPU runs: a state of XLM-R Large
    with AdamW's moments is ~7 GB, too big to write every few steps) may be combined.
    """

    def __init__(
        self, path: Path, every_steps: int | None = None, every_seconds: float | None = 1800.0
    ) -> None:
        self.path = Path(path)
        self.every_steps = every_steps
        self.every_seconds = every_seconds
        self._last_save = time.monotonic()

    def due(self, step: int) -> bool:
        if self.every_steps is not None and step % self.every_steps == 0:
            return True
        return self.every_seconds is not None and time.monotonic() - self._last_save >= self.every_seconds

    def load(self) -> dict[str, Any] | None:
        if not self.path.is_file():
            return None
        # weights_only=False: the state holds NumPy and Python random states, written by us.
        return torch.load(self.path, map_location="cpu", weights_only=False)

    def save(self, state: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        torch.save(state, tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
        self._last_save = time.monotonic()
