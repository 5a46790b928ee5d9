"""Checkpoint retention: which phase runs keep their weights once their work is done.

The study's `checkpoints: {keep: ...}`:
- `all`: every run keeps its weights.
- `reused` (the default): a run keeps its weights only if another run of the study trains on them
  (an intermediate run, the parent of target runs). A target run's weights are deleted as soon as
  every evaluation the plan runs on it is stored (scores and per-example file).
- `none`: target runs as `reused`, and an intermediate run's weights are deleted too, once every run
  the plan trains on it is DONE and its own evaluations (retrieval) are stored.

A run without weights stays complete: its DONE, config, metrics and `evals/` remain, so reuse,
resuming and `report` work as before. Deletion is crash-safe: the marker WEIGHTS_DELETED is written
(atomically) before the first file goes, so a process killed halfway leaves a run that says its
weights are gone, never a half checkpoint that looks loadable; the next run of the study finishes
the deletion (`check_plan`). A run whose weights are gone cannot serve new work: `check_plan`
refuses, before anything runs, a study that needs an evaluation not stored on such a run or trains
a new run on it (delete its directory to retrain it, or keep its weights).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from xstilts.errors import XstiltsError
from xstilts.files import write_json
from xstilts.plan.run_dir import RunDir

if TYPE_CHECKING:
    from xstilts.plan.graph import PhaseNode, Plan, Step

Keep = Literal["all", "reused", "none"]
MARKER = "WEIGHTS_DELETED"


def parents(plan: Plan) -> set[str]:
    """Ids of the trained runs that another run of the plan trains on."""
    return {n.parent.id for n in plan.nodes if n.parent is not None and n.parent.phase != "pretrained"}


def keeps_weights(node: PhaseNode, keep: Keep, is_parent: bool) -> bool:
    """Whether the run still has its weights once the study is over."""
    if node.phase == "pretrained" or keep == "all":
        return True  # the pretrained model's weights are the model source's, never the study's
    return keep == "reused" and is_parent


def weights_deleted(run: RunDir) -> bool:
    return (run.path / MARKER).is_file()


def evaluations_stored(node: PhaseNode) -> bool:
    """Every evaluation the plan runs on this node has its scores and per-example file."""
    return all(_stored(node, e.name) for e in node.evaluations)


def _stored(node: PhaseNode, name: str) -> bool:
    from xstilts.results.example_files import examples_path

    path = node.run.eval_path(name)
    return path.is_file() and examples_path(path).is_file()


def _remove_file(path: Path) -> None:
    path.unlink(missing_ok=True)


def _remove_checkpoint(run: RunDir) -> None:
    """File by file, deepest first (a kill in between leaves the marker and some files: finished later)."""
    checkpoint = run.checkpoint
    if not checkpoint.exists():
        return
    for path in sorted(checkpoint.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_file() or path.is_symlink():
            _remove_file(path)
    shutil.rmtree(checkpoint, ignore_errors=True)


def delete_weights(run: RunDir, reason: str) -> None:
    """Delete a DONE run's weights: the marker first, then the checkpoint."""
    if not run.done:
        raise XstiltsError(f"{run.path}: not DONE, its weights are not the study's to delete")
    if not weights_deleted(run):
        write_json(run.path / MARKER, {"reason": reason, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    _remove_checkpoint(run)


def release(steps: Sequence[Step], done: Step, keep: Keep) -> list[PhaseNode]:
    """After `done`'s evaluations are stored: delete the weights the policy no longer needs, of its
    node and (keep none) of its parent. `steps` is the unit being executed: every run trained on an
    intermediate run is in each unit that holds it (targets depend on no arm). Returns the nodes
    whose weights were deleted."""
    if keep == "all":
        return []
    deleted = []
    for node in _candidates(done.node):
        if not node.done or weights_deleted(node.run):
            continue
        children = {s.node.id: s.node for s in steps if s.node.parent is node}
        if children and (keep == "reused" or not all(c.done for c in children.values())):
            continue
        if evaluations_stored(node):
            why = "its evaluations are stored" + (" and every run on it is DONE" if children else "")
            delete_weights(node.run, f"checkpoints: keep {keep}: {why}")
            deleted.append(node)
    return deleted


def _candidates(node: PhaseNode) -> Iterable[PhaseNode]:
    if node.phase != "pretrained":
        yield node
    if node.parent is not None and node.parent.phase != "pretrained":
        yield node.parent


def check_plan(plan: Plan) -> None:
    """Before a study runs: refuse work that needs weights that are gone (one line naming the run
    and what to do), then finish the deletions a kill interrupted. Nothing is written when it
    refuses."""
    children: dict[str, list[PhaseNode]] = {}
    for node in plan.nodes:
        if node.parent is not None:
            children.setdefault(node.parent.id, []).append(node)
    deleted = [
        node
        for node in plan.nodes
        if node.phase != "pretrained" and node.run.done and weights_deleted(node.run)
    ]
    for node in deleted:
        missing = [e.name for e in node.evaluations if not _stored(node, e.name)]
        waiting = [c.run.path.name for c in children.get(node.id, []) if not c.done]
        if missing or waiting:
            need = f"evaluation {missing[0]}" if missing else f"run {waiting[0]} trains on them"
            raise XstiltsError(
                f"{node.run.path}: its weights were deleted (checkpoints: keep) but this study needs "
                f"them ({need}); delete that directory to train the run again, or set checkpoints: "
                "{keep: all} before running the study that makes it"
            )
    for node in deleted:
        _remove_checkpoint(node.run)  # a deletion a kill interrupted
