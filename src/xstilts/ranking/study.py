"""`xstilts rank`: every requested method on a study's plan, with what each cost next to what training
every arm costs, written to `OUT/rankings.json` (file.py)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path

from xstilts.config.registry import TaskRegistry
from xstilts.config.study import Study
from xstilts.engine.workspace import Workspace
from xstilts.errors import ConfigError
from xstilts.files import read_json
from xstilts.plan.graph import PhaseNode, build_plan
from xstilts.ranking.candidates import Candidates, candidates
from xstilts.ranking.file import METHODS, ArmsCost, Rankings, read_rankings, write_rankings
from xstilts.ranking.methods import Ranker, recorded_seconds


def parse_methods(text: str) -> list[str]:
    chosen = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in METHODS]
    if unknown or not chosen:
        raise ConfigError(
            "--methods", f"unknown method {', '.join(unknown) or '(none)'} (known: {', '.join(METHODS)})"
        )
    return list(dict.fromkeys(chosen))


def _seconds_per_example(nodes: Sequence[PhaseNode]) -> float | None:
    """The median training seconds per example seen over the finished runs among `nodes`."""
    rates = []
    for node in nodes:
        seconds = recorded_seconds(node)
        if seconds is None:
            continue
        seen = read_json(node.run.path / "metrics.json").get("examples_seen")
        if isinstance(seen, int) and seen > 0:
            rates.append(seconds / seen)
    return statistics.median(rates) if rates else None


def arms_cost(found: Candidates) -> ArmsCost:
    """Training every arm: each intermediate and target run's recorded training seconds, or, for a run
    not trained yet, its planned training examples x the median seconds per example of the runs that
    are (those it cannot estimate count 0, and `source` says so)."""
    nodes = [node for node in found.plan.nodes if node.phase in ("intermediate", "target")]
    rate = _seconds_per_example(nodes)
    total, estimated, unknown = 0.0, 0, 0
    for node in nodes:
        seconds = recorded_seconds(node)
        if seconds is None:
            if rate is None or node.train_cost is None:
                unknown += 1
                continue
            seconds, estimated = node.train_cost * rate, estimated + 1
        total += seconds
    recorded = len(nodes) - estimated - unknown
    parts = [f"{recorded} recorded"] if recorded else []
    if estimated:
        parts.append(f"{estimated} estimated (planned examples x median recorded seconds per example)")
    if unknown:
        parts.append(f"{unknown} unknown (no run trained yet to measure a rate)")
    return ArmsCost(total, "; ".join(parts), len(nodes), estimated)


def rank_study(
    study: Study,
    registry: TaskRegistry,
    out_dir: Path,
    methods: Sequence[str],
    cache_dir: Path | None = None,
    progress: bool = True,
    examples: int = 500,
    fraction: float = 0.1,
) -> Rankings:
    """Rank the study's intermediate arms for each target by each method; `OUT/rankings.json` keeps the
    result (methods run before and not asked for now are kept)."""
    if not 0 < fraction <= 1:
        raise ConfigError("--fraction", f"must be in (0, 1], not {fraction}")
    if examples < 2:
        raise ConfigError("--examples", f"must be at least 2, not {examples}")
    found = candidates(build_plan(study, registry, out_dir, cache_dir))
    if len(found.arms) < 2:
        raise ConfigError(f"study {study.name}", "rank needs at least two arms with an intermediate phase")
    if not found.cases:
        raise ConfigError(f"study {study.name}", "rank needs a target task")
    ws = Workspace(
        out_dir, registry, cache_dir, study.device, progress, study.checkpoint, keep=study.checkpoints.keep
    )
    ranker = Ranker(ws, found, examples=examples, fraction=fraction)
    earlier = read_rankings(out_dir)
    kept = earlier.methods if earlier is not None and earlier.study == study.name else {}
    ranked = {}
    for method in methods:
        ws.note(f"rank: {method}")
        ranked[method] = ranker.run(method)
    merged = {**{k: v for k, v in kept.items() if k not in ranked}, **ranked}
    rankings = Rankings(
        study.name, study.model, arms_cost(found), {m: merged[m] for m in METHODS if m in merged}
    )
    write_rankings(out_dir, rankings)
    return rankings
