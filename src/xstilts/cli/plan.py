"""xstilts plan STUDY.yaml --out DIR [--json]: every phase run, whether it is done, what it costs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from xstilts.cli.options import common


def command(args: argparse.Namespace) -> None:
    from xstilts.config.study import load_study
    from xstilts.plan.graph import build_plan
    from xstilts.plan.table import format_plan, plan_json

    study, registry = load_study(args.study, args.data_dir)
    plan = build_plan(study, registry, args.out)
    if args.json:
        print(json.dumps(plan_json(plan), indent=2))
        return
    print(f"study {study.name}: {study.description}  (model {study.model}, output {args.out})")
    print(format_plan(plan))


def add_parser(sub: argparse._SubParsersAction) -> None:
    plan = sub.add_parser("plan", help="list a study's phase runs, what is done and what they cost")
    plan.add_argument("study", type=Path)
    plan.add_argument("--out", type=Path, required=True, help="the output directory the study runs in")
    plan.add_argument("--json", action="store_true")
    common(plan)
    plan.set_defaults(func=command)
