"""Spreading a study's units (one arm under one seed) over a Ray cluster.

Each unit (its planned steps, nothing re-derived) runs in a Ray task with the same code as the
local executor, on the same output directory: run directories and their locks are what the
workers share, so the output directory (and the data and cache directories) must be on a
filesystem every worker sees, as on a cluster with a shared disk. Workers return their rows;
only the driver writes the SQLite store (whose locking needs a local disk), unit by unit as each
one finishes. A unit asks for one GPU where the cluster has GPUs, else for one CPU; a task that
dies is retried by Ray and resumes its run from the saved training state.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xstilts.config.registry import TaskRegistry
from xstilts.engine.recorder import Recorder
from xstilts.errors import XstiltsError
from xstilts.plan.graph import Plan, Step


def _unit(
    study: str,
    steps: Sequence[Step],
    registry: TaskRegistry,
    out_dir: str,
    cache_dir: str | None,
    settings: dict[str, Any],
) -> list[dict[str, Any]]:
    """In a Ray worker: execute one unit's planned steps; the rows go back to the driver."""
    import torch

    from xstilts.engine.local import execute_unit
    from xstilts.engine.workspace import Workspace

    threads = int(os.environ.get("XSTILTS_THREADS", "0")) or None
    if threads:
        torch.set_num_threads(threads)
    ws = Workspace(
        Path(out_dir), registry, Path(cache_dir) if cache_dir else None, progress=False, **settings
    )
    recorder = Recorder(study, None)  # the driver records the rows
    execute_unit(ws, recorder, steps)
    return recorder.rows


def run_on_ray(
    plan: Plan,
    registry: TaskRegistry,
    cache_dir: Path | None,
    units: list[list[Step]],
    address: str | None,
    recorder: Recorder,
) -> list[dict[str, Any]]:
    try:
        import ray
    except ImportError:
        raise XstiltsError("--executor ray needs Ray: pip install 'ray[default]'") from None

    if not ray.is_initialized():
        # No address: a local Ray on this machine, one worker per core.
        ray.init(address=address, include_dashboard=False, log_to_driver=True)
    gpus = ray.cluster_resources().get("GPU", 0)
    resources = {"num_gpus": 1, "num_cpus": 1} if gpus >= 1 else {"num_cpus": 1}
    # A CPU worker gets one core's worth of torch threads: units run side by side.
    env = {"env_vars": {"XSTILTS_THREADS": "0" if gpus >= 1 else "1", "TOKENIZERS_PARALLELISM": "false"}}
    remote = ray.remote(max_retries=2, runtime_env=env, **resources)(_unit)
    settings = {
        "device": plan.study.device,
        "checkpoint": plan.study.checkpoint,
        "keep": plan.study.checkpoints.keep,
    }
    out, cache = str(plan.out_dir), str(cache_dir) if cache_dir else None
    futures = [remote.remote(plan.study.name, unit, registry, out, cache, settings) for unit in units]
    finished: dict[Any, list[dict[str, Any]]] = {}
    pending = list(futures)
    while pending:  # record each unit's rows as soon as it finishes, whatever the order
        done, pending = ray.wait(pending, num_returns=1)
        finished[done[0]] = ray.get(done[0])
        recorder.record(finished[done[0]])
    return [row for future in futures for row in finished[future]]  # in the plan's order
