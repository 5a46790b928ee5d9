"""The plan's budget against what runs measure: time, disk and peak memory per phase run.

    .venv/bin/python bench/estimate_check.py                       # bundled:me5-small and random:small
    .venv/bin/python bench/estimate_check.py --quick               # random:tiny, a few steps: does it work
    .venv/bin/python bench/estimate_check.py --max-steps 4         # disk and memory only (time is cut short)

For each model: `xstilts calibrate --device cpu` (in a fresh process), then a small study (an XNLI
intermediate phase, a PAWS-X target evaluated zero-shot in two languages, `checkpoints: keep all`)
is planned with the budget (`xstilts plan`'s code), and each of its phase runs is executed in a
process of its own, in plan order, measuring:
- time: wall seconds from the run's start (model load included) to its last evaluation stored, and
  the training loop's own seconds (its metrics.json);
- disk: the bytes of the run's directory;
- memory: peak resident memory of the process (getrusage's ru_maxrss) minus its resident memory
  just before the run starts (after imports): what the run itself added. On a GPU the estimate is
  what torch allocates; on a CPU the process holds the same tensors plus the data and tokenizer.
Each line prints estimate, measurement and their ratio. The issue's bounds: time within 30%, disk
within 10%, memory within 25%.

Time is only worth anything on an idle machine (a second process on 2 cores slows both far more
than 2x); disk and memory do not depend on load. The feature cache is warmed by a first pass of the
study in a scratch directory unless --cold, so the timed pass featurises nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def study_design(model: str, data_dir: Path, sizes: dict[str, int], max_steps: int | None) -> dict[str, Any]:
    training = {"learning_rate": 2e-5, "batch_size": 16, "epochs": 1, "patience": None, "precision": "fp32"}
    if max_steps is not None:
        training["max_steps"] = max_steps
    return {
        "name": f"estimate-check-{model.replace(':', '-')}",
        "model": model,
        "data_dir": str(data_dir),
        "device": "cpu",
        "seeds": [1],
        "checkpoints": {"keep": "all"},
        "features": {"max_length": 128},
        "intermediate_training": training,
        "target_training": training,
        "arms": [
            {
                "name": "nli",
                "intermediate": [
                    {"task": "xnli", "split": "dev", "languages": ["en"], "size": sizes["train"]}
                ],
            }
        ],
        "targets": [
            {
                "task": "pawsx",
                "train": {"split": "dev", "languages": ["en"], "size": sizes["train"]},
                "evaluate": {
                    "split": "dev",
                    "languages": ["de", "zh"],
                    "size": sizes["eval"],
                    "offset": 1000,
                },
            }
        ],
    }


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def one_run(study_path: Path, out: Path, cache: Path, run_id: str) -> None:
    """In a fresh process: execute one planned run's steps and print what it took, as JSON."""
    from xstilts.config.study import load_study
    from xstilts.engine.local import execute_unit
    from xstilts.engine.recorder import Recorder
    from xstilts.engine.workspace import Workspace
    from xstilts.plan.graph import build_plan

    study, registry = load_study(study_path)
    plan = build_plan(study, registry, out)
    steps = [s for s in plan.steps if s.node.id == run_id]
    ws = Workspace(out, registry, cache, study.device, False, study.checkpoint, study.checkpoints.keep)
    baseline = rss_bytes()
    started = time.perf_counter()
    execute_unit(ws, Recorder(study.name, None), steps)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux
    print(json.dumps({"seconds": seconds, "memory": peak - baseline, "baseline": baseline}))


def xstilts(args: list[str], cache: Path) -> str:
    env = {**os.environ, "XSTILTS_CACHE": str(cache), "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-m", "xstilts.cli", *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"xstilts {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def measured_run(study: Path, out: Path, cache: Path, run_id: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    args = [sys.executable, __file__, "--one-run", str(study), str(out), str(cache), run_id]
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"run {run_id} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def directory_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def ratio(estimate: float | None, measured: float) -> str:
    return "-" if estimate is None or not measured else f"{estimate / measured:.2f}"


def check(model: str, args: argparse.Namespace, tmp: Path) -> list[str]:
    import argparse as _argparse

    from xstilts.cli.plan import budget
    from xstilts.config.study import load_study
    from xstilts.files import read_json
    from xstilts.plan.graph import build_plan

    sizes = {"train": 32, "eval": 32} if args.quick else {"train": args.train_size, "eval": args.eval_size}
    max_steps = 2 if args.quick else args.max_steps
    study_path = tmp / f"{model.replace(':', '-')}.yaml"
    import yaml

    study_path.write_text(yaml.safe_dump(study_design(model, args.data_dir, sizes, max_steps)))
    calibrated = xstilts(
        ["calibrate", "--model", model, "--device", "cpu", "--precision", "fp32", "--steps", str(args.steps)],
        args.cache_dir,
    )
    lines = [f"## {model}", calibrated.strip()]
    if not args.cold:  # warm the feature cache: the timed pass below featurises nothing
        xstilts(["run", str(study_path), "--out", str(tmp / "warm"), "--quiet"], args.cache_dir)
    out = tmp / f"out-{model.replace(':', '-')}"
    study, registry = load_study(study_path)
    plan = build_plan(study, registry, out)
    namespace = _argparse.Namespace(cache_dir=args.cache_dir, device="cpu", tokens_per_second=None)
    found, note = budget(plan, registry, namespace)
    assert found is not None, note
    lines.append(f"hours from: {note}")
    header = "| run | what | estimate | measured | estimate / measured |"
    lines += [header, "|---|---|---:|---:|---:|"]
    for node in plan.nodes:
        if node.training is None and not node.evaluations:
            continue  # the pretrained model with nothing to score: no work
        estimate = found.runs[node.id]
        got = measured_run(study_path, out, args.cache_dir, node.id)
        disk = directory_bytes(node.run.path)
        name = f"{node.phase}-{node.id}"
        rows: list[tuple[str, float | None, float, str]] = [
            ("wall s", (estimate.device_hours or 0) * 3600, got["seconds"], "{:.1f}"),
            ("disk MB", estimate.written_bytes / 1e6, disk / 1e6, "{:.1f}"),
            ("peak memory MB", estimate.peak_memory_bytes / 1e6, got["memory"] / 1e6, "{:.0f}"),
        ]
        if node.phase != "pretrained":
            loop = read_json(node.run.path / "metrics.json")["seconds"]
            rows.insert(1, ("training loop s", (estimate.training_hours or 0) * 3600, loop, "{:.1f}"))
        for what, value, measured, fmt in rows:
            shown = "-" if value is None else fmt.format(value)
            lines.append(f"| {name} | {what} | {shown} | {fmt.format(measured)} | {ratio(value, measured)} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--one-run", nargs=4, metavar=("STUDY", "OUT", "CACHE", "RUN"), help=argparse.SUPPRESS
    )
    parser.add_argument("--model", action="append", help="default: bundled:me5-small and random:small")
    parser.add_argument("--quick", action="store_true", help="random:tiny, 2 steps: check the script works")
    parser.add_argument("--max-steps", type=int, help="cut training short (disk and memory only)")
    parser.add_argument("--train-size", type=int, default=512, help="training examples per phase")
    parser.add_argument("--eval-size", type=int, default=500, help="evaluated examples per language")
    parser.add_argument("--steps", type=int, default=5, help="calibration steps")
    parser.add_argument("--cold", action="store_true", help="do not warm the feature cache first")
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--cache-dir", type=Path, help="default: $XSTILTS_CACHE or ~/.cache/xstilts")
    args = parser.parse_args()
    if args.one_run:
        study, out, cache, run_id = args.one_run
        one_run(Path(study), Path(out), Path(cache), run_id)
        return
    from xstilts.config.model_source import default_cache_dir

    args.cache_dir = args.cache_dir or default_cache_dir()
    models = args.model or (["random:tiny"] if args.quick else ["bundled:me5-small", "random:small"])
    started = time.strftime("%Y-%m-%d %H:%M")
    print(f"estimate check, {started}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        for model in models:
            print("\n".join(check(model, args, Path(tmp))) + "\n", flush=True)
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (time figures mean nothing above ~0.5)")


if __name__ == "__main__":
    main()
