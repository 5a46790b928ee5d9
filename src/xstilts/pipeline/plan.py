"""A study's phase runs, worked out without training anything: `xstilts plan`.

The planner walks the same arms x seeds x targets as the runner and computes each run's id with
the same `phase_identity`, so what it lists is exactly what `xstilts run` would train or reuse.
A run shared by several arms or targets (the pretrained model; one intermediate run feeding
every target of its arm and seed) appears once, with every arm that uses it.

Cost is counted in examples to process: training examples x epochs (capped by `max_steps`;
early stopping can only make it smaller) plus one forward pass per evaluated example. Counts
come from the data files when they are present, else from the card's published `examples`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xstilts.config.selection import DataSelection
from xstilts.config.study import Study
from xstilts.config.training import TrainConfig
from xstilts.pipeline.phases import phase_identity
from xstilts.pipeline.runs import RunDir
from xstilts.tasks.registry import TaskRegistry


@dataclass
class PlannedRun:
    kind: str  # pretrained, intermediate or target
    id: str
    parent: str | None  # parent run id, or the model source for a phase on the pretrained model
    seed: int | None
    tasks: list[str]
    done: bool
    arms: list[str] = field(default_factory=list)
    train_examples: int | None = None  # per epoch; None: unknown (data absent, no published count)
    train_cost: int | None = None  # examples to process in training
    eval_examples: int | None = None  # examples evaluated (target zero-shot and retrieval)
    evaluations: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # selections whose size is unknown

    @property
    def complete(self) -> bool:
        """Whether every example count behind `cost` is known."""
        return not self.unknown

    @property
    def cost(self) -> int:
        """Examples to process; a lower bound where some counts are unknown (see `unknown`)."""
        return (self.train_cost or 0) + (self.eval_examples or 0)


class ExampleCounter:
    """Examples per (task, split, language): read from the files, else the card's published count."""

    def __init__(self, registry: TaskRegistry) -> None:
        self.registry = registry
        self._counts: dict[tuple[str, str, str], int | None] = {}

    def full(self, task: str, split: str, lang: str) -> int | None:
        key = (task, split, lang)
        if key not in self._counts:
            card = self.registry.card(task)
            files = card.files(split, lang, self.registry.data_dir)
            if all(path.is_file() for path in files.values()):
                self._counts[key] = len(self.registry.load(task, split, lang))
            else:
                self._counts[key] = card.split_source(split).examples.get(lang)
        return self._counts[key]

    def selected(self, selection: DataSelection) -> tuple[int | None, list[str]]:
        """Examples a selection takes, summed over its languages, and the languages not countable."""
        card = self.registry.card(selection.task)
        total, unknown = 0, []
        for lang in selection.chosen_languages() or card.split_languages(selection.split):
            n = self.full(selection.task, selection.split, lang)
            size = selection.size_for(lang, n)
            if n is None:
                if size is None:
                    unknown.append(f"{selection.task}/{selection.split}/{lang}")
                    continue
                n = selection.offset + size  # a sized subset costs its size at most
            total += max(0, min(n - selection.offset, size or n))
        return (None if unknown else total), unknown


def training_cost(examples: int, config: TrainConfig) -> int:
    by_epochs = math.ceil(examples * config.epochs)
    if config.max_steps is None:
        return by_epochs
    return min(by_epochs, config.max_steps * config.batch_size * config.grad_accumulation)


def dev_evaluations(examples: int | None, config: TrainConfig) -> int:
    """How often the loop scores the dev set: every `eval_every` steps, else once per epoch."""
    if config.eval_every is None or examples is None:
        return math.ceil(config.epochs)
    steps = math.ceil(training_cost(examples, config) / (config.batch_size * config.grad_accumulation))
    return max(1, steps // config.eval_every)


def plan_study(study: Study, registry: TaskRegistry, out_dir: Path) -> list[PlannedRun]:
    counter = ExampleCounter(registry)
    runs: dict[str, PlannedRun] = {}

    def add(run: PlannedRun, arm: str | None) -> PlannedRun:
        planned = runs.setdefault(run.id, run)
        if arm is not None and arm not in planned.arms:
            planned.arms.append(arm)
        return planned

    def evaluated(run: PlannedRun, name: str, selection: DataSelection, times: int = 1) -> None:
        if name in run.evaluations:
            return
        run.evaluations.append(name)
        n, unknown = counter.selected(selection)
        run.unknown += unknown
        run.eval_examples = (run.eval_examples or 0) + (n or 0) * times

    def retrieval_after(phase: str, run: PlannedRun) -> None:
        for spec in study.retrieval:
            if phase in spec.after:
                selection = DataSelection(
                    task=spec.task, split=spec.split, languages=spec.languages, size=spec.size
                )
                evaluated(run, f"{spec.task}/{spec.split} (retrieval)", selection)

    def trained(
        kind: str,
        parent: PlannedRun,
        parent_key: str,
        selections: list[DataSelection],
        dev: DataSelection | None,
        config: TrainConfig,
        seed: int,
        arm: str,
    ) -> PlannedRun:
        identity = phase_identity(registry, study.features, parent_key, selections, dev, config, seed)
        run_dir = RunDir(out_dir, kind, identity)
        if run_dir.id in runs:
            return add(runs[run_dir.id], arm)
        counts = [counter.selected(s) for s in selections]
        unknown = [u for _, missing in counts for u in missing]
        examples = None if unknown else sum(n or 0 for n, _ in counts)
        run = PlannedRun(
            kind=kind,
            id=run_dir.id,
            parent=parent.id if parent.kind != "pretrained" else parent_key,
            seed=seed,
            tasks=list(dict.fromkeys(s.task for s in selections)),
            done=run_dir.done,
            train_examples=examples,
            train_cost=None if examples is None else training_cost(examples, config),
            unknown=unknown,
        )
        if dev is not None:
            evaluated(run, f"{dev.task}/{dev.split} (early stopping)", dev, dev_evaluations(examples, config))
        return add(run, arm)

    base_dir = RunDir(out_dir, "pretrained", {"model": study.model})
    base = PlannedRun("pretrained", base_dir.id, None, None, [], base_dir.done, train_cost=0)
    for arm in study.arms:  # every arm starts from it
        add(base, arm.name)
    retrieval_after("pretrained", base)
    for seed in study.seeds:
        for arm in study.arms:
            parent, parent_key = base, study.model
            if arm.intermediate:
                parent = trained(
                    "intermediate",
                    base,
                    study.model,
                    list(arm.intermediate),
                    None,
                    study.intermediate_config(arm),
                    seed,
                    arm.name,
                )
                parent_key = parent.id
                retrieval_after("intermediate", parent)
            for target in study.targets:
                dev = target.dev
                run = trained(
                    "target",
                    parent,
                    parent_key,
                    [target.train],
                    dev,
                    study.target_config(target),
                    seed,
                    arm.name,
                )
                evaluated(run, f"{target.task}/{target.evaluate.split}", target.evaluate)
                retrieval_after("target", run)
    return list(runs.values())


def plan_summary(plan: list[PlannedRun]) -> dict[str, Any]:
    todo = [r for r in plan if not r.done]
    return {
        "runs": len(plan),
        "done": len(plan) - len(todo),
        "to_run": len(todo),
        "by_kind": {k: sum(r.kind == k for r in plan) for k in ("pretrained", "intermediate", "target")},
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


def format_plan(plan: list[PlannedRun]) -> str:
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
            f"{r.kind}-{r.id}",
            r.parent or "-",
            "-" if r.seed is None else str(r.seed),
            _names(r.tasks, "tasks"),
            _names([e.split(" ")[0] for e in r.evaluations], "evaluations"),
            _names(r.arms, "arms"),
            "done" if r.done else "to run",
            _count(r.train_examples) if r.kind != "pretrained" else "-",
            f"{r.cost:,}" if r.complete else f">= {r.cost:,}",
        ]
        for r in plan
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
