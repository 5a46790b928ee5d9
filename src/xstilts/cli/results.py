"""xstilts results DIR: the tables of a results store (arms x languages, mean±std over seeds); exports."""

from __future__ import annotations

import argparse
from pathlib import Path


def command(args: argparse.Namespace) -> None:
    from xstilts.errors import ConfigError
    from xstilts.files import check_writable_folder
    from xstilts.results import tables as results
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
        check_writable_folder(target.parent, f"--{fmt} {target}: folder")
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


def add_parser(sub: argparse._SubParsersAction) -> None:
    report = sub.add_parser("results", help="tables of an output directory's results store; CSV, Parquet")
    report.add_argument("dir", type=Path, help="the --out directory of `xstilts run`")
    report.add_argument("--study", help="only this study (default: every study in the store)")
    report.add_argument("--csv", type=Path, metavar="FILE", help="also write every stored row to FILE as CSV")
    report.add_argument("--parquet", type=Path, metavar="FILE", help="also write every stored row as Parquet")
    report.add_argument("--format", choices=["text", "md"], default="text", help="tables as text or Markdown")
    report.set_defaults(func=command)
