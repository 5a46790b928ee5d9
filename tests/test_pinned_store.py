"""Behaviour pinned before the redesign: a results store written then re-reports the same numbers.

`tests/pinned/store/` was written by `tests/pinned/make_store.py` with the code before any module
moved (a demo-data study on the tiny random model, plus one evaluation per metric recipe it could
not produce). Today's code must read it, recompute every metric from its per-example files to the
stored values, and print the same `results` tables and `report --format md`.
"""

from __future__ import annotations

import contextlib
import io
import math
import shutil
from pathlib import Path

import pytest

from xstilts.results.store import STORE_NAME, ResultsStore

PINNED = Path(__file__).parent / "pinned" / "store"


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    copy = tmp_path / "store"
    shutil.copytree(PINNED, copy)
    return copy


def cli(*argv: str) -> str:
    from xstilts.cli import main

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(list(argv)) in (0, None)
    return buffer.getvalue()


def test_every_metric_recomputes_from_its_examples(store_dir: Path) -> None:
    store = ResultsStore(store_dir / STORE_NAME, create=False)
    rows = {(r["arm"], r["run"], r["task"], r["language"], r["metric"]): r["value"] for r in store.rows()}
    evaluations = store.examples()
    assert len(evaluations) == 63
    checked = 0
    for evaluation in evaluations:
        for metric, value in evaluation.scores().items():
            stored = rows[(evaluation.arm, evaluation.run, evaluation.task, evaluation.language, metric)]
            assert math.isclose(value, stored, rel_tol=1e-12, abs_tol=1e-12), (evaluation.path, metric)
            checked += 1
    assert checked == 63


def test_results_tables_are_unchanged(store_dir: Path) -> None:
    assert cli("results", str(store_dir)) == (PINNED / "results.txt").read_text()


@pytest.mark.slow
def test_report_is_unchanged(store_dir: Path) -> None:
    report = cli("report", str(store_dir), "--format", "md", "--resamples", "400")
    assert report.replace(str(store_dir), "{STORE}") == (PINNED / "report.md").read_text()
