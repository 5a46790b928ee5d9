"""A plan as `xstilts plan` prints it: a table of phase runs with their cost, or JSON."""

from __future__ import annotations

from typing import Any

from xstilts.plan.estimate import Budget, Estimate
from xstilts.plan.graph import PHASES, Plan, node_summary

UNKNOWN_ESTIMATE = {
    "device_hours": None,
    "disk_bytes": None,
    "written_bytes": None,
    "peak_memory_bytes": None,
}


def plan_summary(plan: Plan) -> dict[str, Any]:
    todo = [r for r in plan if not r.done]
    return {
        "runs": len(plan.nodes),
        "done": len(plan.nodes) - len(todo),
        "to_run": len(todo),
        # `by_kind`: runs per phase (the key scripts read).
        "by_kind": {k: sum(r.phase == k for r in plan) for k in PHASES},
        # A lower bound when some runs' data is neither present nor of published size.
        "examples_to_process": sum(r.cost for r in todo),
        "complete": all(r.complete for r in todo),
        "unknown": sorted({u for r in todo for u in r.unknown}),
    }


def _count(n: int | None) -> str:
    return "?" if n is None else f"{n:,}"


def _names(names: list[str], noun: str) -> str:
    """Short lists in full, long ones as a count (the full lists are in --json)."""
    if not names:
        return "-"
    return ",".join(names) if len(names) <= 3 else f"{len(names)} {noun}"


def gigabytes(n: int | None) -> str:
    """Bytes in decimal units, as disks are sold."""
    if n is None:
        return "?"
    for unit, size in (("GB", 1e9), ("MB", 1e6)):
        if n >= size / 10:
            return f"{n / size:,.1f} {unit}"
    return f"{n / 1e3:,.0f} kB"


def hours(h: float | None) -> str:
    if h is None:
        return "?"
    if h < 1 / 60:
        return f"{h * 3600:.0f} s"
    return f"{h * 60:.1f} min" if h < 1 else f"{h:,.1f} h"


def _budget_cells(budget: Budget | None, run_id: str) -> list[str]:
    if budget is None:
        return ["?", "?", "?"]
    e = budget.runs[run_id]
    return [hours(e.device_hours), gigabytes(e.disk_bytes), gigabytes(e.peak_memory_bytes)]


def format_budget(budget: Budget | None, throughput_note: str) -> list[str]:
    """The summary lines of the budget: hours, disk kept and written, largest peak memory."""
    if budget is None:
        return [f"budget: unknown ({throughput_note})"] if throughput_note else []
    total: Estimate = budget.total
    lines = [
        f"device-hours ({budget.device}): "
        + (hours(total.device_hours) if total.device_hours is not None else f"unknown ({throughput_note})"),
        f"disk at the end: {gigabytes(total.disk_bytes)} (written by the runs to run: "
        f"{gigabytes(total.written_bytes)}; checkpoints: keep {budget.keep})",
        f"peak training memory: {gigabytes(total.peak_memory_bytes)} (the largest run)",
    ]
    return lines + [f"note: {note}" for note in budget.notes]


def format_plan(plan: Plan, budget: Budget | None = None, throughput_note: str = "") -> str:
    header = [
        "run",
        "parent",
        "seed",
        "trains",
        "evaluates",
        "arms",
        "status",
        "train ex/epoch",
        "cost (examples)",
        "hours",
        "disk",
        "peak mem",
    ]
    rows = [
        [
            f"{r.phase}-{r.id}",
            r.parent_key or "-",
            "-" if r.seed is None else str(r.seed),
            _names(r.tasks, "tasks"),
            _names([e.split(" ")[0] for e in r.scored], "evaluations"),
            _names(r.arms, "arms"),
            "done" if r.done else "to run",
            _count(r.train_examples) if r.phase != "pretrained" else "-",
            f"{r.cost:,}" if r.complete else f">= {r.cost:,}",
            *_budget_cells(budget, r.id),
        ]
        for r in plan.nodes
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    numeric = {2, 7, 8, 9, 10, 11}

    def line(values: list[str]) -> str:
        cells = zip(values, widths, strict=True)
        return "  ".join(v.rjust(w) if i in numeric else v.ljust(w) for i, (v, w) in enumerate(cells))

    lines = [line(header), "  ".join("-" * w for w in widths), *(line(row) for row in rows)]
    summary = plan_summary(plan)
    kinds = ", ".join(f"{n} {kind}" for kind, n in summary["by_kind"].items())
    lines.append("")
    lines.append(f"{summary['runs']} runs ({kinds}); {summary['done']} done, {summary['to_run']} to run")
    if summary["complete"]:
        lines.append(f"examples to process: {summary['examples_to_process']:,}")
    else:
        lines.append(
            f"examples to process: at least {summary['examples_to_process']:,}; not counted (data not "
            f"present, no published size): {', '.join(summary['unknown'])}"
        )
    lines.extend(format_budget(budget, throughput_note))
    return "\n".join(lines)


def plan_json(plan: Plan, budget: Budget | None = None) -> dict[str, Any]:
    """What `xstilts plan --json` prints. `estimate` on each run and in the summary: device_hours
    (null without a throughput figure), disk_bytes (kept at the end), written_bytes,
    peak_memory_bytes (all null when the model's shape is unknown)."""
    summary = plan_summary(plan)
    summary["estimate"] = budget.total.as_json() if budget else dict(UNKNOWN_ESTIMATE)
    runs = [
        {**node_summary(r), "estimate": budget.runs[r.id].as_json() if budget else dict(UNKNOWN_ESTIMATE)}
        for r in plan
    ]
    return {"study": plan.study.name, "summary": summary, "runs": runs}
