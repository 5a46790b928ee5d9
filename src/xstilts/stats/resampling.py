"""The bootstrap over test examples: every arm's per-seed scores on resamples of each language's
examples, drawn on named streams. Pure numpy on per-example values.

Data
----
An evaluation of one (arm, seed, task, language) is an array of per-example values, aligned by
example id across arms and seeds (row i is the same test example everywhere). Two kinds of metric:

  * `Mean`: the score is the mean of per-example values (0/1 correctness for accuracy, per-example
    token F1 for QA). `PERCENT` turns 0/1 correctness into a percentage.
  * `CountF1`: a corpus-level score recomputed from summed counts. Each example carries
    (true positives, predicted, gold) and F1 = 2 * sum(tp) / (sum(pred) + sum(gold)), the micro F1
    seqeval computes for NER and the BUCC F1 (a mean of per-sentence F1s would be another metric).
    `Ratio` (token accuracy, precision, recall) is a ratio of two summed counts likewise.

All of them (`xstilts.results.recipes`) reduce to sums over examples followed by a function of the
sums (`Metric.from_sums`), so a bootstrap replicate is a weighted sum: a resample's index matrix
(rows = replicates, drawn with a seeded `numpy.random.Generator`) becomes a matrix of counts W
(how often each example is drawn), and every replicate's sums are one matrix product W @ values.
There is no Python loop over replicates, only over blocks of them, which bounds memory at a few
tens of MB whatever the test set.

Values are given as (n_examples,) [or (n_examples, 3) for counts] for one seed, or
(n_seeds, n_examples) [(n_seeds, n_examples, 3)] for several. With several seeds the score of an
arm is the mean over seeds of each seed's score (as `xstilts results` averages seeds).

Examples
--------
The nonparametric bootstrap over examples, percentile interval (Efron & Tibshirani 1993, *An
Introduction to the Bootstrap*, ch. 6 and 13). `resample_examples` scores every seed of every arm on
the same resamples of a language's examples: every seed's model is evaluated on the one test set,
so a new test set would be shared by all seeds and all arms. The resamples are named by the
language under the caller's seed, so an arm's replicates do not depend on which other arms are
resampled with it.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from xstilts.results.recipes import Metric
from xstilts.stats.seed_scores import as_seeds, seed_scores_of

SeedLike = int | np.random.SeedSequence
# Entries of one block of replicates x examples: its index and count matrices take about 80 MB,
# whatever the test set's size. Results do not depend on it (each stream is drawn in order).
_BLOCK_ENTRIES = 2_000_000


def check_options(n_resamples: int, confidence: float) -> None:
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, not {n_resamples}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")


def child_stream(seed: SeedLike, *key: int) -> np.random.SeedSequence:
    """The stream named `key` under `seed`. Unlike `SeedSequence.spawn`, it leaves `seed` as it was
    and does not depend on how many streams were taken before: a name always gives the same draws."""
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, *key))


def _name_key(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


# Stream names under a call's seed: the seed term's draws, and each language's example draws.
SEED_TERM, _EXAMPLES = 0, 1


def _count_matrix(rng: np.random.Generator, rows: int, n: int) -> NDArray[np.float64]:
    """`rows` bootstrap resamples of n examples as counts: W[r, i] = times example i is drawn."""
    indices = rng.integers(0, n, size=(rows, n))
    flat = (np.arange(rows)[:, None] * n + indices).ravel()
    return np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(np.float64)


@dataclass(frozen=True)
class Resampled:
    """One arm in one language: each seed's score on the whole test set, (n_seeds,), and on every
    bootstrap resample of the examples, (n_resamples, n_seeds)."""

    scores: NDArray[np.float64]
    replicates: NDArray[np.float64]


def resample_examples(
    arms: Sequence[Mapping[str, ArrayLike]],
    metric: Metric,
    n_resamples: int,
    seed: SeedLike,
    paired: bool = True,
) -> list[dict[str, Resampled]]:
    """Every arm's per-seed scores on bootstrap resamples of each language's examples.

    `arms[a][language]` is (n_seeds, n_examples[, width]); an arm may lack a language. A language's
    resamples come from the stream named by the language, and `paired` arms share them (all arms
    with the language must then score the same examples, aligned), so an arm's numbers do not
    depend on which other arms are resampled with it. `paired=False` gives each arm its own draws.
    """
    check_options(n_resamples, 0.5)
    arrays = [{lang: as_seeds(v, metric, lang) for lang, v in arm.items()} for arm in arms]
    resampled: list[dict[str, Resampled]] = [{} for _ in arms]
    for lang in sorted({lang for arm in arrays for lang in arm}):
        having = [a for a, arm in enumerate(arrays) if lang in arm]
        sizes = {arrays[a][lang].shape[1] for a in having}
        if paired and len(sizes) > 1:
            raise ValueError(f"{lang}: paired arms must score the same examples (sizes {sorted(sizes)})")
        stream = child_stream(seed, _EXAMPLES, _name_key(lang))
        # (n_examples, n_seeds * width) per arm: one matrix product gives every seed's sums at once,
        # and paired arms, drawn together, share one product.
        matrices = [arrays[a][lang].transpose(1, 0, 2).reshape(arrays[a][lang].shape[1], -1) for a in having]
        if paired:
            draws = [(np.random.default_rng(stream), np.concatenate(matrices, axis=1))]
        else:
            draws = [
                (np.random.default_rng(child_stream(stream, a)), m)
                for a, m in zip(having, matrices, strict=True)
            ]
        replicates = {a: np.empty((n_resamples, arrays[a][lang].shape[0])) for a in having}
        block = max(1, min(n_resamples, _BLOCK_ENTRIES // max(sizes)))
        for start in range(0, n_resamples, block):
            stop = min(start + block, n_resamples)
            columns = np.concatenate(
                [_count_matrix(rng, stop - start, matrix.shape[0]) @ matrix for rng, matrix in draws], axis=1
            )
            at = 0
            for a in having:
                n_seeds, n, width = arrays[a][lang].shape
                part = columns[:, at : at + n_seeds * width].reshape(stop - start, n_seeds, width)
                replicates[a][start:stop] = metric.from_sums(part, n)
                at += n_seeds * width
        for a in having:
            resampled[a][lang] = Resampled(seed_scores_of(arrays[a][lang], metric), replicates[a])
    return resampled


def pool(arms: Sequence[Mapping[str, Resampled]]) -> dict[str, Resampled]:
    """Several arms resampled together, as if their seeds were the seeds of one arm (a scaling
    curve's point made of several arms); languages all of them have."""
    languages = [lang for lang in arms[0] if all(lang in arm for arm in arms)]
    return {
        lang: Resampled(
            np.concatenate([arm[lang].scores for arm in arms]),
            np.concatenate([arm[lang].replicates for arm in arms], axis=1),
        )
        for lang in languages
    }
