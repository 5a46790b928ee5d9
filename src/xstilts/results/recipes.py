"""Metric recipes: how each metric's value is computed from per-example records.

A format turns predictions into records: columns with one value per scored example (`id`, the
example's values or counts, its prediction), the columns the per-example Parquet files hold. A
recipe names the columns a metric sums and the function of those sums that is the metric. It is the
one implementation of that metric: a format's `score` (the numbers in the results rows), the
results store's recomputation from the files, and the report's statistics all go through it.

A recipe is kept as plain data (`RecipeData`) beside the records, so a report needs no format code:

    ("mean", c)                   100 * sum(c) / rows                 NaN for no rows
    ("ratio", n, d)               100 * sum(n) / sum(d)               0 when sum(d) is 0
    ("f1", tp, predicted, gold)   100 * 2 P R / (P + R),              0 when sum(tp) is 0
                                  P = sum(tp) / sum(predicted), R = sum(tp) / sum(gold)
    ("perplexity", lp, count)     exp(-sum(lp) / sum(count))          NaN for no count

F1 is computed from precision and recall as seqeval and XTREME's BUCC scorer compute it, so counts
give their numbers to the last bit; it equals 2 sum(tp) / (sum(predicted) + sum(gold)).

Each `Metric` computes a score from sums of its columns, vectorised over leading axes
(`from_sums`), so the statistics score every bootstrap replicate from one matrix of sums; `Recipe`
is a metric with the columns it reads, scoring all rows or any resample of row indices.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

import numpy as np
from numpy.typing import NDArray

# Column name -> one value per scored example, in example order; `id` names the example.
Records = dict[str, np.ndarray]
# A recipe as stored: (kind, column, ...), e.g. ("mean", "correct").
RecipeData = tuple[str, ...]
# Row indices of a resample (repeats allowed); None for all rows.
Rows = np.ndarray | Sequence[int] | None


class Metric(Protocol):
    """A score computed from per-example sums: `width` values per example, summed, then `from_sums`."""

    @property
    def width(self) -> int:
        """Values per example."""
        ...

    # Whether a larger value is a better model: the report's paired tests and gains assume it.
    higher_is_better: ClassVar[bool]

    def from_sums(self, sums: NDArray[np.float64], n: int) -> NDArray[np.float64]:
        """Scores from sums over n examples; `sums` has shape (..., width), the result (...)."""
        ...

    def check(self, values: NDArray[np.float64]) -> None:
        """Raise ValueError for values this metric cannot score (shape (..., n, width))."""
        ...


def _divide(numerator: NDArray[np.float64], denominator: NDArray[np.float64]) -> NDArray[np.float64]:
    """numerator / denominator where the denominator is positive, else 0."""
    return np.divide(
        numerator, denominator, out=np.zeros(np.shape(denominator), dtype=np.float64), where=denominator > 0
    )


@dataclass(frozen=True)
class Mean:
    """The mean of per-example values, times `scale` (the values' own unit by default)."""

    scale: float = 1.0
    width: ClassVar[int] = 1
    higher_is_better: ClassVar[bool] = True

    def from_sums(self, sums: NDArray[np.float64], n: int) -> NDArray[np.float64]:
        with np.errstate(invalid="ignore", divide="ignore"):  # no rows: NaN
            return self.scale * sums[..., 0] / n

    def check(self, values: NDArray[np.float64]) -> None:
        if not np.all(np.isfinite(values)):
            raise ValueError("per-example values must be finite (no NaN or infinity)")


@dataclass(frozen=True)
class Ratio:
    """`scale` * sum(numerator) / sum(denominator) from (numerator, denominator) per example: token
    accuracy, precision and recall. A zero denominator scores 0 (the metrics' zero_division)."""

    scale: float = 100.0
    width: ClassVar[int] = 2
    higher_is_better: ClassVar[bool] = True

    def from_sums(self, sums: NDArray[np.float64], n: int) -> NDArray[np.float64]:
        return _divide(self.scale * sums[..., 0], sums[..., 1])

    def check(self, values: NDArray[np.float64]) -> None:
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ValueError("ratio counts must be finite and non-negative")
        if np.any(values[..., 0] > values[..., 1]):
            raise ValueError("an example has a numerator above its denominator (more right than counted)")


@dataclass(frozen=True)
class CountF1:
    """Micro F1 from summed (true positives, predicted, gold) counts, times `scale` (percent by
    default). No true positive scores 0, as seqeval's `zero_division=0`."""

    scale: float = 100.0
    width: ClassVar[int] = 3
    higher_is_better: ClassVar[bool] = True

    def from_sums(self, sums: NDArray[np.float64], n: int) -> NDArray[np.float64]:
        true_positives = sums[..., 0]
        precision = _divide(true_positives, sums[..., 1])
        recall = _divide(true_positives, sums[..., 2])
        # seqeval's expression, (1 + beta^2) P R / (beta^2 P + R) with beta = 1, operation for operation.
        return _divide(2.0 * precision * recall, precision + recall) * self.scale

    def check(self, values: NDArray[np.float64]) -> None:
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ValueError("counts must be finite and non-negative")
        tp, predicted, gold = values[..., 0], values[..., 1], values[..., 2]
        if np.any(tp > predicted) or np.any(tp > gold):
            raise ValueError("an example has more true positives than predicted or gold items")


@dataclass(frozen=True)
class Perplexity:
    """exp(-sum(log-probability) / sum(tokens)) from (log-probability sum, tokens) per example; NaN
    for no token. Lower is better, and it is no percentage."""

    width: ClassVar[int] = 2
    higher_is_better: ClassVar[bool] = False

    def from_sums(self, sums: NDArray[np.float64], n: int) -> NDArray[np.float64]:
        log_probs, tokens = sums[..., 0], sums[..., 1]
        mean = np.divide(
            -log_probs, tokens, out=np.full(np.shape(tokens), np.nan, dtype=np.float64), where=tokens > 0
        )
        return np.exp(mean)

    def check(self, values: NDArray[np.float64]) -> None:
        if not np.all(np.isfinite(values)) or np.any(values[..., 1] < 0):
            raise ValueError("log-probabilities must be finite and token counts non-negative")


MEAN = Mean()
PERCENT = Mean(scale=100.0)
RATIO = Ratio()
F1_FROM_COUNTS = CountF1()
PERPLEXITY = Perplexity()

# The metric of each stored recipe kind.
KINDS: dict[str, Metric] = {"mean": PERCENT, "ratio": RATIO, "f1": F1_FROM_COUNTS, "perplexity": PERPLEXITY}


def _sum_in_order(values: np.ndarray) -> float:
    """The sum of values added one after the other, as the reference scripts total per-question
    scores (numpy's pairwise sum can differ in the last bits)."""
    return float(np.cumsum(values, dtype=np.float64)[-1]) if len(values) else 0.0


@dataclass(frozen=True)
class Recipe:
    """A metric and the record columns it sums, in its order."""

    kind: str
    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown recipe {self.kind!r} (known: {', '.join(KINDS)})")
        if len(self.columns) != KINDS[self.kind].width:
            raise ValueError(
                f"recipe {self.kind!r} sums {KINDS[self.kind].width} columns, not {self.columns}"
            )

    @classmethod
    def of(cls, data: Sequence[str]) -> Recipe:
        """The recipe of its stored form (`RecipeData`)."""
        kind, *columns = data
        return cls(kind, tuple(columns))

    @property
    def metric(self) -> Metric:
        return KINDS[self.kind]

    def values(self, records: Mapping[str, np.ndarray]) -> NDArray[np.float64]:
        """The summed columns as (n_examples, width) floats."""
        return np.stack([np.asarray(records[c], dtype=np.float64) for c in self.columns], axis=-1)

    def score(self, records: Mapping[str, np.ndarray], rows: Rows = None) -> float:
        """The metric over all rows of `records`, or over `rows` of them (indices, with repeats for a
        bootstrap resample)."""
        chosen = None if rows is None else np.asarray(rows, dtype=np.int64)
        sums = []
        for name in self.columns:
            values = np.asarray(records[name])
            sums.append(_sum_in_order(values if chosen is None else values[chosen]))
        n = len(records[self.columns[0]]) if chosen is None else len(chosen)
        return float(self.metric.from_sums(np.array(sums, dtype=np.float64), n))


def scores(
    records: Mapping[str, np.ndarray], recipes: Mapping[str, Sequence[str]], rows: Rows = None
) -> dict[str, float]:
    """Every metric of `recipes` ({name: RecipeData}, in their order) over the records, or over
    `rows` of them."""
    result = {}
    for name, data in recipes.items():
        try:
            recipe = Recipe.of(data)
        except ValueError as err:
            raise ValueError(f"metric {name}: {err}") from None
        result[name] = recipe.score(records, rows)
    return result
