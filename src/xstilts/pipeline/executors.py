"""Spreading a study's units (one arm under one seed) over a Ray cluster.

Each unit runs in a Ray task with the same code as the local executor, on the same output
directory: run directories and their locks are what the workers share, so the output directory
(and the data and cache directories) must be on a filesystem every worker sees, as on a cluster
with a shared disk. Workers return their rows; only the driver writes the SQLite store (whose
locking needs a local disk), unit by unit as each one finishes. A unit asks for one GPU where
the cluster has GPUs, else for one CPU; a task that dies is retried by Ray and resumes its run
from the saved training state.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from xstilts.config.study import Arm, Study
from xstilts.errors import XstiltsError
from xstilts.pipeline.runner import Recorder


def _unit(study_json: dict[str, Any], out_dir: str, cache_dir: str | None, seed: int, arm_name: str) -> list:
    """In a Ray worker: rebuild the study from its resolved form and run one arm under one seed."""
    import torch

    from xstilts.pipeline.runner import run_arm
    from xstilts.pipeline.workspace import Workspace

    study = Study.model_validate(study_json)
    registry = study.registry()
    threads = int(os.environ.get("XSTILTS_THREADS", "0")) or None
    if threads:
        torch.set_num_threads(threads)
    ws = Workspace(
        Path(out_dir),
        registry,
        study.features,
        Path(cache_dir) if cache_dir else None,
        study.device,
        False,
        study.checkpoint,
    )
    recorder = Recorder(study, registry, None)  # the driver records the rows
    arm = next(a for a in study.arms if a.name == arm_name)
    run_arm(ws, recorder, seed, arm)
    return recorder.rows


def run_on_ray(
    study: Study,
    out_dir: Path,
    cache_dir: Path | None,
    units: list[tuple[int, Arm]],
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
    study_json = study.model_dump(mode="json")
    futures = [
        remote.remote(study_json, str(out_dir), str(cache_dir) if cache_dir else None, seed, arm.name)
        for seed, arm in units
    ]
    finished: dict[Any, list[dict[str, Any]]] = {}
    pending = list(futures)
    while pending:  # record each unit's rows as soon as it finishes, whatever the order
        done, pending = ray.wait(pending, num_returns=1)
        finished[done[0]] = ray.get(done[0])
        recorder.record(finished[done[0]])
    return [row for future in futures for row in finished[future]]  # in the study's order
