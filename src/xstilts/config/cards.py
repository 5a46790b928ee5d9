"""Task cards: one YAML file per task says what the task is and where its data lives.

Adding a task whose format and reader exist touches no Python: write a card.

    name: xnli
    format: classification
    reader: xtreme_tsv_pairs
    labels: [entailment, neutral, contradiction]
    metric: accuracy
    languages: [ar, bg, de, ...]
    splits:
      dev: {path: "xtreme/xnli/dev-{lang}.tsv"}

A split's `path` (or each entry of `paths`, for readers that read several files) is relative to
the data directory and may use `{lang}` (the task's language code) and `{code}` (the file-name
code of that language from `language_codes`, e.g. Tatoeba's `deu` for `de`).

A split's `hub` says where a user with internet finds the same data on the Hugging Face hub
(dataset, config, split; `config` may use `{lang}` and `{code}`, `configs` overrides it per
language). `benchmarks` lists the benchmarks (XTREME, XTREME-R) that evaluate the task, each
with its own language list, evaluation split, category, metrics and position: the cards are the only
definition of a benchmark's tasks (`xstilts.metrics.benchmark` holds the scoring rules).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from xstilts.errors import ConfigError

FormatName = Literal["classification", "multiple_choice", "span_qa", "tagging", "retrieval", "masked_lm"]
BenchmarkName = Literal["xtreme", "xtreme-r"]
BenchmarkCategory = Literal["classification", "structured_prediction", "question_answering", "retrieval"]


class HubSource(BaseModel):
    """A split on the Hugging Face hub: `datasets.load_dataset(dataset, config, split=split)`."""

    model_config = ConfigDict(extra="forbid")

    dataset: str
    config: str | None = None
    split: str
    # Per-language config where the hub's names follow no pattern (e.g. `udpos.German`).
    configs: dict[str, str] = {}
    # Per-language dataset where a language lives in another hub dataset (XTREME-R's extra
    # UD-POS treebanks; XCOPA's English dev, which is COPA validation).
    datasets: dict[str, str] = {}
    # Languages this split has that no hub dataset holds: the card's `obtain` says how to get them.
    unavailable: list[str] = []
    # For configs that hold every language in one table: the column that names the language ...
    language_column: str | None = None
    # ... or, where there is no such column, the id prefix of each language's rows (TyDiQA's
    # `tydiqa` config: ids start with `english-`, `korean-`, ...).
    id_prefixes: dict[str, str] = {}


class BenchmarkEntry(BaseModel):
    """How one benchmark evaluates this task: its languages, the split it reports, the category it
    counts in, the per-language metrics its task score averages and its place among the tasks."""

    model_config = ConfigDict(extra="forbid")

    languages: list[str]
    split: str = "test"
    category: BenchmarkCategory
    # Per-language metric keys; the task score is the mean of their language averages (QA: f1 and
    # exact_match, XTREME's (EM + F1) / 2).
    metrics: list[str] = Field(min_length=1)
    # 1-based place among the benchmark's tasks: the column order of its tables (the paper's).
    position: int = Field(ge=1)


class SplitSource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str | None = None
    paths: dict[str, str] | None = None
    # Languages this split exists for; default: all of the card's languages.
    languages: list[str] | None = None
    # Per-language file overrides where the name follows no pattern (e.g. TyDiQA dev files).
    files: dict[str, str] | None = None
    # Reader options for this split only (merged over the card's `reader_options`).
    options: dict[str, Any] = {}
    # Where a user with internet gets this split (`xstilts data pull`).
    hub: HubSource | None = None
    # Published example counts per language: what `xstilts plan` costs a run with when the
    # files are not downloaded yet (and what a complete download holds).
    examples: dict[str, int] = {}

    @model_validator(mode="after")
    def _one_location(self) -> SplitSource:
        if (self.path is None) == (self.paths is None) and not self.files:
            raise ValueError("give exactly one of `path` or `paths` (or per-language `files`)")
        return self


class TaskCard(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    version: int = 1
    description: str = ""
    format: FormatName
    reader: str
    reader_options: dict[str, Any] = {}
    labels: list[str] | None = None
    metric: str
    languages: list[str]
    language_codes: dict[str, str] = {}
    splits: dict[str, SplitSource]
    # Retrieval tasks: which hidden_states entry to mean-pool (0: embeddings, i: output of layer i).
    layer: int | None = None
    # Benchmarks that evaluate this task (target tasks); empty for intermediate-only tasks.
    benchmarks: dict[BenchmarkName, BenchmarkEntry] = {}
    # Where the data comes from and how a user obtains what is not freely downloadable.
    source: str = ""
    obtain: str = ""
    # Where the card was read from (set by the loader, not written in YAML).
    source_file: str | None = None

    def split_languages(self, split: str) -> list[str]:
        source = self.split_source(split)
        if source.languages is not None:
            return list(source.languages)
        if source.files and source.path is None and source.paths is None:
            return list(source.files)
        return list(self.languages)

    def hub_source(self, split: str, lang: str) -> tuple[str, str | None, str]:
        """(dataset, config, split) on the Hugging Face hub for one split and language."""
        hub = self.split_source(split).hub
        if hub is None:
            raise ConfigError(f"task {self.name}", f"split {split!r} names no Hugging Face hub source")
        if lang in hub.unavailable:
            raise ConfigError(
                f"task {self.name}",
                f"split {split!r} in {lang!r} is not on the Hugging Face hub. {self.obtain}".strip(),
            )
        code = self.language_codes.get(lang, lang)
        config = hub.configs.get(lang, hub.config)
        dataset = hub.datasets.get(lang, hub.dataset)
        return dataset, None if config is None else config.format(lang=lang, code=code), hub.split

    def split_source(self, split: str) -> SplitSource:
        if split not in self.splits:
            raise ConfigError(
                f"task {self.name}", f"has no split {split!r} (it has {', '.join(self.splits)})"
            )
        return self.splits[split]

    def reader_options_for(self, split: str) -> dict[str, Any]:
        return {**self.reader_options, **self.split_source(split).options}

    def files(self, split: str, lang: str, data_dir: Path) -> dict[str, Path]:
        """The file(s) holding one split in one language, keyed as the reader's arguments."""
        source = self.split_source(split)
        if lang not in self.split_languages(split):
            raise ConfigError(
                f"task {self.name}",
                f"split {split!r} has no language {lang!r} (it has {', '.join(self.split_languages(split))})",
            )
        code = self.language_codes.get(lang, lang)
        if source.files and lang in source.files:
            return {"path": data_dir / source.files[lang].format(lang=lang, code=code)}
        if source.path is not None:
            return {"path": data_dir / source.path.format(lang=lang, code=code)}
        assert source.paths is not None
        return {key: data_dir / value.format(lang=lang, code=code) for key, value in source.paths.items()}


def load_card(path: Path) -> TaskCard:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ConfigError(str(path), f"not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise ConfigError(str(path), "a task card must be a YAML mapping")
    try:
        card = TaskCard.model_validate({**raw, "source_file": str(path)})
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: {where}", first["msg"]) from None
    _check_languages(card, path)
    return card


def _check_languages(card: TaskCard, path: Path) -> None:
    """Every language a split or benchmark names must be one of the card's languages."""
    known = set(card.languages)
    named = {f"splits.{s}.languages": src.languages or [] for s, src in card.splits.items()}
    named.update({f"benchmarks.{b}.languages": e.languages for b, e in card.benchmarks.items()})
    for where, langs in named.items():
        unknown = [lang for lang in langs if lang not in known]
        if unknown:
            raise ConfigError(f"{path}: {where}", f"languages not in the card's list: {', '.join(unknown)}")
    for name, entry in card.benchmarks.items():
        if entry.split not in card.splits:
            raise ConfigError(f"{path}: benchmarks.{name}.split", f"no split {entry.split!r} in this card")
