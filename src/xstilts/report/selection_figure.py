"""The task-selection scatter plots: for one target, a panel per ranking method, its score of each
arm against the arm's measured gain (with the gain's interval). matplotlib is imported by the caller
(`figures.py`), only when figures are drawn."""

from __future__ import annotations

import math

from matplotlib.figure import Figure

from xstilts.report.model import SelectionTarget


def selection_figure(target: SelectionTarget) -> Figure:
    panels = len(target.methods)
    fig = Figure(figsize=(3.0 * panels + 0.6, 3.1), layout="constrained")
    axes = fig.subplots(1, panels, sharey=True, squeeze=False)[0]
    for ax, method in zip(axes, target.methods, strict=True):
        arms = [arm for arm in method.scores if arm in target.gains]
        xs = [method.scores[arm] for arm in arms]
        ys = [target.gains[arm].estimate for arm in arms]
        errors = (
            [
                [max(0.0, g.estimate - g.low) for g in (target.gains[a] for a in arms)],
                [max(0.0, g.high - g.estimate) for g in (target.gains[a] for a in arms)],
            ]
            if all(target.gains[a].low is not None and target.gains[a].high is not None for a in arms)
            else None
        )
        ax.errorbar(xs, ys, yerr=errors, fmt="o", markersize=4, capsize=2, linewidth=0.8)
        for x, y, arm in zip(xs, ys, arms, strict=True):
            ax.annotate(arm, (x, y), textcoords="offset points", xytext=(3, 3), fontsize=7)
        ax.axhline(0.0, color="#777777", linewidth=0.8, linestyle="--")
        rho = method.quality["spearman"].estimate
        ax.set_title(f"{method.method}: rho {'-' if math.isnan(rho) else f'{rho:.2f}'}")
        ax.set_xlabel(f"{method.method} score")
    axes[0].set_ylabel(f"gain over {target.baseline} (points)")
    fig.suptitle(target.title)
    return fig
