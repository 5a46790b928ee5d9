"""xstilts calibrate --model M: time a few training and evaluation steps, for `xstilts plan`'s hours."""

from __future__ import annotations

import argparse

from xstilts.cli.options import common


def command(args: argparse.Namespace) -> None:
    from xstilts.config.model_source import check_spec
    from xstilts.engine.calibrate import calibrate

    check_spec(args.model)
    record, path = calibrate(
        args.model,
        args.cache_dir,
        args.device,
        args.precision,
        args.batch_size,
        args.length,
        args.steps,
    )
    print(
        f"{args.model} on {record['device_name']} ({record['precision']}, batch {record['batch_size']} x "
        f"{record['length']} tokens): training {record['train_tokens_per_second']:,.0f} tokens/s + "
        f"{record['step_seconds']:.3f} s per optimiser step, evaluation "
        f"{record['eval_tokens_per_second']:,.0f} tokens/s"
    )
    print(f"stored in {path}; `xstilts plan` uses it for every model of this shape")


def add_parser(sub: argparse._SubParsersAction) -> None:
    calibrate = sub.add_parser(
        "calibrate", help="measure a model's training and evaluation throughput here (for plan's hours)"
    )
    calibrate.add_argument("--model", required=True, help="a model source, e.g. bundled:me5-small")
    calibrate.add_argument("--device", default="auto", help="auto (a GPU if there is one), cpu, cuda, cuda:1")
    calibrate.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto")
    calibrate.add_argument("--batch-size", type=int, default=8)
    calibrate.add_argument("--length", type=int, default=128, help="tokens per sequence")
    calibrate.add_argument("--steps", type=int, default=5, help="timed steps (after one warm-up step)")
    common(calibrate)
    calibrate.set_defaults(func=command)
