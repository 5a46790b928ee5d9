"""Joint replicates of several arms' gains over one baseline, for statistics of the whole set of
gains at once (how well a ranking of the arms matches them, `xstilts.ranking.quality`).

`compare` (intervals.py) draws one difference at a time; a ranking needs every arm's gain in the same
replicate. Each replicate here is the arms' and the baseline's language averages on one shared
resample of the test examples (`resample_examples`, paired), each side plus its own draw of the seed
term (as `summarise` draws it: its seeds' variance beyond example noise, Student's t), and the gain
is arm minus baseline within the replicate. The baseline's draw is shared by every arm, as it is one
set of runs that every gain is measured against.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

# The per-side pieces `compare` and `summarise` are built from: one definition of a seed term.
from xstilts.stats.intervals import _seed_term, _side
from xstilts.stats.resampling import Resampled, SeedLike, child_stream


def _draws(
    side: Mapping[str, Resampled], languages: Sequence[str], seed: SeedLike, name: str
) -> tuple[float, NDArray[np.float64]]:
    found = _side(side, languages)
    terms = [(found.seed_variance / found.n_seeds, found.n_seeds - 1)] if found.n_seeds > 1 else []
    rng = np.random.default_rng(child_stream(seed, zlib.crc32(name.encode("utf-8"))))
    return found.estimate, found.replicates + _seed_term(terms, found.replicates.size, rng)


def joint_gains(
    arms: Mapping[str, Mapping[str, Resampled]],
    baseline: Mapping[str, Resampled],
    languages: Sequence[str],
    seed: SeedLike,
) -> tuple[dict[str, float], dict[str, NDArray[np.float64]]]:
    """Each arm's gain over the baseline on the average of `languages`, and its replicates (one
    array per arm, aligned: replicate b of every arm comes from the same resample). The arms and the
    baseline must come from one paired `resample_examples` call."""
    base_estimate, base_draws = _draws(baseline, languages, seed, "\x00baseline")
    gains, replicates = {}, {}
    for arm, side in arms.items():
        estimate, draws = _draws(side, languages, seed, arm)
        gains[arm] = estimate - base_estimate
        replicates[arm] = draws - base_draws
    return gains, replicates
