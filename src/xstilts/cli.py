"""The `xstilts` command line.

    xstilts demo [--data-dir DIR] [--out DIR]   the offline demo (no intermediate vs intermediate NLI)
    xstilts run STUDY.yaml --out DIR            run a study (finished phase runs are reused)
    xstilts plan STUDY.yaml --out DIR [--json]  its phase runs, which are done, their cost
    xstilts tasks [--json] [--data-dir DIR]     task cards: format, languages, splits found on disk
    xstilts models                              model sources

Bad input (a study, task, language, model or data file) prints one line naming what and where
and exits with code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from xstilts.errors import XstiltsError


def _run(study_path: Path, out: Path, data_dir: Path | None, cache_dir: Path | None, quiet: bool) -> None:
    from xstilts.pipeline.results import format_tables
    from xstilts.pipeline.runner import run_study
    from xstilts.pipeline.study import load_study

    study, registry = load_study(study_path, data_dir)
    started = time.perf_counter()
    rows = run_study(study, registry, out, cache_dir, progress=not quiet)
    print(f"\nstudy {study.name}: {study.description}")
    print(format_tables(rows))
    print(
        f"\n{len(rows)} numbers in {out / 'results.json'}; tables in {out / 'results.txt'}; "
        f"{time.perf_counter() - started:.0f} s"
    )


def cmd_demo(args: argparse.Namespace) -> None:
    from xstilts.demo import OWN_DATA_STUDY, XTREME_STUDY

    if args.data_dir is not None:
        if not args.data_dir.is_dir():
            raise XstiltsError(f"--data-dir {args.data_dir}: no such directory")
        _run(XTREME_STUDY, args.out or Path("runs/demo-xtreme"), args.data_dir, args.cache_dir, args.quiet)
    else:
        _run(OWN_DATA_STUDY, args.out or Path("runs/demo"), None, args.cache_dir, args.quiet)


def cmd_run(args: argparse.Namespace) -> None:
    if args.dry_run:
        cmd_plan(args)
        return
    _run(args.study, args.out, args.data_dir, args.cache_dir, args.quiet)


def cmd_plan(args: argparse.Namespace) -> None:
    import dataclasses

    from xstilts.pipeline.plan import format_plan, plan_study, plan_summary
    from xstilts.pipeline.study import load_study

    study, registry = load_study(args.study, args.data_dir)
    plan = plan_study(study, registry, args.out)
    if args.json:
        runs = [{**dataclasses.asdict(r), "cost": r.cost} for r in plan]
        print(json.dumps({"study": study.name, "summary": plan_summary(plan), "runs": runs}, indent=2))
        return
    print(f"study {study.name}: {study.description}  (model {study.model}, output {args.out})")
    print(format_plan(plan))


def cmd_tasks(args: argparse.Namespace) -> None:
    from xstilts.pipeline.study import default_data_dir
    from xstilts.tasks.registry import TaskRegistry

    registry = TaskRegistry(args.data_dir or default_data_dir())
    listing = [
        {
            "name": c.name,
            "format": c.format,
            "metric": c.metric,
            "version": c.version,
            "languages": c.languages,
            "splits_defined": list(c.splits),
            "splits_present": registry.present(c.name),
            "description": c.description,
        }
        for c in registry.cards.values()
    ]
    if args.json:
        print(json.dumps(listing, indent=2))
        return
    print(f"data directory: {registry.data_dir}")
    for item in listing:
        present = (
            "; ".join(f"{split}: {len(langs)}" for split, langs in item["splits_present"].items())
            or "no data"
        )
        languages = f"{len(item['languages']):>3} languages"
        print(f"{item['name']:<14} {item['format']:<16} {languages}   present: {present}")


def cmd_models(args: argparse.Namespace) -> None:
    from xstilts.models import describe_sources

    sources = describe_sources()
    if args.json:
        print(json.dumps(sources, indent=2))
        return
    for source in sources:
        note = source["note"] or ("works offline" if source["offline"] else "needs internet")
        print(f"{source['spec']:<26} {source['description']}\n{'':<26} ({note})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xstilts", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data-dir", type=Path, help="root of the data (XTREME download/ layout)")
        p.add_argument(
            "--cache-dir",
            type=Path,
            help="models and features cache (default $XSTILTS_CACHE or ~/.cache/xstilts)",
        )
        p.add_argument("--quiet", action="store_true", help="no progress bars")

    demo = sub.add_parser("demo", help="the offline demo: no intermediate vs intermediate NLI")
    common(demo)
    demo.add_argument("--out", type=Path, help="output directory (default runs/demo or runs/demo-xtreme)")
    demo.set_defaults(func=cmd_demo)

    run = sub.add_parser("run", help="run a study file")
    run.add_argument("study", type=Path)
    run.add_argument("--out", type=Path, required=True)
    run.add_argument(
        "--dry-run", action="store_true", help="show the plan (as `xstilts plan`), train nothing"
    )
    run.add_argument("--json", action="store_true", help="with --dry-run: the plan as JSON")
    common(run)
    run.set_defaults(func=cmd_run)

    plan = sub.add_parser("plan", help="list a study's phase runs, what is done and what they cost")
    plan.add_argument("study", type=Path)
    plan.add_argument("--out", type=Path, required=True, help="the output directory the study runs in")
    plan.add_argument("--json", action="store_true")
    common(plan)
    plan.set_defaults(func=cmd_plan)

    tasks = sub.add_parser("tasks", help="list task cards and the data found for them")
    tasks.add_argument("--json", action="store_true")
    tasks.add_argument("--data-dir", type=Path)
    tasks.set_defaults(func=cmd_tasks)

    models = sub.add_parser("models", help="list model sources")
    models.add_argument("--json", action="store_true")
    models.set_defaults(func=cmd_models)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "cache_dir", None) is None and hasattr(args, "cache_dir"):
        from xstilts.models import default_cache_dir

        args.cache_dir = default_cache_dir()
    try:
        args.func(args)
    except XstiltsError as err:
        print(f"xstilts: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("xstilts: interrupted; finished runs are kept and will be reused", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
