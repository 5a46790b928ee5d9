"""Arms against the baseline: differences with bootstrap intervals and paired tests, and scaling curves.

Every comparison uses one level of evidence for all the arms in it (`Comparer.evidence`): per-example
scores when each of them has them, else seed-level scores when each can be resampled, else point
estimates alone (one seed and no per-example scores: there is nothing to resample).

All the arms of a section are resampled at once (`stats.resample_examples`, one matrix product per
language for all of them), on draws named by the report's seed, the section and the language: every
arm is scored on the same resamples, so every comparison is paired, and a number does not change
when another arm or task is added to the study. Each comparison's seed term has a stream of its own,
named by the comparison.
"""

from __future__ import annotations

import math
import statistics
import zlib
from typing import Any

import numpy as np

from xstilts.report.evidence import Evidence, ExampleSource, arm_is_fixed, seed_level
from xstilts.report.model import CurvePoint, Delta, DeltaRow
from xstilts.report.scaling import CurveSpec
from xstilts.report.sections import Gathered, seed_averages
from xstilts.stats.intervals import Interval, compare, summarise
from xstilts.stats.mcnemar import mcnemar_if_binary
from xstilts.stats.resampling import Resampled, pool, resample_examples


class Comparer:
    def __init__(self, source: ExampleSource, resamples: int, confidence: float, seed: int) -> None:
        self.source, self.resamples, self.confidence, self.seed = source, resamples, confidence, seed
        self._examples: dict[tuple[str, str], Evidence | None] = {}
        # Per section, {language: example ids} that every arm's examples are aligned to.
        self._references: dict[str, dict[str, np.ndarray]] = {}
        self.levels: dict[str, int] = {"examples": 0, "seeds": 0, "none": 0}
        # (section, level) -> {label: {language: Resampled}}
        self._resampled: dict[tuple[str, str], dict[str, dict[str, Resampled]]] = {}

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

    def sizes(self, g: Gathered) -> dict[str, int]:
        """Test examples per language of section `g`, as the per-example files the statistics used
        have them (the rows of the store do not say); {} where there were none."""
        return {lang: len(ids) for lang, ids in self._references.get(g.key, {}).items()}

    def _seed_evidence(self, g: Gathered, label: str) -> Evidence | None:
        return seed_level(g.cells(label), fixed=arm_is_fixed(g.source[label][1]))

    def evidence(self, g: Gathered, labels: list[str]) -> tuple[str, dict[str, Evidence]]:
        """The common level of evidence of `labels` in section `g` and each label's evidence."""
        if g.baseline is not None:
            self._example_evidence(g, g.baseline)
        examples = {label: self._example_evidence(g, label) for label in labels}
        if all(e is not None for e in examples.values()):
            return "examples", {k: v for k, v in examples.items() if v is not None}
        seeds = {label: self._seed_evidence(g, label) for label in labels}
        if all(e is not None and e.resamplable for e in seeds.values()):
            return "seeds", {k: v for k, v in seeds.items() if v is not None}
        return "none", {}

    def _resample(self, g: Gathered, level: str) -> dict[str, dict[str, Resampled]]:
        """Every label of the section with evidence at `level`, resampled together, once."""
        key = (g.key, level)
        if key not in self._resampled:
            labels = ([g.baseline] if g.baseline else []) + [a for a in g.arms if a != g.baseline]
            found = {
                label: self._example_evidence(g, label)
                if level == "examples"
                else self._seed_evidence(g, label)
                for label in labels
            }
            usable = {label: e for label, e in found.items() if e is not None}
            metric = next(iter(usable.values())).metric
            resampled = resample_examples(
                [e.by_language for e in usable.values()], metric, self.resamples, self.stream(g.key, level)
            )
            self._resampled[key] = dict(zip(usable, resampled, strict=True))
        return self._resampled[key]

    def resampled(self, g: Gathered, level: str) -> dict[str, dict[str, Resampled]]:
        """Every label of section `g` with evidence at `level`, on the resamples the deltas use."""
        return self._resample(g, level)

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
            rows.append(self._delta_row(g, label, languages, level, found))
        return rows

    def _delta_row(
        self, g: Gathered, label: str, languages: list[str], level: str, found: dict[str, Evidence]
    ) -> DeltaRow:
        resampled = self._resample(g, level)
        arm, base = resampled[label], resampled[g.baseline or ""]
        arm_evidence, base_evidence = found[label], found[g.baseline or ""]

        def difference(chosen: list[str], name: str, mcnemar: Any = None) -> Delta:
            stream = self.stream(g.key, label, name)
            result = compare(
                arm,
                base,
                chosen,
                self.confidence,
                stream,
                mcnemar=mcnemar,
                baseline_fixed=base_evidence.fixed,
                arm_fixed=arm_evidence.fixed,
            )
            tested = result.mcnemar.p_value if result.mcnemar is not None else None
            if math.isnan(result.p_value):
                # Nothing varied (every example and seed scored alike): no interval to show, only
                # the difference (a zero-width "interval" would read as certainty).
                return Delta(result.estimate, None, None, None, tested)
            return Delta(result.estimate, result.low, result.high, result.p_value, tested)

        per_language = {}
        for lang in languages:
            mcnemar = None
            if level == "examples":  # McNemar tests examples; seed-level scores are not 0/1 anyway
                mcnemar = mcnemar_if_binary(
                    arm_evidence.by_language[lang], base_evidence.by_language[lang], arm_evidence.metric
                )
            per_language[lang] = difference([lang], lang, mcnemar)
        return DeltaRow(label, per_language, difference(languages, "average"), level)  # type: ignore[arg-type]

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
        resampled = self._resample(g, level)
        fixed = found[g.baseline].fixed if g.baseline else False
        points = []
        for x, names in present:
            pooled = pool([resampled[a] for a in names])
            stream = self.stream(g.key, spec.variable, spec.label, repr(x))
            if g.baseline:
                interval: Interval = compare(
                    pooled,
                    resampled[g.baseline],
                    languages,
                    self.confidence,
                    stream,
                    baseline_fixed=fixed,
                    arm_fixed=all(found[a].fixed for a in names),
                )
            else:
                interval = summarise(pooled, languages, self.confidence, stream)
            points.append(_curve_point(x, interval, names))
        return sorted(points, key=lambda p: p.x)

    def _point_curve(self, g: Gathered, x: float, names: list[str], languages: list[str]) -> CurvePoint:
        # The arms at x pooled as seeds of one arm, as `stats.pool` pools them: each seed counts once.
        def seeds(labels: list[str]) -> list[float]:
            return [s for label in labels for s in seed_averages(g.cells(label), languages)]

        pooled, base = seeds(names), seeds([g.baseline]) if g.baseline else [0.0]
        nan = float("nan")
        estimate = (statistics.fmean(pooled) if pooled else nan) - (statistics.fmean(base) if base else nan)
        return CurvePoint(x, estimate, None, None, tuple(names))


def _curve_point(x: float, interval: Interval, names: Any) -> CurvePoint:
    return CurvePoint(x, interval.estimate, interval.low, interval.high, tuple(names))
