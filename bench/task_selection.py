"""`studies/task-selection.yaml` end to end: the study's runs, every ranking method, and the table the
README's "Choosing intermediate tasks" section reports (each method's Spearman rho, regret@3 and cost
as a share of training every arm, per target, with 95% intervals).

    .venv/bin/python bench/task_selection.py [--out runs/task-selection]

Runs that exist in OUT are reused (run it again after an interruption). Costs are seconds on this
machine: run it alone, as a second training process on 2 cores slows both far more than 2x, and say
what else ran when the figures are recorded.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cell(estimate: float, low: float | None, high: float | None, digits: int) -> str:
    if math.isnan(estimate):
        return "-"
    text = f"{estimate:.{digits}f}"
    return text if low is None or high is None else f"{text} [{low:.{digits}f}, {high:.{digits}f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "task-selection")
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()

    from xstilts.cli.rank import measured
    from xstilts.config.model_source import default_cache_dir
    from xstilts.config.study import load_study
    from xstilts.engine.runner import run_study
    from xstilts.ranking.file import METHODS
    from xstilts.ranking.study import rank_study

    study, registry = load_study(ROOT / "studies" / "task-selection.yaml", args.data_dir)
    started = time.perf_counter()
    run_study(study, registry, args.out, default_cache_dir(), progress=False)
    ran = time.perf_counter() - started
    rankings = rank_study(study, registry, args.out, METHODS, default_cache_dir(), progress=False)
    ranked = time.perf_counter() - started - ran
    selection = measured(args.out, rankings, study, 2000, 0)
    print(f"study {ran:.0f} s, rank {ranked:.0f} s wall; arms: {rankings.arms_cost.seconds:.0f} s training")
    print(
        "| target | method | Spearman rho [95% CI] | regret@3, points [95% CI] | cost: own (with its runs) |"
    )
    print("|---|---|---|---|---|")
    for target in selection.targets if selection else []:
        for m in target.methods:
            rho, regret = m.quality["spearman"], m.quality["regret@3"]
            share = "-" if m.share is None else f"{100 * m.share:.1f}%"
            if m.share_with_prerequisites is not None and m.prerequisite_seconds:
                share += f" ({100 * m.share_with_prerequisites:.0f}%)"
            print(
                f"| {target.title} | {m.method} | {_cell(rho.estimate, rho.low, rho.high, 2)} | "
                f"{_cell(regret.estimate, regret.low, regret.high, 1)} | {share} |"
            )


if __name__ == "__main__":
    main()
