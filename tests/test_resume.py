"""A killed run continues where it stopped and ends exactly where an uninterrupted run ends."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from test_pipeline import STUDY

from xstilts.config.features import FeatureSettings
from xstilts.config.formats import get_format
from xstilts.config.registry import TaskRegistry
from xstilts.config.training import TrainConfig
from xstilts.formats.classification import ClassificationFormat
from xstilts.training.loop import TrainingTask, train
from xstilts.training.resume import STATE_FILE, TrainingCheckpoint, read_state
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
