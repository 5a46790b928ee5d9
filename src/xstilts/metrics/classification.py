"""Accuracy, as XTREME's `evaluate.py` scores XNLI, PAWS-X and the multiple-choice tasks."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from xstilts.results.recipes import RecipeData, scores

# The mean of the per-example `correct` column, as a percentage.
ACCURACY: dict[str, RecipeData] = {"accuracy": ("mean", "correct")}


def correct(golds: Sequence[Hashable], preds: Sequence[Hashable]) -> np.ndarray:
    """1 where a prediction equals its gold label, else 0 (int8, one per example)."""
    if len(golds) != len(preds):
        raise ValueError(f"accuracy: {len(golds)} gold labels but {len(preds)} predictions")
    if not golds:
        raise ValueError("accuracy: no examples to score")
    return np.array([g == p for g, p in zip(golds, preds, strict=True)], dtype=np.int8)


def accuracy(golds: Sequence[Hashable], preds: Sequence[Hashable]) -> float:
    """Percentage of predictions equal to their gold label."""
    return scores({"correct": correct(golds, preds)}, ACCURACY)["accuracy"]
