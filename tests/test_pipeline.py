"""The three phases end to end on the tiny random model and real XTREME data subsets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from xstilts.config.study import load_study
from xstilts.engine.runner import run_study

STUDY = {
    "name": "e2e",
    "model": "random:tiny",
    "seeds": [3],
    "features": {"max_length": 64},
    "intermediate_training": {
        "learning_rate": 1e-3,
        "batch_size": 8,
        "epochs": 1,
        "patience": None,
        "freeze_word_embeddings": True,
    },
    "target_training": {"learning_rate": 1e-3, "batch_size": 8, "epochs": 2, "patience": 1},
    "arms": [
        {"name": "none"},
        {"name": "nli", "intermediate": [{"task": "xnli", "split": "dev", "languages": ["en"], "size": 48}]},
    ],
    "targets": [
        {
            "task": "pawsx",
            "train": {"split": "dev", "languages": ["en"], "size": 40},
            "dev": {"split": "dev", "languages": ["en"], "size": 16, "offset": 40},
            "evaluate": {"split": "dev", "languages": ["en", "de", "zh"], "size": 24, "offset": 56},
        }
    ],
    "retrieval": [
        {"task": "tatoeba", "languages": ["de", "ru"], "size": 40, "after": ["pretrained", "intermediate"]}
    ],
}


def write_study(tmp_path: Path, shared_data: Path, study: dict = STUDY) -> Path:
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump({**study, "data_dir": str(shared_data)}))
    return path


@pytest.mark.slow
def test_three_phases_end_to_end_and_reuse(tmp_path: Path, shared_data: Path, cache_dir: Path) -> None:
    study, registry = load_study(write_study(tmp_path, shared_data))
    out = tmp_path / "out"
    rows = run_study(study, registry, out, cache_dir, progress=False)

    runs = sorted(p.name for p in (out / "runs").iterdir() if not p.name.startswith("."))
    kinds = [name.split("-")[0] for name in runs]
    # one pretrained pseudo-run, one intermediate run, one target run per arm
    assert kinds.count("pretrained") == 1 and kinds.count("intermediate") == 1 and kinds.count("target") == 2
    for name in runs:
        run = out / "runs" / name
        assert (run / "DONE").is_file() and (run / "config.json").is_file()
        if name.startswith("intermediate"):  # target runs train on it: `checkpoints: keep reused` keeps it
            assert (run / "checkpoint" / "encoder" / "model.safetensors").is_file()
            assert (run / "checkpoint" / "heads.safetensors").is_file()
        if name.startswith("target"):  # evaluated: its weights are deleted (issue 10, retention)
            assert (run / "WEIGHTS_DELETED").is_file() and not (run / "checkpoint").exists()
        if not name.startswith("pretrained"):
            metrics = json.loads((run / "metrics.json").read_text())
            assert metrics["steps"] > 0 and metrics["history"]

    target_rows = [r for r in rows if r["task"] == "pawsx" and r["metric"] == "accuracy"]
    assert {(r["arm"], r["language"]) for r in target_rows} == {
        (arm, lang) for arm in ("none", "nli") for lang in ("en", "de", "zh")
    }
    assert all(0.0 <= r["value"] <= 100.0 for r in target_rows)
    retrieval_rows = [r for r in rows if r["task"] == "tatoeba" and r["metric"] == "accuracy"]
    assert {(r["phase"], r["language"]) for r in retrieval_rows} == {
        (phase, lang) for phase in ("pretrained", "intermediate") for lang in ("de", "ru")
    }
    assert (out / "results.json").is_file() and "pawsx" in (out / "results.txt").read_text()

    # The no-intermediate target run starts from the model spec, the other from the intermediate run.
    parents = {
        json.loads((out / "runs" / n / "config.json").read_text())["parent"]
        for n in runs
        if n.startswith("target")
    }
    intermediate_id = next(n for n in runs if n.startswith("intermediate")).split("-", 1)[1]
    assert parents == {"random:tiny", intermediate_id}

    # A second run of the same study trains nothing and reports the same numbers.
    stamps = {n: (out / "runs" / n / "DONE").stat().st_mtime_ns for n in runs}
    again = run_study(study, registry, out, cache_dir, progress=False)
    assert {n: (out / "runs" / n / "DONE").stat().st_mtime_ns for n in runs} == stamps
    assert sorted(map(json.dumps, again)) == sorted(map(json.dumps, rows))


@pytest.mark.slow
def test_same_seed_same_numbers_on_cpu(tmp_path: Path, shared_data: Path, cache_dir: Path) -> None:
    small = {**STUDY, "arms": [STUDY["arms"][0]], "retrieval": []}
    study, registry = load_study(write_study(tmp_path, shared_data, small))
    first = run_study(study, registry, tmp_path / "a", cache_dir, progress=False)
    second = run_study(study, registry, tmp_path / "b", cache_dir, progress=False)
    assert [r["value"] for r in first] == [r["value"] for r in second]


@pytest.mark.parametrize(
    "change, where",
    [
        (
            {"arms": [{"name": "x", "intermediate": [{"task": "xnlii", "split": "dev"}]}]},
            "arms.0.intermediate.0.task",
        ),
        (
            {
                "arms": [
                    {"name": "x", "intermediate": [{"task": "xnli", "split": "dev", "languages": ["xx"]}]}
                ]
            },
            "arms.0.intermediate.0.languages",
        ),
        ({"arms": [{"name": "x", "intermediat": []}]}, "arms.0.intermediat"),
        ({"target_training": {"learning_rate": -1}}, "target_training.learning_rate"),
        ({"retrieval": [{"task": "xnli"}]}, "retrieval.0.task"),
    ],
)
def test_bad_study_names_the_key(change: dict, where: str, tmp_path: Path, shared_data: Path) -> None:
    from xstilts.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        load_study(write_study(tmp_path, shared_data, {**STUDY, **change}))
    assert where in str(err.value)
