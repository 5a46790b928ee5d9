"""Wall time of `xstilts plan STUDY --out DIR` with the data files' hash cache cold and warm.

    .venv/bin/python bench/plan_startup.py [--study studies/paper-xtreme.yaml] [--data-dir DIR] [--runs 3]

Run ids hash the content of every data file a run reads (README, "Run reuse and the data"); the
hashes are cached in `<cache dir>/file-hashes.json`. Cold: a fresh cache directory, so every file
present is read and hashed once. Warm: the same cache again, so a file costs a stat. Each figure is
a whole fresh process (`python -m xstilts.cli plan ...`), as a user starts it; the load average
before each series is printed beside it, since on a shared machine it decides the figure. Run it
alone and record the figures in docs/benchmarks.md with what else was running.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_plan(study: Path, data_dir: Path | None, cache: Path, out: Path) -> float:
    command = [sys.executable, "-m", "xstilts.cli", "plan", str(study), "--out", str(out)]
    if data_dir is not None:
        command += ["--data-dir", str(data_dir)]
    env = {**os.environ, "XSTILTS_CACHE": str(cache), "PYTHONPATH": str(ROOT / "src")}
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", type=Path, default=ROOT / "studies" / "paper-xtreme.yaml")
    parser.add_argument("--data-dir", type=Path, help="default: the study's own data_dir")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        cache, out = Path(tmp) / "cache", Path(tmp) / "out"
        cold, warm = [], []
        load_cold = os.getloadavg()[0]
        for _ in range(args.runs):
            shutil.rmtree(cache, ignore_errors=True)
            cold.append(one_plan(args.study, args.data_dir, cache, out))
        load_warm = os.getloadavg()[0]
        for _ in range(args.runs):
            warm.append(one_plan(args.study, args.data_dir, cache, out))
        hash_cache = cache / "file-hashes.json"  # not written when no data file is present
        hashed = len(json.loads(hash_cache.read_text())["files"]) if hash_cache.is_file() else 0

    def series(times: list[float]) -> str:
        return " / ".join(f"{t:.2f}" for t in sorted(times))

    where = args.data_dir or "the study's data_dir"
    print(f"plan {args.study.name} (data: {where}; {hashed} files hashed; {os.cpu_count()} cores)")
    print(f"  cold hash cache: {series(cold)} s  (load average before: {load_cold:.2f})")
    print(f"  warm hash cache: {series(warm)} s  (load average before: {load_warm:.2f})")


if __name__ == "__main__":
    main()
