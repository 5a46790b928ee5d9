"""Two studies at once on one machine: seconds per run and per training step, alone and side by side,
before and after each process takes its share of the cores (`xstilts run --threads`).

    .venv/bin/python bench/concurrent_runs.py                 # studies/smoke.yaml, every case
    .venv/bin/python bench/concurrent_runs.py --quick         # a cut-down smoke study (1 seed, 2 arms)
    .venv/bin/python bench/concurrent_runs.py --cases alone before after

Each process is `xstilts run STUDY --out <its own directory> --cache-dir <one shared cache>` in a
fresh interpreter. The cache (the model and the tokenised features) is shared and warmed by one
untimed run first, so that every case times training and evaluation, not tokenising, and two
processes never tokenise the same file at once. The cases:

    alone          one process, torch's defaults (a thread per core)
    before         --processes side by side, torch's defaults: what issue 12 saw (four processes on
                   2 cores: 15-45 s a step instead of about 1.5 s)
    passive        side by side, defaults but OMP_WAIT_POLICY=PASSIVE (OpenMP threads sleep at once
                   instead of spinning while they wait for work)
    after          side by side, each with --threads cores/processes
    after-passive  both

Per case: wall seconds of each run (start to exit) and training seconds per optimizer step (summed
over the run's phase runs, from their metrics.json). Nothing else may run on the machine meanwhile:
the script prints the load average before it starts and says when the figures are not clean. The
environment's thread variables (OMP_NUM_THREADS, ...) are removed from every process, so that the
defaults are torch's. Record the figures in docs/benchmarks.md with the machine and what else ran.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RAYON_NUM_THREADS")
CASES = ("alone", "before", "passive", "after", "after-passive")


@dataclass(frozen=True)
class Finished:
    wall: float
    train_seconds: float
    steps: int


def quick_study(source: Path, data_dir: Path, into: Path) -> Path:
    """The smoke study cut down to one seed, the baseline and one intermediate arm, one target and no
    retrieval: a quick check that the script works, not a figure to record."""
    study = yaml.safe_load(source.read_text(encoding="utf-8"))
    study.update(seeds=[1], data_dir=str(data_dir.resolve()), retrieval=[])
    study["arms"] = study["arms"][:2]
    study["targets"] = study["targets"][:1]
    path = into / "quick.yaml"
    path.write_text(yaml.safe_dump(study), encoding="utf-8")
    return path


def _command(study: Path, out: Path, cache: Path, data_dir: Path, threads: int | None) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "xstilts.cli",
        "run",
        str(study),
        "--out",
        str(out),
        "--cache-dir",
        str(cache),
    ]
    argv += ["--data-dir", str(data_dir), "--quiet"]
    return argv + (["--threads", str(threads)] if threads else [])


def _environment(passive: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES and k != "OMP_WAIT_POLICY"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    if passive:
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    return env


def _training(out: Path) -> tuple[float, int]:
    seconds, steps = 0.0, 0
    for metrics in out.glob("runs/*/metrics.json"):
        found = json.loads(metrics.read_text(encoding="utf-8"))
        seconds += float(found.get("seconds", 0.0))
        steps += int(found.get("steps", 0))
    return seconds, steps


def run_side_by_side(
    study: Path, outs: list[Path], cache: Path, data_dir: Path, threads: int | None, passive: bool
) -> list[Finished]:
    """Start one `xstilts run` per output directory at once; wait for all."""
    env = _environment(passive)
    started = time.perf_counter()
    processes = [
        subprocess.Popen(_command(study, out, cache, data_dir, threads), env=env, stdout=subprocess.DEVNULL)
        for out in outs
    ]
    walls = []
    for process in processes:
        if process.wait() != 0:
            raise SystemExit(f"xstilts run exited with {process.returncode}")
        walls.append(time.perf_counter() - started)
    return [Finished(wall, *_training(out)) for wall, out in zip(walls, outs, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", type=Path, default=ROOT / "studies" / "smoke.yaml")
    parser.add_argument("--quick", action="store_true", help="a cut-down smoke study: proves the script")
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--processes", type=int, default=2, help="runs side by side (default 2)")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    args = parser.parse_args()

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    share = max(1, cores // args.processes)
    load = os.getloadavg()[0]
    print(f"machine: {cores} cores, load average {load:.2f} at the start; {args.processes} runs side by side")
    print("nothing else should run meanwhile: figures taken on a busy machine are not worth recording")
    with tempfile.TemporaryDirectory(prefix="xstilts-concurrent-") as tmp_name:
        tmp = Path(tmp_name)
        study = quick_study(args.study, args.data_dir, tmp) if args.quick else args.study
        cache = tmp / "cache"
        print(f"study: {args.study.name}{' (quick cut)' if args.quick else ''}; shared cache {cache}")
        warm = time.perf_counter()
        run_side_by_side(study, [tmp / "warm-up"], cache, args.data_dir, None, False)
        print(f"warm-up (cache filled, not timed as a case): {time.perf_counter() - warm:.1f} s\n")
        header = ("case", "runs", "threads", "wall s/run", "train s/step", "steps/run")
        print("{:<14} {:>4} {:>7} {:>18} {:>13} {:>9}".format(*header))
        for case in args.cases:
            count = 1 if case == "alone" else args.processes
            threads = share if case.startswith("after") else None
            passive = case.endswith("passive")
            outs = [tmp / f"{case}-{i}" for i in range(count)]
            finished = run_side_by_side(study, outs, cache, args.data_dir, threads, passive)
            walls = [f.wall for f in finished]
            per_step = statistics.fmean(f.train_seconds / f.steps for f in finished if f.steps)
            wall = f"{statistics.fmean(walls):.1f}" + (f" (max {max(walls):.1f})" if count > 1 else "")
            label = str(threads) if threads else "default"
            print(f"{case:<14} {count:>4} {label:>7} {wall:>18} {per_step:>13.3f} {finished[0].steps:>9}")
    after = os.getloadavg()[0]
    print(f"\nload average {after:.2f} at the end", end="")
    print(
        "" if load < 0.5 else f": the machine was busy at the start ({load:.2f}), these figures are not clean"
    )


if __name__ == "__main__":
    main()
