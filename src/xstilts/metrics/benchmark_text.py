"""How benchmark scores are shown: the results.txt table and the words that say how each overall score
is computed and where its rule comes from (the report's method text uses the same words).

The rules and their sources are set out in `metrics/benchmark.py`; this module only says them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xstilts.metrics.benchmark import CLASSIFICATION, QA, RETRIEVAL, STRUCTURED, Benchmark, builtin_benchmarks

# The column holding evaluate.py's plain mean of the task scores, shown beside `overall` wherever a
# benchmark's overall is a mean of categories (for a mean of tasks the two are one number).
TASK_MEAN = "task mean"
# The xtreme commit from which evaluate.py knows XTREME-R's tasks and languages.
EVALUATE_PY_XTREME_R = (
    'google-research/xtreme evaluate.py --xtreme_version xtreme-r (since commit c1eda7f, "Added initial '
    'support for XTREME-R tasks and languages to evaluate.py")'
)


def overall_rule(bench: Benchmark) -> str:
    """What the overall score is the mean of, in a table's title."""
    return "mean of tasks" if bench.overall == "tasks" else "mean of categories"


def shows_task_mean(bench: Benchmark) -> bool:
    """Whether the plain mean of the tasks is a second number worth showing beside the overall."""
    return bench.overall == "categories"


def overall_method(bench: Benchmark) -> str:
    """One paragraph: how the benchmark's overall score is computed, from which source, and how it
    differs from xtreme's evaluate.py."""
    if bench.overall == "tasks":
        return (
            f"{bench.name} overall: the mean of the {len(bench.tasks)} task scores, each the mean over the "
            "task's languages; the rule of google-research/xtreme evaluate.py (`all_task`) for XTREME "
            "(Hu et al. 2020)."
        )
    groups = "; ".join(
        f"{name.replace('_', ' ')} ({', '.join(tasks)})" for name, tasks in bench.categories.items()
    )
    return (
        f"{bench.name} overall: the mean of {len(bench.categories)} category scores, each the mean of its "
        f"tasks' scores: {groups}. Source: the XTREME-R paper (Ruder et al. 2021, \"XTREME-R: Towards More "
        'Challenging and Nuanced Multilingual Evaluation", EMNLP), as recalled: this rule reproduces the '
        "Avg column of the paper's Table 3 from that table's per-task numbers as remembered, and a plain "
        "mean of the tasks does not; the paper's text was not checked here. xtreme's own scorer, "
        f"{EVALUATE_PY_XTREME_R}, differs: it takes the plain mean of the task scores (`all_task`), and its "
        "retrieval group leaves LAReQA out. It lists no LAReQA languages, so it gives no XTREME-R overall "
        "at all (none without a LAReQA folder; with one and every other task it fails). "
        f"The '{TASK_MEAN}' column is that plain mean of the task scores, with LAReQA counted on the "
        "languages of its card."
    )


_SHORT = {CLASSIFICATION: "class.", STRUCTURED: "struct.", QA: "qa", RETRIEVAL: "retr."}


def _cell(value: float | None, partial: float | None) -> str:
    if value is not None:
        return f"{value:.1f}"
    return f"{partial:.1f}*" if partial is not None else "-"


def format_scores(summary: Mapping[str, list[dict[str, Any]]]) -> str:
    """One table per benchmark: systems down, task scores, category scores and overall across (and the
    plain task mean where the overall is a mean of categories), then how each overall is computed."""
    blocks = []
    for bench in builtin_benchmarks().values():
        entries = [e for e in summary.get("overall", []) if e["benchmark"] == bench.name]
        if not entries:
            continue
        task_mean = shows_task_mean(bench)
        header = ["system", *(t.name for t in bench.tasks), *(_SHORT[c] for c in bench.categories), "overall"]
        header += [TASK_MEAN] if task_mean else []
        body = []
        for e in entries:
            name = "/".join(str(e[k]) for k in ("arm", "seed") if e.get(k) is not None)
            tasks = e["tasks"]
            cells = [_cell(tasks[t.name]["score"], tasks[t.name]["partial_score"]) for t in bench.tasks]
            cells += [_cell(e["categories"].get(c), e["partial_categories"].get(c)) for c in bench.categories]
            cells.append(_cell(e["overall"], e["partial_overall"]))
            if task_mean:
                cells.append(_cell(e.get("task_mean"), e.get("partial_task_mean")))
            body.append([name, *cells])
        widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
        lines = [f"{bench.name} ({overall_rule(bench)})"]
        for r in [header, *body]:
            lines.append(
                "  ".join(
                    v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(r, widths, strict=True))
                )
            )
        lines.append(overall_method(bench))
        blocks.append("\n".join(lines))
    if not blocks:
        return ""
    note = "* partial: averaged over the languages/tasks present only (see the missing lists in the summary)"
    return "\n\n".join([*blocks, note])
