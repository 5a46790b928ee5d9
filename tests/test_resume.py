"""A killed run continues where it stopped and ends exactly where an uninterrupted run ends."""

from __future__ import annotations

import copy
import json
import math
import os
import pickle
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from safetensors import safe_open
from test_pipeline import STUDY

from xstilts.config.features import FeatureSettings
from xstilts.config.formats import get_format
from xstilts.config.registry import TaskRegistry
from xstilts.config.training import TrainConfig
from xstilts.formats.classification import ClassificationFormat
from xstilts.training.loop import TrainingTask, train
from xstilts.training.resume import (
    LEGACY_STATE_FILE,
    STATE_FILE,
    TrainingCheckpoint,
    random_states,
    read_state,
    restore_random_states,
    write_state,
)
from xstilts.training.task_model import TaskModel

CONFIG = TrainConfig(
    learning_rate=1e-3, batch_size=8, max_steps=9, warmup=0.2, patience=None, freeze_word_embeddings=True
)


class Interrupted(Exception):
    pass


class StopsAfter(ClassificationFormat):
    """Raises in the middle of training, as a kill would stop it (after `batches` batches)."""

    def __init__(self, batches: int) -> None:
        self.left = batches

    def collate(self, features, pad_id):
        if self.left == 0:
            raise Interrupted
        self.left -= 1
        return super().collate(features, pad_id)


@pytest.fixture(scope="module")
def task_data(shared_data: Path, tiny):
    registry = TaskRegistry(shared_data)
    card = registry.card("xnli")
    examples = registry.load("xnli", "dev", "en")[:48]
    settings = FeatureSettings(max_length=48)
    dev_examples = registry.load("xnli", "dev", "de")[:16]
    fmt = get_format("classification")
    return (
        card,
        fmt.featurize(examples, tiny.tokenizer, card, settings),
        dev_examples,
        fmt.featurize(dev_examples, tiny.tokenizer, card, settings),
        settings,
    )


def fresh_model(tiny, card) -> TaskModel:
    torch.manual_seed(0)
    encoder = copy.deepcopy(tiny.encoder)
    return TaskModel(encoder, {card.name: get_format("classification").build_head(card, 64)})


def run(tiny, task_data, fmt, checkpoint=None, config=CONFIG):
    card, features, dev_examples, dev_features, settings = task_data
    model = fresh_model(tiny, card)
    task = TrainingTask(card, fmt, features, settings, dev_examples, dev_features, "de")
    result = train(
        model, [task], config, tiny.tokenizer.pad_token_id, seed=5, progress=False, checkpoint=checkpoint
    )
    return model, result


@pytest.mark.slow
@pytest.mark.parametrize("stop_after", [3, 9])
def test_an_interrupted_run_resumes_to_the_same_weights(
    tiny, task_data, tmp_path: Path, stop_after: int
) -> None:
    # eval_every 2 with patience: the dev history and the best weights are part of the state too
    config = CONFIG.model_copy(update={"eval_every": 2, "patience": 5})
    reference, ref_result = run(tiny, task_data, ClassificationFormat(), config=config)

    state = TrainingCheckpoint(tmp_path / STATE_FILE, every_steps=2, every_seconds=None)
    with pytest.raises(Interrupted):
        run(tiny, task_data, StopsAfter(stop_after), state, config)
    saved = read_state(state.path)
    # (dev evaluations collate too, so the batch count is not the step count)
    assert saved["step"] % 2 == 0 and 2 <= saved["step"] < CONFIG.max_steps

    resumed, result = run(
        tiny, task_data, ClassificationFormat(), TrainingCheckpoint(state.path, 2, None), config
    )
    assert result.steps == ref_result.steps and result.history == ref_result.history
    assert result.examples_seen == ref_result.examples_seen and result.best_step == ref_result.best_step
    for (name, a), (_, b) in zip(reference.state_dict().items(), resumed.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_a_state_for_another_schedule_is_refused(tiny, task_data, tmp_path: Path) -> None:
    from xstilts.errors import XstiltsError

    state = TrainingCheckpoint(tmp_path / STATE_FILE, every_steps=2, every_seconds=None)
    with pytest.raises(Interrupted):
        run(tiny, task_data, StopsAfter(3), state)
    with pytest.raises(XstiltsError, match="saved for 9 steps"):
        run(tiny, task_data, ClassificationFormat(), state, CONFIG.model_copy(update={"max_steps": 12}))


# --------------------------------------------------------------------------- kill -9 of `xstilts run`

KILL_STUDY = {
    **STUDY,
    "checkpoint": {"every_steps": 1, "every_minutes": None},
    "intermediate_training": {**STUDY["intermediate_training"], "epochs": 2},
    "target_training": {**STUDY["target_training"], "epochs": 3},
}


def xstilts(study: Path, out: Path, cache_dir: Path, quiet: bool = True) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "xstilts.cli", "run", str(study), "--out", str(out), *(["--quiet"] * quiet)],
        env={**env, "XSTILTS_CACHE": str(cache_dir)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_when(proc: subprocess.Popen, ready, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run never reached the kill point"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def values(out: Path) -> list[tuple]:
    rows = json.loads((out / "results.json").read_text())
    return sorted((r["arm"], r["phase"], r["task"], r["language"], r["metric"], r["value"]) for r in rows)


@pytest.mark.slow
def test_kill_9_at_several_points_then_the_same_results(
    tmp_path: Path, shared_data: Path, cache_dir: Path
) -> None:
    study = tmp_path / "study.yaml"
    study.write_text(yaml.safe_dump({**KILL_STUDY, "data_dir": str(shared_data)}))
    reference = tmp_path / "reference"
    proc = xstilts(study, reference, cache_dir)
    assert proc.wait(timeout=600) == 0, proc.communicate()

    out = tmp_path / "killed"
    runs = out / "runs"

    def state_of(kind: str, min_step: int):
        def ready() -> bool:
            for path in runs.glob(f".resume-{kind}-*/{STATE_FILE}"):
                try:
                    if read_state(path)["step"] >= min_step:
                        return True
                except Exception:  # being replaced right now
                    pass
            return False

        return ready

    # 1. in the middle of the intermediate run
    kill_when(xstilts(study, out, cache_dir), state_of("intermediate", 3))
    assert not list(runs.glob("intermediate-*/DONE"))
    # 2. in the middle of a target run, after the intermediate run finished
    kill_when(xstilts(study, out, cache_dir), state_of("target", 2))
    finished = {p.parent.name: p.stat().st_mtime_ns for p in runs.glob("*/DONE")}
    assert any(name.startswith("intermediate-") for name in finished)
    # 3. to the end
    proc = xstilts(study, out, cache_dir)
    assert proc.wait(timeout=600) == 0, proc.communicate()
    assert {
        p.parent.name: p.stat().st_mtime_ns for p in runs.glob("*/DONE") if p.parent.name in finished
    } == (finished)  # finished runs untouched
    assert not list(runs.glob(".resume-*")) and not list(runs.glob(".tmp-*"))
    assert values(out) == values(reference)


@pytest.mark.slow
def test_two_processes_on_one_output_train_each_run_once(
    tmp_path: Path, shared_data: Path, cache_dir: Path
) -> None:
    study = tmp_path / "study.yaml"
    study.write_text(yaml.safe_dump({**STUDY, "data_dir": str(shared_data), "retrieval": []}))
    out = tmp_path / "out"
    procs = [xstilts(study, out, cache_dir, quiet=False) for _ in range(2)]
    notes = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stderr
        notes += [line for line in stderr.splitlines() if line.startswith("xstilts: ")]
    runs = sorted(p.name for p in (out / "runs").iterdir() if not p.name.startswith((".", "pretrained")))
    assert len(runs) == 3  # 1 intermediate + 2 target runs
    trained = sorted(line.split()[2] for line in notes if line.startswith("xstilts: train "))
    assert trained == runs  # each trained by exactly one of the two processes
    assert len([line for line in notes if line.startswith("xstilts: reuse ")]) == 3  # and reused by the other
    assert values(out)


# --------------------------------------------------------------------------- the state file itself


def test_a_state_reads_back_exactly(tmp_path: Path) -> None:
    weight = torch.randn(4, 3)
    storage = torch.arange(12.0)
    state = {
        "step": 7,
        "tied": {"a": weight, "b": weight},  # one tensor twice (tied weights)
        "views": [storage[:6], storage[6:], torch.randn(3, 4).t()],  # shared memory, not contiguous
        "kinds": [torch.tensor(3.0), torch.empty(0, 5), torch.ones(2, dtype=torch.bfloat16)],
        "groups": {0: {"betas": (0.9, 0.999), "params": [0, 1]}, 1: {"fused": None, "flag": True}},
        "numbers": [-math.inf, 2**100, 1e-310, np.float64(0.1), "text"],
    }
    write_state(tmp_path / STATE_FILE, state)
    back = read_state(tmp_path / STATE_FILE)
    assert back["step"] == 7 and back["groups"] == state["groups"]
    assert type(back["groups"][0]["betas"]) is tuple and list(back["groups"]) == [0, 1]
    assert back["numbers"][:3] == state["numbers"][:3] and type(back["numbers"][3]) is float
    assert back["numbers"][3] == 0.1 and back["numbers"][4] == "text"
    tensors = [back["tied"]["a"], back["tied"]["b"], *back["views"], *back["kinds"]]
    originals = [weight, weight, *state["views"], *state["kinds"]]
    for got, want in zip(tensors, originals, strict=True):
        assert got.dtype == want.dtype and torch.equal(got, want)
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file was renamed
    with safe_open(str(tmp_path / STATE_FILE), framework="pt") as handle:
        # The JSON is an entry, not the header: safetensors refuses to read headers over 100 MB.
        assert handle.metadata() == {"format": "pt", "xstilts-train-state": "1"}


def test_random_generators_restore_to_the_same_draws(tmp_path: Path) -> None:
    random.seed(3), np.random.seed(4), torch.manual_seed(5)
    random.gauss(0, 1), np.random.standard_normal()  # both keep a second gaussian in their state
    write_state(tmp_path / STATE_FILE, {"step": 1, "random": random_states()})
    draws = (
        random.gauss(0, 1),
        np.random.standard_normal(),
        np.random.rand(3).tolist(),
        torch.rand(3).tolist(),
    )
    restore_random_states(read_state(tmp_path / STATE_FILE)["random"])
    assert (
        random.gauss(0, 1),
        np.random.standard_normal(),
        np.random.rand(3).tolist(),
        torch.rand(3).tolist(),
    ) == (draws)


# --------------------------------------------------------------------------- damaged and planted states


class WritesMarker:
    """A pickle that runs code when loaded: it creates `marker` (as `os.system` could do anything)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


@pytest.fixture(scope="module")
def uninterrupted(tiny, task_data):
    return run(tiny, task_data, ClassificationFormat())


@pytest.fixture(scope="module")
def saved_state(tiny, task_data, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a real state file, saved at step 2 of an interrupted run."""
    state = TrainingCheckpoint(
        tmp_path_factory.mktemp("state") / STATE_FILE, every_steps=2, every_seconds=None
    )
    with pytest.raises(Interrupted):
        run(tiny, task_data, StopsAfter(3), state)
    return state.path.read_bytes()


def assert_same_run(resumed, uninterrupted) -> None:
    (model, result), (reference, ref_result) = resumed, uninterrupted
    assert result.steps == ref_result.steps and result.history == ref_result.history
    assert result.examples_seen == ref_result.examples_seen
    for (name, a), (_, b) in zip(reference.state_dict().items(), model.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


DAMAGES = {
    "truncated to half": lambda state, path: state[: len(state) // 2],
    "garbage bytes": lambda state, path: b"\x00\xffnot safetensors" * 100,
    "a planted pickle": lambda state, path: pickle.dumps(WritesMarker(path.parent / "pwned")),
    "safetensors of something else": lambda state, path: safetensors_bytes({"x": torch.zeros(2)}),
}


def safetensors_bytes(tensors: dict[str, torch.Tensor]) -> bytes:
    from safetensors.torch import save

    return save(tensors)


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_state_is_discarded_and_the_run_starts_over(
    tiny, task_data, uninterrupted, saved_state: bytes, tmp_path: Path, capsys, damage: str
) -> None:
    path = tmp_path / STATE_FILE
    path.write_bytes(DAMAGES[damage](saved_state, path))
    capsys.readouterr()
    resumed = run(tiny, task_data, ClassificationFormat(), TrainingCheckpoint(path, 2, None))
    notes = capsys.readouterr().err.splitlines()
    assert len(notes) == 1, notes
    assert notes[0].startswith(f"xstilts: discarding damaged training state {path} (")
    assert notes[0].endswith("; the run starts from its beginning")
    assert not (tmp_path / "pwned").exists()
    assert_same_run(resumed, uninterrupted)


def test_a_state_saved_for_another_model_is_discarded(
    tiny, task_data, uninterrupted, saved_state: bytes, tmp_path: Path, capsys
) -> None:
    path = tmp_path / STATE_FILE
    path.write_bytes(saved_state)
    other = read_state(path)
    other["model"] = {name: tensor[:1] for name, tensor in other["model"].items()}  # other shapes
    write_state(path, other)
    resumed = run(tiny, task_data, ClassificationFormat(), TrainingCheckpoint(path, 2, None))
    assert "has another shape or type than the model's" in capsys.readouterr().err
    assert_same_run(resumed, uninterrupted)


def test_a_pickled_state_of_an_older_version_is_removed_unread(
    tiny, task_data, uninterrupted, tmp_path: Path, capsys
) -> None:
    legacy = tmp_path / LEGACY_STATE_FILE
    legacy.write_bytes(pickle.dumps(WritesMarker(tmp_path / "pwned")))
    pickle.loads(
        legacy.read_bytes()
    )  # the payload does run under pickle (and torch.load(weights_only=False))
    assert (tmp_path / "pwned").exists()
    (tmp_path / "pwned").unlink()

    resumed = run(tiny, task_data, ClassificationFormat(), TrainingCheckpoint(tmp_path / STATE_FILE, 2, None))
    assert not (tmp_path / "pwned").exists() and not legacy.exists()
    assert f"xstilts: removing {legacy}, the training state of an older xstilts" in capsys.readouterr().err
    assert_same_run(resumed, uninterrupted)
