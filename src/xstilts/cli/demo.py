"""xstilts demo [--data-dir DIR]: the offline demo, or the same comparison on real XTREME data."""

from __future__ import annotations

import argparse
from pathlib import Path

from xstilts.cli.options import common
from xstilts.cli.run import run_study_file
from xstilts.errors import XstiltsError


def command(args: argparse.Namespace) -> None:
    from xstilts.demo import OWN_DATA_STUDY, XTREME_STUDY

    if args.data_dir is not None:
        if not args.data_dir.is_dir():
            raise XstiltsError(f"--data-dir {args.data_dir}: no such directory")
        run_study_file(
            XTREME_STUDY, args.out or Path("runs/demo-xtreme"), args.data_dir, args.cache_dir, args.quiet
        )
    else:
        run_study_file(OWN_DATA_STUDY, args.out or Path("runs/demo"), None, args.cache_dir, args.quiet)


def add_parser(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="the offline demo: no intermediate vs intermediate NLI")
    common(demo)
    demo.add_argument("--out", type=Path, help="output directory (default runs/demo or runs/demo-xtreme)")
    demo.set_defaults(func=command)
