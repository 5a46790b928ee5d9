"""xstilts tasks [--json] [--data-dir DIR]: task cards, their benchmarks and the data found for them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def command(args: argparse.Namespace) -> None:
    from xstilts.config.cards import TaskCard
    from xstilts.config.registry import TaskRegistry
    from xstilts.config.study import default_data_dir
    from xstilts.errors import ConfigError

    def describe(card: TaskCard) -> dict:
        """One card as `--json` lists it: what it is, who scores it, where its data comes from."""
        hub: dict[str, dict | None] = {}
        for split, source in card.splits.items():
            if source.hub is None:
                hub[split] = None
                continue
            hub[split] = {
                "dataset": source.hub.dataset,
                "split": source.hub.split,
                "config": source.hub.config,
                "language_column": source.hub.language_column,
                # Per language, the dataset and config to load (config null: the dataset's default).
                "sources": {
                    lang: dict(zip(("dataset", "config", "split"), card.hub_source(split, lang), strict=True))
                    for lang in card.split_languages(split)
                    if lang not in source.hub.unavailable
                },
                "unavailable": source.hub.unavailable,
                "id_prefixes": source.hub.id_prefixes,
            }
        return {
            "name": card.name,
            "format": card.format,
            "metric": card.metric,
            "version": card.version,
            "description": card.description,
            "languages": card.languages,
            "benchmarks": {
                name: {"languages": entry.languages, "split": entry.split}
                for name, entry in card.benchmarks.items()
            },
            "splits_defined": list(card.splits),
            "split_languages": {split: card.split_languages(split) for split in card.splits},
            "splits_present": registry.present(card.name),
            "hub": hub,
            "source": card.source,
            "obtain": card.obtain,
        }

    if args.data_dir is not None and not args.data_dir.is_dir():
        # A folder named on the command line must exist; without --data-dir the cards are listed
        # with "no data" wherever the default folder is missing.
        what = "is not a folder" if args.data_dir.exists() else "no such folder"
        raise ConfigError(f"--data-dir {args.data_dir}", what)
    registry = TaskRegistry(args.data_dir or default_data_dir())
    listing = [
        describe(card)
        for card in registry.cards.values()
        if args.benchmark is None or args.benchmark in card.benchmarks
    ]
    if args.json:
        print(json.dumps(listing, indent=2))
        return
    print(f"data directory: {registry.data_dir}")
    rows = [("task", "format", "langs", "benchmarks: languages, split", "present (split: languages)")]
    for item in listing:
        benchmarks = ", ".join(
            f"{name} {len(entry['languages'])} {entry['split']}"
            for name, entry in item["benchmarks"].items()
            if args.benchmark in (None, name)
        )
        present = "; ".join(f"{split}: {len(langs)}" for split, langs in item["splits_present"].items())
        languages = str(len(item["languages"]))
        rows.append((item["name"], item["format"], languages, benchmarks or "-", present or "no data"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print(
            f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  "
            f"{row[3]:<{widths[3]}}  {row[4]}"
        )


def add_parser(sub: argparse._SubParsersAction) -> None:
    tasks = sub.add_parser("tasks", help="list task cards and the data found for them")
    tasks.add_argument("--json", action="store_true")
    tasks.add_argument("--data-dir", type=Path)
    tasks.add_argument(
        "--benchmark", choices=["xtreme", "xtreme-r"], help="only the tasks this benchmark evaluates"
    )
    tasks.set_defaults(func=command)
