"""Executing steps of a plan in this process, one after another."""

from __future__ import annotations

from collections.abc import Sequence

from xstilts.engine.evaluation import evaluate
from xstilts.engine.recorder import Recorder, step_rows
from xstilts.engine.training import ensure_run
from xstilts.engine.workspace import Workspace
from xstilts.plan.graph import Step


def execute_unit(ws: Workspace, recorder: Recorder, steps: Sequence[Step]) -> None:
    """Each step: its run (reused, or trained now), then its evaluations, each recorded at once."""
    for step in steps:
        model = ensure_run(ws, step.node)
        for evaluation in step.evaluations:
            recorder.keep(step_rows(step, evaluation, evaluate(ws, model, evaluation)))
        model.release()  # the next step loads what it needs from disk
