"""Checkpoint retention: which runs keep their weights, crash-safe deletion, reuse without weights."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_pipeline import STUDY, write_study
from test_resume import values as results

from xstilts.cli import main
from xstilts.config.study import load_study
from xstilts.errors import XstiltsError
from xstilts.plan.graph import Plan, build_plan
from xstilts.plan.retention import MARKER, check_plan, delete_weights, release, weights_deleted
from xstilts.results.example_files import examples_path

SMALL = {**STUDY, "retrieval": [{**STUDY["retrieval"][0], "size": 8}]}


def plan_for(tmp_path: Path, shared_data: Path, keep: str) -> Plan:
    study, registry = load_study(write_study(tmp_path, shared_data, {**SMALL, "checkpoints": {"keep": keep}}))
    return build_plan(study, registry, tmp_path / "out")


def fake_done(plan: Plan, evaluations: bool = True) -> None:
    """Every run as if trained and evaluated: DONE, a checkpoint, each evaluation's two files."""
    for node in plan.nodes:
        node.run.path.mkdir(parents=True, exist_ok=True)
        if node.phase != "pretrained":
            (node.run.checkpoint / "encoder").mkdir(parents=True, exist_ok=True)
            (node.run.checkpoint / "encoder" / "model.safetensors").write_bytes(b"w" * 100)
            (node.run.checkpoint / "heads.safetensors").write_bytes(b"h" * 10)
        for evaluation in node.evaluations if evaluations else []:
            path = node.run.eval_path(evaluation.name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("{}")
            examples_path(path).write_bytes(b"parquet")
        (node.run.path / "DONE").write_text("")


def released(plan: Plan, keep: str) -> set[str]:
    """Run every step's release in order (one unit per arm, as the executor does)."""
    deleted = []
    for unit in plan.units():
        for step in unit:
            deleted += [n.phase for n in release(unit, step, keep)]
    return set(deleted)


@pytest.mark.parametrize(
    "keep, gone", [("all", set()), ("reused", {"target"}), ("none", {"target", "intermediate"})]
)
def test_policy(keep: str, gone: set[str], tmp_path: Path, shared_data: Path) -> None:
    plan = plan_for(tmp_path, shared_data, keep)
    fake_done(plan)
    assert released(plan, keep) == gone
    for node in plan.nodes:
        if node.phase == "pretrained":
            continue
        deleted = node.phase in gone
        assert weights_deleted(node.run) == deleted
        assert node.run.checkpoint.exists() != deleted
        assert node.run.done and list((node.run.path / "evals").glob("*.json"))  # still complete


def test_weights_stay_until_every_evaluation_is_stored(tmp_path: Path, shared_data: Path) -> None:
    plan = plan_for(tmp_path, shared_data, "none")
    fake_done(plan, evaluations=False)
    assert released(plan, "none") == set()
    target = next(n for n in plan if n.phase == "target" and n.parent.phase == "intermediate")
    for node in (target, target.parent):
        for evaluation in node.evaluations:
            path = node.run.eval_path(evaluation.name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("{}")  # scores without the per-example file: not stored yet
    assert released(plan, "none") == set()


def test_a_deletion_cut_short_is_finished_and_reuse_needs_no_weights(
    tmp_path: Path, shared_data: Path
) -> None:
    plan = plan_for(tmp_path, shared_data, "reused")
    fake_done(plan)
    target = next(n for n in plan if n.phase == "target")
    # A kill after the marker and the first file: the rest of the checkpoint is still there.
    (target.run.path / MARKER).write_text("{}")
    (target.run.checkpoint / "heads.safetensors").unlink()
    check_plan(plan)
    assert not target.run.checkpoint.exists() and weights_deleted(target.run)


def test_work_that_needs_deleted_weights_is_refused(tmp_path: Path, shared_data: Path) -> None:
    plan = plan_for(tmp_path, shared_data, "none")
    fake_done(plan)
    target = next(n for n in plan if n.phase == "target")
    delete_weights(target.run, "test")
    (target.run.eval_path(target.evaluations[0].name)).unlink()  # a new evaluation, say
    with pytest.raises(XstiltsError, match="weights were deleted"):
        check_plan(plan)
    intermediate = next(n for n in plan if n.phase == "intermediate")
    child = next(n for n in plan if n.parent is intermediate)
    fake_done(plan)  # the target's evaluation is back
    delete_weights(intermediate.run, "test")
    (child.run.path / "DONE").unlink()  # a run still to train on the intermediate run
    with pytest.raises(XstiltsError, match=intermediate.run.path.name):
        check_plan(plan)
    with pytest.raises(XstiltsError, match="not DONE"):
        delete_weights(child.run, "test")


# A run killed (kill -9) right after the first file of a checkpoint is removed.
KILLER = """
import os, signal, sys
import xstilts.plan.retention as retention
from xstilts.cli import main
remove = retention._remove_file
def remove_then_die(path):
    remove(path)
    os.kill(os.getpid(), signal.SIGKILL)
retention._remove_file = remove_then_die
sys.exit(main(sys.argv[1:]))
"""


def xstilts(args: list[str], cache_dir: Path, code: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "XSTILTS_CACHE": str(cache_dir)}
    head = ["-c", code] if code else ["-m", "xstilts.cli"]
    return subprocess.run(
        [sys.executable, *head, *args], env=env, capture_output=True, text=True, timeout=900
    )


@pytest.mark.slow
def test_kill_while_deleting_then_resume_reuse_and_report(
    tmp_path: Path, shared_data: Path, cache_dir: Path
) -> None:
    design = {**SMALL, "arms": [STUDY["arms"][1]], "data_dir": str(shared_data)}
    kept, study = tmp_path / "kept.yaml", tmp_path / "study.yaml"
    kept.write_text(yaml.safe_dump({**design, "checkpoints": {"keep": "all"}}))
    study.write_text(yaml.safe_dump(design))  # the default: keep reused
    reference = tmp_path / "reference"
    done = xstilts(["run", str(kept), "--out", str(reference), "--quiet"], cache_dir)
    assert done.returncode == 0, done.stderr
    assert not list((reference / "runs").glob(f"*/{MARKER}"))

    out = tmp_path / "out"
    killed = xstilts(["run", str(study), "--out", str(out), "--quiet"], cache_dir, KILLER)
    assert killed.returncode == -9, killed.stderr
    [half] = [p.parent for p in (out / "runs").glob(f"target-*/{MARKER}")]
    assert (half / "checkpoint").exists()  # killed in the middle of deleting

    again = xstilts(["run", str(study), "--out", str(out)], cache_dir)
    assert again.returncode == 0, again.stderr
    target, intermediate = (next((out / "runs").glob(f"{kind}-*")) for kind in ("target", "intermediate"))
    assert (target / MARKER).is_file() and not (target / "checkpoint").exists()
    assert (intermediate / "checkpoint" / "encoder").is_dir()  # the target trains on it: kept
    assert results(out) == results(reference)

    # Reuse without weights: nothing trains again, the numbers are the same; the report builds.
    stamp = (target / "DONE").stat().st_mtime_ns
    third = xstilts(["run", str(study), "--out", str(out)], cache_dir)
    assert third.returncode == 0 and "train " not in third.stderr, third.stderr
    assert (target / "DONE").stat().st_mtime_ns == stamp and results(out) == results(reference)
    assert main(["report", str(out), "--format", "md"]) == 0

    # A study that needs a new evaluation of the run whose weights are gone is refused, before any work.
    wider = {**design, "targets": [{**design["targets"][0], "evaluate": {"split": "dev", "size": 24}}]}
    study.write_text(yaml.safe_dump(wider))
    refused = xstilts(["run", str(study), "--out", str(out)], cache_dir)
    assert refused.returncode == 2 and "weights were deleted" in refused.stderr, refused.stderr
    assert target.name in refused.stderr


def test_runs_after_the_study_keep_the_disk_the_plan_says(tmp_path: Path, shared_data: Path) -> None:
    """The plan's figure for a target run with keep reused leaves only small files."""
    from xstilts.plan.estimate import LengthSample, estimate_plan
    from xstilts.plan.model_shape import model_shape

    plan = plan_for(tmp_path, shared_data, "reused")
    budget = estimate_plan(plan, model_shape("random:tiny"), lambda *a: LengthSample((16,)), None, "cpu")
    target = next(n for n in plan if n.phase == "target")
    assert budget.runs[target.id].disk_bytes < 1_000_000 < budget.runs[target.id].written_bytes
