"""Which task the next batch comes from, in multi-task training.

uniform:       every task equally often;
proportional:  in proportion to the task's number of examples;
temperature:   proportional to n_i ** (1 / T) (T=1 is proportional, large T tends to uniform);
capped:        proportional to min(n_i, cap), so no huge task drowns the small ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from xstilts.errors import ConfigError

STRATEGIES = ("uniform", "proportional", "temperature", "capped")


@dataclass
class TaskSampler:
    names: Sequence[str]
    sizes: Sequence[int]
    strategy: str = "proportional"
    temperature: float = 2.0
    cap: int = 100_000
    seed: int = 0

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ConfigError(
                "sampler", f"unknown strategy {self.strategy!r}; choose one of {', '.join(STRATEGIES)}"
            )
        self.rng = np.random.default_rng(self.seed)
        self.probabilities = task_probabilities(self.sizes, self.strategy, self.temperature, self.cap)

    def state_dict(self) -> dict:
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]

    def __next__(self) -> str:
        if len(self.names) == 1:
            return self.names[0]
        return self.names[int(self.rng.choice(len(self.names), p=self.probabilities))]


def task_probabilities(
    sizes: Sequence[int], strategy: str, temperature: float = 2.0, cap: int = 100_000
) -> np.ndarray:
    n = np.asarray(sizes, dtype=np.float64)
    if strategy == "uniform":
        weights = np.ones_like(n)
    elif strategy == "proportional":
        weights = n
    elif strategy == "temperature":
        if temperature <= 0:
            raise ConfigError("sampler.temperature", "must be positive")
        weights = n ** (1.0 / temperature)
    elif strategy == "capped":
        weights = np.minimum(n, cap)
    else:
        raise ConfigError("sampler", f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    return weights / weights.sum()
