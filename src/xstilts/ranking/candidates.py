"""What `rank` ranks, read off the study's plan: the intermediate arms (one run per seed), each target
with the target runs the study would train, and the proxy runs `proxy` trains instead.

Everything is a plan node, so every run `rank` needs is the run `xstilts run` would train (same id,
same directory) and the run cache serves both. A proxy run is a derived node: the target node's
training, cut to a fraction of its steps with no early stopping, under the phase name `proxy` and an
identity that names the fraction, so it is cached beside the real runs and never taken for one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from xstilts.config.features import FeatureOptions
from xstilts.config.registry import TaskRegistry
from xstilts.config.selection import DataSelection
from xstilts.config.study import Target
from xstilts.errors import ConfigError
from xstilts.plan.counts import ExampleCounter, training_cost
from xstilts.plan.graph import Evaluation, PhaseNode, Plan, selected
from xstilts.plan.identity import short_hash
from xstilts.plan.run_dir import RunDir

PROXY_PHASE = "proxy"


@dataclass
class Case:
    """One target: the study's entry, its evaluation languages, and its target node per (arm, seed)."""

    target: Target
    languages: tuple[str, ...]  # the zero-shot evaluation's
    nodes: dict[tuple[str, int], PhaseNode] = field(default_factory=dict)

    @property
    def task(self) -> str:
        return self.target.task

    @property
    def split(self) -> str:
        return self.target.evaluate.split

    @property
    def title(self) -> str:
        """As the report titles the target's section."""
        return f"{self.task} ({self.split})"

    @property
    def key(self) -> str:
        return f"{self.task}-{self.split}-target"

    def any_node(self) -> PhaseNode:
        """A target node: its training data is the same for every arm and seed."""
        return next(iter(self.nodes.values()))


@dataclass
class Candidates:
    plan: Plan
    intermediate: dict[tuple[str, int], PhaseNode]  # (arm, seed) -> the arm's intermediate run
    cases: list[Case]

    @property
    def arms(self) -> list[str]:
        return list(dict.fromkeys(arm for arm, _ in self.intermediate))

    def seeds(self, arm: str) -> list[int]:
        return [seed for name, seed in self.intermediate if name == arm]


def candidates(plan: Plan) -> Candidates:
    intermediate: dict[tuple[str, int], PhaseNode] = {}
    cases = {(t.task, t.evaluate.split): Case(t, ()) for t in plan.study.targets}
    for step in plan.steps:
        if step.seed is None:
            continue
        if step.node.phase == "intermediate":
            intermediate[(step.arm, step.seed)] = step.node
        elif step.node.phase == "target" and step.evaluations:
            zero_shot = step.evaluations[0]
            case = cases[(zero_shot.task, zero_shot.split)]
            case.languages = zero_shot.data.languages
            case.nodes[(step.arm, step.seed)] = step.node
    return Candidates(plan, intermediate, [c for c in cases.values() if c.nodes])


def target_steps(node: PhaseNode) -> int:
    """Optimiser steps of a target run without early stopping (the planned count, or max_steps)."""
    assert node.training is not None
    config = node.training
    examples = node.train_examples or 0
    return max(1, math.ceil(training_cost(examples, config) / (config.batch_size * config.grad_accumulation)))


def proxy_node(target: PhaseNode, fraction: float) -> PhaseNode:
    """The short fine-tuning `proxy` scores: `fraction` of the target run's steps (at least one),
    from the same parent, on the same data, without early stopping."""
    assert target.training is not None and target.seed is not None and target.parent_key is not None
    steps = max(1, math.ceil(fraction * target_steps(target)))
    config = target.training.model_copy(update={"max_steps": steps, "patience": None, "eval_every": None})
    # The target's identity (parent, data and its file hashes, features, seed) with the proxy's
    # training settings and no dev data: a run of its own, never taken for the target run.
    identity = {**target.run.identity, "dev": None, "train": config.model_dump()}
    identity["proxy"] = {"fraction": fraction, "of": target.id}
    return replace(
        target,
        phase=PROXY_PHASE,
        run=RunDir(target.run.path.parent.parent, PROXY_PHASE, identity),
        dev=None,
        training=config,
        evaluations=[],
        arms=list(target.arms),
        train_cost=training_cost(target.train_examples or 0, config),
        eval_examples=None,
        scored=[],
    )


def dev_evaluation(
    case: Case,
    node: PhaseNode,
    registry: TaskRegistry,
    options: FeatureOptions,
    counter: ExampleCounter | None,
) -> Evaluation:
    """What `proxy` scores a proxy run on: the target's dev selection (its early-stopping data), else
    the dev split of its training task in the training languages."""
    if case.target.dev is not None:
        dev = case.target.dev
    else:
        train = case.target.train
        if "dev" not in registry.card(train.task).splits:
            raise ConfigError(
                f"target {case.task}", "proxy scores on dev data: give the target a `dev` selection"
            )
        dev = DataSelection(task=train.task, split="dev", languages=train.chosen_languages())
    data, _ = selected(dev, registry, counter)
    card = registry.card(data.task)
    name = f"proxy-{data.task}-{dev.split}-{short_hash([dev.identity(), list(data.languages)])}"
    return Evaluation(data, name, card, options.settings(card.format))
