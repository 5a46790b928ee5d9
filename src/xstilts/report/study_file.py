"""What a report knows about a study: the resolved study (`OUT/study.json`), read through the
study schema (`Study`), and how the report describes its arms.

The store's rows say which arm scored what; only the study says what an arm *is*: which arm has no
intermediate phase (the baseline) and what each intermediate phase trained on (`scaling` draws its
curves from that). `xstilts run` writes the resolved study with `Study.model_dump(mode="json")`,
`combinations` already expanded into `arms`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from xstilts.config.formats import format_info
from xstilts.config.selection import DataSelection
from xstilts.config.study import Arm, Study
from xstilts.errors import ConfigError
from xstilts.metrics.benchmark import CLASSIFICATION, QA, RETRIEVAL, STRUCTURED, builtin_benchmarks

STUDY_FILE = "study.json"
PRETRAINED = "pretrained"  # the arm name results rows give the model before any training

Kind = Literal["structured", "sentence", "other"]
# Structured prediction (POS, NER, QA) vs sentence-level targets (classification, retrieval): by the
# benchmarks' categories for their tasks, by the card's format for any other task.
_CATEGORY_KIND: dict[str, Kind] = {
    STRUCTURED: "structured",
    QA: "structured",
    CLASSIFICATION: "sentence",
    RETRIEVAL: "sentence",
}


def describe_arm(arm: Arm) -> str:
    """One line: what the arm's intermediate phase trains on."""
    if not arm.intermediate:
        return "no intermediate phase"
    return "; ".join(_describe_selection(s) for s in arm.intermediate)


def load_study_json(out_dir: Path) -> Study | None:
    """The resolved study in `out_dir`, or None when there is none (a store copied on its own)."""
    path = Path(out_dir) / STUDY_FILE
    if not path.is_file():
        return None
    try:
        return Study.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(str(path), f"not a resolved study file ({where}: {first['msg']})") from None
    except (OSError, ValueError) as err:
        raise ConfigError(str(path), f"not a resolved study file ({err})") from None


def _describe_selection(s: DataSelection) -> str:
    counts = selection_counts(s)
    if s.fraction is not None:
        amount = f"{100 * s.fraction:g}% of {' '.join(s.languages or ['every language'])}"
    elif counts is None:
        amount = " ".join(s.languages or ["all"])
    elif set(counts) == {"*"}:
        amount = f"{counts['*']:g} per language"
    else:
        amount = ", ".join(f"{lang} {n:g}" for lang, n in counts.items())
    return f"{s.task} {s.split} ({amount})"


def selection_counts(s: DataSelection) -> dict[str, float] | None:
    """Examples per language a selection asks for; "*" stands for every language of the split (the
    split's languages are not in the study file); None when it takes all or a fraction."""
    # The file's size is not known here: a fraction's count is unknown (None), as is "all".
    counts = {lang: s.size_for(lang, None) for lang in s.chosen_languages() or ["*"]}
    if any(n is None for n in counts.values()):
        return None
    # A `mix` ratio too small for one example of its language gives it none.
    return {lang: float(n) for lang, n in counts.items() if n}


def resolve_baseline(resolved: Study | None, arms: list[str], requested: str | None) -> str | None:
    """`--baseline` if it is one of these arms (a store may hold studies without it), else the first
    arm of the study with no intermediate phase that has results; None when neither exists."""
    if requested is not None and requested in arms:
        return requested
    for name in resolved.baselines if resolved else []:
        if name in arms:
            return name
    return None


def task_kind(task: str, fmt: str | None) -> Kind:
    for bench in builtin_benchmarks().values():
        if task in {t.name for t in bench.tasks}:
            return _CATEGORY_KIND[bench.task(task).category]
    return "other" if fmt is None else format_info(fmt).level


def card_formats(resolved: Study | None) -> dict[str, str]:
    """{task: format} from the task cards the study used; empty when they cannot be read (a report
    must not fail because a card folder moved: the kind then comes from the benchmarks alone)."""
    from xstilts.config.registry import BUILTIN_CARDS, TaskRegistry
    from xstilts.errors import XstiltsError

    dirs = [BUILTIN_CARDS] if resolved is None or resolved.builtin_tasks else []
    dirs += [d for d in (resolved.task_dirs if resolved else ()) if d.is_dir()]
    try:
        registry = TaskRegistry(Path("."), dirs)
    except (XstiltsError, OSError, ValueError):
        return {}
    return {name: card.format for name, card in registry.cards.items()}
