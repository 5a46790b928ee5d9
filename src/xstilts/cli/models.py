"""xstilts models [--json]: the model sources."""

from __future__ import annotations

import argparse
import json


def command(args: argparse.Namespace) -> None:
    from xstilts.models.sources import describe_sources

    sources = describe_sources()
    if args.json:
        print(json.dumps(sources, indent=2))
        return
    for source in sources:
        note = source["note"] or ("works offline" if source["offline"] else "needs internet")
        print(f"{source['spec']:<26} {source['description']}\n{'':<26} ({note})")


def add_parser(sub: argparse._SubParsersAction) -> None:
    models = sub.add_parser("models", help="list model sources")
    models.add_argument("--json", action="store_true")
    models.set_defaults(func=command)
