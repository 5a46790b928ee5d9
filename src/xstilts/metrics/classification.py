"""Accuracy, as XTREME's `evaluate.py` scores XNLI, PAWS-X and the multiple-choice tasks."""

from __future__ import annotations

from collections.abc import Hashable, Sequence


def accuracy(golds: Sequence[Hashable], preds: Sequence[Hashable]) -> float:
    """Percentage of predictions equal to their gold label."""
    if len(golds) != len(preds):
        raise ValueError(f"accuracy: {len(golds)} gold labels but {len(preds)} predictions")
    if not golds:
        raise ValueError("accuracy: no examples to score")
    correct = sum(g == p for g, p in zip(golds, preds, strict=True))
    return 100.0 * correct / len(golds)
