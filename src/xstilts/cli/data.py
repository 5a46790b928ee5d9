"""xstilts data check DIR: a data directory's files; xstilts data pull TASK... --to DIR: task data
from the Hugging Face hub."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

_DATA_CHECK_HELP = """\
For every task card (or the --task ones), split and language: are the files there, does the
card's reader read them (the count of examples), are the labels in the card's label set?
Every problem is listed, not just the first.

Problems: a language with only some of its files (Tatoeba's two sides); a file its reader rejects
(malformed, empty, a NUL byte; the message names the file and line); a label outside the card's
labels (classification labels, tagging tags, multiple-choice answer indices).
A split with no file in any language, and a language with none of its files, are "not
downloaded": listed, but problems only with --require, since a data directory often holds only
some splits and languages.

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


def check_command(args: argparse.Namespace) -> None:
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


def pull_command(args: argparse.Namespace) -> None:
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


def add_parser(sub: argparse._SubParsersAction) -> None:
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
    check.add_argument("--require", action="store_true", help="count what is not downloaded")
    cards_and_quiet(check)
    check.set_defaults(func=check_command)

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
    pull.set_defaults(func=pull_command)
