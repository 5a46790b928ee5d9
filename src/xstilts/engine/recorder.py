"""Result rows: one per (evaluation, language, metric), recorded as each evaluation finishes."""

from __future__ import annotations

from typing import Any

from xstilts.engine.evaluation import EvalScores
from xstilts.plan.graph import Evaluation, Step
from xstilts.results.store import ResultsStore


def step_rows(step: Step, evaluation: Evaluation, scores: EvalScores) -> list[dict[str, Any]]:
    """The rows of one evaluation of a step's run, for the step's arm and seed. Each names the file
    of per-example scores behind it, so the store points the report at them."""
    fields = {
        "arm": step.arm,
        "seed": step.seed,
        "phase": step.node.phase,
        "run": step.node.id,
        "task": evaluation.task,
        "task_version": evaluation.card.version,
        "split": evaluation.split,
        "examples_file": str(scores.examples_file),
    }
    return [
        {**fields, "language": lang, "metric": metric, "value": value}
        for lang, metrics in scores.items()
        for metric, value in metrics.items()
    ]


class Recorder:
    """Rows of one process, written to the store as each evaluation finishes (one transaction): a
    killed study keeps every number it finished. A Ray worker keeps rows without a store; the
    driver records them."""

    def __init__(self, study: str, store: ResultsStore | None) -> None:
        self.study, self.store = study, store
        self.rows: list[dict[str, Any]] = []

    def keep(self, new: list[dict[str, Any]]) -> None:
        new = [{"study": self.study, **row} for row in new]
        self.record(new)
        self.rows.extend(new)

    def record(self, rows: list[dict[str, Any]]) -> None:
        if self.store is not None:
            self.store.record(rows)
