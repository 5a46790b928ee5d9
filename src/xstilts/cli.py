"""The `xstilts` command line.

    xstilts demo [--data-dir DIR] [--out DIR]   the offline demo (no intermediate vs intermediate NLI)
    xstilts run STUDY.yaml --out DIR            run a study (finished phase runs are reused)
    xstilts plan STUDY.yaml --out DIR [--json]  its phase runs, which are done, their cost
    xstilts tasks [--json] [--data-dir DIR]     task cards: format, languages, splits found on disk
    xstilts models                              model sources
    xstilts results DIR [--csv F] [--parquet F] tables (arms x languages, mean±std over seeds); exports
    xstilts report DIR [--format html|md]       DIR/report/index.html: tables, differences, figures
    xstilts data check DIR [--task T ...]       each task's files: present, readable, labels in the set
    xstilts data pull TASK... --to DIR          fetch task data from the Hugging Face hub into DIR

Bad input (a study, task, language, model or data file) prints one line naming what and where
and exits with code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from xstilts.errors import XstiltsError


def _run(
    study_path: Path,
    out: Path,
    data_dir: Path | None,
    cache_dir: Path | None,
    quiet: bool,
    executor: str = "local",
    address: str | None = None,
) -> None:
    from xstilts.pipeline.results import format_tables
    from xstilts.pipeline.runner import run_study
    from xstilts.pipeline.study import load_study

    study, registry = load_study(study_path, data_dir)
    started = time.perf_counter()
    rows = run_study(study, registry, out, cache_dir, not quiet, executor, address)
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
    _run(args.study, args.out, args.data_dir, args.cache_dir, args.quiet, args.executor, args.address)


def cmd_plan(args: argparse.Namespace) -> None:
    import dataclasses

    from xstilts.pipeline.plan import format_plan, plan_study, plan_summary
    from xstilts.pipeline.study import load_study

    study, registry = load_study(args.study, args.data_dir)
    plan = plan_study(study, registry, args.out)
    if args.json:
        runs = [{**dataclasses.asdict(r), "cost": r.cost, "complete": r.complete} for r in plan]
        print(json.dumps({"study": study.name, "summary": plan_summary(plan), "runs": runs}, indent=2))
        return
    print(f"study {study.name}: {study.description}  (model {study.model}, output {args.out})")
    print(format_plan(plan))


def cmd_tasks(args: argparse.Namespace) -> None:
    from xstilts.pipeline.study import default_data_dir
    from xstilts.tasks.card import TaskCard
    from xstilts.tasks.registry import TaskRegistry

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


def cmd_models(args: argparse.Namespace) -> None:
    from xstilts.models import describe_sources

    sources = describe_sources()
    if args.json:
        print(json.dumps(sources, indent=2))
        return
    for source in sources:
        note = source["note"] or ("works offline" if source["offline"] else "needs internet")
        print(f"{source['spec']:<26} {source['description']}\n{'':<26} ({note})")


def cmd_results(args: argparse.Namespace) -> None:
    from xstilts.errors import ConfigError
    from xstilts.pipeline import results
    from xstilts.results.store import COLUMNS, STORE_NAME, ResultsStore

    if not args.dir.is_dir():
        raise ConfigError(f"results {args.dir}", "no such directory")
    path = args.dir / STORE_NAME
    if not path.is_file():
        raise ConfigError(
            str(args.dir), f"no results store ({STORE_NAME}) here: `xstilts run STUDY --out DIR` makes one"
        )
    # Checked before anything is printed or written, so a bad path leaves no half-done export.
    exports = [(fmt, target) for fmt, target in (("csv", args.csv), ("parquet", args.parquet)) if target]
    for fmt, target in exports:
        results.check_export_path(target, f"--{fmt}")
    store = ResultsStore(path, create=False)
    studies = store.studies()
    if not studies:
        raise ConfigError(str(path), "the results store is empty (no study has recorded a number yet)")
    if args.study is not None and args.study not in studies:
        raise ConfigError(f"--study {args.study}", f"no such study in {path} (it has {', '.join(studies)})")
    blocks = []
    for name in [args.study] if args.study else studies:
        rows = store.rows(study=name)
        shown, superseded = results.current_rows(rows)
        versions = ", ".join(sorted({r["code_version"] for r in shown}))
        last = max(r["recorded_at"] for r in rows)
        head = f"study {name}: {len(shown)} numbers, xstilts {versions}, last recorded {last}"
        if superseded:
            numbers = "number" if superseded == 1 else "numbers"
            head += f"; {superseded} {numbers} of older runs of the same arms left out (exports keep them)"
        tables = results.format_tables(shown, args.format)
        blocks.append(f"{'## ' if args.format == 'md' else ''}{head}\n\n{tables}")
    print("\n\n".join(blocks))
    if exports:
        exported = store.rows(study=args.study)
        print()
        for fmt, target in exports:
            write = results.export_csv if fmt == "csv" else results.export_parquet
            write(exported, target, COLUMNS)
            print(f"{len(exported)} rows in {target}")


def cmd_report(args: argparse.Namespace) -> None:
    from xstilts.report.build import build_report
    from xstilts.report.site import REPORT_DIR

    export_options = {"--to": args.to, "--arm": args.arm, "--run-seed": args.run_seed}
    export_options.update({"--data-dir": args.data_dir, "--allow-subset": args.allow_subset or None})
    export_options["--partial"] = args.partial or None
    given = [option for option, value in export_options.items() if value is not None]
    if args.export is None and given:
        raise XstiltsError(f"{given[0]}: only with --export xtreme")
    if args.export is not None:
        from xstilts.report.export_xtreme import export_xtreme

        if args.to is None:
            raise XstiltsError("--export xtreme: give --to FOLDER (where the predictions are written)")
        done = export_xtreme(
            args.dir,
            args.to,
            study=args.study,
            arm=args.arm,
            seed=args.run_seed,
            allow_subset=args.allow_subset,
            partial=args.partial,
            data_dir=args.data_dir,
        )
        print(done.describe())
        return

    # A missing directory, store, study or arm fails here, before any statistics run.
    report = build_report(
        args.dir,
        study=args.study,
        baseline=args.baseline,
        resamples=args.resamples,
        confidence=args.confidence,
        seed=args.seed,
        progress=None if args.quiet else lambda step: print(f"report {step}", file=sys.stderr, flush=True),
    )
    if args.format == "md":
        from xstilts.report.markdown import report_markdown

        print(report_markdown(report), end="")
        return
    from xstilts.report.site import write_site

    index = write_site(report, args.dir / REPORT_DIR)
    figures, studies = len(list(index.parent.glob("*.png"))), len(report.studies)
    print(
        f"{index}: {studies} {'study' if studies == 1 else 'studies'}, "
        f"{figures} {'figure' if figures == 1 else 'figures'} (PNG and SVG)"
    )


_DATA_CHECK_HELP = """\
For every task card (or the --task ones), split and language: are the files there, does the
card's reader read them (the count of examples), are the labels in the card's label set?
Every problem is listed, not just the first.

Problems: a missing file in a split that other languages of it have; a file its reader rejects
(malformed or empty; the message names the file and line); a label outside the card's labels
(classification labels, tagging tags, multiple-choice answer indices).
A split with no file in any language is "not downloaded": listed, but a problem only with
--require, since a data directory often holds only some splits.

Exit code: 0 when there is no problem, 2 when there is any (the table says which).
"""

_DATA_PULL_HELP = """\
For each split and language of the tasks (or --split / --languages), load the split the card's
`hub` entry names with `datasets.load_dataset`, write it in the card's file layout under DIR,
read it back with the card's reader, and only then move the files into place: a split and
language gets all its files, complete, or none. Files already there are kept (--force rewrites).

--hub-mirror DIR (or $XSTILTS_HUB_MIRROR) reads `DIR/<dataset id>/<config or default>/` instead
of the hub: `<split>/` (Dataset.save_to_disk), or `<split>.jsonl|.json|.parquet|.csv` or
`<split>-*.parquet`, with the column types in an optional `features.json`
(datasets.Features.to_dict()).

Splits and languages the card's hub entry does not cover (no `hub`, `unavailable`, no config)
are listed as "no hub source" and skipped. Exit code: 2 when any split and language failed, or
when a task has nothing the hub covers; else 0.
"""


def cmd_data_check(args: argparse.Namespace) -> None:
    from xstilts.data import check
    from xstilts.errors import ConfigError

    if not args.dir.is_dir():
        raise ConfigError(f"data directory {args.dir}", "no such directory")
    registry = check.registry_for(args.dir, args.task_dirs, builtin=not args.no_builtin_tasks)
    rows = check.check_data(
        registry, args.tasks, args.require, args.splits, args.languages, progress=not args.quiet
    )
    if args.json:
        print(json.dumps(check.as_json(rows, args.dir), indent=2))
    else:
        print(check.format_table(rows, args.dir, require=args.require))
    problems = sum(r.is_problem for r in rows)
    if problems:
        raise check.DataCheckFailed(
            f"data check: {check.plural(problems, 'problem')} in {args.dir} (listed above)"
        )


def cmd_data_pull(args: argparse.Namespace) -> None:
    from xstilts.data import check, pull
    from xstilts.errors import ConfigError

    mirror = args.hub_mirror or pull.default_mirror()
    if mirror is not None and not mirror.is_dir():
        raise ConfigError(f"hub mirror {mirror}", "no such directory")
    registry = check.registry_for(args.to, args.task_dirs, builtin=not args.no_builtin_tasks)
    loader = pull.HubLoader(mirror, args.cache_dir, progress=not args.quiet)
    rows = pull.pull_tasks(
        registry, args.tasks, args.splits, args.languages, loader, force=args.force, progress=not args.quiet
    )
    if args.json:
        print(json.dumps(pull.as_json(rows, args.to), indent=2))
    else:
        print(pull.format_table(rows, args.to))
    failed = sum(r.is_problem for r in rows)
    if failed:
        raise pull.DataPullFailed(
            f"data pull: {failed} failed (listed above); nothing was written for them in {args.to}"
        )


def _add_data_parser(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="check a data directory; pull task data from the Hugging Face hub")
    data_sub = data.add_subparsers(dest="data_command", required=True)

    def cards_and_quiet(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--task-dir",
            type=Path,
            action="append",
            default=[],
            dest="task_dirs",
            help="another folder of task cards (repeatable)",
        )
        p.add_argument("--no-builtin-tasks", action="store_true", help="only the --task-dir cards")
        p.add_argument("--json", action="store_true", help="the table as JSON")
        p.add_argument("--quiet", action="store_true", help="no progress bar")

    fmt = argparse.RawDescriptionHelpFormatter
    check = data_sub.add_parser(
        "check", help="check every task's files", description=_DATA_CHECK_HELP, formatter_class=fmt
    )
    check.add_argument("dir", type=Path, help="the data directory (XTREME download/ layout)")
    check.add_argument(
        "--task", action="extend", nargs="+", dest="tasks", metavar="T", help="only these tasks"
    )
    check.add_argument(
        "--split", action="extend", nargs="+", dest="splits", metavar="S", help="only these splits"
    )
    check.add_argument("--languages", action="extend", nargs="+", metavar="L", help="only these languages")
    check.add_argument("--require", action="store_true", help="a split with no file at all is a problem too")
    cards_and_quiet(check)
    check.set_defaults(func=cmd_data_check)

    pull = data_sub.add_parser(
        "pull",
        help="fetch task data from the Hugging Face hub",
        description=_DATA_PULL_HELP,
        formatter_class=fmt,
    )
    pull.add_argument("tasks", nargs="+", metavar="TASK")
    pull.add_argument("--to", type=Path, required=True, help="the data directory to write into")
    pull.add_argument(
        "--split", action="extend", nargs="+", dest="splits", metavar="S", help="only these splits"
    )
    pull.add_argument("--languages", action="extend", nargs="+", metavar="L", help="only these languages")
    pull.add_argument("--force", action="store_true", help="rewrite files that are already there")
    pull.add_argument("--hub-mirror", type=Path, metavar="DIR", help="read hub datasets from DIR (offline)")
    pull.add_argument(
        "--cache-dir",
        type=Path,
        help="datasets keeps what it loads in its datasets/ (default $XSTILTS_CACHE or ~/.cache/xstilts)",
    )
    cards_and_quiet(pull)
    pull.set_defaults(func=cmd_data_pull)


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
    run.add_argument(
        "--executor",
        choices=["local", "ray"],
        default="local",
        help="local: one run at a time here; ray: arms x seeds spread over Ray workers",
    )
    run.add_argument("--address", help="with --executor ray: the Ray cluster (default: a local Ray)")
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
    tasks.add_argument(
        "--benchmark", choices=["xtreme", "xtreme-r"], help="only the tasks this benchmark evaluates"
    )
    tasks.set_defaults(func=cmd_tasks)

    models = sub.add_parser("models", help="list model sources")
    models.add_argument("--json", action="store_true")
    models.set_defaults(func=cmd_models)

    report = sub.add_parser("results", help="tables of an output directory's results store; CSV, Parquet")
    report.add_argument("dir", type=Path, help="the --out directory of `xstilts run`")
    report.add_argument("--study", help="only this study (default: every study in the store)")
    report.add_argument("--csv", type=Path, metavar="FILE", help="also write every stored row to FILE as CSV")
    report.add_argument("--parquet", type=Path, metavar="FILE", help="also write every stored row as Parquet")
    report.add_argument("--format", choices=["text", "md"], default="text", help="tables as text or Markdown")
    report.set_defaults(func=cmd_results)

    report = sub.add_parser(
        "report", help="a static HTML report of a study (tables, differences with intervals, figures)"
    )
    report.add_argument("dir", type=Path, help="the --out directory of `xstilts run`")
    report.add_argument("--study", help="only this study (default: every study in the store)")
    report.add_argument(
        "--baseline", metavar="ARM", help="compare with this arm (default: the arm with no intermediate)"
    )
    report.add_argument(
        "--format",
        choices=["html", "md"],
        default="html",
        help="html: write DIR/report/index.html and its figures; md: print the tables as Markdown",
    )
    report.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples (default 2000)")
    report.add_argument("--confidence", type=float, default=0.95, help="interval level (default 0.95)")
    report.add_argument("--seed", type=int, default=0, help="seed of the bootstrap's random streams")
    report.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    export = report.add_argument_group("export predictions (instead of the report)")
    export.add_argument(
        "--export",
        choices=["xtreme"],
        help="xtreme: one arm's predictions as XTREME's evaluate.py reads them (<task>/test-<lang>.tsv|json)",
    )
    export.add_argument("--to", type=Path, metavar="FOLDER", help="where to write (new, empty or an export)")
    export.add_argument("--arm", help="the arm to export (default: the study's only trained arm)")
    export.add_argument("--run-seed", type=int, metavar="S", help="its training seed (default: its only one)")
    export.add_argument(
        "--allow-subset", action="store_true", help="export a benchmark split even if only part was evaluated"
    )
    export.add_argument(
        "--partial",
        action="store_true",
        help="write what evaluate.py cannot score (missing languages, other splits, ...) under "
        "FOLDER/not-scored/ instead of refusing",
    )
    export.add_argument("--data-dir", type=Path, help="data root for Tatoeba's order (default: the study's)")
    report.set_defaults(func=cmd_report)

    _add_data_parser(sub)
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
    except BrokenPipeError:
        # The reader went away (`xstilts tasks --json | head`): stop quietly, as Unix tools do. Point
        # stdout at /dev/null so that the interpreter's last flush does not raise again (Python docs,
        # "Note on SIGPIPE").
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by it
    return 0


if __name__ == "__main__":
    sys.exit(main())
