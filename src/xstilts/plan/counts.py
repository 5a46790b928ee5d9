"""What a plan costs, in examples to process, worked out without training anything.

Training examples x epochs (capped by `max_steps`; early stopping can only make it smaller) plus
one forward pass per evaluated example. Counts come from the data files when they are present,
else from the card's published `examples`.

Counting is also where a selection is checked against the data it selects from: a `size` (or
`sizes` entry, or `mix` share) larger than what is there after its `offset`, or an `offset` at or
beyond the end, is refused here, when the study is planned, before anything is trained or written.
Nothing is cut to fit: `size: all` asks for everything there is.
"""

from __future__ import annotations

import math

from xstilts.config.registry import TaskRegistry
from xstilts.config.selection import DataSelection, mix_counts
from xstilts.config.training import TrainConfig
from xstilts.errors import ConfigError


class ExampleCounter:
    """Examples per (task, split, language): read from the files, else the card's published count."""

    def __init__(self, registry: TaskRegistry) -> None:
        self.registry = registry
        self._counts: dict[tuple[str, str, str], int | None] = {}
        self._read: set[tuple[str, str, str]] = set()  # counted from the files, not the card

    def full(self, task: str, split: str, lang: str) -> int | None:
        key = (task, split, lang)
        if key not in self._counts:
            card = self.registry.card(task)
            files = card.files(split, lang, self.registry.data_dir)
            if all(path.is_file() for path in files.values()):
                self._counts[key] = len(self.registry.load(task, split, lang))
                self._read.add(key)
            else:
                self._counts[key] = card.split_source(split).examples.get(lang)
        return self._counts[key]

    def check_fits(self, selection: DataSelection, lang: str, available: int) -> None:
        """Refuse a selection of `lang` that asks for more than its files hold. Only counts read
        from the files are held against it: a card's published count is what a complete download
        holds, and the files, once there, are checked when the study is planned again."""
        task, split, offset = selection.task, selection.split, selection.offset
        if (task, split, lang) not in self._read:
            return
        files = ", ".join(str(p) for p in self.registry.files(task, split, lang).values())
        where = f"{task}/{split}/{lang} ({files})"
        if offset and offset >= available:
            raise ConfigError(where, f"offset {offset} is beyond the {available} examples there are")
        asked = _asked(selection, lang)
        if asked is None or offset + asked[1] <= available:
            return
        name, size = asked
        left = available - offset
        after = f" ({left} after the offset)" if offset else ""
        raise ConfigError(
            where,
            f"{name} {size} asked{f' after offset {offset}' if offset else ''}, but there are {available} "
            f"examples{after}: ask for at most {left}, or `all`",
        )

    def selected(self, selection: DataSelection) -> tuple[int | None, list[str]]:
        """Examples a selection takes, summed over its languages, and the languages not countable."""
        card = self.registry.card(selection.task)
        total, unknown = 0, []
        for lang in selection.chosen_languages() or card.split_languages(selection.split):
            n = self.full(selection.task, selection.split, lang)
            if n is not None:
                self.check_fits(selection, lang, n)
            size = selection.size_for(lang, n)
            if n is None:
                if size is None:
                    unknown.append(f"{selection.task}/{selection.split}/{lang}")
                    continue
                n = selection.offset + size  # a sized subset costs its size at most
            total += max(0, min(n - selection.offset, size or n))
        return (None if unknown else total), unknown


def _asked(selection: DataSelection, lang: str) -> tuple[str, int] | None:
    """The count a selection names for `lang` (how the study says it, and the number), or None
    where it names none (all of it, or a fraction, which always fits)."""
    if selection.sizes is not None:
        size = selection.sizes[lang]
        return None if size is None else (f"sizes.{lang}", size)
    if selection.mix is not None:
        total = selection.size or 0
        return f"mix share of {lang} in size {total}:", mix_counts(selection.mix, total)[lang]
    if selection.fraction is None and selection.size is not None:
        return "size", selection.size
    return None


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
