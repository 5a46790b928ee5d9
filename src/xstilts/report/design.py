"""What a report knows about a study's design: the resolved study (`OUT/study.json`) read as data.

The store's rows say which arm scored what; only the study says what an arm *is*: which arm has no
intermediate phase (the baseline) and what each intermediate phase trained on. From that come the
scaling variables a study can vary:

  * data volume: arms that train on the same tasks and languages in the same proportions, with the
    same overrides, at different sizes (x: intermediate examples in total, or the `fraction`);
  * number of intermediate tasks: x = len(intermediate), every intermediate arm of a given count
    pooled at that x (the k-of-N `combinations` samples several per k);
  * language mix: arms with the same tasks and the same total examples whose language shares
    differ (x: the share of English, or of the first language when none of them has English).

study.json is read as plain JSON, not through the `Study` model: that model imports the training
stack (seconds of torch import) and a report needs only these few fields. `load_study` writes the
resolved study with `combinations` already expanded into `arms`, which is all this reads.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from xstilts.config.selection import mix_counts
from xstilts.errors import ConfigError
from xstilts.metrics.benchmark import CLASSIFICATION, QA, RETRIEVAL, STRUCTURED, builtin_benchmarks

STUDY_FILE = "study.json"
PRETRAINED = "pretrained"  # the arm name results rows give the model before any training

Kind = Literal["structured", "sentence", "other"]
Variable = Literal["volume", "tasks", "mix"]
# Structured prediction (POS, NER, QA) vs sentence-level targets (classification, retrieval): by the
# benchmarks' categories for their tasks, by the card's format for any other task.
_CATEGORY_KIND: dict[str, Kind] = {
    STRUCTURED: "structured",
    QA: "structured",
    CLASSIFICATION: "sentence",
    RETRIEVAL: "sentence",
}
_FORMAT_KIND: dict[str, Kind] = {
    "tagging": "structured",
    "span_qa": "structured",
    "classification": "sentence",
    "multiple_choice": "sentence",
    "retrieval": "sentence",
}


@dataclass(frozen=True)
class ArmDesign:
    name: str
    intermediate: tuple[dict[str, Any], ...]  # DataSelection fields, as study.json has them
    training: dict[str, Any]

    @property
    def is_baseline(self) -> bool:
        return not self.intermediate

    @property
    def tasks(self) -> list[str]:
        return list(dict.fromkeys(s["task"] for s in self.intermediate))

    def describe(self) -> str:
        """One line: what the intermediate phase trains on."""
        if not self.intermediate:
            return "no intermediate phase"
        return "; ".join(_describe_selection(s) for s in self.intermediate)


@dataclass(frozen=True)
class Design:
    name: str
    description: str
    seeds: tuple[int, ...]
    arms: tuple[ArmDesign, ...]
    task_dirs: tuple[Path, ...]
    builtin_tasks: bool

    def arm(self, name: str) -> ArmDesign | None:
        return next((a for a in self.arms if a.name == name), None)

    @property
    def baselines(self) -> list[str]:
        return [a.name for a in self.arms if a.is_baseline]


@dataclass(frozen=True)
class CurveSpec:
    """One line of a scaling curve: at each x, the arms whose scores are pooled there."""

    variable: Variable
    label: str
    x_label: str
    points: tuple[tuple[float, tuple[str, ...]], ...]


def load_design(out_dir: Path) -> Design | None:
    """The resolved study in `out_dir`, or None when there is none (a store copied on its own)."""
    path = Path(out_dir) / STUDY_FILE
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        arms = tuple(
            ArmDesign(
                name=str(arm["name"]),
                intermediate=tuple(dict(s) for s in arm.get("intermediate") or []),
                training=dict(arm.get("training") or {}),
            )
            for arm in raw["arms"]
        )
        for arm in arms:
            for selection in arm.intermediate:
                if not isinstance(selection.get("task"), str):
                    raise ValueError(f"arm {arm.name}: an intermediate entry without a task")
        return Design(
            name=str(raw["name"]),
            description=str(raw.get("description") or ""),
            seeds=tuple(int(s) for s in raw.get("seeds") or []),
            arms=arms,
            task_dirs=tuple(Path(d) for d in raw.get("task_dirs") or []),
            builtin_tasks=bool(raw.get("builtin_tasks", True)),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise ConfigError(str(path), f"not a resolved study file ({err})") from None


def _describe_selection(s: dict[str, Any]) -> str:
    counts = selection_counts(s)
    if s.get("fraction") is not None:
        amount = f"{100 * s['fraction']:g}% of {' '.join(s.get('languages') or ['every language'])}"
    elif counts is None:
        amount = " ".join(s.get("languages") or ["all"])
    elif set(counts) == {"*"}:
        amount = f"{counts['*']:g} per language"
    else:
        amount = ", ".join(f"{lang} {n:g}" for lang, n in counts.items())
    return f"{s['task']} {s.get('split', 'train')} ({amount})"


def selection_counts(s: dict[str, Any]) -> dict[str, float] | None:
    """Examples per language a selection asks for; "*" stands for every language of the split (the
    split's languages are not in the study file); None when it takes all or a fraction."""
    if s.get("sizes"):
        return {lang: float(n) for lang, n in s["sizes"].items()}
    if s.get("mix") and s.get("size"):
        return {lang: float(n) for lang, n in mix_counts(s["mix"], int(s["size"])).items() if n}
    if s.get("size"):
        return {lang: float(s["size"]) for lang in s.get("languages") or ["*"]}
    return None


def resolve_baseline(design: Design | None, arms: list[str], requested: str | None) -> str | None:
    """`--baseline` if it is one of these arms (a store may hold studies without it), else the first
    arm of the study with no intermediate phase that has results; None when neither exists."""
    if requested is not None and requested in arms:
        return requested
    for name in design.baselines if design else []:
        if name in arms:
            return name
    return None


def task_kind(task: str, fmt: str | None) -> Kind:
    for bench in builtin_benchmarks().values():
        if task in {t.name for t in bench.tasks}:
            return _CATEGORY_KIND[bench.task(task).category]
    return _FORMAT_KIND.get(fmt or "", "other")


def card_formats(design: Design | None) -> dict[str, str]:
    """{task: format} from the task cards the study used; empty when they cannot be read (a report
    must not fail because a card folder moved: the kind then comes from the benchmarks alone)."""
    from xstilts.errors import XstiltsError
    from xstilts.tasks.registry import BUILTIN_CARDS, TaskRegistry

    dirs = [BUILTIN_CARDS] if design is None or design.builtin_tasks else []
    dirs += [d for d in (design.task_dirs if design else ()) if d.is_dir()]
    try:
        registry = TaskRegistry(Path("."), dirs)
    except (XstiltsError, OSError, ValueError):
        return {}
    return {name: card.format for name, card in registry.cards.items()}


# --- scaling variables -----------------------------------------------------------------------------


def _share_key(counts: dict[str, float]) -> tuple[tuple[str, float], ...]:
    total = sum(counts.values())
    return tuple(sorted((lang, round(n / total, 6)) for lang, n in counts.items()))


def _training_key(arm: ArmDesign) -> str:
    return json.dumps(arm.training, sort_keys=True, default=str)


def _volume(arm: ArmDesign) -> tuple[Any, float, str] | None:
    """(group key, x, x label) of an arm on the data-volume axis, or None if it has no volume."""
    counts = [selection_counts(s) for s in arm.intermediate]
    if all(c is not None for c in counts):
        key = tuple(
            (s["task"], s.get("split"), _share_key(c)) for s, c in zip(arm.intermediate, counts, strict=True)
        )
        per_language = all(set(c) == {"*"} for c in counts)
        label = "intermediate examples per language" if per_language else "intermediate examples"
        return ("size", key, _training_key(arm)), sum(sum(c.values()) for c in counts), label
    fractions = {s.get("fraction") for s in arm.intermediate}
    if len(fractions) == 1 and None not in fractions:
        key = tuple((s["task"], s.get("split"), tuple(s.get("languages") or ())) for s in arm.intermediate)
        return (
            ("fraction", key, _training_key(arm)),
            float(fractions.pop()),
            "fraction of the intermediate data",
        )
    return None


def _group_label(arm: ArmDesign) -> str:
    parts = []
    for s in arm.intermediate:
        counts = selection_counts(s) or {}
        langs = [lang for lang in counts if lang != "*"] or list(s.get("languages") or [])
        parts.append(f"{s['task']}" + (f" {'+'.join(langs)}" if langs else ""))
    return ", ".join(parts)


def _curves(
    groups: dict[Any, list[tuple[float, str]]], variable: Variable, labels: dict[Any, tuple[str, str]]
) -> list[CurveSpec]:
    """A curve per group whose arms lie at two or more x values; arms at one x are pooled there."""
    specs = []
    for key, members in groups.items():
        by_x: dict[float, list[str]] = defaultdict(list)
        for x, name in members:
            by_x[x].append(name)
        if len(by_x) < 2:
            continue  # nothing varies along this axis
        label, x_label = labels[key]
        points = tuple((x, tuple(by_x[x])) for x in sorted(by_x))
        specs.append(CurveSpec(variable, label, x_label, points))
    return specs


def scaling_specs(design: Design | None, arms: list[str]) -> list[CurveSpec]:
    """The scaling curves the study's arms (those among `arms`, which have results) make possible."""
    if design is None:
        return []
    chosen = [a for a in design.arms if a.intermediate and a.name in arms]
    specs: list[CurveSpec] = []

    volume: dict[Any, list[tuple[float, str]]] = defaultdict(list)
    volume_labels: dict[Any, tuple[str, str]] = {}
    for arm in chosen:
        found = _volume(arm)
        if found is not None:
            key, x, x_label = found
            volume[key].append((x, arm.name))
            volume_labels[key] = (_group_label(arm), x_label)
    specs += _curves(volume, "volume", volume_labels)

    # Every intermediate arm, pooled by its number of tasks: what a `combinations` study (k of N tasks)
    # asks. In a study that also varies volume or languages, those arms are pooled too; the label says
    # so and the curve's table lists the arms at each x.
    count = {("all",): [(float(len(a.intermediate)), a.name) for a in chosen]}
    label = "all intermediate arms, pooled by number of tasks"
    specs += _curves(count, "tasks", {("all",): (label, "number of intermediate tasks")})

    members: dict[Any, list[str]] = defaultdict(list)
    totals: dict[str, dict[str, float]] = {}
    for arm in chosen:
        counts = [selection_counts(s) for s in arm.intermediate]
        if any(c is None or "*" in c for c in counts):
            continue  # languages or sizes not known from the study file alone
        merged: dict[str, float] = defaultdict(float)
        for c in counts:
            for lang, n in c.items():
                merged[lang] += n
        totals[arm.name] = dict(merged)
        tasks = tuple((s["task"], s.get("split")) for s in arm.intermediate)
        members[(tasks, sum(merged.values()), _training_key(arm))].append(arm.name)
    mixes: dict[Any, list[tuple[float, str]]] = {}
    mix_labels: dict[Any, tuple[str, str]] = {}
    for key, names in members.items():
        (tasks, total, _) = key
        languages = sorted({lang for name in names for lang in totals[name]})
        # English is the language of the usual intermediate data; without it, the first language.
        reference = "en" if "en" in languages else languages[0]
        mixes[key] = [(round(100 * totals[name].get(reference, 0.0) / total, 2), name) for name in names]
        mix_labels[key] = (
            f"{'+'.join(task for task, _ in tasks)}, {total:g} examples",
            f"{reference} share of the intermediate examples (%)",
        )
    specs += _curves(mixes, "mix", mix_labels)
    return specs
