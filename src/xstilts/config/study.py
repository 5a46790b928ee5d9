"""The study file: a short YAML description of the runs to compare, which xstilts turns into phase runs.

    # xstilts run studies/nli-vs-none.yaml --out runs/nli-vs-none
    name: nli-vs-none
    model: bundled:me5-small
    data_dir: ../../shared/data          # relative to this file
    seeds: [1, 2]
    arms:
      - name: none                        # no intermediate phase
      - name: nli
        intermediate: [{task: xnli, split: dev, languages: [en], size: 2000}]
    targets:
      - task: pawsx
        train: {split: dev, languages: [en], size: 1000}
        evaluate: {split: dev, offset: 1000}
    retrieval:
      - {task: tatoeba, languages: [de, fr, zh], after: [pretrained, intermediate]}

Everything is validated when the file is loaded, before any work: unknown keys, tasks,
splits and languages fail with the offending key's path in the message.
"""

from __future__ import annotations

import itertools
import os
import random
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from xstilts.config.features import FeatureOptions
from xstilts.config.formats import format_info
from xstilts.config.model_source import check_spec
from xstilts.config.registry import BUILTIN_CARDS, TaskRegistry
from xstilts.config.selection import DataSelection, Languages, count_or_all
from xstilts.config.training import TrainConfig
from xstilts.errors import ConfigError


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Arm(Strict):
    name: str
    # Empty: no intermediate phase (the baseline). Several: multi-task intermediate training.
    intermediate: list[DataSelection] = []
    # Keys of `intermediate_training` that differ for this arm (e.g. epochs for a small task).
    training: dict[str, Any] = {}

    @property
    def is_baseline(self) -> bool:
        """No intermediate phase: what the other arms are compared with."""
        return not self.intermediate

    @property
    def tasks(self) -> list[str]:
        return list(dict.fromkeys(s.task for s in self.intermediate))


class Combinations(Strict):
    """Arms that train on k of the N listed intermediate tasks at once (multi-task), for each k.

    Every combination, or a seeded sample of `sample` combinations per k (the same seed draws the
    same ones). Arm names are `<name>:<task>+<task>...`.
    """

    name: str
    tasks: list[DataSelection] = Field(min_length=2)
    k: list[int]
    sample: int | None = Field(None, ge=1)
    seed: int = 0
    training: dict[str, Any] = {}

    @model_validator(mode="after")
    def _valid_k(self) -> Combinations:
        bad = [k for k in self.k if not 1 <= k <= len(self.tasks)]
        if bad:
            raise ValueError(f"k must be between 1 and {len(self.tasks)} (the number of tasks), got {bad}")
        return self

    def arms(self) -> list[Arm]:
        labels = [t.task for t in self.tasks]
        if len(set(labels)) != len(labels):  # the same task twice (e.g. two languages): number them
            labels = [f"{t.task}{i}" for i, t in enumerate(self.tasks)]
        arms = []
        for k in self.k:
            chosen = list(itertools.combinations(range(len(self.tasks)), k))
            if self.sample is not None and self.sample < len(chosen):
                rng = random.Random(f"{self.seed}-{k}")
                chosen = sorted(rng.sample(chosen, self.sample))
            for combo in chosen:
                arms.append(
                    Arm(
                        name=f"{self.name}:{'+'.join(labels[i] for i in combo)}",
                        intermediate=[self.tasks[i] for i in combo],
                        training=self.training,
                    )
                )
        return arms


class Target(Strict):
    """A target task: English training data, optional early-stopping data, zero-shot evaluation.

    Each part is a selection of the target's own task unless it names another (`train.task`: XQuAD
    and MLQA train on SQuAD v1.1); a part that names no task is given the target's when the study
    loads, so every selection here is complete.
    """

    task: str
    train: DataSelection
    # Early stopping data; None: train for the configured epochs and keep the last weights.
    dev: DataSelection | None = None
    # Zero-shot evaluation; languages None means every language the split has.
    evaluate: DataSelection
    # Keys of `target_training` that differ for this target (the paper: 2 epochs for XNLI, 10 for POS).
    training: dict[str, Any] = {}

    @model_validator(mode="before")
    @classmethod
    def _parts_of_own_task(cls, raw: Any) -> Any:
        if not isinstance(raw, dict) or not isinstance(raw.get("task"), str):
            return raw
        defaults = {"train": {"split": "train", "languages": ["en"]}, "evaluate": {"split": "test"}}
        filled = dict(raw)
        for part in ("train", "dev", "evaluate"):
            choice = filled.get(part, defaults.get(part))
            if isinstance(choice, dict) and choice.get("task") is None:
                filled[part] = {**choice, "task": raw["task"]}
        return filled


class Retrieval(Strict):
    task: str
    split: str = "test"
    languages: Languages | None = None
    # The first `size` queries per language (None or `all`: every one); more than there are is refused.
    size: int | None = Field(None, ge=1)
    # Hidden layer to mean-pool; None: the card's layer, else the middle of the encoder.
    layer: int | None = None
    after: list[Literal["pretrained", "intermediate", "target"]] = ["pretrained", "intermediate"]

    @field_validator("size", mode="before")
    @classmethod
    def _size_all(cls, value: object) -> object:
        return count_or_all(value, "size")


class CheckpointConfig(Strict):
    """How often a training run saves its state for resuming after a kill. Not part of any run's
    identity: changing it never retrains anything."""

    every_steps: int | None = Field(None, ge=1)
    every_minutes: float | None = Field(30.0, gt=0)

    @property
    def every_seconds(self) -> float | None:
        return None if self.every_minutes is None else 60.0 * self.every_minutes


class Retention(Strict):
    """Which phase runs keep their weights once their work is done (plan/retention.py): `reused`
    keeps only runs that other runs train on, `none` deletes those too once all their runs are
    done, `all` keeps everything. Not part of any run's identity."""

    keep: Literal["all", "reused", "none"] = "reused"


class Study(Strict):
    name: str
    description: str = ""
    model: str
    data_dir: Path | None = None
    task_dirs: list[Path] = []
    # Use only these extra card directories, not the built-in cards (self-contained data sets).
    builtin_tasks: bool = True
    # Each seeds torch, NumPy and Python's random: 0 to 2**32 - 1, what all three accept.
    seeds: list[Annotated[int, Field(ge=0, le=2**32 - 1)]] = Field([1], min_length=1)
    device: str = "auto"
    checkpoint: CheckpointConfig = CheckpointConfig()
    checkpoints: Retention = Retention()
    features: FeatureOptions = FeatureOptions()
    intermediate_training: TrainConfig = TrainConfig()
    target_training: TrainConfig = TrainConfig()
    arms: list[Arm] = []
    # Generated arms: k of N intermediate tasks (added to `arms` when the study is loaded).
    combinations: list[Combinations] = []
    targets: list[Target] = []
    retrieval: list[Retrieval] = []

    @model_validator(mode="after")
    def _unique_names(self) -> Study:
        if not self.arms and not self.combinations:
            raise ValueError("a study needs at least one arm (or `combinations`)")
        names = [arm.name for arm in self.all_arms()]
        if "pretrained" in names:
            raise ValueError(
                "`pretrained` names the model before any training in results: choose another arm name"
            )
        if len(set(names)) != len(names):
            raise ValueError(f"arm names must be unique, got {names}")
        if not self.targets and not self.retrieval:
            raise ValueError("a study needs at least one target or retrieval task")
        return self

    def all_arms(self) -> list[Arm]:
        return [*self.arms, *(arm for c in self.combinations for arm in c.arms())]

    def arm(self, name: str) -> Arm | None:
        return next((a for a in self.all_arms() if a.name == name), None)

    @property
    def baselines(self) -> list[str]:
        return [a.name for a in self.all_arms() if a.is_baseline]

    def intermediate_config(self, arm: Arm) -> TrainConfig:
        return TrainConfig.model_validate({**self.intermediate_training.model_dump(), **arm.training})

    def target_config(self, target: Target) -> TrainConfig:
        return TrainConfig.model_validate({**self.target_training.model_dump(), **target.training})

    def registry(self) -> TaskRegistry:
        dirs = ([BUILTIN_CARDS] if self.builtin_tasks else []) + list(self.task_dirs)
        return TaskRegistry(self.data_dir or default_data_dir(), dirs)


Selection = TypeVar("Selection", DataSelection, "Retrieval")


def default_data_dir() -> Path:
    return Path(os.environ.get("XSTILTS_DATA", "data"))


def load_study(path: Path, data_dir: Path | None = None) -> tuple[Study, TaskRegistry]:
    """Parse, validate and resolve a study file (paths relative to it); check tasks and languages."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(str(path), "study file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise ConfigError(str(path), f"not UTF-8 text (byte {err.start}: {err.reason})") from None
    except yaml.MarkedYAMLError as err:
        # One line, `file:line:column: problem`, as compilers say it (PyYAML counts from 0).
        mark = err.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(where, f"not valid YAML: {err.problem or err.context}") from None
    except yaml.YAMLError as err:
        raise ConfigError(str(path), f"not valid YAML: {' '.join(str(err).split())}") from None
    if not isinstance(raw, dict):
        raise ConfigError(str(path), "a study file must be a YAML mapping")
    try:
        study = Study.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        # pydantic names the member of a union it tried (`list[str]`): not a key of the file.
        keys = [str(k) for k in first["loc"] if not (isinstance(k, str) and ("[" in k or "'" in k))]
        where = ".".join(keys) or "(top level)"
        raise ConfigError(f"{path}: {where}", first["msg"]) from None
    base = path.resolve().parent
    resolved_data = data_dir or (base / study.data_dir if study.data_dir else default_data_dir())
    study = study.model_copy(
        update={"data_dir": Path(resolved_data), "task_dirs": [base / d for d in study.task_dirs]}
    )
    try:
        check_spec(study.model)
    except ConfigError as err:
        raise ConfigError(f"{path}: model", str(err)) from None
    registry = study.registry()
    study = study.model_copy(update={"arms": study.all_arms(), "combinations": []})
    study = resolve_benchmark_languages(study, registry, str(path))
    check_study(study, registry, str(path))
    return study, registry


def resolve_benchmark_languages(study: Study, registry: TaskRegistry, where: str) -> Study:
    """Replace `languages: xtreme` (or `xtreme-r`) by that benchmark's list from the task's card."""

    def resolve(key: str, task: str, choice: Selection) -> Selection:
        if not isinstance(choice.languages, str):
            return choice
        try:
            card = registry.card(task)
        except ConfigError as err:
            raise ConfigError(f"{where}: {key}.task", str(err)) from None
        entry = card.benchmarks.get(choice.languages)
        if entry is None:
            raise ConfigError(
                f"{where}: {key}.languages",
                f"task {task} is not part of {choice.languages} "
                f"(its benchmarks: {', '.join(card.benchmarks) or 'none'})",
            )
        return choice.model_copy(update={"languages": list(entry.languages)})

    targets = []
    for t, target in enumerate(study.targets):
        update = {}
        for part in ("train", "dev", "evaluate"):
            choice = getattr(target, part)
            if choice is not None:
                update[part] = resolve(f"targets.{t}.{part}", choice.task, choice)
        targets.append(target.model_copy(update=update))
    retrieval = [resolve(f"retrieval.{r}", spec.task, spec) for r, spec in enumerate(study.retrieval)]
    return study.model_copy(update={"targets": targets, "retrieval": retrieval})


def check_study(study: Study, registry: TaskRegistry, where: str) -> None:
    def check(key: str, task: str, split: str, languages: list[str] | None) -> None:
        try:
            card = registry.card(task)
        except ConfigError as err:
            raise ConfigError(f"{where}: {key}.task", str(err)) from None
        if split not in card.splits:
            raise ConfigError(
                f"{where}: {key}.split",
                f"task {task} has no split {split!r} (it has {', '.join(card.splits)})",
            )
        known = card.split_languages(split)
        for lang in languages or []:
            if lang not in known:
                raise ConfigError(
                    f"{where}: {key}.languages",
                    f"task {task} split {split} has no language {lang!r} (it has {', '.join(known)})",
                )

    def check_training(key: str, overrides: dict[str, Any], base: TrainConfig) -> None:
        try:
            TrainConfig.model_validate({**base.model_dump(), **overrides})
        except ValidationError as err:
            first = err.errors()[0]
            # A check of the whole training mapping (a model validator) has no field to name.
            path = ".".join([key, "training", *(str(p) for p in first["loc"])])
            raise ConfigError(f"{where}: {path}", first["msg"]) from None

    for a, arm in enumerate(study.arms):
        check_training(f"arms.{a}", arm.training, study.intermediate_training)
        if arm.training and not arm.intermediate:
            raise ConfigError(
                f"{where}: arms.{a}.training", "an arm with no intermediate phase trains nothing"
            )
        for i, sel in enumerate(arm.intermediate):
            check(f"arms.{a}.intermediate.{i}", sel.task, sel.split, sel.chosen_languages())
            if not format_info(registry.card(sel.task).format).trains:
                raise ConfigError(
                    f"{where}: arms.{a}.intermediate.{i}.task",
                    f"{sel.task} is a retrieval task: it has nothing to train",
                )
    for t, target in enumerate(study.targets):
        check_training(f"targets.{t}", target.training, study.target_training)
        for part in ("train", "dev", "evaluate"):
            choice = getattr(target, part)
            if choice is not None:
                check(f"targets.{t}.{part}", choice.task, choice.split, choice.chosen_languages())
        if target.evaluate.task != target.task:
            raise ConfigError(
                f"{where}: targets.{t}.evaluate.task", "the evaluation is of the target task itself"
            )
        for part in ("train", "dev"):
            choice = getattr(target, part)
            if choice is not None and choice.task != target.task:
                own, other = registry.card(target.task), registry.card(choice.task)
                if (own.format, own.labels) != (other.format, other.labels):
                    raise ConfigError(
                        f"{where}: targets.{t}.{part}.task",
                        f"{choice.task} ({other.format}) cannot train a head for {target.task} "
                        f"({own.format}): format and labels must be the same",
                    )
        if not format_info(registry.card(target.task).format).trains:
            raise ConfigError(
                f"{where}: targets.{t}.task", f"{target.task} is a retrieval task: list it under `retrieval`"
            )
    featurised = {sel.task for arm in study.arms for sel in arm.intermediate}
    featurised |= {t.train.task for t in study.targets} | {t.task for t in study.targets}
    if any(format_info(registry.card(task).format).windows for task in featurised):
        problem = study.features.check_windows()
        if problem:
            raise ConfigError(f"{where}: features.doc_stride", problem)
    for r, spec in enumerate(study.retrieval):
        check(f"retrieval.{r}", spec.task, spec.split, spec.languages)
        if format_info(registry.card(spec.task).format).trains:
            raise ConfigError(f"{where}: retrieval.{r}.task", f"{spec.task} is not a retrieval task")
