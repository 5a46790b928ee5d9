"""Spreading a study's units (one arm under one seed) over a Ray cluster.

Each unit (its planned steps, nothing re-derived) runs in a Ray task with the same code as the
local executor, on the same output directory: run directories and their locks are what the
workers share, so the output directory (and the data and cache directories) must be on a
filesystem every worker sees, as on a cluster with a shared disk. Workers return their rows;
only the driver writes the SQLite store (whose locking needs a local disk), unit by unit as each
one finishes. A unit asks for one GPU where the cluster has GPUs; its CPUs are its share of the
cluster (`unit_share`), and its worker sizes torch's threads to them (engine/threads.py), so that
units side by side do not each start a thread per core. A task that dies is retried by Ray and
resumes its run from the saved training state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xstilts.config.registry import TaskRegistry
from xstilts.engine.recorder import Recorder
from xstilts.engine.threads import share_threads, thread_environment
from xstilts.errors import XstiltsError
from xstilts.plan.graph import Plan, Step


@dataclass(frozen=True)
class UnitShare:
    """What one unit asks Ray for, and the threads its worker runs with (its CPUs)."""

    cpus: int
    gpus: int

    def options(self) -> dict[str, Any]:
        """`ray.remote` options: the resources, and the thread environment the worker process starts
        with (read by torch and the tokenizers when they load)."""
        env = {**thread_environment(self.cpus), "TOKENIZERS_PARALLELISM": "false"}
        resources: dict[str, Any] = {"num_cpus": self.cpus}
        if self.gpus:
            resources["num_gpus"] = self.gpus
        return {**resources, "runtime_env": {"env_vars": env}}


def unit_share(nodes: Sequence[Mapping[str, float]], units: int) -> UnitShare:
    """Each unit's share of the cluster, from its live nodes' resources ({"CPU": 16, "GPU": 2}). With
    GPUs: one GPU and the CPUs that go with one GPU on the GPU node with the fewest per GPU (so that
    every GPU node can take a unit). Without: the cluster's CPUs split between the units (one each
    when there are more units than CPUs), never more than the largest node has (a unit runs on one)."""
    per_gpu = [int(n.get("CPU", 0)) // int(n["GPU"]) for n in nodes if int(n.get("GPU", 0)) >= 1]
    if per_gpu:
        return UnitShare(cpus=max(1, min(per_gpu)), gpus=1)
    cpus = [int(n.get("CPU", 0)) for n in nodes]
    share = min(sum(cpus) // max(units, 1), max(cpus, default=1))
    return UnitShare(cpus=max(1, share), gpus=0)


def _unit(
    study: str,
    steps: Sequence[Step],
    registry: TaskRegistry,
    out_dir: str,
    cache_dir: str | None,
    settings: dict[str, Any],
    threads: int,
) -> list[dict[str, Any]]:
    """In a Ray worker: execute one unit's planned steps; the rows go back to the driver."""
    share_threads(threads)  # before anything tokenises or trains

    from xstilts.engine.local import execute_unit
    from xstilts.engine.workspace import Workspace

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
    share = unit_share([n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")], len(units))
    remote = ray.remote(max_retries=2, **share.options())(_unit)
    settings = {
        "device": plan.study.device,
        "checkpoint": plan.study.checkpoint,
        "keep": plan.study.checkpoints.keep,
    }
    out, cache = str(plan.out_dir), str(cache_dir) if cache_dir else None
    futures = [
        remote.remote(plan.study.name, unit, registry, out, cache, settings, share.cpus) for unit in units
    ]
    finished: dict[Any, list[dict[str, Any]]] = {}
    pending = list(futures)
    while pending:  # record each unit's rows as soon as it finishes, whatever the order
        done, pending = ray.wait(pending, num_returns=1)
        finished[done[0]] = ray.get(done[0])
        recorder.record(finished[done[0]])
    return [row for future in futures for row in finished[future]]  # in the plan's order
