"""What a plan costs, in examples to process, worked out without training anything.

Training examples x epochs (capped by `max_steps`; early stopping can only make it smaller) plus
one forward pass per evaluated example. Counts come from the data files when they are present,
else from the card's published `examples`.
"""

from __future__ import annotations

import math

from xstilts.config.registry import TaskRegistry
from xstilts.config.selection import DataSelection
from xstilts.config.training import TrainConfig


class ExampleCounter:
    """Examples per (task, split, language): read from the files, else the card's published count."""

    def __init__(self, registry: TaskRegistry) -> None:
        self.registry = registry
        self._counts: dict[tuple[str, str, str], int | None] = {}

    def full(self, task: str, split: str, lang: str) -> int | None:
        key = (task, split, lang)
        if key not in self._counts:
            card = self.registry.card(task)
            files = card.files(split, lang, self.registry.data_dir)
            if all(path.is_file() for path in files.values()):
                self._counts[key] = len(self.registry.load(task, split, lang))
            else:
                self._counts[key] = card.split_source(split).examples.get(lang)
        return self._counts[key]

    def selected(self, selection: DataSelection) -> tuple[int | None, list[str]]:
        """Examples a selection takes, summed over its languages, and the languages not countable."""
        card = self.registry.card(selection.task)
        total, unknown = 0, []
        for lang in selection.chosen_languages() or card.split_languages(selection.split):
            n = self.full(selection.task, selection.split, lang)
            size = selection.size_for(lang, n)
            if n is None:
                if size is None:
                    unknown.append(f"{selection.task}/{selection.split}/{lang}")
                    continue
                n = selection.offset + size  # a sized subset costs its size at most
            total += max(0, min(n - selection.offset, size or n))
        return (None if unknown else total), unknown


def training_cost(examples: int, config: TrainConfig) -> int:
    by_epochs = math.ceil(examples * config.epochs)
    if config.max_steps is None:
        return by_epochs
    return min(by_epochs, config.max_steps * config.batch_size * config.grad_accumulation)


def dev_evaluations(examples: int | None, config: TrainConfig) -> int:
    """How often the loop scores the dev set: every `eval_every` steps, else once per epoch."""
    if config.eval_every is None or examples is None:
        return math.ceil(config.epochs)
    steps = math.ceil(training_cost(examples, config) / (config.batch_size * config.grad_accumulation))
    return max(1, steps // config.eval_every)
