"""The command line: listings, and bad input answered by one line and exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from xstilts.cli import main

NLI_CARD = {
    "name": "mini-nli",
    "format": "classification",
    "reader": "xtreme_tsv_pairs",
    "reader_options": {"labels": ["entailment", "neutral", "contradiction"]},
    "labels": ["entailment", "neutral", "contradiction"],
    "metric": "accuracy",
    "languages": ["en", "de"],
    "splits": {
        "train": {"path": "nli/train-{lang}.tsv", "languages": ["en"]},
        "test": {"path": "nli/test-{lang}.tsv"},
    },
}


def write_mini_task(root: Path, train_rows: list[str]) -> Path:
    (root / "cards").mkdir(parents=True)
    (root / "cards" / "mini-nli.yaml").write_text(yaml.safe_dump(NLI_CARD))
    (root / "data" / "nli").mkdir(parents=True)
    (root / "data" / "nli" / "train-en.tsv").write_text("".join(r + "\n" for r in train_rows))
    for lang in ("en", "de"):
        (root / "data" / "nli" / f"test-{lang}.tsv").write_text(
            "A man sleeps.\tA man is asleep.\tentailment\n"
        )
    study = {
        "name": "mini",
        "model": "random:tiny",
        "data_dir": "data",
        "task_dirs": ["cards"],
        "builtin_tasks": False,
        "target_training": {"batch_size": 2, "epochs": 1, "patience": None},
        "arms": [{"name": "none"}],
        "targets": [{"task": "mini-nli", "train": {"split": "train"}, "evaluate": {"split": "test"}}],
    }
    path = root / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    return path


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("xstilts: error: ")
    return err[0]


def test_tasks_json_lists_cards_and_present_splits(
    shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tasks", "--json", "--data-dir", str(shared_data)]) == 0
    listing = {t["name"]: t for t in json.loads(capsys.readouterr().out)}
    assert {"xnli", "pawsx", "udpos", "panx", "xquad", "tydiqa", "tatoeba", "xcopa", "copa", "siqa"} <= set(
        listing
    )
    assert listing["xnli"]["format"] == "classification"
    assert len(listing["xnli"]["splits_present"]["dev"]) == 15
    assert "train" not in listing["xnli"]["splits_present"]
    assert (
        listing["tatoeba"]["format"] == "retrieval"
        and len(listing["tatoeba"]["splits_present"]["test"]) == 41  # XTREME-R's 41, all in the mirror
    )
    assert sorted(listing["xcopa"]["splits_present"]["test"]) == sorted(
        ["et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh"]
    )
    assert listing["tydiqa"]["splits_present"]["train"] == ["en", "ko", "sw"]


def test_models_lists_every_scheme(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for scheme in ("hf:", "path:", "bundled:me5-small", "random:tiny"):
        assert scheme in out


def test_missing_study_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "out")]) == 2
    assert "nope.yaml" in one_error_line(capsys)
    assert not (tmp_path / "out").exists()


def test_unknown_task_in_study(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = write_mini_task(tmp_path, ["A.\tB.\tneutral"])
    raw = yaml.safe_load(study.read_text())
    raw["targets"][0]["task"] = "mini-nl"
    study.write_text(yaml.safe_dump(raw))
    assert main(["run", str(study), "--out", str(tmp_path / "out")]) == 2
    line = one_error_line(capsys)
    assert "targets.0" in line and "mini-nl" in line and "did you mean mini-nli" in line
    assert not (tmp_path / "out").exists()


def test_unknown_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = write_mini_task(tmp_path, ["A.\tB.\tneutral"])
    raw = yaml.safe_load(study.read_text())
    raw["model"] = "path:" + str(tmp_path / "no-model")
    study.write_text(yaml.safe_dump(raw))
    assert main(["run", str(study), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    line = one_error_line(capsys)
    assert "no-model" in line and "study.yaml: model" in line
    assert not (tmp_path / "out").exists()  # refused before any work


def test_malformed_data_file_names_file_and_line(
    tmp_path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = write_mini_task(tmp_path, ["A man sleeps.\tA man is asleep.\tentailment", "Only two\tcolumns"])
    out = tmp_path / "out"
    assert main(["run", str(study), "--out", str(out), "--quiet", "--cache-dir", str(cache_dir)]) == 2
    line = one_error_line(capsys)
    assert "train-en.tsv:2" in line
    # Nothing half-written: no run directory and no results.
    assert not list((out / "runs").glob("target-*")) and not (out / "results.json").exists()


def test_entry_point_exit_code() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "xstilts.cli", "tasks", "--data-dir", "/nonexistent"],
        capture_output=True,
        text=True,
        check=False,
    )
    # A --data-dir that does not exist is bad input (issue 12, item 3): one line, exit 2.
    assert done.returncode == 2 and done.stderr.strip() == (
        "xstilts: error: --data-dir /nonexistent: no such folder"
    )
    bad = subprocess.run(
        [sys.executable, "-m", "xstilts.cli", "run"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2


def test_a_closed_pipe_ends_quietly() -> None:
    # `xstilts tasks --json | head -c 100`: the reader stops early; no traceback, exit 141 (SIGPIPE).
    code = "import sys; from xstilts.cli import main; sys.exit(main(['tasks', '--json']))"
    done = subprocess.run(
        [
            "bash",
            "-c",
            f'"{sys.executable}" -c "{code}" | head -c 100 >/dev/null; echo "${{PIPESTATUS[0]}}" >&2',
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] in ("141", "0")  # 0 if it all fit in the pipe first
