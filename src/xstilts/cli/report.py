"""xstilts report DIR: the static report (or --format md), or one arm's predictions in XTREME's layout."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from xstilts.errors import XstiltsError
from xstilts.files import check_writable_folder


def command(args: argparse.Namespace) -> None:
    from xstilts.report.build import build_report
    from xstilts.report.site import REPORT_DIR

    export_options = {"--to": args.to, "--arm": args.arm, "--run-seed": args.run_seed}
    export_options.update({"--data-dir": args.data_dir, "--allow-subset": args.allow_subset or None})
    export_options["--partial"] = args.partial or None
    given = [option for option, value in export_options.items() if value is not None]
    if args.export is None and given:
        raise XstiltsError(f"{given[0]}: only with --export xtreme")
    if args.export is not None:
        from xstilts.export.xtreme import export_xtreme

        if args.to is None:
            raise XstiltsError("--export xtreme: give --to FOLDER (where the predictions are written)")
        check_writable_folder(args.to, "--to")
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

    if args.format == "html" and args.dir.is_dir():
        # The statistics take a while: know first that their folder can be written.
        try:
            check_writable_folder(args.dir / REPORT_DIR, "report")
        except XstiltsError as err:
            raise XstiltsError(f"{err}; `--format md` prints the report instead") from None
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


def add_parser(sub: argparse._SubParsersAction) -> None:
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
    report.set_defaults(func=command)
