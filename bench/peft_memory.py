"""Peak memory and seconds per training step: full fine-tuning vs LoRA, each with and without gradient
checkpointing (issue 10, items 3 and 4).

Each set-up runs in a fresh subprocess, so that its peak resident memory (`ru_maxrss`) is its own. A
subprocess loads the model, builds xstilts' TaskModel with XNLI's 3-way classification head (LoRA
through `xstilts.training.adapters.add_adapter`, as a LoRA phase does), and trains it with xstilts'
own loop (`training.loop.train`: fused AdamW, clipping, the code a study runs) on batches of
`--batch-size` random token sequences of exactly `--length` tokens (no padding). The first
`--warmup-steps` steps are not timed (optimiser state allocation, first calls); seconds per step is the
mean of the other `--steps`.

`added MiB` is the peak less what the process held before loading the model (the runtime and
libraries), the quantity `xstilts plan` budgets; `plan MiB` is that budget (src/xstilts/plan/estimate.py).
Peak memory is everything the process held at its highest point: weights, gradients, AdamW's two
moments, activations, the Python runtime and its libraries (about 0.8 GiB here). `weights` is the
model's parameters' own size, for scale. The model is built in the cache (`random:` presets) before
the first set-up starts, so no set-up's peak includes building it. Memory does not depend on the
machine's load; seconds per step do: measure those on a quiet machine.

    PYTHONPATH=src OMP_NUM_THREADS=2 python bench/peft_memory.py --model random:large \\
        --json-out out/peft_memory.json                                       (docs/benchmarks.md)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

SETUPS: dict[str, dict[str, Any]] = {
    "full": {"method": "full"},
    "lora": {"method": "lora"},
    "full+checkpointing": {"method": "full", "gradient_checkpointing": True},
    "lora+checkpointing": {"method": "lora", "gradient_checkpointing": True},
}


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def estimated_mib(config: Any, args: argparse.Namespace) -> float:
    """What `xstilts plan` budgets for this set-up's training (src/xstilts/plan/estimate.py, on CPU:
    its tensors plus the process's constant share), for a run of one classification task, no dev set."""
    from types import SimpleNamespace

    from xstilts.plan.estimate import _Estimator
    from xstilts.plan.model_shape import model_shape

    shape = model_shape(args.model, args.cache_dir)
    estimator = _Estimator(SimpleNamespace(nodes=[]), shape, None, None, "cpu")  # type: ignore[arg-type]
    node = SimpleNamespace(
        training=config, evaluations=[], dev=None, train=[SimpleNamespace(task="xnli")], phase="target"
    )
    return estimator.memory(node, args.length) / 2**20  # type: ignore[arg-type]


def measure(setup: str, args: argparse.Namespace) -> dict[str, Any]:
    """One set-up, in this (fresh) process."""
    import torch

    from xstilts.config.registry import TaskRegistry
    from xstilts.config.training import LoraSettings, TrainConfig
    from xstilts.formats.classification import ClassificationFormat
    from xstilts.models.sources import load_model
    from xstilts.training.loop import TrainingTask, train
    from xstilts.training.task_model import TaskModel

    torch.set_num_threads(args.threads)
    config = TrainConfig(
        learning_rate=2e-5 if SETUPS[setup]["method"] == "full" else 5e-4,
        batch_size=args.batch_size,
        max_steps=args.warmup_steps + args.steps,
        warmup=0.0,
        patience=None,
        group_by_length=False,
        precision="fp32",
        lora=LoraSettings(r=args.r),
        **SETUPS[setup],
    )
    before = current_rss_mib()  # the runtime and libraries, before the model: the estimate leaves them out
    loaded = load_model(args.model, args.cache_dir)
    card = TaskRegistry(args.cache_dir).card("xnli")  # only the card: its labels make the head

    class Stamped(ClassificationFormat):
        """Notes when each batch is made: the start of each step."""

        stamps: list[float] = []

        def collate(self, features: Any, pad_id: int) -> Any:
            self.stamps.append(time.perf_counter())
            return super().collate(features, pad_id)

    fmt = Stamped()
    torch.manual_seed(0)
    encoder = loaded.encoder
    if config.method == "lora":
        from xstilts.training.adapters import add_adapter

        encoder = add_adapter(encoder, config.lora, "target")
    model = TaskModel(encoder, {card.name: fmt.build_head(card, loaded.encoder.config.hidden_size)})
    generator = torch.Generator().manual_seed(0)
    vocab = loaded.encoder.config.vocab_size
    count = args.batch_size * (args.warmup_steps + args.steps)
    ids = torch.randint(5, vocab, (count, args.length), generator=generator).tolist()
    features = [{"input_ids": row, "label": i % 3, "example_index": i} for i, row in enumerate(ids)]
    task = TrainingTask(card, fmt, features)
    train(model, [task], config, loaded.tokenizer.pad_token_id, seed=0, progress=False)
    end = time.perf_counter()
    timed = [*fmt.stamps[args.warmup_steps :], end]
    per_step = (timed[-1] - timed[0]) / args.steps
    return {
        "setup": setup,
        "model": args.model,
        "batch_size": args.batch_size,
        "length": args.length,
        "lora_r": args.r if config.method == "lora" else None,
        "parameters": sum(p.numel() for p in model.parameters()),
        "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "weights_mib": round(sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20, 1),
        "peak_mib": round(peak_rss_mib(), 1),
        "rss_before_mib": round(before, 1),
        "estimate_mib": round(estimated_mib(config, args), 1),
        "seconds_per_step": round(per_step, 3),
        "steps_timed": args.steps,
        "threads": args.threads,
    }


def run_all(args: argparse.Namespace, argv: Sequence[str]) -> list[dict[str, Any]]:
    from xstilts.models.sources import resolve_model_dir

    resolve_model_dir(args.model, args.cache_dir)  # built once here, not inside a measured set-up
    results = []
    for setup in args.setups:
        command = [sys.executable, __file__, *argv, "--one", setup]
        done = subprocess.run(command, capture_output=True, text=True, env={**os.environ})
        if done.returncode != 0:
            sys.exit(f"{setup} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"{setup}: done", file=sys.stderr, flush=True)
    return results


def print_table(results: Sequence[dict[str, Any]]) -> None:
    print(
        f"{'set-up':<20} {'trainable':>12} {'weights MiB':>12} {'peak MiB':>10} {'added MiB':>10} "
        f"{'plan MiB':>9} {'plan/added':>10} {'s/step':>8}"
    )
    for r in results:
        added = r["peak_mib"] - r["rss_before_mib"]
        print(
            f"{r['setup']:<20} {r['trainable_parameters']:>12,} {r['weights_mib']:>12,.0f} "
            f"{r['peak_mib']:>10,.0f} {added:>10,.0f} {r['estimate_mib']:>9,.0f} "
            f"{r['estimate_mib'] / added:>10.2f} {r['seconds_per_step']:>8.2f}"
        )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="random:large")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--r", type=int, default=8, help="LoRA rank")
    parser.add_argument("--steps", type=int, default=3, help="timed optimiser steps")
    parser.add_argument("--warmup-steps", type=int, default=1, help="un-timed steps before them")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)), help="torch threads")
    parser.add_argument("--cache-dir", type=Path, default=None, help="xstilts cache (models)")
    parser.add_argument("--setups", nargs="+", choices=list(SETUPS), default=list(SETUPS))
    parser.add_argument("--json-out", type=Path, default=None)
    parser.add_argument("--one", choices=list(SETUPS), default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cache_dir is None:
        from xstilts.config.model_source import default_cache_dir

        args.cache_dir = default_cache_dir()
    return args


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.one is not None:
        print(json.dumps(measure(args.one, args)))
        return
    results = run_all(args, argv)
    print_table(results)
    if args.json_out is not None:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        machine = {"python": platform.python_version(), "cpu": platform.processor(), "cores": os.cpu_count()}
        args.json_out.write_text(json.dumps({"machine": machine, "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
