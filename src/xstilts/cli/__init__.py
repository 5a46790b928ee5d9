"""The `xstilts` command line.

    xstilts demo [--data-dir DIR] [--out DIR]   the offline demo (no intermediate vs intermediate NLI)
    xstilts run STUDY.yaml --out DIR            run a study (finished phase runs are reused)
    xstilts plan STUDY.yaml --out DIR [--json]  its phase runs, which are done, their cost and budget
    xstilts calibrate --model M                 time training and evaluation here (plan's hours)
    xstilts tasks [--json] [--data-dir DIR]     task cards: format, languages, splits found on disk
    xstilts models                              model sources
    xstilts results DIR [--csv F] [--parquet F] tables (arms x languages, mean±std over seeds); exports
    xstilts rank STUDY.yaml --out DIR          rank the intermediate arms per target before training them
    xstilts report DIR [--format html|md]       DIR/report/index.html: tables, differences, figures
    xstilts data check DIR [--task T ...]       each task's files: present, readable, labels in the set
    xstilts data pull TASK... --to DIR          fetch task data from the Hugging Face hub into DIR

Bad input (a study, task, language, model or data file, a folder that cannot be written, a full
disk) prints one line naming what and where and exits with code 2; `run` checks every input before
it writes anything, so bad input leaves the output folder as it was.
"""

from __future__ import annotations

import argparse
import os
import sys

from xstilts.cli import calibrate, data, demo, models, plan, rank, report, results, run, tasks
from xstilts.errors import XstiltsError
from xstilts.files import FILE_SYSTEM_ERRNOS, describe_os_error

# One module per command, each with `add_parser(sub)`; in the order `xstilts --help` lists them.
COMMANDS = (demo, run, plan, calibrate, rank, tasks, models, results, report, data)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xstilts", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "cache_dir", None) is None and hasattr(args, "cache_dir"):
        from xstilts.config.model_source import default_cache_dir

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
    except OSError as err:
        # A full disk, a read-only or unwritable place, a file where a folder should be: the machine's
        # state, not a bug. The commands check the paths they are given first; this catches the rest.
        if err.errno not in FILE_SYSTEM_ERRNOS:
            raise
        print(f"xstilts: error: {describe_os_error(err)}", file=sys.stderr)
        return 2
    return 0
