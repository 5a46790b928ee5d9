"""The report as data: what `build` computes and the HTML and Markdown writers lay out.

Numbers are percentages as the store has them; None is "not available" (shown as "-").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from xstilts.report.scaling import CurveSpec
from xstilts.report.study_file import Kind


@dataclass(frozen=True)
class Cell:
    """Mean over seeds of one arm's score (one language, or the language average)."""

    mean: float | None
    std: float | None  # sample standard deviation over seeds; None with one seed
    seeds: int
    partial: bool = False  # fewer seeds than the arm has elsewhere (an unfinished study?)


@dataclass(frozen=True)
class ScoreRow:
    arm: str
    cells: dict[str, Cell]
    average: Cell
    note: str = ""


@dataclass(frozen=True)
class ScoreTable:
    metric: str
    languages: list[str]
    rows: list[ScoreRow]


@dataclass(frozen=True)
class Delta:
    """Arm minus baseline. `low`/`high`/`p_value` are None where no interval can be computed."""

    estimate: float
    low: float | None = None
    high: float | None = None
    p_value: float | None = None
    mcnemar_p: float | None = None

    @property
    def significant(self) -> bool:
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)


@dataclass(frozen=True)
class DeltaRow:
    arm: str
    languages: dict[str, Delta]
    average: Delta
    level: Literal["examples", "seeds", "none"]  # what the interval resampled


@dataclass(frozen=True)
class RobustRow:
    arm: str
    seeds: int
    average: float
    seed_std: float | None  # over seeds, of each seed's language average
    language_seed_std: float | None  # mean over languages of the per-language seed std
    worst_language: str
    worst: float
    best_language: str
    best: float
    spread: float
    language_std: float | None


@dataclass(frozen=True)
class Section:
    """One evaluated task: a target task after target training, or a retrieval task after a phase."""

    key: str  # unique within the study, safe in file names and anchors
    title: str
    task: str
    split: str
    phase: str
    kind: Kind
    metric: str  # the statistics' metric (the first table's)
    tables: list[ScoreTable]
    deltas: list[DeltaRow]
    robustness: list[RobustRow]
    notes: list[str] = field(default_factory=list)
    # Test examples per language behind the statistics (from the per-example files; {} without them).
    sizes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class BenchmarkCell:
    value: float | None
    partial: bool  # averaged over the languages (or tasks) present only


@dataclass(frozen=True)
class BenchmarkTable:
    benchmark: str
    overall_rule: str
    columns: list[str]  # task names, then categories, then "overall" (and "task mean", see summary.py)
    coverage: dict[str, str]  # column -> "7/15 languages" etc.
    rows: list[tuple[str, list[BenchmarkCell]]]
    method: str = ""  # how the overall is computed and the source of its rule


@dataclass(frozen=True)
class SplitRow:
    """An arm's average over structured prediction and over sentence-level targets."""

    arm: str
    structured_delta: float | None
    structured_score: float | None
    structured_tasks: int
    sentence_delta: float | None
    sentence_score: float | None
    sentence_tasks: int


@dataclass(frozen=True)
class HeatMap:
    name: str  # file stem of its figure: name.png and name.svg beside index.html
    rows: list[str]  # arm labels (intermediate tasks)
    columns: list[str]  # section titles (target tasks)
    values: list[list[float | None]]
    significant: list[list[bool]]


@dataclass(frozen=True)
class CurvePoint:
    x: float
    estimate: float
    low: float | None
    high: float | None
    arms: tuple[str, ...]


@dataclass(frozen=True)
class Curve:
    """One figure: a scaling variable against one section's language average (gain over the
    baseline when there is one), a line per group of arms."""

    name: str  # file stem of its figure
    variable: str
    section: str
    x_label: str
    y_label: str
    series: list[tuple[CurveSpec, list[CurvePoint]]]


@dataclass(frozen=True)
class ArmSummary:
    name: str
    description: str
    seeds: int
    baseline: bool


@dataclass(frozen=True)
class StudyReport:
    name: str
    description: str
    baseline: str | None
    arms: list[ArmSummary]
    sections: list[Section]
    benchmarks: list[BenchmarkTable]
    heatmap: HeatMap | None
    curves: list[Curve]
    split: list[SplitRow]
    statistics: str  # how the intervals were computed, in words
    last_recorded: str
    notes: list[str] = field(default_factory=list)
    selection: TaskSelection | None = None  # xstilts rank's rankings against the gains, where both exist


@dataclass(frozen=True)
class Report:
    source: str
    studies: list[StudyReport]
    confidence: float
    resamples: int


@dataclass(frozen=True)
class MethodQuality:
    """One ranking method on one target: its scores, how its ranking matches the measured gains
    (`xstilts.ranking.quality.MEASURES`, each with its interval), and what it cost."""

    method: str
    scores: dict[str, float]  # per arm (higher: more transfer expected)
    quality: dict[str, Delta]  # measure -> value [interval]
    seconds: float
    prerequisite_seconds: float  # the intermediate runs it needs, as recorded
    share: float | None  # seconds / training every arm
    share_with_prerequisites: float | None


@dataclass(frozen=True)
class SelectionTarget:
    key: str
    title: str
    baseline: str
    figure: str  # the scatter plot's file stem
    gains: dict[str, Delta]  # each ranked arm's measured gain over the baseline, with its interval
    level: str  # what the intervals resampled: examples, seeds or none
    methods: list[MethodQuality]


@dataclass(frozen=True)
class TaskSelection:
    """The "Task selection" section: `xstilts rank`'s rankings scored against the measured gains."""

    targets: list[SelectionTarget]
    arms_seconds: float
    arms_source: str
