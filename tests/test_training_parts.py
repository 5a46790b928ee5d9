"""Batching, task sampling and data selection: the small pieces the training loop relies on."""

from __future__ import annotations

import numpy as np
import pytest

from xstilts.config.selection import subset_indices
from xstilts.data.feature_cache import subset_features
from xstilts.errors import ConfigError
from xstilts.training.batching import EpochBatches, length_grouped_batches, sorted_batches
from xstilts.training.sampler import TaskSampler, task_probabilities


def test_length_grouped_batches_cover_every_index_once_and_group_lengths() -> None:
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 500, size=1000).tolist()
    batches = length_grouped_batches(lengths, 16, np.random.default_rng(1), window=50)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(1000))

    # Grouping must cut padding well below that of random batches.
    def padding(bs: list[list[int]]) -> int:
        return sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in bs)

    order = np.random.default_rng(2).permutation(1000).tolist()
    random_batches = [order[i : i + 16] for i in range(0, 1000, 16)]
    assert padding(batches) < padding(random_batches) / 5


def test_epoch_batches_are_repeatable_and_reshuffle_each_epoch() -> None:
    a = EpochBatches(list(range(100)), 10, seed=3)
    b = EpochBatches(list(range(100)), 10, seed=3)
    first = [next(a) for _ in range(10)]
    assert first == [next(b) for _ in range(10)]
    second = [next(a) for _ in range(10)]
    assert sorted(i for x in second for i in x) == list(range(100))
    assert first != second
    assert a.epoch == 2


def test_sorted_batches_for_inference() -> None:
    batches = sorted_batches([3, 9, 1, 7], 2)
    assert batches == [[1, 3], [0, 2]]


def test_task_probabilities() -> None:
    sizes = [100, 400]
    assert task_probabilities(sizes, "uniform").tolist() == [0.5, 0.5]
    assert task_probabilities(sizes, "proportional").tolist() == [0.2, 0.8]
    # T=2: sqrt(100)=10, sqrt(400)=20 -> 1/3, 2/3
    assert np.allclose(task_probabilities(sizes, "temperature", temperature=2.0), [1 / 3, 2 / 3])
    assert np.allclose(task_probabilities(sizes, "capped", cap=100), [0.5, 0.5])
    with pytest.raises(ConfigError):
        task_probabilities(sizes, "random")


def test_sampler_follows_its_probabilities() -> None:
    sampler = TaskSampler(["a", "b"], [100, 300], "proportional", seed=0)
    draws = [next(sampler) for _ in range(4000)]
    assert abs(draws.count("b") / 4000 - 0.75) < 0.03


def test_subsets_are_nested_deterministic_and_in_file_order() -> None:
    small = subset_indices(1000, 50, seed=7)
    large = subset_indices(1000, 200, seed=7)
    assert set(small) <= set(large)
    assert small == sorted(small) and len(small) == 50
    assert subset_indices(1000, 50, seed=7) == small
    assert subset_indices(1000, 50, seed=8) != small
    rest = subset_indices(1000, None, offset=200, seed=7)
    assert not set(rest) & set(large) and len(rest) == 800
    assert subset_indices(10, None) == list(range(10))


def test_subset_features_renumbers_examples() -> None:
    features = [{"example_index": 0}, {"example_index": 1}, {"example_index": 1}, {"example_index": 2}]
    kept = subset_features(features, [1, 2])
    assert [f["example_index"] for f in kept] == [0, 0, 1]
