"""Behaviour pinned before the redesign: every example study plans to the same runs.

`tests/pinned/plans.json` was written by `tests/pinned/make_plans.py` from the code before any
module moved. Run ids hash everything that determines a run, so an identical list means the
refactored planner resolves every input exactly as before (and finished runs stay reusable).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

PINNED_DIR = Path(__file__).parent / "pinned"
_spec = importlib.util.spec_from_file_location("make_plans", PINNED_DIR / "make_plans.py")
make_plans = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_plans)

PINNED = json.loads((PINNED_DIR / "plans.json").read_text())


@pytest.mark.parametrize("study", sorted(PINNED))
def test_study_plans_to_the_pinned_runs(study: str, shared_data: Path) -> None:
    now = make_plans.plan_json(make_plans.ROOT / study)
    before = PINNED[study]
    assert [(r["kind"], r["id"]) for r in now["runs"]] == [(r["kind"], r["id"]) for r in before["runs"]]
    assert now == before


def test_every_example_study_is_pinned() -> None:
    files = {str(p.relative_to(make_plans.ROOT)) for p in make_plans.study_files()}
    assert files == set(PINNED)
