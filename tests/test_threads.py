"""Processes that share a machine take their share of its cores: the `run --threads` option and Ray
units sized to their CPUs (engine/threads.py, engine/ray.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from xstilts.engine.ray import UnitShare, unit_share
from xstilts.engine.threads import THREAD_VARIABLES, thread_environment, threads_from_environment

SRC = Path(__file__).resolve().parents[1] / "src"


def test_thread_environment_sizes_every_pool() -> None:
    assert thread_environment(3) == {name: "3" for name in THREAD_VARIABLES}
    assert {"OMP_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"} <= set(THREAD_VARIABLES)
    with pytest.raises(ValueError, match="at least 1"):
        thread_environment(0)


@pytest.mark.parametrize(
    ("value", "threads"), [("4", 4), (" 2 ", 2), ("0", None), ("", None), ("two", None), ("-1", None)]
)
def test_omp_num_threads_is_honoured_when_it_is_a_positive_number(value: str, threads: int | None) -> None:
    assert threads_from_environment({"OMP_NUM_THREADS": value}) == threads
    assert threads_from_environment({}) is None


@pytest.mark.parametrize(
    ("nodes", "units", "share"),
    [
        ([{"CPU": 16}], 4, UnitShare(cpus=4, gpus=0)),  # the cores split between the units
        ([{"CPU": 16}], 40, UnitShare(cpus=1, gpus=0)),  # more units than cores: one each
        ([{"CPU": 2}], 6, UnitShare(cpus=1, gpus=0)),  # the smoke study on this 2-core machine
        ([{"CPU": 8}, {"CPU": 8}], 1, UnitShare(cpus=8, gpus=0)),  # a unit runs on one node
        ([{"CPU": 8}, {"CPU": 8}], 2, UnitShare(cpus=8, gpus=0)),
        ([{"CPU": 64}, {"CPU": 16, "GPU": 2}], 9, UnitShare(cpus=8, gpus=1)),  # CPUs per GPU of a GPU node
        ([{"CPU": 1, "GPU": 2}], 3, UnitShare(cpus=1, gpus=1)),
    ],
)
def test_a_unit_s_share_of_the_cluster(nodes: list[dict[str, float]], units: int, share: UnitShare) -> None:
    assert unit_share(nodes, units) == share


def test_a_unit_asks_ray_for_its_cpus_and_its_worker_starts_with_that_many_threads() -> None:
    options = UnitShare(cpus=3, gpus=0).options()
    assert options["num_cpus"] == 3 and "num_gpus" not in options
    env = options["runtime_env"]["env_vars"]
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == env["RAYON_NUM_THREADS"] == "3"
    assert UnitShare(cpus=8, gpus=1).options()["num_gpus"] == 1


def _fresh_python(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "PYTHONPATH": str(SRC), **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return done.stdout.strip()


def test_share_threads_sizes_torch_s_pools_in_a_fresh_process() -> None:
    code = (
        "from xstilts.engine.threads import share_threads; share_threads(1); import os, torch; "
        "print(torch.get_num_threads(), torch.get_num_interop_threads(), os.environ['RAYON_NUM_THREADS'])"
    )
    assert _fresh_python(code) == "1 1 1"


@pytest.mark.slow
def test_a_ray_unit_s_worker_runs_with_its_share_of_threads(tmp_path: Path) -> None:
    """A unit's worker on a local 2-CPU Ray: `_unit` sizes torch to the unit's CPUs."""
    import ray

    from xstilts.config.registry import BUILTIN_CARDS, TaskRegistry
    from xstilts.engine.ray import _unit

    def probe(threads: int) -> tuple[int, int, str]:
        import torch

        registry = TaskRegistry(Path("."), (BUILTIN_CARDS,))
        assert _unit("s", [], registry, str(tmp_path), None, {}, threads) == []  # no steps, no rows
        return torch.get_num_threads(), torch.get_num_interop_threads(), os.environ["OMP_NUM_THREADS"]

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        share = unit_share([{"CPU": 2}], 2)  # two units side by side: one core each, not torch's two
        assert share.cpus == 1
        remote = ray.remote(**share.options())(probe)
        assert ray.get(remote.remote(share.cpus)) == (1, 1, "1")
    finally:
        ray.shutdown()


RUN_WITHOUT_TRAINING = (
    "import sys, torch, xstilts.cli.run as run; "
    "run.run_study_file = lambda *a, **k: print(torch.get_num_threads(), torch.get_num_interop_threads()); "
    "from xstilts.cli import main; sys.exit(main(sys.argv[1:]))"
)


@pytest.mark.parametrize(
    ("argv", "env"), [(["--threads", "1"], {}), ([], {"OMP_NUM_THREADS": "1"})], ids=["option", "environment"]
)
def test_run_threads_sizes_torch_before_the_study_runs(argv: list[str], env: dict[str, str]) -> None:
    clean = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    done = subprocess.run(
        [sys.executable, "-c", RUN_WITHOUT_TRAINING, "run", "study.yaml", "--out", "out", *argv],
        env={**clean, "PYTHONPATH": str(SRC), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "1"]  # intra-op and inter-op pools: one thread each


def test_run_threads_must_be_a_positive_whole_number(capsys: pytest.CaptureFixture[str]) -> None:
    from xstilts.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["run", "study.yaml", "--out", "out", "--threads", "0"])
    assert exit_.value.code == 2 and "at least 1, not '0'" in capsys.readouterr().err
