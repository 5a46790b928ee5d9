"""Run a study: arms x targets x seeds, every phase run at most once, every number kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xstilts.pipeline.phases import PhaseModel, evaluate_retrieval, evaluate_target, pretrained, train_phase
from xstilts.pipeline.results import write_results
from xstilts.pipeline.runs import write_json
from xstilts.pipeline.study import Study
from xstilts.pipeline.workspace import Workspace
from xstilts.tasks.registry import TaskRegistry


def _rows(scores: dict[str, dict[str, float]], **fields: Any) -> list[dict[str, Any]]:
    return [
        {**fields, "language": lang, "metric": metric, "value": value}
        for lang, metrics in scores.items()
        for metric, value in metrics.items()
    ]


def run_study(
    study: Study, registry: TaskRegistry, out_dir: Path, cache_dir: Path | None = None, progress: bool = True
) -> list[dict[str, Any]]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / "study.json", study.model_dump(mode="json"))
    ws = Workspace(out_dir, registry, study.features, cache_dir, study.device, progress)
    rows: list[dict[str, Any]] = []

    def retrieval_after(phase_name: str, phase: PhaseModel, arm: str, seed: int | None) -> None:
        for spec in study.retrieval:
            if phase_name in spec.after:
                scores = evaluate_retrieval(ws, phase, spec)
                rows.extend(
                    _rows(
                        scores,
                        arm=arm,
                        seed=seed,
                        phase=phase_name,
                        run=phase.run.id,
                        task=spec.task,
                        split=spec.split,
                    )
                )

    base = pretrained(ws, study.model)
    retrieval_after("pretrained", base, "pretrained", None)
    base.release()
    for seed in study.seeds:
        for arm in study.arms:
            parent = base
            if arm.intermediate:
                parent = train_phase(
                    ws, "intermediate", base, arm.intermediate, None, study.intermediate_config(arm), seed
                )
                retrieval_after("intermediate", parent, arm.name, seed)
            parent.release()
            for target in study.targets:
                dev = target.dev.of(target.task) if target.dev else None
                phase = train_phase(
                    ws,
                    "target",
                    parent,
                    [target.train.of(target.task)],
                    dev,
                    study.target_config(target),
                    seed,
                )
                rows.extend(
                    _rows(
                        evaluate_target(ws, phase, target),
                        arm=arm.name,
                        seed=seed,
                        phase="target",
                        run=phase.run.id,
                        task=target.task,
                        split=target.evaluate.split,
                    )
                )
                retrieval_after("target", phase, arm.name, seed)
                phase.release()
    for row in rows:
        row["study"] = study.name
    write_results(out_dir, study, rows)
    return rows
