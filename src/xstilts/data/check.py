"""`xstilts data check DIR`: is every task's data there, readable, and inside its label set?

For every card, split and language: the files are found or not, read with the card's reader, the
examples counted, and their labels checked against the card. Every problem is collected (nothing
stops at the first), one row per split and language.

What counts as a problem:
- a language with only some of its files (Tatoeba's two sides, BUCC's three);
- a file its reader rejects (malformed, empty): the reader's message, with file and line;
- a label outside the card's `labels` (classification labels, tagging tags) or a multiple-choice
  answer index outside the choices. Readers given `labels` options reject such labels themselves
  with the line; the check after reading catches what a reader was not told to check, so nothing
  is reported twice.
A split with no file in any language is "not downloaded" (one row), and so is a language with none
of its files in a split that other languages have (one row per language): a partial data
directory is normal (the shared mirror leaves test sets out on purpose, and a user downloads the
languages they study), so these are listed but only count as problems with `require=True`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from xstilts.config.cards import TaskCard
from xstilts.config.formats import format_info
from xstilts.config.registry import BUILTIN_CARDS, TaskRegistry
from xstilts.data.codecs import read
from xstilts.data.examples import BaseExample, RetrievalCorpus
from xstilts.errors import ConfigError, DataFormatError, XstiltsError

# A row's status; every one but OK and NOT_DOWNLOADED is a problem.
OK = "ok"
MISSING = "missing"
NOT_DOWNLOADED = "not downloaded"
MALFORMED = "malformed"
BAD_LABELS = "bad labels"


class DataCheckFailed(XstiltsError):
    """The check found problems (the table says which); the CLI exits with code 2."""


@dataclass
class CheckRow:
    task: str
    split: str
    language: str  # "-" on a not-downloaded row, which stands for every language of the split
    status: str
    examples: int | None = None
    problem: str = ""
    is_problem: bool = False
    files: list[str] = field(default_factory=list)


def registry_for(data_dir: Path, task_dirs: Iterable[Path] = (), builtin: bool = True) -> TaskRegistry:
    """The built-in cards (unless builtin=False) and those in `task_dirs`, over `data_dir`."""
    task_dirs = list(task_dirs)
    for directory in task_dirs:
        if not Path(directory).is_dir():
            raise ConfigError(f"task folder {directory}", "no such directory")
    return TaskRegistry(data_dir, ([BUILTIN_CARDS] if builtin else []) + task_dirs)


def label_problem(card: TaskCard, examples: Sequence[BaseExample] | RetrievalCorpus) -> str:
    """One sentence about the labels outside the card's set, "" when there are none (or when the
    card's format is scored by retrieval, whose gold candidates are no labels)."""
    if format_info(card.format).retrieval:
        return ""
    assert not isinstance(examples, RetrievalCorpus)
    allowed = set(card.labels or ())
    # (example, offending label) for labels outside the card's label set.
    bad = [(example, label) for example in examples for label in example.labels_outside(allowed)]
    if not bad:
        return ""
    values = sorted({label for _, label in bad})
    shown = ", ".join(repr(v) for v in values[:5]) + (", ..." if len(values) > 5 else "")
    first = bad[0][0]
    expected = (
        "an index of one of the choices"
        if first.LABELS_ARE_CHOICE_INDICES
        else f"one of {', '.join(card.labels or ())}"
    )
    are = "is" if len(bad) == 1 else "are"
    return f"{plural(len(bad), 'label')} {are} not {expected}: {shown} (first in example {first.id})"


def check_language(
    card: TaskCard, split: str, lang: str, files: dict[str, Path], require: bool = False
) -> CheckRow:
    """Check one split and language: its files are there, its reader reads them, its labels fit.
    A language with none of its files is not downloaded (a problem only with `require`)."""
    row = CheckRow(card.name, split, lang, OK, files=[str(p) for p in files.values()])
    missing = [p for p in files.values() if not p.exists()]
    if missing:
        whole = len(missing) == len(files)  # none of its files: not downloaded, not half there
        row.status, row.is_problem = (NOT_DOWNLOADED, require) if whole else (MISSING, True)
        row.problem = "missing " + ", ".join(str(p) for p in missing) if row.is_problem else ""
        return row
    try:
        data = read(card.reader, files, **card.reader_options_for(split))
    except (DataFormatError, ConfigError) as err:
        # ConfigError: the card's reader options are wrong, which makes every file unreadable.
        row.status, row.problem, row.is_problem = MALFORMED, str(err), True
        return row
    row.examples = len(data)
    problem = label_problem(card, data)
    if problem:
        row.status, row.problem, row.is_problem = BAD_LABELS, problem, True
    return row


def check_card(
    card: TaskCard,
    data_dir: Path,
    require: bool = False,
    splits: Sequence[str] | None = None,
    languages: Sequence[str] | None = None,
    done: Callable[[int], Any] | None = None,
) -> list[CheckRow]:
    """Rows for the splits and languages of one card (all, or those named); `done(n)` is told of
    every n languages checked, for a progress bar."""
    rows: list[CheckRow] = []
    for split in _chosen(card.splits, splits):
        chosen = _chosen(card.split_languages(split), languages)
        if not chosen:
            continue
        files = {lang: card.files(split, lang, data_dir) for lang in chosen}
        if not any(p.exists() for lang_files in files.values() for p in lang_files.values()):
            problem = f"no file for any of its {len(chosen)} languages" if require else ""
            rows.append(CheckRow(card.name, split, "-", NOT_DOWNLOADED, problem=problem, is_problem=require))
            if done is not None:
                done(len(chosen))
            continue
        for lang in chosen:
            rows.append(check_language(card, split, lang, files[lang], require))
            if done is not None:
                done(1)
    return rows


def _chosen(items: Iterable[str], wanted: Sequence[str] | None) -> list[str]:
    return [item for item in items if wanted is None or item in wanted]


def check_data(
    registry: TaskRegistry,
    tasks: Iterable[str] | None = None,
    require: bool = False,
    splits: Sequence[str] | None = None,
    languages: Sequence[str] | None = None,
    progress: bool = False,
) -> list[CheckRow]:
    """One row per card, split and language (not-downloaded splits: one row per split).
    Unknown task names fail before anything is read; `splits` / `languages` narrow every task."""
    names = list(tasks) if tasks else list(registry.cards)
    cards = [registry.card(name) for name in names]
    total = sum(
        len(_chosen(card.split_languages(split), languages))
        for card in cards
        for split in _chosen(card.splits, splits)
    )
    rows: list[CheckRow] = []
    with tqdm(total=total, desc="checking", unit="file", disable=not progress, leave=False) as bar:
        for card in cards:
            rows.extend(check_card(card, registry.data_dir, require, splits, languages, done=bar.update))
    return rows


def summary(rows: Sequence[CheckRow]) -> dict[str, Any]:
    present = [r for r in rows if r.status not in (MISSING, NOT_DOWNLOADED)]
    return {
        "tasks": len({r.task for r in rows}),
        "read": len(present),
        "ok": sum(r.status == OK for r in rows),
        "examples": sum(r.examples or 0 for r in rows),
        "problems": sum(r.is_problem for r in rows),
        # Whole splits (language "-"), and single languages of splits that others have.
        "not_downloaded": sum(r.status == NOT_DOWNLOADED and r.language == "-" for r in rows),
        "languages_not_downloaded": sum(r.status == NOT_DOWNLOADED and r.language != "-" for r in rows),
    }


def as_json(rows: Sequence[CheckRow], data_dir: Path) -> dict[str, Any]:
    return {"data_dir": str(data_dir), "summary": summary(rows), "rows": [asdict(r) for r in rows]}


def text_table(header: Sequence[str], cells: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns; the last one (free text) is not padded."""
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(header)]
    lines = []
    for line in (header, *cells):
        lines.append("  ".join(c.ljust(w) for c, w in zip(line[:-1], widths, strict=False)) + "  " + line[-1])
    return "\n".join(line.rstrip() for line in lines)


def format_table(rows: Sequence[CheckRow], data_dir: Path, require: bool = False) -> str:
    header = ("task", "split", "language", "examples", "status", "problem")
    cells = [
        (r.task, r.split, r.language, "" if r.examples is None else str(r.examples), r.status, r.problem)
        for r in rows
    ]
    lines = [f"data directory: {data_dir}", "", text_table(header, cells)]
    s = summary(rows)
    lines.append("")
    not_downloaded = plural(s["not_downloaded"], "split")
    if s["languages_not_downloaded"]:
        not_downloaded += " and " + plural(s["languages_not_downloaded"], "split/language")
    not_downloaded += " not downloaded"
    if (s["not_downloaded"] or s["languages_not_downloaded"]) and not require:
        not_downloaded += " (not counted as problems; --require counts them)"
    lines.append(
        f"{plural(s['tasks'], 'task')}: {s['read']} split/languages read, {s['ok']} ok "
        f"({plural(s['examples'], 'example')}); {plural(s['problems'], 'problem')}; {not_downloaded}"
    )
    return "\n".join(line.rstrip() for line in lines)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
