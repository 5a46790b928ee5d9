"""The "Task selection" block of a study's report: per target, the scatter of each method's scores
against the measured gains, the arms' ranks, and each method's ranking quality and cost."""

from __future__ import annotations

from xstilts.report.blocks import DASH, Block, FigureRef, Table, delta, number
from xstilts.report.model import Delta, SelectionTarget, StudyReport, TaskSelection
from xstilts.report.sections import slug

_MEASURES = (
    ("spearman", "Spearman rho"),
    ("ndcg@3", "NDCG@3"),
    ("regret@1", "regret@1"),
    ("regret@3", "regret@3"),
)


def _fraction(d: Delta) -> str:
    """rho and NDCG in [-1, 1] need two decimals, not the points' one."""
    if d.estimate != d.estimate:  # NaN: a constant side
        return DASH
    text = f"{d.estimate:.2f}"
    return text if d.low is None or d.high is None else f"{text} [{d.low:.2f}, {d.high:.2f}]"


def _share(value: float | None) -> str:
    return DASH if value is None else f"{100 * value:.1f}%"


def _ranks(values: dict[str, float]) -> dict[str, str]:
    """1 for the highest; arms with equal values share their positions' mean (2.5 for two tied
    behind the first), as Spearman's rho ranks them."""
    ordered = sorted(values.values(), reverse=True)
    ranks = {}
    for arm, value in values.items():
        first = ordered.index(value) + 1
        mean = first + (ordered.count(value) - 1) / 2
        ranks[arm] = f"{mean:g}"
    return ranks


def _target_tables(stem: str, target: SelectionTarget, level: str) -> list[Table]:
    arms = sorted(target.gains, key=lambda a: -target.gains[a].estimate)
    measured = _ranks({a: d.estimate for a, d in target.gains.items()})
    ranks = {m.method: _ranks(m.scores) for m in target.methods}
    rows = [
        [
            arm,
            delta(target.gains[arm]),
            str(measured[arm]),
            *(str(ranks[m.method].get(arm, DASH)) for m in target.methods),
        ]
        for arm in arms
    ]
    header = [
        "arm",
        f"gain over {target.baseline} [{level} CI]",
        "measured rank",
        *(m.method for m in target.methods),
    ]
    anchor = f"{stem}-{slug(target.key)}-selection"
    ranks_table = Table(f"{anchor}-ranks", f"{target.title}: arms ranked by each method", header, rows)
    quality_rows = []
    for m in target.methods:
        cells = [
            _fraction(m.quality[key]) if key in ("spearman", "ndcg@3") else delta(m.quality[key])
            for key, _ in _MEASURES
        ]
        quality_rows.append(
            [m.method, *cells, number(m.seconds), _share(m.share), _share(m.share_with_prerequisites)]
        )
    quality_header = [
        "method",
        *(f"{label} [{level} CI]" for _, label in _MEASURES),
        "seconds",
        "share of training every arm",
        "with the runs it needs",
    ]
    notes = [
        f"Intervals resample the measured gains ({target.level}); the methods' scores are held fixed. "
        "Regret: points between the best arm's gain and the best among the method's top 1 or 3."
    ]
    quality = Table(
        f"{anchor}-quality", f"{target.title}: ranking quality and cost", quality_header, quality_rows, notes
    )
    return [ranks_table, quality]


def selection_block(study: StudyReport, level: str) -> Block | None:
    found: TaskSelection | None = study.selection
    if found is None:
        return None
    stem = slug(study.name)
    block = Block(f"{stem}-task-selection", "Task selection", 3)
    block.paragraphs.append(
        "How well `xstilts rank`'s methods, which train no target run (semb, overlap: no training at "
        "all), ranked the intermediate arms for each target, against the gains this study measured. "
        f"Training every arm took {found.arms_seconds:,.0f} s ({found.arms_source}); each method's cost "
        "is its own work, and with the intermediate runs it needs (logme, proxy)."
    )
    for target in found.targets:
        block.items.append(
            FigureRef(
                target.figure,
                f"{target.title}: each method's score of each arm (x) against the arm's measured gain over "
                f"{target.baseline} (y, points); Spearman rho in each panel's title.",
            )
        )
        block.items += _target_tables(stem, target, level)
    return block
