"""`OUT/rankings.json`: what `xstilts rank` found, for `rank --json` and the report (which reads it
without torch and scores it against the measured gains).

    {"study": ..., "model": ...,
     "arms_cost": {"seconds": 812.4, "source": "recorded", "runs": 60, "estimated_runs": 0},
     "methods": {"semb": {"seconds": 4.2, "prerequisite_seconds": 0.0, "needs": "...",
                          "targets": {"pawsx-dev-target": {"title": "pawsx (dev)", "task": "pawsx",
                                       "split": "dev", "scores": {"nli": 0.93, ...},
                                       "by_seed": {"nli": {"1": 0.93}}, "components": {...}}}}}}
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from xstilts.errors import ConfigError
from xstilts.files import read_json, write_json

RANKINGS_FILE = "rankings.json"
# Every method, cheapest first: the order `rank` runs and prints them in (the JSON file sorts keys).
METHODS = ("semb", "overlap", "logme", "proxy")


@dataclass
class TargetScores:
    """One method's scores of the intermediate arms for one target (higher: more transfer expected)."""

    title: str  # as the report titles the target's section: `task (split)`
    task: str
    split: str
    scores: dict[str, float] = field(default_factory=dict)  # per arm, the mean over its seeds
    by_seed: dict[str, dict[str, float]] = field(default_factory=dict)
    components: dict[str, dict[str, float]] = field(default_factory=dict)  # per arm (overlap's parts)


@dataclass
class MethodRanking:
    method: str
    needs: str  # what it needs besides the data, in words
    seconds: float  # its own work: features, evidence, proxy training and scoring
    prerequisite_seconds: float  # training of the runs it needs (the intermediate runs), as recorded
    targets: dict[str, TargetScores] = field(default_factory=dict)


@dataclass
class ArmsCost:
    """What training every arm (each intermediate run and each target run) costs or cost."""

    seconds: float
    source: str  # recorded (the runs' metrics.json), estimated, or both
    runs: int
    estimated_runs: int = 0


@dataclass
class Rankings:
    study: str
    model: str
    arms_cost: ArmsCost
    methods: dict[str, MethodRanking] = field(default_factory=dict)

    def share(self, method: str, with_prerequisites: bool = False) -> float | None:
        """The method's cost as a share of training every arm."""
        found = self.methods[method]
        if self.arms_cost.seconds <= 0:
            return None
        spent = found.seconds + (found.prerequisite_seconds if with_prerequisites else 0.0)
        return spent / self.arms_cost.seconds


def write_rankings(out_dir: Path, rankings: Rankings) -> Path:
    path = Path(out_dir) / RANKINGS_FILE
    write_json(path, asdict(rankings))
    return path


def read_rankings(out_dir: Path) -> Rankings | None:
    """The directory's rankings, None when `xstilts rank` has not written any."""
    path = Path(out_dir) / RANKINGS_FILE
    if not path.is_file():
        return None
    try:
        raw: dict[str, Any] = read_json(path)
        methods = {
            name: MethodRanking(
                **{**entry, "targets": {k: TargetScores(**t) for k, t in entry["targets"].items()}}
            )
            for name, entry in sorted(raw["methods"].items(), key=lambda item: _order(item[0]))
        }
        return Rankings(raw["study"], raw["model"], ArmsCost(**raw["arms_cost"]), methods)
    except (ValueError, KeyError, TypeError) as error:
        raise ConfigError(str(path), f"not a rankings file `xstilts rank` wrote ({error})") from None


def _order(method: str) -> int:
    return METHODS.index(method) if method in METHODS else len(METHODS)
