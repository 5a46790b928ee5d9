"""Wall time of `studies/smoke.yaml` (17 phase runs on the tiny random model) from a cold output
directory, with the model and feature caches warm or cold.

    .venv/bin/python bench/smoke_study.py [--cold-cache]

The suite checks what the study produces (tests/test_example_studies.py); how long it takes is
measured here, where a busy machine only makes a figure worse instead of failing a test. Run it
alone: a second training process on 2 cores slows both far more than 2x. The figure is recorded in
docs/benchmarks.md with what else was running.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold-cache", action="store_true", help="a fresh model and feature cache too")
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()

    from xstilts.config.model_source import default_cache_dir
    from xstilts.config.study import load_study
    from xstilts.engine.runner import run_study

    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache" if args.cold_cache else default_cache_dir()
        study, registry = load_study(ROOT / "studies" / "smoke.yaml", args.data_dir)
        started = time.perf_counter()
        rows = run_study(study, registry, Path(tmp) / "out", cache, progress=False)
        seconds = time.perf_counter() - started
    print(
        f"smoke study: {len(rows)} numbers, {seconds:.1f} s wall "
        f"({'cold' if args.cold_cache else 'warm'} cache, {os.cpu_count()} cores, torch threads "
        f"{__import__('torch').get_num_threads()})"
    )


if __name__ == "__main__":
    main()
