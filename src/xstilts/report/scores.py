"""The metrics the report's statistics resample: a score computed from per-example sums.

An evaluation of one (arm, seed, task, language) is an array of per-example values, aligned by
example id across arms and seeds, given as (n_examples,) [or (n_examples, width)] for one seed or
(n_seeds, n_examples[, width]) for several; `as_seeds` checks and shapes it. With several seeds
the score of an arm is the mean over seeds of each seed's score (as `xstilts results` averages).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray


class Metric(Protocol):
    """A score computable from per-example sums: `width` values per example, summed, then
    `from_sums`."""

    @property
    def width(self) -> int:
        """Values per example."""
        ...

    def from_sums(self, sums: NDArray[np.float64], n: int) -> NDArray[np.float64]:
        """Scores from sums over n examples; `sums` has shape (..., width), the result (...)."""
        ...

    def check(self, values: NDArray[np.float64]) -> None:
        """Raise ValueError for values this metric cannot score (shape (..., n, width))."""
        ...


@dataclass(frozen=True)
class Mean:
    """Mean of per-example values, times `scale` (the values' own unit by default)."""

    scale: float = 1.0
    width: ClassVar[int] = 1

    def from_sums(self, sums: NDArray[np.float64], n: int) -> NDArray[np.float64]:
        return sums[..., 0] * (self.scale / n)

    def check(self, values: NDArray[np.float64]) -> None:
        if not np.all(np.isfinite(values)):
            raise ValueError("per-example values must be finite (no NaN or infinity)")


@dataclass(frozen=True)
class CountF1:
    """F1 from summed (true positives, predicted, gold) counts, times `scale` (percent by default,
    as every metric in `xstilts.metrics`). Nothing predicted and nothing gold scores 0, as seqeval's
    `zero_division=0`."""

    scale: float = 100.0
    width: ClassVar[int] = 3

    def from_sums(self, sums: NDArray[np.float64], n: int) -> NDArray[np.float64]:
        true_positives = sums[..., 0]
        denominator = sums[..., 1] + sums[..., 2]
        f1 = np.divide(
            2.0 * true_positives,
            denominator,
            out=np.zeros_like(denominator, dtype=np.float64),
            where=denominator > 0,
        )
        return f1 * self.scale

    def check(self, values: NDArray[np.float64]) -> None:
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ValueError("counts must be finite and non-negative")
        tp, predicted, gold = values[..., 0], values[..., 1], values[..., 2]
        if np.any(tp > predicted) or np.any(tp > gold):
            raise ValueError("an example has more true positives than predicted or gold items")


@dataclass(frozen=True)
class Ratio:
    """100 * sum(numerator) / sum(denominator) from (numerator, denominator) per example: token
    accuracy, BUCC precision and recall. Zero denominators score 0, as `metrics_from_examples`."""

    scale: float = 100.0
    width: ClassVar[int] = 2

    def from_sums(self, sums: NDArray[np.float64], n: int) -> NDArray[np.float64]:
        numerator, denominator = sums[..., 0], sums[..., 1]
        ratio = np.divide(numerator, denominator, out=np.zeros_like(denominator), where=denominator > 0)
        return ratio * self.scale

    def check(self, values: NDArray[np.float64]) -> None:
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ValueError("ratio counts must be finite and non-negative")
        if np.any(values[..., 0] > values[..., 1]):
            raise ValueError("an example has a numerator above its denominator (more right than counted)")


MEAN = Mean()
PERCENT = Mean(scale=100.0)
F1_FROM_COUNTS = CountF1()
RATIO = Ratio()


def as_seeds(values: ArrayLike, metric: Metric, what: str = "values") -> NDArray[np.float64]:
    """Values as (n_seeds, n_examples, width)."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except ValueError as error:  # ragged: seeds with different numbers of examples
        raise ValueError(f"{what}: every seed must score the same examples ({error})") from None
    if metric.width == 1 and array.ndim >= 1 and not (array.ndim == 3 and array.shape[-1] == 1):
        array = array[..., None]  # a Mean's scalar per example is a width-1 row of sums
    if array.ndim == 2:
        array = array[None]  # one seed
    if array.ndim != 3 or array.shape[-1] != metric.width:
        shapes = "(n_examples,) or (n_seeds, n_examples)"
        if metric.width != 1:
            shapes = f"(n_examples, {metric.width}) or (n_seeds, n_examples, {metric.width})"
        raise ValueError(f"{what}: shape {np.shape(values)}, expected {shapes}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{what}: no seeds or no examples")
    metric.check(array)
    return array


def seed_scores_of(array: NDArray[np.float64], metric: Metric) -> NDArray[np.float64]:
    return metric.from_sums(array.sum(axis=1), array.shape[1])


def seed_scores(values: ArrayLike, metric: Metric = MEAN) -> list[float]:
    """Each seed's score on all its examples."""
    return [float(s) for s in seed_scores_of(as_seeds(values, metric), metric)]


def point_estimate(values: ArrayLike, metric: Metric = MEAN) -> float:
    """The score: the mean over seeds of each seed's score."""
    return float(np.mean(seed_scores(values, metric)))
