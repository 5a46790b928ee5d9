"""xstilts run STUDY.yaml --out DIR: run a study (finished phase runs are reused)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from xstilts.cli import plan
from xstilts.cli.options import common


def run_study_file(
    study_path: Path,
    out: Path,
    data_dir: Path | None,
    cache_dir: Path | None,
    quiet: bool,
    executor: str = "local",
    address: str | None = None,
) -> None:
    from xstilts.config.study import load_study
    from xstilts.engine.runner import run_study
    from xstilts.results.tables import format_tables

    study, registry = load_study(study_path, data_dir)
    started = time.perf_counter()
    rows = run_study(study, registry, out, cache_dir, not quiet, executor, address)
    print(f"\nstudy {study.name}: {study.description}")
    print(format_tables(rows))
    print(
        f"\n{len(rows)} numbers in {out / 'results.json'}; tables in {out / 'results.txt'}; "
        f"{time.perf_counter() - started:.0f} s"
    )


def command(args: argparse.Namespace) -> None:
    if args.dry_run:
        plan.command(args)
        return
    from xstilts.engine.threads import share_threads, threads_from_environment

    threads = args.threads or threads_from_environment()
    if threads:
        share_threads(threads)  # before torch is imported: the environment sizes what it loads
    run_study_file(
        args.study, args.out, args.data_dir, args.cache_dir, args.quiet, args.executor, args.address
    )


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a whole number of at least 1, not {text!r}")
    return int(text)


def add_parser(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="run a study file")
    run.add_argument("study", type=Path)
    run.add_argument("--out", type=Path, required=True)
    run.add_argument(
        "--dry-run", action="store_true", help="show the plan (as `xstilts plan`), train nothing"
    )
    run.add_argument("--json", action="store_true", help="with --dry-run: the plan as JSON")
    run.add_argument(
        "--executor",
        choices=["local", "ray"],
        default="local",
        help="local: one run at a time here; ray: arms x seeds spread over Ray workers",
    )
    run.add_argument("--address", help="with --executor ray: the Ray cluster (default: a local Ray)")
    run.add_argument(
        "--threads",
        type=_positive,
        help="CPU threads for this process (torch, OpenMP, tokenizers); default $OMP_NUM_THREADS, else "
        "every core. Studies run side by side: give each its share of the cores",
    )
    common(run)
    run.set_defaults(func=command)
