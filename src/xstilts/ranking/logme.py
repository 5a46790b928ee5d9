"""LogME (You et al. 2021, "LogME: Practical Assessment of Pre-trained Models for Transfer Learning",
ICML): how well fixed features explain a task's labels, as the evidence of Bayesian linear regression.

Written here with numpy because LogME is not on PyPI (the authors publish one script in their
repository, not a package); it is short, and `tests/test_ranking.py` checks it against the
marginal likelihood written out from the full covariance.

For features F (n x d) and one target column y (n,), the model is y = F w + noise with prior
w ~ N(0, I / alpha) and noise ~ N(0, I / beta). Its log evidence (Bishop 2006, eq. 3.86) is

    d/2 log alpha + n/2 log beta - n/2 log 2 pi - beta/2 |y - F m|^2 - alpha/2 |m|^2 - 1/2 log |A|,

with A = alpha I + beta F'F and m = beta A^-1 F'y the posterior mean. LogME maximises it over alpha
and beta with MacKay's fixed-point updates (gamma = sum beta s_i / (alpha + beta s_i) over the
eigenvalues s_i of F'F; alpha = gamma / |m|^2, beta = (n - gamma) / |y - F m|^2), done on the thin SVD
of F so that each update costs O(min(n, d)). A score is the maximised evidence divided by n,
averaged over the label columns (one-hot classes for classification).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

_MAX_ITERATIONS = 1000
_TOLERANCE = 1e-10  # relative change of alpha / beta at which the fixed point counts as reached


@dataclass(frozen=True)
class Evidence:
    """One label column's maximised log evidence (per example) and where it is reached."""

    per_example: float
    alpha: float
    beta: float
    iterations: int


class _Decomposed:
    """F's thin SVD and one column's projections: what every fixed-point step reuses."""

    def __init__(self, features: NDArray[np.float64], y: NDArray[np.float64]) -> None:
        self.n, self.d = features.shape
        u, sigma, _ = np.linalg.svd(features, full_matrices=False)
        keep = sigma > sigma.max(initial=0.0) * 1e-12
        self.s = sigma[keep] ** 2  # the non-zero eigenvalues of F'F
        self.z = u[:, keep].T @ y  # y in the basis of F's column space
        self.outside = float(y @ y - self.z @ self.z)  # |y|^2 outside that space: no fit reaches it

    def at(self, alpha: float, beta: float) -> tuple[float, float, float]:
        """gamma, |m|^2 and |y - F m|^2 for these alpha and beta."""
        shrink = beta * self.s / (alpha + beta * self.s)
        gamma = float(shrink.sum())
        # m = V diag(beta sigma / (alpha + beta s)) U'y, so |m|^2 needs only the z's.
        mean_sq = float(np.sum((beta * np.sqrt(self.s) * self.z / (alpha + beta * self.s)) ** 2))
        residual = self.outside + float(np.sum(((1.0 - shrink) * self.z) ** 2))
        return gamma, mean_sq, residual

    def log_evidence(self, alpha: float, beta: float) -> float:
        _, mean_sq, residual = self.at(alpha, beta)
        # log |A|: the zero eigenvalues of F'F (d - rank of them) contribute log alpha each.
        log_det = float(np.sum(np.log(alpha + beta * self.s))) + (self.d - self.s.size) * math.log(alpha)
        return (
            0.5 * self.d * math.log(alpha)
            + 0.5 * self.n * math.log(beta)
            - 0.5 * self.n * math.log(2 * math.pi)
            - 0.5 * beta * residual
            - 0.5 * alpha * mean_sq
            - 0.5 * log_det
        )


def _matrix(features: ArrayLike) -> NDArray[np.float64]:
    matrix = np.asarray(features, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] < 2 or matrix.shape[1] < 1:
        raise ValueError(f"features must be (n >= 2, d >= 1), got shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise ValueError("features must be finite")
    return matrix


def log_evidence(features: ArrayLike, y: ArrayLike, alpha: float, beta: float) -> float:
    """The log evidence of `y` under the model at fixed alpha and beta (not per example)."""
    matrix = _matrix(features)
    return _Decomposed(matrix, np.asarray(y, dtype=np.float64)).log_evidence(alpha, beta)


def maximise_evidence(features: ArrayLike, y: ArrayLike) -> Evidence:
    """One column's evidence at the fixed point of MacKay's updates (from alpha = beta = 1, as LogME)."""
    matrix = _matrix(features)
    column = np.asarray(y, dtype=np.float64)
    if column.shape != (matrix.shape[0],):
        raise ValueError(
            f"y must have one value per row of the features ({matrix.shape[0]}), got {column.shape}"
        )
    state = _Decomposed(matrix, column)
    alpha = beta = 1.0
    iterations = 0
    while iterations < _MAX_ITERATIONS:
        iterations += 1
        gamma, mean_sq, residual = state.at(alpha, beta)
        # A column the features fit exactly (or a zero column) would send alpha or beta to infinity:
        # floor the denominators as the authors' code does.
        new_alpha = gamma / max(mean_sq, 1e-300)
        new_beta = max(state.n - gamma, 1e-300) / max(residual, 1e-300)
        done = abs(new_alpha - alpha) <= _TOLERANCE * alpha and abs(new_beta - beta) <= _TOLERANCE * beta
        alpha, beta = new_alpha, new_beta
        if done:
            break
    return Evidence(state.log_evidence(alpha, beta) / state.n, alpha, beta, iterations)


def logme(features: ArrayLike, targets: ArrayLike) -> float:
    """LogME of `targets` (n,) class ids, or (n, k) real columns, on `features` (n, d): the mean over
    label columns of the maximised log evidence per example. Class ids become one-hot columns, one
    per class present (You et al.'s classification case)."""
    matrix = _matrix(features)
    labels = np.asarray(targets)
    if labels.ndim == 1:
        classes = np.unique(labels)
        if classes.size < 2:
            raise ValueError("LogME needs at least two classes among the labels")
        columns = (labels[:, None] == classes[None, :]).astype(np.float64)
    elif labels.ndim == 2:
        columns = labels.astype(np.float64)
    else:
        raise ValueError(f"targets must be (n,) class ids or (n, k) columns, got shape {labels.shape}")
    if columns.shape[0] != matrix.shape[0]:
        raise ValueError(f"{columns.shape[0]} targets for {matrix.shape[0]} feature rows")
    return float(
        np.mean([maximise_evidence(matrix, columns[:, k]).per_example for k in range(columns.shape[1])])
    )
