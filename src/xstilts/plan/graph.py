"""The graph of phase runs a study needs, each node with every input resolved.

    pretrained ──> intermediate (arm, seed) ──> target (arm, seed, target task)
        └─────────────────────────────────────> target (arms without an intermediate phase)

`build_plan` walks arms x seeds x targets once. For each phase run it resolves the model it
starts from, its parent, the cards and data selections it trains on (with example counts and the
content hashes of their files), its training and feature settings, its id (a hash of all of
that), and the evaluations and retrievals to run on its model (their cache names hash the
content of the files they score on too). A run reached twice (the pretrained model; two arms with the
same intermediate data) is one node used by several arms. `Plan.steps` lists every (node, arm,
seed) use in the order `xstilts run` executes them; an executor only carries them out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xstilts.config.cards import TaskCard
from xstilts.config.features import FeatureOptions, FeatureSettings
from xstilts.config.formats import format_info
from xstilts.config.model_source import default_cache_dir
from xstilts.config.registry import TaskRegistry
from xstilts.config.selection import DataSelection
from xstilts.config.study import Arm, Retrieval, Study, Target
from xstilts.config.training import TrainConfig
from xstilts.plan.counts import ExampleCounter, dev_evaluations, training_cost
from xstilts.plan.fingerprint import HASH_CACHE_NAME, FileHashes
from xstilts.plan.identity import phase_identity, pretrained_identity, short_hash
from xstilts.plan.run_dir import RunDir

PHASES = ("pretrained", "intermediate", "target")


@dataclass(frozen=True)
class Selected:
    """A data selection with its languages resolved and the examples it takes counted."""

    selection: DataSelection
    languages: tuple[str, ...]
    examples: int | None  # over all its languages; None: unknown (data absent, no published count)

    @property
    def task(self) -> str:
        return self.selection.task


@dataclass(frozen=True)
class Evaluation:
    """Scoring a run's model on one task's selection, cached in the run's `evals/<name>.json`.

    Zero-shot evaluation of a target run's head (`retrieval` None), or retrieval over the
    encoder's hidden states (`retrieval`: the study's entry, languages resolved)."""

    data: Selected
    name: str
    card: TaskCard
    settings: FeatureSettings  # how its examples are featurised (zero-shot evaluation)
    retrieval: Retrieval | None = None

    @property
    def task(self) -> str:
        return self.data.task

    @property
    def split(self) -> str:
        return self.data.selection.split


@dataclass
class PhaseNode:
    phase: str  # pretrained, intermediate or target
    run: RunDir
    # What the identity names as parent: the parent run's id, or the model source for a phase on the
    # pretrained model; None for the pretrained model itself.
    parent_key: str | None
    parent: PhaseNode | None
    model: str  # the model source this phase starts from (the study's model, or its parent's encoder)
    seed: int | None
    cards: dict[str, TaskCard]  # every task it trains (heads, early stopping)
    features: dict[str, FeatureSettings]  # per task in `cards`
    train: list[Selected] = field(default_factory=list)  # training data (several: multi-task)
    dev: Selected | None = None  # early stopping
    training: TrainConfig | None = None
    evaluations: list[Evaluation] = field(default_factory=list)  # every evaluation any step runs
    arms: list[str] = field(default_factory=list)
    # Cost, in examples to process (see counts.py); None: unknown (data absent, no published count).
    train_examples: int | None = None
    train_cost: int | None = None
    eval_examples: int | None = None
    scored: list[str] = field(default_factory=list)  # what `xstilts plan` lists it evaluating
    unknown: list[str] = field(default_factory=list)  # selections whose size is unknown

    @property
    def id(self) -> str:
        return self.run.id

    @property
    def tasks(self) -> list[str]:
        """The tasks it trains a head for (one head per task, however many selections)."""
        return list(dict.fromkeys(s.task for s in self.train))

    @property
    def encoder(self) -> str:
        """The model source of this run's encoder once it exists."""
        if self.phase == "pretrained":
            return self.model
        return f"path:{self.run.checkpoint / 'encoder'}"

    @property
    def done(self) -> bool:
        return self.run.done

    @property
    def complete(self) -> bool:
        """Whether every example count behind `cost` is known."""
        return not self.unknown

    @property
    def cost(self) -> int:
        """Examples to process; a lower bound where some counts are unknown (see `unknown`)."""
        return (self.train_cost or 0) + (self.eval_examples or 0)


@dataclass(frozen=True)
class Step:
    """One use of a node: make sure its run exists, then run these of its evaluations (each cached
    in the run) and record their scores for `arm` and `seed`. A target run that serves two targets
    (XQuAD and MLQA both train on SQuAD) has a step for each, each with its own evaluation."""

    node: PhaseNode
    arm: str  # `pretrained` for the pretrained model's own scores
    seed: int | None
    evaluations: tuple[Evaluation, ...]


@dataclass
class Plan:
    study: Study
    out_dir: Path
    nodes: list[PhaseNode]
    steps: list[Step]  # in execution order: a node's first step comes after its parent's

    def __iter__(self) -> Iterator[PhaseNode]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def units(self) -> list[list[Step]]:
        """Independent units of work, in order: the pretrained model's steps, then one unit per arm
        and seed (its intermediate run, then its target runs). Units after the first depend only
        on the first, so an executor may run them in any order or side by side; a run two units
        share is trained once (the second waits on its lock, then reuses it)."""
        units: dict[tuple[str, int | None], list[Step]] = {}
        for step in self.steps:
            units.setdefault((step.arm, step.seed), []).append(step)
        return list(units.values())


class _Builder:
    def __init__(self, study: Study, registry: TaskRegistry, out_dir: Path, hashes: FileHashes) -> None:
        self.study, self.registry, self.out_dir = study, registry, Path(out_dir)
        self.counter = ExampleCounter(registry)
        self.hashes = hashes
        self.nodes: dict[str, PhaseNode] = {}
        self.steps: list[Step] = []

    def card(self, task: str) -> TaskCard:
        return self.registry.card(task)

    def selected(self, selection: DataSelection) -> tuple[Selected, list[str]]:
        return selected(selection, self.registry, self.counter)

    def data(self, selection: DataSelection) -> dict[str, dict[str, str | None]]:
        """The content hashes of the files a selection reads, per language."""
        languages = selection_languages(selection, self.registry)
        return self.hashes.selection(self.registry, selection.task, selection.split, languages)

    def features(self, tasks: list[str]) -> dict[str, FeatureSettings]:
        return {task: self.study.features.settings(self.card(task).format) for task in tasks}

    def evaluation(
        self, node: PhaseNode, evaluation: Evaluation, unknown: list[str], label: str
    ) -> Evaluation:
        """Add an evaluation to a node once (a run reached again may be asked for it again)."""
        if evaluation.name not in {e.name for e in node.evaluations}:
            node.evaluations.append(evaluation)
        self.count(node, evaluation.data, unknown, label)
        return evaluation

    def count(self, node: PhaseNode, data: Selected, unknown: list[str], label: str, times: int = 1) -> None:
        """What one evaluation (or early stopping's passes over dev) costs, counted once per label."""
        if label in node.scored:
            return
        node.scored.append(label)
        node.unknown += unknown
        node.eval_examples = (node.eval_examples or 0) + (data.examples or 0) * times

    def retrievals(self, node: PhaseNode, after: str) -> list[Evaluation]:
        """The study's retrievals that score a model after phase `after`, added to the node."""
        found = []
        for spec in self.study.retrieval:
            if after in spec.after:
                evaluation, unknown = retrieval_evaluation(
                    spec, self.registry, self.study.features, self.counter, self.hashes
                )
                label = f"{spec.task}/{spec.split} (retrieval)"
                found.append(self.evaluation(node, evaluation, unknown, label))
        return found

    def pretrained(self) -> PhaseNode:
        node = pretrained_node(self.out_dir, self.study.model)
        self.nodes[node.id] = node
        node.arms = [arm.name for arm in self.study.arms]  # every arm starts from it
        self.steps.append(Step(node, "pretrained", None, tuple(self.retrievals(node, "pretrained"))))
        return node

    def trained(
        self,
        phase: str,
        parent: PhaseNode,
        selections: list[DataSelection],
        dev: DataSelection | None,
        config: TrainConfig,
        arm: str,
        seed: int,
    ) -> PhaseNode:
        """The node of a training phase on `parent`: planned now, or the one planned before."""
        tasks = list(dict.fromkeys(s.task for s in [*selections, *([dev] if dev else [])]))
        cards = {task: self.card(task) for task in tasks}
        features = self.features(tasks)
        # The one place the parent rule is written: a run on the pretrained model names the model
        # source, any other its parent run's id.
        parent_key = self.study.model if parent.phase == "pretrained" else parent.id
        data = [self.data(s) for s in selections]
        dev_data = self.data(dev) if dev else None
        identity = phase_identity(parent_key, selections, dev, config, seed, cards, features, data, dev_data)
        run = RunDir(self.out_dir, phase, identity)
        if run.id in self.nodes:
            node = self.nodes[run.id]
            if arm not in node.arms:
                node.arms.append(arm)
            return node
        resolved = [self.selected(s) for s in selections]
        unknown = [u for _, missing in resolved for u in missing]
        examples = None if unknown else sum(data.examples or 0 for data, _ in resolved)
        node = PhaseNode(
            phase,
            run,
            parent_key,
            parent,
            parent.encoder,
            seed,
            cards,
            features,
            train=[data for data, _ in resolved],
            training=config,
            arms=[arm],
            train_examples=examples,
            train_cost=None if examples is None else training_cost(examples, config),
            unknown=unknown,
        )
        if dev is not None:
            node.dev, missing = self.selected(dev)
            passes = dev_evaluations(examples, config)
            self.count(node, node.dev, missing, f"{dev.task}/{dev.split} (early stopping)", passes)
        self.nodes[node.id] = node
        return node

    def intermediate(self, base: PhaseNode, arm: Arm, seed: int) -> PhaseNode:
        config = self.study.intermediate_config(arm)
        node = self.trained("intermediate", base, list(arm.intermediate), None, config, arm.name, seed)
        self.steps.append(Step(node, arm.name, seed, tuple(self.retrievals(node, "intermediate"))))
        return node

    def target(self, parent: PhaseNode, target: Target, arm: str, seed: int) -> None:
        config = self.study.target_config(target)
        node = self.trained("target", parent, [target.train], target.dev, config, arm, seed)
        data, unknown = self.selected(target.evaluate)
        split = data.selection.split
        files = self.data(target.evaluate)  # scores on changed files are not those cached
        name = f"{target.task}-{split}-{short_hash([data.selection.identity(), list(data.languages), files])}"
        card = self.card(target.task)
        evaluation = Evaluation(data, name, card, self.study.features.settings(card.format))
        zero_shot = self.evaluation(node, evaluation, unknown, f"{target.task}/{split}")
        self.steps.append(Step(node, arm, seed, (zero_shot, *self.retrievals(node, "target"))))


def pretrained_node(out_dir: Path, model: str) -> PhaseNode:
    """The pretrained model as a phase run: nothing to train, evaluations to keep."""
    run = RunDir(Path(out_dir), "pretrained", pretrained_identity(model))
    return PhaseNode("pretrained", run, None, None, model, None, {}, {}, train_cost=0)


def selected(
    selection: DataSelection, registry: TaskRegistry, counter: ExampleCounter | None
) -> tuple[Selected, list[str]]:
    """The selection resolved, and the task/split/language parts whose size is unknown. Without a
    counter nothing is counted (no data file is read)."""
    languages = selection_languages(selection, registry)
    if counter is None:
        return Selected(selection, languages, None), []
    examples, unknown = counter.selected(selection)
    return Selected(selection, languages, examples), unknown


def selection_languages(selection: DataSelection, registry: TaskRegistry) -> tuple[str, ...]:
    """The languages a selection names, or every language of its split."""
    chosen = selection.chosen_languages()
    return tuple(chosen or registry.card(selection.task).split_languages(selection.split))


def retrieval_evaluation(
    spec: Retrieval,
    registry: TaskRegistry,
    features: FeatureOptions | None = None,
    counter: ExampleCounter | None = None,
    hashes: FileHashes | None = None,
) -> tuple[Evaluation, list[str]]:
    """A study's retrieval entry as an evaluation (the one place it becomes a data selection), and
    the parts of it whose size is unknown (with a counter; without one, nothing is counted). Its
    cache name hashes the content of every file of the task (`hashes`: a cache of those hashes)."""
    selection = DataSelection(task=spec.task, split=spec.split, languages=spec.languages, size=spec.size)
    card = registry.card(spec.task)
    data, unknown = selected(selection, registry, counter)
    files = (hashes or FileHashes(None)).card(registry, spec.task)
    detail = [
        spec.model_dump(),
        list(data.languages),
        card.version,
        format_info(card.format).scoring_version,
        files,
    ]
    name = f"{spec.task}-{spec.split}-{short_hash(detail)}"
    settings = (features or FeatureOptions()).settings(card.format)
    return Evaluation(data, name, card, settings, retrieval=spec), unknown


def build_plan(study: Study, registry: TaskRegistry, out_dir: Path, cache_dir: Path | None = None) -> Plan:
    """Every phase run of the study, in the order `xstilts run` reaches them. The data files'
    hashes are cached in `cache_dir` (default: $XSTILTS_CACHE or ~/.cache/xstilts)."""
    hashes = FileHashes((cache_dir or default_cache_dir()) / HASH_CACHE_NAME)
    builder = _Builder(study, registry, out_dir, hashes)
    base = builder.pretrained()
    for seed in study.seeds:
        for arm in study.arms:
            parent = builder.intermediate(base, arm, seed) if arm.intermediate else base
            for target in study.targets:
                builder.target(parent, target, arm.name, seed)
    hashes.save()
    return Plan(study, Path(out_dir), list(builder.nodes.values()), builder.steps)


def node_summary(node: PhaseNode) -> dict[str, Any]:
    """A node as `xstilts plan --json` lists it. `kind` names the phase (the key scripts read)."""
    return {
        "kind": node.phase,
        "id": node.id,
        "parent": node.parent_key,
        "seed": node.seed,
        "tasks": node.tasks,
        "done": node.done,
        "arms": node.arms,
        "train_examples": node.train_examples,
        "train_cost": node.train_cost,
        "eval_examples": node.eval_examples,
        "evaluations": node.scored,
        "unknown": node.unknown,
        "cost": node.cost,
        "complete": node.complete,
    }
