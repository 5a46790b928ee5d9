"""The report's benchmark tables: XTREME-R shows its overall (the mean of four category scores) and
evaluate.py's plain mean of the tasks side by side, and its text names each rule's source."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from helpers import result_row

from xstilts.cli import main
from xstilts.metrics.benchmark import builtin_benchmarks
from xstilts.metrics.benchmark_text import TASK_MEAN
from xstilts.report.build import build_report
from xstilts.results.store import STORE_NAME, ResultsStore

XTREME_R = builtin_benchmarks()["xtreme-r"]
# One value per task for every language; QA as (F1, EM). Task scores: 80, 60, 70, 60, 70, 60, 50, 40,
# 30, 20; categories: (80 + 60) / 2 = 70, (70 + 60) / 2 = 65, (70 + 60 + 50) / 3 = 60,
# (40 + 30 + 20) / 3 = 30. Overall (70 + 65 + 60 + 30) / 4 = 56.25; the plain task mean 540 / 10 = 54.
VALUES: dict[str, float | tuple[float, float]] = {
    "xnli": 80.0,
    "xcopa": 60.0,
    "udpos": 70.0,
    "panx": 60.0,
    "xquad": (80.0, 60.0),
    "mlqa": (70.0, 50.0),
    "tydiqa": (60.0, 40.0),
    "tatoeba": 40.0,
    "mewsli-x": 30.0,
    "lareqa": 20.0,
}


def _store(out: Path) -> Path:
    rows = []
    for name, value in VALUES.items():
        task = XTREME_R.task(name)
        metrics = (
            dict(zip(("f1", "exact_match"), value, strict=True))
            if isinstance(value, tuple)
            else {task.metrics[0]: value}
        )
        for lang in task.languages:
            for metric, v in metrics.items():
                fields = {"study": "toy", "run": f"t-{name}", "task": name, "split": task.split}
                rows.append(result_row(**fields, language=lang, metric=metric, value=v))
    out.mkdir(parents=True)
    ResultsStore(out / STORE_NAME).record(rows)
    return out


def test_xtreme_r_table_has_both_overall_numbers_and_the_rules_sources(tmp_path: Path) -> None:
    out = _store(tmp_path / "store")
    (study,) = build_report(out, resamples=10).studies
    table = next(t for t in study.benchmarks if t.benchmark == "xtreme-r")
    (arm, cells) = table.rows[0]
    values = dict(zip(table.columns, cells, strict=True))
    assert values["overall"].value == 56.25 and not values["overall"].partial
    assert abs(values[TASK_MEAN].value - 54.0) < 1e-9 and table.coverage[TASK_MEAN] == "10/10 tasks"
    # XTREME's overall is its tasks' mean: no second column there.
    xtreme = next(t for t in study.benchmarks if t.benchmark == "xtreme")
    assert TASK_MEAN not in xtreme.columns and "all_task" in xtreme.method

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["report", str(out), "--format", "md", "--resamples", "10"]) in (0, None)
    text = buffer.getvalue()
    header = next(line for line in text.splitlines() if line.startswith("| arm | overall (10/10 tasks)"))
    assert header.startswith(f"| arm | overall (10/10 tasks) | {TASK_MEAN} (10/10 tasks) | xnli ")
    assert "| none | 56.2 | 54.0 |" in text  # overall beside the arm, evaluate.py's mean next to it
    method = next(line for line in text.splitlines() if line.startswith("xtreme-r overall:"))
    for named in ("Ruder et al. 2021", "as recalled", "evaluate.py --xtreme_version xtreme-r", "c1eda7f"):
        assert named in method, named
    assert "LAReQA" in method and f"'{TASK_MEAN}' column" in method
