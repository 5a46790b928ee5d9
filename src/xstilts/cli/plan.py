"""xstilts plan STUDY.yaml --out DIR [--json]: every phase run, whether it is done, what it costs.

The cost is in examples, and as a budget: device-hours (from `xstilts calibrate` or
`--tokens-per-second`), disk and peak training memory (plan/estimate.py). No torch here.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from xstilts.cli.options import common

if TYPE_CHECKING:
    from xstilts.config.registry import TaskRegistry
    from xstilts.data.lengths import TokenLengths
    from xstilts.plan.estimate import Budget
    from xstilts.plan.graph import Plan


def token_lengths(model: str, registry: TaskRegistry, args: argparse.Namespace) -> TokenLengths:
    from xstilts.data.lengths import TokenLengths, tokenizer_file

    return TokenLengths(registry, tokenizer_file(model, args.cache_dir)[0], args.cache_dir)


def budget(
    plan: Plan, registry: TaskRegistry, args: argparse.Namespace, lengths: TokenLengths | None = None
) -> tuple[Budget | None, str]:
    """The plan's budget, and what its hours rest on (or why they are unknown)."""
    from xstilts.plan.calibration import calibrated_device, load_calibration, local_device
    from xstilts.plan.estimate import Throughput, Throughputs, estimate_plan
    from xstilts.plan.model_shape import model_shape

    model = plan.study.model
    shape = model_shape(model, args.cache_dir)
    if shape is None:
        return None, f"the shape of {model} is unknown until it is fetched (xstilts run fetches it)"
    # `run --dry-run` comes here too, without plan's own options.
    given_device, tokens_per_second = getattr(args, "device", None), getattr(args, "tokens_per_second", None)
    device = given_device or plan.study.device
    if device == "auto":
        # A calibrated device (the figures exist), else the one `run` would use here; --device
        # budgets for another (a GPU machine's plan from a laptop).
        device = calibrated_device(args.cache_dir, shape) or local_device()
    device = device.split(":")[0]
    throughput: Throughputs
    if tokens_per_second is not None:
        throughput, note = Throughput.given(tokens_per_second), "--tokens-per-second"
    else:
        throughput = {
            p: found
            for p in ("fp32", "bf16")
            if (found := load_calibration(args.cache_dir, shape, device, p))
        }
        sources = sorted({t.source for t in throughput.values()})
        note = "; ".join(sources) or f"run xstilts calibrate --model {model} --device {device}"
    lengths = lengths or token_lengths(model, registry, args)
    return estimate_plan(plan, shape, lengths.sample, throughput, device), note


def command(args: argparse.Namespace) -> None:
    from xstilts.config.study import load_study
    from xstilts.data.lengths import SamplingRegistry
    from xstilts.plan.graph import build_plan
    from xstilts.plan.table import format_plan, plan_json

    study, registry = load_study(args.study, args.data_dir)
    lengths = token_lengths(study.model, registry, args)
    # Token lengths are sampled from each file as planning reads it to count its examples.
    plan = build_plan(study, SamplingRegistry(registry, lengths), args.out, args.cache_dir)  # type: ignore[arg-type]
    found, note = budget(plan, registry, args, lengths)
    if args.json:
        print(json.dumps(plan_json(plan, found), indent=2))
        return
    print(f"study {study.name}: {study.description}  (model {study.model}, output {args.out})")
    print(format_plan(plan, found, note))
    workers = getattr(args, "workers", 1)
    if found is not None and found.total.device_hours is not None and workers > 1:
        from xstilts.plan.estimate import wall_hours
        from xstilts.plan.table import hours

        wall = hours(wall_hours(plan, found, workers))
        print(f"wall-clock on {workers} devices (run --executor ray, arms x seeds side by side): {wall}")


def add_parser(sub: argparse._SubParsersAction) -> None:
    plan = sub.add_parser("plan", help="list a study's phase runs, what is done and what they cost")
    plan.add_argument("study", type=Path)
    plan.add_argument("--out", type=Path, required=True, help="the output directory the study runs in")
    plan.add_argument("--json", action="store_true")
    plan.add_argument(
        "--tokens-per-second",
        type=float,
        help="training throughput (padded tokens per second) for the hours, instead of xstilts calibrate's",
    )
    plan.add_argument(
        "--device",
        help="the device type to budget for (cpu, cuda); default: the study's, else a calibrated one",
    )
    plan.add_argument(
        "--workers", type=int, default=1, help="also print the wall-clock time on this many devices (Ray)"
    )
    common(plan)
    plan.set_defaults(func=command)
