"""Run a study: plan it, then execute the plan's steps, every phase run at most once, every number kept.

The plan's units (the pretrained model's scores, then one unit per arm and seed) run one after
another here (`local`) or over a Ray cluster (`ray`, see ray.py: there only this process writes
the results store, as each unit's rows come back). Runs that units share are trained once; the
others wait on the run's lock and reuse it.

Before the first write, every input is checked (engine/preflight.py): bad input leaves the output
directory as it was.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from xstilts.config.model_source import default_cache_dir
from xstilts.config.registry import TaskRegistry
from xstilts.config.study import Study
from xstilts.engine.local import execute_unit
from xstilts.engine.preflight import CheckedReads, check_before_writing, check_folders
from xstilts.engine.recorder import Recorder
from xstilts.engine.workspace import Workspace
from xstilts.errors import XstiltsError
from xstilts.files import disk_full, disk_full_message, write_json
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
    """Plan the study in `out_dir`, check every input, and execute the plan; the rows of every
    evaluation, in order. The plan's counts read the data through `CheckedReads`, so the checks
    before the first write parse no file a second time."""
    check_folders(out_dir, cache_dir)  # before planning, which may read data for minutes
    reads = CheckedReads(registry)
    plan = build_plan(study, reads, out_dir, cache_dir)
    return run_plan(plan, registry, cache_dir, progress, executor, address, reads)


def run_plan(
    plan: Plan,
    registry: TaskRegistry,
    cache_dir: Path | None = None,
    progress: bool = True,
    executor: str = "local",
    address: str | None = None,
    reads: CheckedReads | None = None,
) -> list[dict[str, Any]]:
    """Check everything the plan reads (engine/preflight.py), then execute it. A full disk stops it
    with one line; what finished stays (runs are renamed into place whole, rows are recorded per
    evaluation), so the same command finishes the study once there is room."""
    check_before_writing(plan, reads or CheckedReads(registry), cache_dir)
    check_plan(plan)  # weights deleted by checkpoint retention: refuse work that needs them, then
    # finish any deletion a kill interrupted
    try:
        return _execute(plan, registry, cache_dir, progress, executor, address)
    except Exception as err:
        full = disk_full(err)
        if full is None:
            raise
        message = disk_full_message(full, [plan.out_dir, cache_dir or default_cache_dir()])
        # This process's staging folders (plan/run_dir.py, `RunDir.staging`): a run half-written
        # when the disk filled. Another process's are its own, and the next lock holder clears them.
        for staging in (plan.out_dir / "runs").glob(f".tmp-*-{os.getpid()}"):
            shutil.rmtree(staging, ignore_errors=True)
        raise XstiltsError(message) from err


def _execute(
    plan: Plan,
    registry: TaskRegistry,
    cache_dir: Path | None,
    progress: bool,
    executor: str,
    address: str | None,
) -> list[dict[str, Any]]:
    study, out_dir = plan.study, plan.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / "study.json", study.model_dump(mode="json"))
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
