"""Per-example values in the shape the statistics take, and each seed's score from them.

An evaluation of one (arm, seed, task, language) is an array of per-example values, aligned by
example id across arms and seeds, given as (n_examples,) [or (n_examples, width)] for one seed or
(n_seeds, n_examples[, width]) for several; `as_seeds` checks and shapes it. The metric that scores
the values is a `xstilts.results.recipes.Metric`, the one the evaluation itself was scored with.
With several seeds the score of an arm is the mean over seeds of each seed's score (as `xstilts
results` averages).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from xstilts.results.recipes import MEAN, Metric


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
