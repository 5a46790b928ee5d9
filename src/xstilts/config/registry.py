"""All task cards known to a run, and the data directory their paths are relative to."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from xstilts.config.cards import TaskCard, load_card
from xstilts.errors import ConfigError

BUILTIN_CARDS = Path(__file__).resolve().parent / "task_cards"


class TaskRegistry:
    def __init__(self, data_dir: Path, card_dirs: Iterable[Path] = (BUILTIN_CARDS,)) -> None:
        self.data_dir = Path(data_dir)
        self.cards: dict[str, TaskCard] = {}
        for directory in card_dirs:
            for path in sorted(Path(directory).glob("*.yaml")):
                card = load_card(path)
                if card.name in self.cards:
                    raise ConfigError(
                        str(path),
                        f"task {card.name!r} is already defined in {self.cards[card.name].source_file}",
                    )
                self.cards[card.name] = card

    def card(self, name: str) -> TaskCard:
        if name not in self.cards:
            close = difflib.get_close_matches(name, self.cards, n=3)
            hint = (
                f"; did you mean {', '.join(close)}?"
                if close
                else f"; known tasks: {', '.join(sorted(self.cards))}"
            )
            raise ConfigError(f"task {name!r}", "unknown task" + hint)
        return self.cards[name]

    def files(self, name: str, split: str, lang: str) -> dict[str, Path]:
        return self.card(name).files(split, lang, self.data_dir)

    def load(self, name: str, split: str, lang: str) -> Any:
        """Examples (or a retrieval corpus) of one task, split and language, read from disk."""
        from xstilts.data.codecs import read

        card = self.card(name)
        return read(card.reader, self.files(name, split, lang), **card.reader_options_for(split))

    def present(self, name: str) -> dict[str, list[str]]:
        """Per split, the languages whose files exist in the data directory."""
        card = self.card(name)
        found: dict[str, list[str]] = {}
        for split in card.splits:
            langs = [
                lang
                for lang in card.split_languages(split)
                if all(p.is_file() for p in card.files(split, lang, self.data_dir).values())
            ]
            if langs:
                found[split] = langs
        return found
