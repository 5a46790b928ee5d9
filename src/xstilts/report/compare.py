"""Arms against the baseline: differences with bootstrap intervals and paired tests, and scaling curves.

Every comparison uses one level of evidence for all the arms in it (`Comparer.evidence`): per-example
scores when each of them has them, else seed-level scores when each can be resampled, else point
estimates alone (one seed and no per-example scores: there is nothing to resample). Each
comparison draws from its own random stream, derived from the report's seed and the comparison's
name, so a number does not change when another arm or task is added to the study.
"""

from __future__ import annotations

import statistics
import zlib
from typing import Any

import numpy as np

from xstilts.report.design import CurveSpec
from xstilts.report.evidence import Evidence, ExampleSource, arm_is_fixed, seed_level
from xstilts.report.model import CurvePoint, Delta, DeltaRow
from xstilts.report.sections import Gathered, seed_averages
from xstilts.report.stats import Difference, Interval, language_average, paired_difference, scaling_curve


class Comparer:
    def __init__(self, source: ExampleSource, resamples: int, confidence: float, seed: int) -> None:
        self.source, self.resamples, self.confidence, self.seed = source, resamples, confidence, seed
        self._examples: dict[tuple[str, str], Evidence | None] = {}
        # Per section, {language: example ids} that every arm's examples are aligned to.
        self._references: dict[str, dict[str, np.ndarray]] = {}
        self.levels: dict[str, int] = {"examples": 0, "seeds": 0, "none": 0}

    def stream(self, *parts: str) -> np.random.SeedSequence:
        return np.random.SeedSequence([self.seed, zlib.crc32("\x1f".join(parts).encode())])

    def _example_evidence(self, g: Gathered, label: str) -> Evidence | None:
        key = (g.key, label)
        if key not in self._examples:
            arm, phase = g.source[label]
            runs = g.runs[label]
            # The baseline sets the reference ids of each language, so it is asked first.
            reference = self._references.setdefault(g.key, {})
            languages = [lang for lang in g.languages if lang in g.cells(label)]
            self._examples[key] = self.source.evidence(
                g.task, g.split, phase, arm, runs, languages, g.metrics[0], reference
            )
        return self._examples[key]

    def evidence(self, g: Gathered, labels: list[str]) -> tuple[str, dict[str, Evidence]]:
        """The common level of evidence of `labels` in section `g` and each label's evidence."""
        if g.baseline is not None:
            self._example_evidence(g, g.baseline)
        examples = {label: self._example_evidence(g, label) for label in labels}
        if all(e is not None for e in examples.values()):
            return "examples", {k: v for k, v in examples.items() if v is not None}
        seeds = {}
        for label in labels:
            fixed = arm_is_fixed(g.source[label][1])
            seeds[label] = seed_level(g.cells(label), fixed=fixed)
        if all(e is not None and e.resamplable for e in seeds.values()):
            return "seeds", {k: v for k, v in seeds.items() if v is not None}
        return "none", {}

    def deltas(self, g: Gathered) -> list[DeltaRow]:
        if g.baseline is None:
            return []
        rows = []
        for label in g.arms:
            if label == g.baseline:
                continue
            languages = [
                lang for lang in g.languages if lang in g.cells(label) and lang in g.cells(g.baseline)
            ]
            if not languages:
                continue
            level, found = self.evidence(g, [label, g.baseline])
            self.levels[level] += 1
            if level == "none":
                rows.append(self._point_deltas(g, label, languages))
                continue
            arm, base = found[label], found[g.baseline]
            average = language_average(
                arm.only(languages),
                base.only(languages),
                arm.metric,
                self.resamples,
                self.confidence,
                self.stream(g.key, label, "average"),
            )
            per_language = {
                lang: _delta(
                    paired_difference(
                        arm.by_language[lang],
                        base.by_language[lang],
                        arm.metric,
                        self.resamples,
                        self.confidence,
                        self.stream(g.key, label, lang),
                    ),
                    mcnemar=level == "examples",
                )
                for lang in languages
            }
            rows.append(DeltaRow(label, per_language, _delta(average), level))  # type: ignore[arg-type]
        return rows

    def _point_deltas(self, g: Gathered, label: str, languages: list[str]) -> DeltaRow:
        arm, base = g.cells(label), g.cells(g.baseline or "")
        per_language = {
            lang: Delta(statistics.fmean(arm[lang].values()) - statistics.fmean(base[lang].values()))
            for lang in languages
        }
        arm_avg, base_avg = seed_averages(arm, languages), seed_averages(base, languages)
        estimate = statistics.fmean(arm_avg) - statistics.fmean(base_avg) if arm_avg and base_avg else None
        average = Delta(estimate) if estimate is not None else Delta(float("nan"))
        return DeltaRow(label, per_language, average, "none")

    def curve(self, g: Gathered, spec: CurveSpec) -> list[CurvePoint]:
        """Each x's language average (its gain over the baseline when the section has one), with the
        arms at that x pooled as if they were more seeds of one arm."""
        arms = [a for _, names in spec.points for a in names if a in g.values]
        labels = arms + ([g.baseline] if g.baseline else [])
        languages = [lang for lang in g.languages if all(lang in g.cells(label) for label in labels)]
        if not arms or not languages:
            return []
        level, found = self.evidence(g, labels)
        present = [(x, [a for a in names if a in g.values]) for x, names in spec.points]
        present = [(x, names) for x, names in present if names]
        if level == "none":
            return [self._point_curve(g, x, names, languages) for x, names in present]
        pooled = {
            x: {lang: np.concatenate([found[a].by_language[lang] for a in names]) for lang in languages}
            for x, names in present
        }
        base = found[g.baseline].only(languages) if g.baseline else None
        metric = found[arms[0]].metric
        stream = self.stream(g.key, spec.variable, spec.label)
        curve = scaling_curve(pooled, metric, base, self.resamples, self.confidence, stream)
        names_at = dict(present)
        return [_curve_point(p.x, p.interval, names_at[p.x]) for p in curve]

    def _point_curve(self, g: Gathered, x: float, names: list[str], languages: list[str]) -> CurvePoint:
        def average(label: str) -> float:
            found = seed_averages(g.cells(label), languages)
            return statistics.fmean(found) if found else float("nan")

        base = average(g.baseline) if g.baseline else 0.0
        estimate = statistics.fmean(average(a) for a in names) - base
        return CurvePoint(x, estimate, None, None, tuple(names))


def _delta(result: Difference | Interval, mcnemar: bool = False) -> Delta:
    assert isinstance(result, Difference)
    tested = result.mcnemar.p_value if mcnemar and result.mcnemar is not None else None
    return Delta(result.estimate, result.low, result.high, result.p_value, tested)


def _curve_point(x: float, interval: Interval, names: Any) -> CurvePoint:
    return CurvePoint(x, interval.estimate, interval.low, interval.high, tuple(names))
