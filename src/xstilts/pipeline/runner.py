"""Run a study: arms x targets x seeds, every phase run at most once, every number kept.

The unit of work is one arm under one seed: its intermediate run (if any), then each target run
on top of it. Units are independent, so an executor may run them one after another here
(`local`) or spread them over a Ray cluster (`ray`, see executors.py: there only this process
writes the results store, as each unit's rows come back); runs that units share
(the same intermediate or target run reached twice) are trained once, the others wait on the
run's lock and reuse it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xstilts.pipeline.phases import PhaseModel, evaluate_retrieval, evaluate_target, pretrained, train_phase
from xstilts.pipeline.results import write_results
from xstilts.pipeline.runs import write_json
from xstilts.pipeline.study import Arm, Study
from xstilts.pipeline.workspace import Workspace
from xstilts.results.store import STORE_NAME, ResultsStore
from xstilts.tasks.registry import TaskRegistry


def _rows(scores: dict[str, dict[str, float]], **fields: Any) -> list[dict[str, Any]]:
    return [
        {**fields, "language": lang, "metric": metric, "value": value}
        for lang, metrics in scores.items()
        for metric, value in metrics.items()
    ]


class Recorder:
    """Rows of one process, written to the store as each evaluation finishes (one transaction):
    a killed study keeps every number it finished."""

    def __init__(self, study: Study, registry: TaskRegistry, store: ResultsStore | None) -> None:
        self.study, self.registry, self.store = study, registry, store
        self.rows: list[dict[str, Any]] = []

    def keep(self, new: list[dict[str, Any]]) -> None:
        new = [{**row, "study": self.study.name} for row in new]
        self.record(new)
        self.rows.extend(new)

    def record(self, rows: list[dict[str, Any]]) -> None:
        """Into the store, if this process keeps one (Ray workers leave it to the driver)."""
        if self.store is not None:
            versioned = [{**row, "task_version": self.registry.card(row["task"]).version} for row in rows]
            self.store.record(versioned)

    def retrieval_after(
        self, ws: Workspace, phase_name: str, phase: PhaseModel, arm: str, seed: int | None
    ) -> None:
        for spec in self.study.retrieval:
            if phase_name in spec.after:
                scores = evaluate_retrieval(ws, phase, spec)
                fields = {"arm": arm, "seed": seed, "phase": phase_name, "run": phase.run.id}
                file = str(scores.examples_file)  # the store points the report at the per-query scores
                self.keep(_rows(scores, **fields, task=spec.task, split=spec.split, examples_file=file))


def run_arm(ws: Workspace, recorder: Recorder, seed: int, arm: Arm) -> None:
    """One arm under one seed: intermediate phase, then every target phase and its evaluations."""
    study = recorder.study
    base = pretrained(ws, study.model)
    parent = base
    if arm.intermediate:
        config = study.intermediate_config(arm)
        parent = train_phase(ws, "intermediate", base, arm.intermediate, None, config, seed)
        recorder.retrieval_after(ws, "intermediate", parent, arm.name, seed)
    parent.release()
    for target in study.targets:
        dev = target.dev.of(target.task) if target.dev else None
        selection = target.train.of(target.task)
        phase = train_phase(ws, "target", parent, [selection], dev, study.target_config(target), seed)
        fields = {"arm": arm.name, "seed": seed, "phase": "target", "run": phase.run.id}
        scores = evaluate_target(ws, phase, target)
        file = str(scores.examples_file)  # the store points the report at the per-example scores
        recorder.keep(
            _rows(scores, **fields, task=target.task, split=target.evaluate.split, examples_file=file)
        )
        recorder.retrieval_after(ws, "target", phase, arm.name, seed)
        phase.release()


def run_study(
    study: Study,
    registry: TaskRegistry,
    out_dir: Path,
    cache_dir: Path | None = None,
    progress: bool = True,
    executor: str = "local",
    address: str | None = None,
) -> list[dict[str, Any]]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / "study.json", study.model_dump(mode="json"))
    ws = Workspace(out_dir, registry, study.features, cache_dir, study.device, progress, study.checkpoint)
    recorder = Recorder(study, registry, ResultsStore(out_dir / STORE_NAME))

    base = pretrained(ws, study.model)
    recorder.retrieval_after(ws, "pretrained", base, "pretrained", None)
    base.release()
    units = [(seed, arm) for seed in study.seeds for arm in study.arms]
    if executor == "ray":
        from xstilts.pipeline.executors import run_on_ray

        rows = recorder.rows + run_on_ray(study, out_dir, cache_dir, units, address, recorder)
    else:
        for seed, arm in units:
            run_arm(ws, recorder, seed, arm)
        rows = recorder.rows
    write_results(out_dir, study, rows)
    return rows
