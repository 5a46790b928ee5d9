"""`xstilts data pull TASK... --to DIR`: fetch task data from the Hugging Face hub into the card layout.

For each split and language of a task, the card's `hub` entry names a hub split
(`card.hub_source(split, lang)`); the split is loaded with `datasets.load_dataset`, its rows go
through the writer of the card's codec (`data/codecs/`) into temporary files beside the
targets, the card's reader reads those files back and their labels are checked as `data check`
checks them, and only then are the files renamed into place. A split and language either gets
all its files, complete and readable, or none: a failure removes every temporary file.

A split and language whose files are all there already is left alone (`force` rewrites it).
Every failure is collected and reported; the others still go ahead.

The hub mirror (`--hub-mirror DIR` or $XSTILTS_HUB_MIRROR) runs the same path offline: a hub
dataset id then resolves to `DIR/<dataset id>/<config or "default">/`, holding for each split
either `<split>/` written by `Dataset.save_to_disk`, or `<split>.jsonl|.json|.parquet|.csv` or
`<split>-*.parquet` (the hub's own parquet file names), with the column types in an optional
`features.json` (`datasets.Features.to_dict()`; ClassLabel columns need it, parquet carries them).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from tqdm import tqdm

from xstilts.config.cards import HubSource, TaskCard
from xstilts.config.registry import TaskRegistry
from xstilts.data.check import label_problem, text_table
from xstilts.data.codecs import HubRows, read, write
from xstilts.errors import ConfigError, DataFormatError, XstiltsError

# Prefix of the temporary files a pull writes before renaming them into place. The original
# file name stays at the end, so a writer can still tell `tatoeba.deu-eng.eng` from `.deu`.
PARTIAL_PREFIX = ".xstilts-partial-"
MIRROR_ENV = "XSTILTS_HUB_MIRROR"
WRITTEN, PRESENT, FAILED, NO_HUB = "written", "present", "failed", "no hub source"
_MIRROR_FILES = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}


class DataPullFailed(XstiltsError):
    """Some splits could not be pulled (the table says which); the CLI exits with code 2."""


@dataclass
class PullRow:
    task: str
    split: str
    language: str
    source: str  # "dataset config [split]" on the hub, "" without a hub entry
    status: str
    examples: int | None = None
    problem: str = ""
    files: list[str] = field(default_factory=list)

    @property
    def is_problem(self) -> bool:
        return self.status == FAILED


class StagedFiles:
    """Temporary files beside their targets, renamed into place together by `commit()`.

    Leaving the block without a commit (an error, Ctrl-C) removes every temporary file and the
    directories made for them, so a failed pull leaves nothing behind, not even empty folders.
    """

    def __init__(self, targets: Mapping[str, Path]) -> None:
        self.targets = dict(targets)
        token = secrets.token_hex(4)
        self.temps = {key: p.parent / f"{PARTIAL_PREFIX}{token}-{p.name}" for key, p in self.targets.items()}
        self._made_dirs: list[Path] = []
        self._committed = False

    def __enter__(self) -> dict[str, Path]:
        for target in self.targets.values():
            missing = [d for d in (target.parent, *target.parent.parents) if not d.exists()]
            for directory in reversed(missing):  # outermost first
                directory.mkdir()
                self._made_dirs.append(directory)
        return dict(self.temps)

    def commit(self) -> None:
        for key, temp in self.temps.items():
            os.replace(temp, self.targets[key])
        self._committed = True

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._committed:
            return
        for temp in self.temps.values():
            temp.unlink(missing_ok=True)
        for directory in reversed(self._made_dirs):  # innermost first
            try:
                directory.rmdir()
            except OSError:
                pass  # something else was put there meanwhile: not ours to remove


def default_mirror() -> Path | None:
    value = os.environ.get(MIRROR_ENV)
    return Path(value) if value else None


class HubLoader:
    """Loads hub splits (or their mirror copies) once each, however many languages share them."""

    def __init__(self, mirror: Path | None = None, cache_dir: Path | None = None, progress: bool = True):
        self.mirror = mirror
        self.cache_dir = cache_dir
        self.progress = progress
        self._loaded: dict[tuple[str, str | None, str], Any] = {}

    def load(self, dataset: str, config: str | None, split: str) -> Any:
        key = (dataset, config, split)
        if key not in self._loaded:
            import datasets  # a heavy import, needed only here

            if not self.progress:
                datasets.disable_progress_bars()
            cache = None if self.cache_dir is None else str(self.cache_dir / "datasets")
            if self.mirror is None:
                self._loaded[key] = datasets.load_dataset(dataset, config, split=split, cache_dir=cache)
            else:
                self._loaded[key] = self._load_mirrored(datasets, dataset, config, split, cache)
        return self._loaded[key]

    def _load_mirrored(
        self, datasets: Any, dataset: str, config: str | None, split: str, cache: str | None
    ) -> Any:
        assert self.mirror is not None
        base = self.mirror / dataset / (config or "default")
        if (base / split / "state.json").is_file():
            return datasets.load_from_disk(str(base / split))
        found = [base / f"{split}{ext}" for ext in _MIRROR_FILES if (base / f"{split}{ext}").is_file()]
        found = found[:1] or sorted(base.glob(f"{split}-*.parquet"))
        if not found:
            raise ConfigError(
                f"hub mirror {self.mirror}",
                f"no {split}/ (save_to_disk), {split}.jsonl|.json|.parquet|.csv "
                f"or {split}-*.parquet in {base}",
            )
        features = None
        if (base / "features.json").is_file():
            try:
                features = datasets.Features.from_dict(
                    json.loads((base / "features.json").read_text("utf-8"))
                )
            except (ValueError, KeyError, TypeError) as err:
                raise DataFormatError(
                    base / "features.json", None, f"not a datasets Features dict: {err}"
                ) from None
        builder = _MIRROR_FILES.get(found[0].suffix, "parquet")
        return datasets.load_dataset(
            builder, data_files=[str(p) for p in found], split="train", features=features, cache_dir=cache
        )


def _rows_for_language(table: Any, hub: HubSource, card: TaskCard, lang: str) -> Iterable[dict[str, Any]]:
    """All rows, or one language's rows where one table holds every language: those whose
    `language_column` names it (code or card language), or whose `id` starts with its prefix."""
    if hub.language_column is not None:
        names = {lang, card.language_codes.get(lang, lang)}
        return (row for row in table if row.get(hub.language_column) in names)
    if hub.id_prefixes:
        prefix = hub.id_prefixes[lang]
        return (row for row in table if str(row.get("id", "")).startswith(prefix))
    return table


def _counted(rows: Iterable[dict[str, Any]], seen: list[int]) -> Iterator[dict[str, Any]]:
    for row in rows:
        seen[0] += 1
        yield row


def not_pullable(card: TaskCard, split: str, lang: str) -> str:
    """Why the card's hub entry does not give this split and language ("" when it does)."""
    hub = card.split_source(split).hub
    if hub is None:
        return "the card names no hub source for this split"
    if lang in hub.unavailable:
        return "the card marks it unavailable on the hub (its `obtain` says where to get it)"
    if hub.configs and lang not in hub.configs and hub.config is None and lang not in hub.datasets:
        # Per-language configs that leave a language out: loading the dataset without a config
        # would fetch its default config, some other language.
        return f"the card's hub entry has no config for {lang}"
    if hub.id_prefixes:
        return "" if lang in hub.id_prefixes else f"the card's hub entry has no id prefix for {lang}"
    if hub.language_column is None:
        here = card.hub_source(split, lang)
        sharing = [
            other
            for other in card.split_languages(split)
            if other not in hub.unavailable and card.hub_source(split, other) == here
        ]
        if len(sharing) > 1:
            # One table for several languages and nothing to tell them apart by: every
            # language's file would get every language's rows.
            return (
                f"{', '.join(sharing)} share the hub table {' '.join(filter(None, here))} and the card "
                "names neither a language_column nor id_prefixes to split it"
            )
    return ""


def _load_error(source: str, err: Exception) -> DataFormatError:
    first_line = (str(err).strip().splitlines() or [""])[0]
    return DataFormatError(source, None, f"could not load it: {type(err).__name__}: {first_line}")


def pull_language(
    card: TaskCard, split: str, lang: str, data_dir: Path, loader: HubLoader, force: bool = False
) -> PullRow:
    """Pull one split and language into `data_dir`; the row says what happened."""
    files = card.files(split, lang, data_dir)
    why_not = not_pullable(card, split, lang)
    if why_not:
        return PullRow(card.name, split, lang, "", NO_HUB, problem=why_not)
    hub = card.split_source(split).hub
    assert hub is not None
    dataset, config, hub_split = card.hub_source(split, lang)
    source = " ".join(part for part in (dataset, config, f"[{hub_split}]") if part)
    row = PullRow(card.name, split, lang, source, WRITTEN, files=[str(p) for p in files.values()])
    if not force and all(p.is_file() for p in files.values()):
        row.status = PRESENT
        return row
    staged = StagedFiles(files)
    try:
        try:
            table = loader.load(dataset, config, hub_split)
        except XstiltsError:
            raise
        except Exception as err:  # network, auth, unknown dataset or config: one failed row each
            raise _load_error(source, err) from None
        seen = [0]
        rows = HubRows(
            name=source,
            columns=list(table.column_names),
            rows=_counted(_rows_for_language(table, hub, card, lang), seen),
            features=getattr(table, "features", None),
            config=config,
            labels=card.labels,
        )
        if hub.language_column is not None and hub.language_column not in rows.columns:
            raise rows.error(None, f"has no language column {hub.language_column!r}")
        if hub.id_prefixes and "id" not in rows.columns:
            raise rows.error(None, "has no id column for the card's id_prefixes")
        options = card.reader_options_for(split)
        with staged as temps:
            written = write(card.reader, rows, temps, options)
            if seen[0] == 0:
                filtered = hub.language_column is not None or hub.id_prefixes
                raise rows.error(None, f"has no rows{f' for {lang}' if filtered else ''}")
            data = read(card.reader, temps, **options)
            if len(data) != written and not options.get("skip_bad_answers"):
                raise DataFormatError(
                    source, None, f"wrote {written} examples but the reader reads {len(data)}"
                )
            problem = label_problem(card, data)
            if problem:
                raise DataFormatError(source, None, problem)
            staged.commit()
        row.examples = written
    except XstiltsError as err:
        message = str(err)
        # The reader names the temporary file, which is gone now: name the file it was to become.
        for key, temp in staged.temps.items():
            message = message.replace(str(temp), f"{files[key]} (as written)")
        row.status, row.problem = FAILED, message
    return row


def pull_tasks(
    registry: TaskRegistry,
    tasks: Sequence[str],
    splits: Sequence[str] | None = None,
    languages: Sequence[str] | None = None,
    loader: HubLoader | None = None,
    force: bool = False,
    progress: bool = False,
) -> list[PullRow]:
    """Pull every split and language of `tasks` (or the named splits / languages) that has a hub
    source. Unknown tasks, splits and languages fail before anything is fetched."""
    loader = loader or HubLoader(progress=progress)
    cards = [registry.card(name) for name in tasks]
    for split in splits or ():
        if not any(split in card.splits for card in cards):
            raise ConfigError(f"--split {split}", f"none of {', '.join(tasks)} has this split")
    for lang in languages or ():
        if not any(lang in card.languages for card in cards):
            raise ConfigError(f"--languages {lang}", f"none of {', '.join(tasks)} has this language")
    # In table order: a row already decided, or a split and language to pull.
    plan: list[PullRow | tuple[TaskCard, str, str]] = []
    for card in cards:
        planned = sum(isinstance(item, tuple) for item in plan)
        chosen = [s for s in card.splits if splits is None or s in splits]
        for split in chosen:
            if card.splits[split].hub is None:
                # One row for the split: the task's other splits may still come from the hub.
                plan.append(PullRow(card.name, split, "-", "", NO_HUB, problem=not_pullable(card, split, "")))
                continue
            for lang in card.split_languages(split):
                if languages is not None and lang not in languages:
                    continue
                why_not = not_pullable(card, split, lang)
                plan.append(
                    PullRow(card.name, split, lang, "", NO_HUB, problem=why_not)
                    if why_not
                    else (card, split, lang)
                )
        if sum(isinstance(item, tuple) for item in plan) == planned:
            plan.append(PullRow(card.name, ",".join(chosen) or "-", "-", "", FAILED, problem=_no_hub(card)))
    rows: list[PullRow] = []
    total = sum(isinstance(item, tuple) for item in plan)
    with tqdm(total=total, desc="pulling", unit="file", disable=not progress) as bar:
        for item in plan:
            if isinstance(item, PullRow):
                rows.append(item)
                continue
            card, split, lang = item
            rows.append(pull_language(card, split, lang, registry.data_dir, loader, force))
            bar.update(1)
    return rows


def _no_hub(card: TaskCard) -> str:
    how = f"; {card.obtain}" if card.obtain else ""
    return f"nothing asked of {card.name} can be pulled from the hub (rows above){how}"


def as_json(rows: Sequence[PullRow], data_dir: Path) -> dict[str, Any]:
    return {
        "data_dir": str(data_dir),
        "failed": sum(r.is_problem for r in rows),
        "rows": [asdict(r) for r in rows],
    }


def format_table(rows: Sequence[PullRow], data_dir: Path) -> str:
    header = ("task", "split", "language", "examples", "status", "hub source / problem")
    cells = [
        (
            r.task,
            r.split,
            r.language,
            "" if r.examples is None else str(r.examples),
            r.status,
            r.problem if r.problem else r.source,
        )
        for r in rows
    ]
    lines = [f"data directory: {data_dir}", "", text_table(header, cells)]
    counts = {status: sum(r.status == status for r in rows) for status in (WRITTEN, PRESENT, FAILED, NO_HUB)}
    lines.append("")
    lines.append(
        f"{counts[WRITTEN]} written, {counts[PRESENT]} already present (--force rewrites them), "
        f"{counts[FAILED]} failed, {counts[NO_HUB]} without a hub source"
    )
    return "\n".join(line.rstrip() for line in lines)
