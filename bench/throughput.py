"""Training throughput: xstilts' own loop against the Hugging Face Trainer, same model, data and settings.

Three set-ups train the same module (the bundled mE5-small encoder plus xstilts' ClassificationHead,
identical initial weights) on XNLI dev English with the same hyperparameters; only the loop, batching and
padding differ:

  xstilts         xstilts.training.loop.train: length-grouped batches, padded per batch
  trainer-pad128  Trainer as the transformers run_xnli example runs by default: every example padded to 128
                  (pad_to_max_length=True, default_data_collator), random batches
  trainer-best    Trainer with DataCollatorWithPadding and train_sampling_strategy="group_by_length"

Each set-up runs --warmup-steps + --steps optimiser steps in one training run (one schedule) and only the
last --steps are timed, from the end of step --warmup-steps to the end of the last step, so model loading,
optimiser state allocation, Trainer/accelerate set-up and the first slow iterations are excluded alike.
Examples and real (non-padding) tokens are counted from the attention masks of the batches that the timed
steps actually processed. With --repeats R every set-up runs R times, round-robin with the order rotated
each round (no set-up always goes first), and the table shows each set-up's fastest run, the one least
disturbed by anything else on the machine; the JSON has them all.

    .venv/bin/python bench/throughput.py --repeats 3 --json-out out/throughput.json   (docs/benchmarks.md)
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import gc
import json
import logging
import math
import os
import platform
import pstats
import shlex
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO.parent / "shared" / "data"
# Run from a checkout without installing the package (the documented command is plain `python bench/...`).
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

import transformers  # noqa: E402
from transformers import (  # noqa: E402
    DataCollatorWithPadding,
    PrinterCallback,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    default_data_collator,
)

import xstilts  # noqa: E402
from xstilts.config.features import FeatureSettings  # noqa: E402
from xstilts.config.registry import TaskRegistry  # noqa: E402
from xstilts.config.training import TrainConfig  # noqa: E402
from xstilts.formats.base import Batch, Feature  # noqa: E402
from xstilts.formats.classification import ClassificationFormat, ClassificationHead  # noqa: E402
from xstilts.models.sources import load_model  # noqa: E402
from xstilts.training.loop import TrainingTask, pick_device, seed_everything, train  # noqa: E402
from xstilts.training.task_model import TaskModel  # noqa: E402

SETUPS = ("xstilts", "trainer-pad128", "trainer-best")
TASK = "xnli"


@dataclass
class BatchStats:
    examples: int
    real_tokens: int  # attention-mask ones
    padded_tokens: int  # rows x width: what the encoder computed


@dataclass(frozen=True)
class Stamp:
    wall: float
    cpu: float  # CPU seconds of this process, all threads


@dataclass
class SetupResult:
    name: str
    steps: int
    examples: int
    real_tokens: int
    padded_tokens: int
    seconds: float  # the timed steps only
    run_seconds: float  # the whole training call, set-up and warm-up steps included
    # CPU seconds / (seconds x torch threads) over the timed steps: well below 1 means the threads waited
    # (for memory, or for other processes on a shared machine), so read the figures with that in mind.
    cpu_share: float
    load_average: float  # 1-minute system load at the end of the timed steps
    examples_per_s: float = field(init=False)
    real_tokens_per_s: float = field(init=False)
    padded_tokens_per_s: float = field(init=False)
    padding_share: float = field(init=False)

    def __post_init__(self) -> None:
        self.examples_per_s = self.examples / self.seconds
        self.real_tokens_per_s = self.real_tokens / self.seconds
        self.padded_tokens_per_s = self.padded_tokens / self.seconds
        self.padding_share = 1 - self.real_tokens / self.padded_tokens


def stats_of(batch: Batch) -> BatchStats:
    mask = batch["attention_mask"]
    return BatchStats(int(mask.shape[0]), int(mask.sum()), int(mask.numel()))


def clock(device: torch.device) -> Stamp:
    """Wall and CPU time once queued GPU work is done (CUDA runs asynchronously)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return Stamp(time.perf_counter(), time.process_time())


def window_result(
    name: str,
    batches: Sequence[BatchStats],
    first: int,
    steps: int,
    window: tuple[Stamp, Stamp],
    run: tuple[Stamp, Stamp],
) -> SetupResult:
    timed = batches[first : first + steps]
    if len(timed) != steps:
        raise RuntimeError(f"{name}: {len(timed)} batches recorded for {steps} timed steps")
    seconds = window[1].wall - window[0].wall
    return SetupResult(
        name,
        steps,
        sum(b.examples for b in timed),
        sum(b.real_tokens for b in timed),
        sum(b.padded_tokens for b in timed),
        seconds,
        run[1].wall - run[0].wall,
        cpu_share=(window[1].cpu - window[0].cpu) / (seconds * torch.get_num_threads()),
        load_average=os.getloadavg()[0],
    )


# ------------------------------------------------------------------------------------------- data and model


@dataclass
class BenchData:
    features: list[Feature]  # xstilts features: unpadded input_ids, label
    dynamic_rows: list[dict[str, Any]]  # the same tokens for DataCollatorWithPadding
    pad128_rows: list[dict[str, Any]]  # run_xnli's preprocessing: padding="max_length"
    card: Any


def prepare_data(data_dir: Path, tokenizer: Any, examples_limit: int, max_length: int) -> BenchData:
    registry = TaskRegistry(data_dir)
    card = registry.card(TASK)
    examples = registry.load(TASK, "dev", "en")[:examples_limit]
    fmt = ClassificationFormat()
    features = fmt.featurize(examples, tokenizer, card, FeatureSettings(max_length=max_length))
    dynamic_rows = [
        {"input_ids": f["input_ids"], "attention_mask": [1] * len(f["input_ids"]), "labels": f["label"]}
        for f in features
    ]
    padded = tokenizer(
        [ex.text_a for ex in examples],
        [ex.text_b for ex in examples],
        padding="max_length",
        max_length=max_length,
        truncation=True,
    )
    pad128_rows = []
    for i, feature in enumerate(features):
        ids, mask = padded["input_ids"][i], padded["attention_mask"][i]
        if ids[: sum(mask)] != feature["input_ids"]:  # all set-ups must see the very same tokens
            raise RuntimeError(f"example {i}: max_length padding changed the tokens")
        pad128_rows.append({"input_ids": ids, "attention_mask": mask, "labels": feature["label"]})
    return BenchData(features, dynamic_rows, pad128_rows, card)


class EncoderWithHead(nn.Module):
    """TaskModel's computation (and the format's loss) behind the forward that Trainer calls."""

    def __init__(
        self, encoder: nn.Module, head: nn.Module, loss: Callable[[torch.Tensor, Batch], torch.Tensor]
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.loss = loss

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        batch = {"input_ids": input_ids, "attention_mask": attention_mask}
        logits = self.head(self.encoder(**batch).last_hidden_state, batch)
        out = {"logits": logits}
        if labels is not None:
            out["loss"] = self.loss(logits, {**batch, "labels": labels})
        return out


# ------------------------------------------------------------------------------------------- set-ups


class CountingClassificationFormat(ClassificationFormat):
    """xstilts' classification format, recording every batch it collates and the time the timed steps start.

    The loop collates step k's batch first thing in step k, so collating batch `first_timed_batch` (0-based)
    marks the end of the un-timed warm-up steps.
    """

    def __init__(self, first_timed_batch: int, device: torch.device) -> None:
        self.first_timed_batch = first_timed_batch
        self.device = device
        self.batches: list[BatchStats] = []
        self.started: Stamp | None = None

    def collate(self, features: Sequence[Feature], pad_id: int) -> Batch:
        if len(self.batches) == self.first_timed_batch:
            self.started = clock(self.device)
        batch = super().collate(features, pad_id)
        self.batches.append(stats_of(batch))
        return batch


def run_xstilts(
    encoder: nn.Module,
    head: nn.Module,
    data: BenchData,
    pad_id: int,
    args: argparse.Namespace,
    device: torch.device,
) -> SetupResult:
    fmt = CountingClassificationFormat(args.warmup_steps, device)
    model = TaskModel(encoder, {TASK: head}).to(device)
    total = args.warmup_steps + args.steps
    batches_per_epoch = math.ceil(len(data.features) / args.batch_size)
    config = TrainConfig(
        learning_rate=args.learning_rate,
        weight_decay=0.01,
        warmup=0.1,
        batch_size=args.batch_size,
        epochs=float(math.ceil(total / batches_per_epoch)),
        max_steps=total,
        patience=None,
    )
    task = TrainingTask(
        card=data.card,
        format=fmt,
        features=data.features,
        settings=FeatureSettings(max_length=args.max_length),
    )
    began = clock(device)
    result = train(model, [task], config, pad_id=pad_id, seed=args.seed, progress=False)
    ended = clock(device)
    if result.steps != total or fmt.started is None:
        raise RuntimeError(f"xstilts ran {result.steps} steps, expected {total}")
    return window_result(
        "xstilts", fmt.batches, args.warmup_steps, args.steps, (fmt.started, ended), (began, ended)
    )


class CountingCollator:
    """Records each batch the wrapped collator builds; the loop gets batches in the order they are built."""

    def __init__(self, inner: Callable[[list[dict[str, Any]]], Batch]) -> None:
        self.inner = inner
        self.batches: list[BatchStats] = []

    def __call__(self, rows: list[dict[str, Any]]) -> Batch:
        batch = self.inner(rows)
        self.batches.append(stats_of(batch))
        return batch


class StepClock(TrainerCallback):
    """Times from the end of optimiser step `start_step` to the end of step `end_step`."""

    def __init__(self, start_step: int, end_step: int, device: torch.device) -> None:
        self.start_step, self.end_step, self.device = start_step, end_step, device
        self.started: Stamp | None = None
        self.ended: Stamp | None = None

    def on_step_end(self, args: TrainingArguments, state: Any, control: Any, **kwargs: Any) -> None:
        if state.global_step == self.start_step:
            self.started = clock(self.device)
        elif state.global_step == self.end_step:
            self.ended = clock(self.device)


def trainer_arguments(
    args: argparse.Namespace, output_dir: str, device: torch.device, group_by_length: bool
) -> TrainingArguments:
    total = args.warmup_steps + args.steps
    return TrainingArguments(
        output_dir=output_dir,
        max_steps=total,
        per_device_train_batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        weight_decay=0.01,
        lr_scheduler_type="linear",
        # A float would mean a fraction, but Trainer rounds it up (ceil) where xstilts rounds to nearest;
        # the integer count makes both schedules identical.
        warmup_steps=round(0.1 * total),
        max_grad_norm=1.0,
        seed=args.seed,
        bf16=device.type == "cuda" and torch.cuda.is_bf16_supported(),
        train_sampling_strategy="group_by_length" if group_by_length else "random",
        eval_strategy="no",
        save_strategy="no",
        logging_strategy="no",
        report_to="none",
        dataloader_num_workers=0,
        dataloader_pin_memory=device.type == "cuda",  # its default; pinning without a GPU only warns
        disable_tqdm=True,
    )


def run_trainer(
    name: str,
    encoder: nn.Module,
    head: nn.Module,
    data: BenchData,
    tokenizer: Any,
    args: argparse.Namespace,
    device: torch.device,
) -> SetupResult:
    best = name == "trainer-best"
    collator = CountingCollator(DataCollatorWithPadding(tokenizer) if best else default_data_collator)
    step_clock = StepClock(args.warmup_steps, args.warmup_steps + args.steps, device)
    model = EncoderWithHead(encoder, head, ClassificationFormat().loss)
    with tempfile.TemporaryDirectory(prefix="xstilts-bench-") as output_dir:
        began = clock(device)
        trainer = Trainer(
            model=model,
            args=trainer_arguments(args, output_dir, device, best),
            train_dataset=data.dynamic_rows if best else data.pad128_rows,
            data_collator=collator,
            callbacks=[step_clock],
        )
        trainer.remove_callback(PrinterCallback)  # it prints the final metrics; xstilts prints nothing
        trainer.train()
        ended = clock(device)
    if step_clock.started is None or step_clock.ended is None:
        raise RuntimeError(f"{name}: Trainer stopped after {trainer.state.global_step} steps")
    return window_result(
        name,
        collator.batches,
        args.warmup_steps,
        args.steps,
        (step_clock.started, step_clock.ended),
        (began, ended),
    )


def run_setup(
    name: str,
    base: EncoderWithHead,
    data: BenchData,
    tokenizer: Any,
    args: argparse.Namespace,
    device: torch.device,
) -> SetupResult:
    torch.set_num_threads(args.threads)  # in case a library changed it during an earlier set-up
    fresh = copy.deepcopy(base)  # identical initial weights for every set-up
    if name == "xstilts":
        return run_xstilts(fresh.encoder, fresh.head, data, tokenizer.pad_token_id, args, device)
    return run_trainer(name, fresh.encoder, fresh.head, data, tokenizer, args, device)


# ------------------------------------------------------------------------------------------- profile

# Where a training step's time goes: the cumulative time of these (file suffix, function) pairs in cProfile's
# table, the largest match per bucket (the buckets do not nest in one another).
PROFILE_BUCKETS: dict[str, tuple[tuple[str, str], ...]] = {
    "forward": (("task_model.py", "forward"), ("throughput.py", "forward")),
    "backward": (("torch/_tensor.py", "backward"),),
    "grad clipping": (("clip_grad.py", "clip_grad_norm_"),),
    "optimizer step": (("optim/adam.py", "step"), ("optim/adamw.py", "step")),
    "batch building": (("throughput.py", "collate"), ("throughput.py", "__call__")),
}


def profile_setup(
    name: str,
    base: EncoderWithHead,
    data: BenchData,
    tokenizer: Any,
    args: argparse.Namespace,
    device: torch.device,
) -> dict[str, float]:
    """Seconds per optimiser step in each bucket over a whole (warm-up included) training run."""
    profiler = cProfile.Profile()
    profiler.enable()
    result = run_setup(name, base, data, tokenizer, args, device)
    profiler.disable()
    table = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    steps = args.warmup_steps + args.steps
    out = {"run seconds per step": result.run_seconds / steps}
    for bucket, matches in PROFILE_BUCKETS.items():
        seconds = [
            cumulative
            for (file, _, fn), (_, _, _, cumulative, _) in table.items()
            if any(file.endswith(suffix) and fn == function for suffix, function in matches)
        ]
        out[bucket] = max(seconds, default=0.0) / steps
    return out


# ------------------------------------------------------------------------------------------- report


def machine_info(device: torch.device, threads: int) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "torch_threads": threads,
        "device": str(device),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["precision"] = "bf16 autocast" if torch.cuda.is_bf16_supported() else "fp32"
    else:
        info["precision"] = "fp32"
    return info


def ratio(a: SetupResult, b: SetupResult) -> dict[str, float]:
    return {
        "examples_per_s": a.examples_per_s / b.examples_per_s,
        "real_tokens_per_s": a.real_tokens_per_s / b.real_tokens_per_s,
    }


def print_table(results: Sequence[SetupResult]) -> None:
    header = (
        f"{'set-up':<15}{'steps':>6}{'examples':>10}{'real tok':>10}{'padded tok':>12}{'pad %':>7}"
        f"{'seconds':>9}{'examples/s':>12}{'real tok/s':>12}{'padded tok/s':>14}{'cpu share':>11}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.name:<15}{r.steps:>6}{r.examples:>10}{r.real_tokens:>10}{r.padded_tokens:>12}"
            f"{100 * r.padding_share:>7.1f}{r.seconds:>9.1f}{r.examples_per_s:>12.2f}"
            f"{r.real_tokens_per_s:>12.1f}{r.padded_tokens_per_s:>14.1f}{r.cpu_share:>11.2f}"
        )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=40, help="timed optimiser steps per set-up")
    parser.add_argument("--warmup-steps", type=int, default=3, help="un-timed steps before them (at least 1)")
    parser.add_argument("--examples", type=int, default=2490, help="use the first N XNLI dev-en examples")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=2e-5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--model", default="bundled:me5-small")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)), help="torch threads")
    parser.add_argument("--setups", default=",".join(SETUPS), help=f"comma-separated: {', '.join(SETUPS)}")
    parser.add_argument("--repeats", type=int, default=1, help="runs per set-up; fastest shown")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="afterwards, profile xstilts and trainer-best: where a step's time goes",
    )
    parser.add_argument("--json-out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    args.setups = [s.strip() for s in args.setups.split(",") if s.strip()]
    unknown = sorted(set(args.setups) - set(SETUPS))
    if unknown:
        parser.error(f"unknown set-up(s) {', '.join(unknown)}; choose from {', '.join(SETUPS)}")
    if min(args.warmup_steps, args.steps, args.examples, args.repeats) < 1:
        parser.error("--warmup-steps, --steps, --examples and --repeats must be at least 1")
    if not (args.data_dir / "xtreme" / "xnli" / "dev-en.tsv").is_file():
        parser.error(f"XNLI dev English not found under {args.data_dir} (xtreme/xnli/dev-en.tsv)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    transformers.logging.set_verbosity_error()
    logging.getLogger("accelerate").setLevel(logging.ERROR)
    torch.set_num_threads(args.threads)
    device = pick_device("auto")
    machine = machine_info(device, args.threads)
    print(f"machine: {machine}", flush=True)

    loaded = load_model(args.model)
    data = prepare_data(args.data_dir, loaded.tokenizer, args.examples, args.max_length)
    seed_everything(args.seed)
    head = ClassificationHead(loaded.encoder.config.hidden_size, len(data.card.labels))
    base = EncoderWithHead(loaded.encoder, head, ClassificationFormat().loss)
    print(
        f"data: {len(data.features)} XNLI dev-en examples; "
        f"{args.warmup_steps} + {args.steps} steps per set-up",
        flush=True,
    )

    runs: list[SetupResult] = []
    for repeat in range(args.repeats):
        shift = repeat % len(args.setups)
        for name in args.setups[shift:] + args.setups[:shift]:
            result = run_setup(name, base, data, loaded.tokenizer, args, device)
            print(
                f"[{repeat + 1}/{args.repeats}] {name}: {result.examples_per_s:.2f} examples/s, "
                f"{result.real_tokens_per_s:.1f} real tokens/s ({result.seconds:.1f} s timed, "
                f"{result.run_seconds:.1f} s in all, cpu share {result.cpu_share:.2f})",
                flush=True,
            )
            runs.append(result)
            gc.collect()
    by_name = {
        name: max((r for r in runs if r.name == name), key=lambda r: r.examples_per_s) for name in args.setups
    }
    print()
    print_table(list(by_name.values()))

    ratios = {}
    for other in ("trainer-pad128", "trainer-best"):
        if "xstilts" in by_name and other in by_name:
            ratios[f"xstilts/{other}"] = ratio(by_name["xstilts"], by_name[other])
            print(
                f"xstilts / {other}: {ratios[f'xstilts/{other}']['examples_per_s']:.2f}x examples/s, "
                f"{ratios[f'xstilts/{other}']['real_tokens_per_s']:.2f}x real tokens/s"
            )

    profile = {}
    if args.profile:
        for name in ("xstilts", "trainer-best"):
            profile[name] = profile_setup(name, base, data, loaded.tokenizer, args, device)
            gc.collect()
        print("\nseconds per optimiser step (cProfile, whole run incl. warm-up; profiling adds overhead)")
        print(f"  {'':<22}" + "".join(f"{name:>14}" for name in profile))
        for bucket in profile["xstilts"]:
            print(f"  {bucket:<22}" + "".join(f"{values[bucket]:>14.3f}" for values in profile.values()))

    report = {
        "command": shlex.join([sys.executable, *sys.argv]),
        "machine": machine,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "xstilts": xstilts.__version__,
        },
        "settings": {
            k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k != "json_out"
        },
        "model": args.model,
        "data": f"XNLI dev English, first {len(data.features)} examples",
        "results": [asdict(r) for r in by_name.values()],
        "all_runs": [asdict(r) for r in runs],
        "ratios": ratios,
        "profile": profile,
    }
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwrote {args.json_out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
