"""The scaling variables a study's arms vary, from its resolved (`Study`):

* data volume: arms that train on the same tasks and languages in the same proportions, with the
  same overrides, at different sizes (x: intermediate examples in total, or the `fraction`);
* number of intermediate tasks: x = len(intermediate), every intermediate arm of a given count
  pooled at that x (the k-of-N `combinations` samples several per k);
* language mix: arms with the same tasks and the same total examples whose language shares
  differ (x: the share of English, or of the first language when none of them has English).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Literal

from xstilts.config.study import Arm, Study
from xstilts.report.study_file import selection_counts

Variable = Literal["volume", "tasks", "mix"]


@dataclass(frozen=True)
class CurveSpec:
    """One line of a scaling curve: at each x, the arms whose scores are pooled there."""

    variable: Variable
    label: str
    x_label: str
    points: tuple[tuple[float, tuple[str, ...]], ...]


def _share_key(counts: dict[str, float]) -> tuple[tuple[str, float], ...]:
    total = sum(counts.values())
    return tuple(sorted((lang, round(n / total, 6)) for lang, n in counts.items()))


def _training_key(arm: Arm) -> str:
    return json.dumps(arm.training, sort_keys=True, default=str)


def _volume(arm: Arm) -> tuple[Any, float, str] | None:
    """(group key, x, x label) of an arm on the data-volume axis, or None if it has no volume."""
    counts = [selection_counts(s) for s in arm.intermediate]
    if all(c is not None for c in counts):
        key = tuple((s.task, s.split, _share_key(c)) for s, c in zip(arm.intermediate, counts, strict=True))
        per_language = all(set(c) == {"*"} for c in counts)
        label = "intermediate examples per language" if per_language else "intermediate examples"
        return ("size", key, _training_key(arm)), sum(sum(c.values()) for c in counts), label
    fractions = {s.fraction for s in arm.intermediate}
    if len(fractions) == 1 and None not in fractions:
        key = tuple((s.task, s.split, tuple(s.languages or ())) for s in arm.intermediate)
        return (
            ("fraction", key, _training_key(arm)),
            float(fractions.pop()),
            "fraction of the intermediate data",
        )
    return None


def _group_label(arm: Arm) -> str:
    parts = []
    for s in arm.intermediate:
        counts = selection_counts(s) or {}
        langs = [lang for lang in counts if lang != "*"] or list(s.languages or [])
        parts.append(f"{s.task}" + (f" {'+'.join(langs)}" if langs else ""))
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


def scaling_specs(resolved: Study | None, arms: list[str]) -> list[CurveSpec]:
    """The scaling curves the study's arms (those among `arms`, which have results) make possible."""
    if resolved is None:
        return []
    chosen = [a for a in resolved.arms if a.intermediate and a.name in arms]
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
        tasks = tuple((s.task, s.split) for s in arm.intermediate)
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
