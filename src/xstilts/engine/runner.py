"""Run a study: plan it, then execute the plan's steps, every phase run at most once, every number kept.

The plan's units (the pretrained model's scores, then one unit per arm and seed) run one after
another here (`local`) or over a Ray cluster (`ray`, see ray.py: there only this process writes
the results store, as each unit's rows come back). Runs that units share are trained once; the
others wait on the run's lock and reuse it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xstilts.config.registry import TaskRegistry
from xstilts.config.study import Study
from xstilts.engine.local import execute_unit
from xstilts.engine.recorder import Recorder
from xstilts.engine.workspace import Workspace
from xstilts.files import write_json
from xstilts.plan.graph import Plan, build_plan
from xstilts.plan.retention import check_plan
from xstilts.results.store import STORE_NAME, ResultsStore
from xstilts.results.tables import write_results


def run_study(
    study: Study,
    registry: TaskRegistry,
    out_dir: Path,
    cache_dir: Path | None = None,
    progress: bool = True,
    executor: str = "local",
    address: str | None = None,
) -> list[dict[str, Any]]:
    """Plan the study in `out_dir` and execute the plan; the rows of every evaluation, in order."""
    return run_plan(build_plan(study, registry, out_dir), registry, cache_dir, progress, executor, address)


def run_plan(
    plan: Plan,
    registry: TaskRegistry,
    cache_dir: Path | None = None,
    progress: bool = True,
    executor: str = "local",
    address: str | None = None,
) -> list[dict[str, Any]]:
    study, out_dir = plan.study, plan.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / "study.json", study.model_dump(mode="json"))
    check_plan(plan)  # weights deleted by checkpoint retention: finish, or refuse work that needs them
    ws = Workspace(
        out_dir, registry, cache_dir, study.device, progress, study.checkpoint, study.checkpoints.keep
    )
    recorder = Recorder(study.name, ResultsStore(out_dir / STORE_NAME))
    first, *units = plan.units()
    execute_unit(ws, recorder, first)  # the pretrained model: every unit starts from it
    if executor == "ray":
        from xstilts.engine.ray import run_on_ray

        rows = recorder.rows + run_on_ray(plan, registry, cache_dir, units, address, recorder)
    else:
        for unit in units:
            execute_unit(ws, recorder, unit)
        rows = recorder.rows
    write_results(out_dir, study, rows)
    return rows
