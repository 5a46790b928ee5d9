"""xstilts rank STUDY --out DIR: rank the study's intermediate arms for each target before training them
all, by each method, with each method's cost next to training every arm; scored against the measured
gains where the study's target runs are in DIR's store."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict
from pathlib import Path

from xstilts.cli.options import common
from xstilts.ranking.file import Rankings
from xstilts.report.model import Delta, TaskSelection

DEFAULT_METHODS = "semb,overlap,logme,proxy"


def measured(out: Path, rankings: Rankings, study: object, resamples: int, seed: int) -> TaskSelection | None:
    """The rankings against the gains in OUT's store (None without a store or target runs)."""
    from xstilts.report.compare import Comparer
    from xstilts.report.evidence import ExampleSource
    from xstilts.report.sections import slug
    from xstilts.report.selection import task_selection
    from xstilts.report.study_file import card_formats, resolve_baseline
    from xstilts.results.store import STORE_NAME, ResultsStore
    from xstilts.results.tables import current_rows

    if not (out / STORE_NAME).is_file():
        return None
    store = ResultsStore(out / STORE_NAME, create=False)
    rows, _ = current_rows(store.rows(study=rankings.study))
    arms = list(dict.fromkeys(r["arm"] for r in rows))
    baseline = resolve_baseline(study, arms, None)  # type: ignore[arg-type]
    comparer = Comparer(ExampleSource(store, rankings.study), resamples, 0.95, seed)
    formats = card_formats(study)  # type: ignore[arg-type]
    return task_selection(rankings, rows, baseline, arms, formats, comparer, slug(rankings.study))


def _interval(low: float | None, high: float | None, digits: int) -> str:
    return "" if low is None or high is None else f" [{low:.{digits}f}, {high:.{digits}f}]"


_SHOWN = (
    ("spearman", "rho", 2),
    ("ndcg@3", "NDCG@3", 2),
    ("regret@1", "regret@1", 1),
    ("regret@3", "regret@3", 1),
)


def _measure(value: Delta, digits: int) -> str:
    if math.isnan(value.estimate):
        return "-"
    return f"{value.estimate:.{digits}f}{_interval(value.low, value.high, digits)}"


def describe(rankings: Rankings, selection: TaskSelection | None) -> str:
    cost = rankings.arms_cost
    lines = [f"training every arm: {cost.seconds:,.1f} s over {cost.runs} runs ({cost.source})"]
    truths = {t.key: t for t in selection.targets} if selection else {}
    keys = list(dict.fromkeys(k for m in rankings.methods.values() for k in m.targets))
    for key in keys:
        title = next(m.targets[key].title for m in rankings.methods.values() if key in m.targets)
        truth = truths.get(key)
        lines.append(f"\ntarget {title}")
        if truth is not None:
            order = sorted(truth.gains, key=lambda a: -truth.gains[a].estimate)
            gains = ", ".join(f"{a} {truth.gains[a].estimate:+.1f}" for a in order)
            lines.append(f"  measured gain over {truth.baseline} (points): {gains}")
        quality = {m.method: m for m in truth.methods} if truth else {}
        for name, method in rankings.methods.items():
            if key not in method.targets:
                continue
            scores = method.targets[key].scores
            share = rankings.share(name)
            full = rankings.share(name, with_prerequisites=True)
            spent = f"{method.seconds:,.1f} s" + (
                f" ({100 * share:.1f}% of training every arm" if share else ""
            )
            if share and method.prerequisite_seconds:
                spent += f"; {100 * full:.1f}% with the intermediate runs it needs" if full else ""
            spent += ")" if share else ""
            ranked = " > ".join(f"{a} {scores[a]:.4g}" for a in sorted(scores, key=lambda a: -scores[a]))
            lines.append(f"  {name:8} {spent}")
            lines.append(f"           {ranked}")
            found = quality.get(name)
            if found is not None:
                parts = [f"{label} {_measure(found.quality[m], digits)}" for m, label, digits in _SHOWN]
                lines.append("           " + "; ".join(parts) + " (regret in points)")
    return "\n".join(lines)


def command(args: argparse.Namespace) -> None:
    from xstilts.config.study import load_study
    from xstilts.ranking.study import parse_methods, rank_study

    methods = parse_methods(args.methods)
    study, registry = load_study(args.study, args.data_dir)
    rankings = rank_study(
        study, registry, args.out, methods, args.cache_dir, not args.quiet, args.examples, args.fraction
    )
    selection = measured(args.out, rankings, study, args.resamples, args.seed)
    if args.json:
        payload = {"rankings": asdict(rankings), "measured": asdict(selection) if selection else None}
        print(json.dumps(payload, indent=2, sort_keys=True, default=str))
        return
    print(describe(rankings, selection))
    print(f"\nrankings in {args.out / 'rankings.json'}")


def add_parser(sub: argparse._SubParsersAction) -> None:
    rank = sub.add_parser(
        "rank", help="rank a study's intermediate arms for each target before training them"
    )
    rank.add_argument("study", type=Path)
    rank.add_argument(
        "--out", type=Path, required=True, help="the study's output directory (runs are shared)"
    )
    rank.add_argument(
        "--methods", default=DEFAULT_METHODS, help=f"comma-separated, of {DEFAULT_METHODS} (default: all)"
    )
    rank.add_argument("--json", action="store_true", help="the rankings (and their scores) as JSON")
    rank.add_argument(
        "--examples", type=int, default=500, help="examples per data set that semb, overlap and logme read"
    )
    rank.add_argument(
        "--fraction", type=float, default=0.1, help="proxy: the share of the target run's steps (default 0.1)"
    )
    rank.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples of the measured gains")
    rank.add_argument("--seed", type=int, default=0, help="seed of the bootstrap's random streams")
    common(rank)
    rank.set_defaults(func=command)
