"""What the report's statistics resample for one arm of one evaluated task: the seam between the
store and `xstilts.stats`.

`Evidence.by_language[lang]` is an array in the form every function of `stats` takes,
(n_seeds, n_examples[, width]), with the metric that scores it. It comes from one of two places,
chosen per arm and task:

  * per-example records (`ResultsStore.examples`: the Parquet files the evaluations wrote): rows
    are examples aligned by id with the other arms, and the values are the columns the metric's
    recipe sums, scored by that recipe's own metric (`xstilts.results.recipes`), the one the
    evaluation was scored with. Intervals then resample examples, and seeds where there are several.
  * otherwise the store's rows alone (a store from before per-example files, or an evaluation whose
    file is unusable): each seed's score as one "example", (n_seeds, 1), scored by their mean. The
    same `stats` functions then resample seeds only: an interval over seeds, which says nothing
    about test-set noise, and none at all below MIN_SEEDS seeds (`Evidence.resamplable`).

Everything else in the report only sees `Evidence`, so a new source of per-example data is a change
here alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from xstilts.errors import XstiltsError
from xstilts.results.recipes import MEAN, Metric, Recipe

Level = Literal["examples", "seeds"]
# Fewest seeds of a trained arm for a seed-only interval (a t-interval over seeds). Two seeds give
# the t one degree of freedom: a Cauchy-tailed interval too wide and too noisy to read. Three is the
# fewest `stats` is calibrated for.
MIN_SEEDS = 3


def _resampled_recipe(data: Sequence[str] | None) -> Recipe | None:
    """The recipe of a stored metric, None where the report's statistics do not apply: an unknown
    recipe, or a metric where lower is better (perplexity), which their one-sided tests and gains
    would read backwards."""
    try:
        recipe = Recipe.of(data) if data else None
    except ValueError:
        return None
    return recipe if recipe is not None and recipe.metric.higher_is_better else None


@dataclass(frozen=True)
class Evidence:
    by_language: dict[str, NDArray[np.float64]]
    metric: Metric
    level: Level
    # Where the arm has no interval of its own: the pretrained model is one fixed encoder, so its
    # single "seed" is no sampling noise, while one seed of a trained arm hides its seed variance.
    fixed: bool = False

    @property
    def seeds(self) -> int:
        return next(iter(self.by_language.values())).shape[0] if self.by_language else 0

    @property
    def resamplable(self) -> bool:
        """Whether resampling can say anything: examples, or MIN_SEEDS seeds (or a fixed model)."""
        return self.level == "examples" or self.seeds >= MIN_SEEDS or self.fixed

    def only(self, languages: Sequence[str]) -> dict[str, NDArray[np.float64]]:
        return {lang: self.by_language[lang] for lang in languages}


def seed_level(cells: Mapping[str, Mapping[Any, float]], fixed: bool = False) -> Evidence | None:
    """Evidence from the rows: {language: {seed: score}} with the seeds every language has."""
    common = set.intersection(*(set(by_seed) for by_seed in cells.values())) if cells else set()
    if not common:
        return None
    seeds = sorted(common, key=lambda s: (s is not None, s))
    by_language = {
        lang: np.array([[by_seed[s]] for s in seeds], dtype=np.float64) for lang, by_seed in cells.items()
    }
    return Evidence(by_language, MEAN, "seeds", fixed=fixed)


class ExampleSource:
    """Per-example scores of one study from the store, read once per evaluated task.

    `evidence` returns None whenever they cannot be used (no `examples` reader, no files for this
    arm, ids that do not line up with the reference arm, a recipe without a bootstrap), and the
    reason in `problems` so that the page says why an arm fell back to seed-level statistics.
    """

    def __init__(self, store: Any, study: str) -> None:
        self.store, self.study = store, study
        self.problems: list[str] = []
        self._loaded: dict[tuple[str, str, str], list[Any]] = {}

    def _evaluations(self, task: str, split: str, phase: str) -> list[Any]:
        key = (task, split, phase)
        if key not in self._loaded:
            reader = getattr(self.store, "examples", None)
            found: list[Any] = []
            if reader is not None:
                try:
                    found = list(reader(self.study, task=task, split=split, phase=phase))
                except XstiltsError as err:
                    self.problems.append(f"{task} ({split}, {phase}): per-example scores unreadable: {err}")
            self._loaded[key] = found
        return self._loaded[key]

    def evidence(
        self,
        task: str,
        split: str,
        phase: str,
        arm: str,
        runs: Mapping[Any, str],
        languages: Sequence[str],
        metric: str,
        reference: dict[str, np.ndarray],
    ) -> Evidence | None:
        """The arm's per-example values of `metric` for its current runs ({seed: run}), aligned by id
        to `reference` ({language: ids}; the first arm asked for a language sets its ids)."""
        chosen = [
            e
            for e in self._evaluations(task, split, phase)
            if e.arm == arm and e.seed in runs and runs[e.seed] == e.run and e.language in languages
        ]
        where = f"{task} ({split}, {phase}) {arm}"
        by_language: dict[str, list[Any]] = {lang: [] for lang in languages}
        for e in chosen:
            by_language[e.language].append(e)
        seeds = sorted(runs, key=lambda s: (s is not None, s))
        if not chosen:
            return None  # a store without per-example files: the rows' seed-level scores serve
        if any({e.seed for e in found} != set(seeds) for found in by_language.values()):
            self.problems.append(f"{where}: per-example scores of only some seeds or languages")
            return None
        data = chosen[0].metrics.get(metric)
        recipe = _resampled_recipe(data)
        if recipe is None:
            self.problems.append(f"{where}: no bootstrap for metric {metric} (recipe {data})")
            return None
        stats_metric = recipe.metric
        arrays: dict[str, NDArray[np.float64]] = {}
        for lang, found in by_language.items():
            per_seed = []
            for e in sorted(found, key=lambda e: (e.seed is not None, e.seed)):
                ids = np.asarray(e.columns["id"], dtype=object)
                order = _alignment(reference.setdefault(lang, ids), ids)
                if order is None:
                    self.problems.append(f"{where} {lang}: examples differ from the other arms'")
                    return None
                values = recipe.values(e.columns)
                per_seed.append(values[order] if stats_metric.width > 1 else values[order, 0])
            arrays[lang] = np.stack(per_seed)
            try:
                stats_metric.check(arrays[lang])
            except ValueError as err:  # a damaged file: this arm falls back, the report goes on
                self.problems.append(f"{where} {lang}: per-example scores unusable: {err}")
                return None
        return Evidence(arrays, stats_metric, "examples", fixed=arm_is_fixed(phase))


def arm_is_fixed(phase: str) -> bool:
    return phase == "pretrained"


def _alignment(reference: np.ndarray, ids: np.ndarray) -> np.ndarray | None:
    """Row order that puts `ids` in the reference's order, or None when they are not the same set."""
    if len(ids) != len(reference):
        return None
    if np.array_equal(ids, reference):
        return np.arange(len(ids))
    position = {key: i for i, key in enumerate(ids.tolist())}
    if len(position) != len(ids):
        return None  # repeated ids: no way to tell which row is which
    try:
        return np.array([position[key] for key in reference.tolist()], dtype=np.int64)
    except KeyError:
        return None
