"""The study file: a short YAML design that xstilts turns into phase runs.

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

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from xstilts.data.selection import DataSelection
from xstilts.errors import ConfigError
from xstilts.formats.base import FeatureSettings
from xstilts.models import check_spec
from xstilts.tasks.registry import BUILTIN_CARDS, TaskRegistry
from xstilts.training.config import TrainConfig


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SplitChoice(Strict):
    """A split of the enclosing task, optionally narrowed to languages and a subset."""

    # Train on another task's data of the same format and labels (XQuAD and MLQA train on
    # SQuAD v1.1); None: the enclosing target's own task.
    task: str | None = None
    split: str
    languages: list[str] | None = None
    size: int | None = Field(None, ge=1)
    offset: int = Field(0, ge=0)
    seed: int = 0

    def of(self, task: str) -> DataSelection:
        return DataSelection(task=self.task or task, **self.model_dump(exclude={"task"}))


class Arm(Strict):
    name: str
    # Empty: no intermediate phase (the baseline). Several: multi-task intermediate training.
    intermediate: list[DataSelection] = []
    # Keys of `intermediate_training` that differ for this arm (e.g. epochs for a small task).
    training: dict[str, Any] = {}


class Target(Strict):
    task: str
    train: SplitChoice = SplitChoice(split="train", languages=["en"])
    # Early stopping data; None: train for the configured epochs and keep the last weights.
    dev: SplitChoice | None = None
    # Zero-shot evaluation; languages None means every language the split has.
    evaluate: SplitChoice = SplitChoice(split="test")
    # Keys of `target_training` that differ for this target (the paper: 2 epochs for XNLI, 10 for POS).
    training: dict[str, Any] = {}


class Retrieval(Strict):
    task: str
    split: str = "test"
    languages: list[str] | None = None
    size: int | None = Field(None, ge=1)
    # Hidden layer to mean-pool; None: the card's layer, else the middle of the encoder.
    layer: int | None = None
    after: list[Literal["pretrained", "intermediate", "target"]] = ["pretrained", "intermediate"]


class FeatureConfig(Strict):
    max_length: int = Field(128, ge=8)
    qa_max_length: int = Field(384, ge=16)
    doc_stride: int = Field(128, ge=0)
    max_query_length: int = Field(64, ge=1)
    max_answer_length: int = Field(30, ge=1)

    def settings(self, fmt: str) -> FeatureSettings:
        length = self.qa_max_length if fmt == "span_qa" else self.max_length
        return FeatureSettings(
            max_length=length,
            doc_stride=self.doc_stride,
            max_query_length=self.max_query_length,
            max_answer_length=self.max_answer_length,
        )


class Study(Strict):
    name: str
    description: str = ""
    model: str
    data_dir: Path | None = None
    task_dirs: list[Path] = []
    # Use only these extra card directories, not the built-in cards (self-contained data sets).
    builtin_tasks: bool = True
    seeds: list[int] = [1]
    device: str = "auto"
    features: FeatureConfig = FeatureConfig()
    intermediate_training: TrainConfig = TrainConfig()
    target_training: TrainConfig = TrainConfig()
    arms: list[Arm]
    targets: list[Target] = []
    retrieval: list[Retrieval] = []

    @model_validator(mode="after")
    def _unique_names(self) -> Study:
        names = [arm.name for arm in self.arms]
        if len(set(names)) != len(names):
            raise ValueError(f"arm names must be unique, got {names}")
        if not self.targets and not self.retrieval:
            raise ValueError("a study needs at least one target or retrieval task")
        return self

    def intermediate_config(self, arm: Arm) -> TrainConfig:
        return TrainConfig.model_validate({**self.intermediate_training.model_dump(), **arm.training})

    def target_config(self, target: Target) -> TrainConfig:
        return TrainConfig.model_validate({**self.target_training.model_dump(), **target.training})

    def registry(self) -> TaskRegistry:
        dirs = ([BUILTIN_CARDS] if self.builtin_tasks else []) + list(self.task_dirs)
        return TaskRegistry(self.data_dir or default_data_dir(), dirs)


def default_data_dir() -> Path:
    return Path(os.environ.get("XSTILTS_DATA", "data"))


def load_study(path: Path, data_dir: Path | None = None) -> tuple[Study, TaskRegistry]:
    """Parse, validate and resolve a study file (paths relative to it); check tasks and languages."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(str(path), "study file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ConfigError(str(path), f"not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise ConfigError(str(path), "a study file must be a YAML mapping")
    try:
        study = Study.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
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
    check_study(study, registry, str(path))
    return study, registry


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
            field = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"{where}: {key}.training.{field}", first["msg"]) from None

    for a, arm in enumerate(study.arms):
        check_training(f"arms.{a}", arm.training, study.intermediate_training)
        if arm.training and not arm.intermediate:
            raise ConfigError(
                f"{where}: arms.{a}.training", "an arm with no intermediate phase trains nothing"
            )
        for i, sel in enumerate(arm.intermediate):
            check(f"arms.{a}.intermediate.{i}", sel.task, sel.split, sel.languages)
            if registry.card(sel.task).format == "retrieval":
                raise ConfigError(
                    f"{where}: arms.{a}.intermediate.{i}.task",
                    f"{sel.task} is a retrieval task: it has nothing to train",
                )
    for t, target in enumerate(study.targets):
        check_training(f"targets.{t}", target.training, study.target_training)
        for part in ("train", "dev", "evaluate"):
            choice = getattr(target, part)
            if choice is not None:
                check(f"targets.{t}.{part}", choice.task or target.task, choice.split, choice.languages)
        if target.evaluate.task not in (None, target.task):
            raise ConfigError(
                f"{where}: targets.{t}.evaluate.task", "the evaluation is of the target task itself"
            )
        for part in ("train", "dev"):
            choice = getattr(target, part)
            if choice is not None and choice.task not in (None, target.task):
                own, other = registry.card(target.task), registry.card(choice.task)
                if (own.format, own.labels) != (other.format, other.labels):
                    raise ConfigError(
                        f"{where}: targets.{t}.{part}.task",
                        f"{choice.task} ({other.format}) cannot train a head for {target.task} "
                        f"({own.format}): format and labels must be the same",
                    )
        if registry.card(target.task).format == "retrieval":
            raise ConfigError(
                f"{where}: targets.{t}.task", f"{target.task} is a retrieval task: list it under `retrieval`"
            )
    for r, spec in enumerate(study.retrieval):
        check(f"retrieval.{r}", spec.task, spec.split, spec.languages)
        if registry.card(spec.task).format != "retrieval":
            raise ConfigError(f"{where}: retrieval.{r}.task", f"{spec.task} is not a retrieval task")
