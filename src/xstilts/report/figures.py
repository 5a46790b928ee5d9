"""The report's figures, each as PNG and SVG: the intermediate x target heat map and scaling curves.

Drawn on `matplotlib.figure.Figure` with the Agg canvas, not pyplot: no global figure state and no
GUI backend, whatever backend the calling process has chosen. Output is byte-for-byte repeatable:
SVG ids come from a fixed hash salt, the SVG date is left out, text is drawn as paths (no font is
needed to view the file) and PNG metadata holds no time.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from xstilts.report.model import Curve, HeatMap, StudyReport

_RC = {
    "svg.hashsalt": "xstilts-report",
    "svg.fonttype": "path",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
FORMATS = ("png", "svg")
_METADATA = {"png": {"Software": "xstilts"}, "svg": {"Date": None, "Creator": "xstilts"}}


def _save(fig: Figure, directory: Path, name: str) -> list[Path]:
    FigureCanvasAgg(fig)
    written = []
    for fmt in FORMATS:
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, dpi=144, bbox_inches="tight", metadata=_METADATA[fmt])
        path = directory / f"{name}.{fmt}"
        path.write_bytes(buffer.getvalue())
        written.append(path)
    return written


def heat_map_figure(heat: HeatMap, confidence: float = 0.95) -> Figure:
    values = np.array([[np.nan if v is None else v for v in row] for row in heat.values], dtype=np.float64)
    finite = values[np.isfinite(values)]
    # Symmetric around zero: the colour says gain or loss, its depth how much.
    limit = float(np.max(np.abs(finite))) if finite.size and np.max(np.abs(finite)) > 0 else 1.0
    width = 2.2 + 0.9 * len(heat.columns)
    height = 1.2 + 0.42 * len(heat.rows)
    # Constrained layout places the title, the colour bar and its label without overlap however few
    # columns there are (with two columns the old title ran into the colour bar's label).
    fig = Figure(figsize=(max(4.0, width), max(2.4, height)), layout="constrained")
    ax = fig.add_subplot()
    cmap = matplotlib.colormaps["RdBu"].with_extremes(bad="#dddddd")
    image = ax.imshow(
        np.ma.masked_invalid(values), cmap=cmap, norm=TwoSlopeNorm(0.0, -limit, limit), aspect="auto"
    )
    ax.set_xticks(range(len(heat.columns)), heat.columns, rotation=30, ha="right")
    ax.set_yticks(range(len(heat.rows)), heat.rows)
    ax.set_xlabel("target task")
    ax.set_ylabel("intermediate arm")
    for i, row in enumerate(values):
        for j, value in enumerate(row):
            if math.isnan(value):
                ax.text(j, i, "-", ha="center", va="center", color="#555555")
                continue
            # Bold where the interval excludes 0, as the report's tables mark it (there `*` means
            # fewer seeds, so it would mislead here).
            dark = abs(value) > 0.6 * limit
            ax.text(
                j,
                i,
                f"{value:+.1f}",
                ha="center",
                va="center",
                color="white" if dark else "black",
                fontweight="bold" if heat.significant[i][j] else "normal",
            )
    ax.spines[:].set_visible(False)
    fig.colorbar(image, ax=ax, label="gain (points)")
    # Two short lines, left-aligned over the cells: one long line ran over the colour bar.
    ax.set_title(f"gain over the baseline\nbold: its {100 * confidence:g}% interval excludes 0", loc="left")
    return fig


def curve_figure(curve: Curve, confidence: float = 0.95) -> Figure:
    fig = Figure(figsize=(5.6, 3.6), layout="constrained")
    ax = fig.add_subplot()
    xs_all = [p.x for _, points in curve.series for p in points]
    banded = False
    for spec, points in curve.series:
        xs = [p.x for p in points]
        ys = [p.estimate for p in points]
        (line,) = ax.plot(xs, ys, marker="o", label=spec.label)
        if all(p.low is not None and p.high is not None for p in points):
            lows = [p.low for p in points]
            highs = [p.high for p in points]
            ax.fill_between(xs, lows, highs, color=line.get_color(), alpha=0.2, linewidth=0)
            banded = True
    gain = curve.y_label.startswith("gain")
    if gain:
        ax.axhline(0.0, color="#777777", linewidth=0.8, linestyle="--")
    positive = [x for x in xs_all if x > 0]
    if curve.variable == "volume" and len(positive) == len(xs_all) and max(xs_all) / min(xs_all) >= 4:
        ax.set_xscale("log")  # volumes are usually chosen on a geometric grid
    if curve.variable == "tasks":
        ax.set_xticks(sorted(set(xs_all)))
    ax.set_xlabel(curve.x_label)
    # Gains are differences of 0-100 scores: points; a plain average is the score itself.
    ax.set_ylabel(f"{curve.y_label} ({'points' if gain else '0-100'})")
    band = f"; shaded: {100 * confidence:g}% band" if banded else ""
    ax.set_title(f"{curve.section}{band}")
    ax.legend(frameon=False, fontsize=8)
    return fig


def write_figures(study: StudyReport, directory: Path, confidence: float = 0.95) -> list[Path]:
    """Every figure of one study into `directory`; the paths written. `confidence`: the report's
    interval level, which the figures name."""
    written: list[Path] = []
    with matplotlib.rc_context(_RC):
        if study.heatmap is not None:
            written += _save(heat_map_figure(study.heatmap, confidence), directory, study.heatmap.name)
        for curve in study.curves:
            written += _save(curve_figure(curve, confidence), directory, curve.name)
        if study.selection is not None:
            from xstilts.report.selection_figure import selection_figure

            for target in study.selection.targets:
                written += _save(selection_figure(target), directory, target.figure)
    return written
