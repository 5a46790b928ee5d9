"""A plan as `xstilts plan` prints it: a table of phase runs with their cost, or JSON."""

from __future__ import annotations

from typing import Any

from xstilts.plan.graph import PHASES, Plan, node_summary


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


def format_plan(plan: Plan) -> str:
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
        ]
        for r in plan.nodes
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    numeric = {2, 7, 8}

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
    return "\n".join(lines)


def plan_json(plan: Plan) -> dict[str, Any]:
    """What `xstilts plan --json` prints."""
    return {"study": plan.study.name, "summary": plan_summary(plan), "runs": [node_summary(r) for r in plan]}
