"""What identifies a phase run: a hash of everything that determines its output.

A run whose id exists on disk is reused, so the identity must change whenever the output would,
and only then: the parent (run id, or the model source for a phase on the pretrained model), each
training selection with its card's version and the content of its files, the early-stopping
selection (and its files), the training settings, each task's feature settings, the seed, and
xstilts' version. Files enter by their SHA-256 alone (see `fingerprint.py`): the same data in
another directory names the same run, changed data a new one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import xstilts
from xstilts.config.cards import TaskCard
from xstilts.config.features import FeatureSettings
from xstilts.config.selection import DataSelection
from xstilts.config.training import TrainConfig


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def run_id(identity: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json({**identity, "code": xstilts.__version__}).encode()).hexdigest()[:12]


def short_hash(value: Any) -> str:
    """Eight hex digits of a value's canonical JSON: names evaluation files by what they evaluate."""
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()[:8]


def selection_identity(selection: DataSelection, card: TaskCard, data: Any) -> dict[str, Any]:
    """A selection, its card's version and `data`: the content hashes of the files it reads."""
    return {**selection.identity(), "version": card.version, "data": data}


def phase_identity(
    parent_key: str,
    selections: Sequence[DataSelection],
    dev: DataSelection | None,
    config: TrainConfig,
    seed: int,
    cards: Mapping[str, TaskCard],
    features: Mapping[str, FeatureSettings],
    data: Sequence[Any],
    dev_data: Any = None,
) -> dict[str, Any]:
    """Everything that determines a trained phase's output; its hash is the run's id. `data` holds
    the file hashes of each selection (in order), `dev_data` those of `dev`."""
    return {
        "parent": parent_key,
        "tasks": [selection_identity(s, cards[s.task], d) for s, d in zip(selections, data, strict=True)],
        "dev": selection_identity(dev, cards[dev.task], dev_data) if dev else None,
        "train": config.identity(),
        "features": {s.task: features[s.task].identity() for s in selections},
        "seed": seed,
    }


def pretrained_identity(model: str) -> dict[str, Any]:
    return {"model": model}
