"""Executing steps of a plan in this process, one after another."""

from __future__ import annotations

from collections.abc import Sequence

from xstilts.engine.evaluation import evaluate
from xstilts.engine.recorder import Recorder, step_rows
from xstilts.engine.training import ensure_run
from xstilts.engine.workspace import Workspace
from xstilts.plan.graph import Step
from xstilts.plan.retention import release


def execute_unit(ws: Workspace, recorder: Recorder, steps: Sequence[Step]) -> None:
    """Each step: its run (reused, or trained now), then its evaluations, each recorded at once;
    then the weights the retention policy no longer needs are deleted."""
    for step in steps:
        model = ensure_run(ws, step.node)
        for evaluation in step.evaluations:
            recorder.keep(step_rows(step, evaluation, evaluate(ws, model, evaluation)))
        model.release()  # the next step loads what it needs from disk
        for node in release(steps, step, ws.keep):  # weights no later step needs (checkpoints: keep)
            ws.note(f"deleted the weights of {node.run.path.name} (checkpoints: keep {ws.keep})")
