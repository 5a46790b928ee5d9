"""`xstilts run` checks every input before it writes (issue 12, item 2): bad input is one line, exit 2,
and the output folder is not made, or is byte for byte as it was."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from xstilts.cli import main
from xstilts.engine import preflight
from xstilts.errors import ConfigError


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("xstilts: error: ")
    return err[0]


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under `root` with its bytes (None for a folder): what "unchanged" compares."""
    return {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() else None for p in sorted(root.rglob("*"))
    }


def pawsx_study(tmp_path: Path, shared_data: Path, **changes: Any) -> Path:
    """A one-run study over a copy of PAWS-X dev (en trains, de is scored) on the tiny random model."""
    data = tmp_path / "data" / "xtreme" / "pawsx"
    data.mkdir(parents=True, exist_ok=True)
    for lang in ("en", "de", "fr"):
        shutil.copy(shared_data / "xtreme" / "pawsx" / f"dev-{lang}.tsv", data)
    study = {
        "name": "checked",
        "model": "random:tiny",
        "data_dir": "data",
        "seeds": [1],
        "features": {"max_length": 32},
        "target_training": {"learning_rate": 1e-3, "batch_size": 8, "epochs": 1, "patience": None},
        "arms": [{"name": "none"}],
        "targets": [
            {
                "task": "pawsx",
                "train": {"split": "dev", "languages": ["en"], "size": 16},
                "evaluate": {"split": "dev", "languages": ["de"], "size": 8, "offset": 16},
            }
        ],
        **changes,
    }
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    return path


def run(study: Path, out: Path, cache_dir: Path, *extra: str) -> int:
    return main(["run", str(study), "--out", str(out), "--quiet", "--cache-dir", str(cache_dir), *extra])


def break_line(path: Path, line: int, text: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[line - 1] = text + "\n"
    path.write_text("".join(lines), encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "said"),
    [("only\ttwo columns", "expected 3 tab-separated columns"), ("A.\tB.\t7", "7")],
)
def test_a_broken_evaluation_file_stops_the_run_before_it_writes(
    tmp_path: Path,
    shared_data: Path,
    cache_dir: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    said: str,
) -> None:
    study = pawsx_study(tmp_path, shared_data)
    evaluated = tmp_path / "data" / "xtreme" / "pawsx" / "dev-de.tsv"
    break_line(evaluated, 20, text)  # inside the evaluated slice (offset 16, size 8)
    out = tmp_path / "out"
    assert run(study, out, cache_dir) == 2
    line = one_error_line(capsys)
    assert f"{evaluated}:20" in line and said in line
    assert not out.exists()


def test_a_missing_data_folder_or_file_stops_the_run_before_it_writes(
    tmp_path: Path, shared_data: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = pawsx_study(tmp_path, shared_data)
    out = tmp_path / "out"
    assert run(study, out, cache_dir, "--data-dir", str(tmp_path / "missing")) == 2
    assert f"data_dir {tmp_path / 'missing'}: no such folder" in one_error_line(capsys)
    assert not out.exists()
    # The folder is there, the evaluated file is not: it is named, with what reads it.
    (tmp_path / "data" / "xtreme" / "pawsx" / "dev-de.tsv").unlink()
    assert run(study, out, cache_dir) == 2
    line = one_error_line(capsys)
    assert "dev-de.tsv: file not found (task pawsx, split dev, language de)" in line
    assert not out.exists()


def write_model_folder(folder: Path, config: str | None, files: tuple[str, ...]) -> None:
    folder.mkdir()
    if config is not None:
        (folder / "config.json").write_text(config)
    for name in files:
        (folder / name).write_bytes(b"")


GOOD_CONFIG = json.dumps({"model_type": "xlm-roberta"})


@pytest.mark.parametrize(
    ("config", "files", "said"),
    [
        ("{not json", ("model.safetensors", "tokenizer.json"), "config.json is not readable JSON"),
        ('{"hidden_size": 4}', ("model.safetensors", "tokenizer.json"), "names no model_type"),
        (GOOD_CONFIG, ("pytorch_model.bin", "tokenizer.json"), "no safetensors weights"),
        (GOOD_CONFIG, ("model.safetensors",), "no tokenizer files"),
    ],
)
def test_a_bad_model_folder_stops_the_run_before_it_writes(
    tmp_path: Path,
    shared_data: Path,
    cache_dir: Path,
    capsys: pytest.CaptureFixture[str],
    config: str,
    files: tuple[str, ...],
    said: str,
) -> None:
    model = tmp_path / "model"
    write_model_folder(model, config, files)
    study = pawsx_study(tmp_path, shared_data, model=f"path:{model}")
    out = tmp_path / "out"
    assert run(study, out, cache_dir) == 2
    line = one_error_line(capsys)
    assert f"model 'path:{model}'" in line and said in line
    assert not out.exists()


def test_a_sharded_model_folder_needs_every_shard(tmp_path: Path) -> None:
    model = tmp_path / "model"
    write_model_folder(model, GOOD_CONFIG, ("model-00001-of-00002.safetensors", "tokenizer.json"))
    index = {"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}
    (model / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(ConfigError, match="shards that are missing: model-00002-of-00002.safetensors"):
        preflight.check_model_source(f"path:{model}")
    (model / "model-00002-of-00002.safetensors").write_bytes(b"")
    preflight.check_model_source(f"path:{model}")


def test_an_hf_model_is_found_in_the_local_cache_or_refused_before_anything_is_written(
    tmp_path: Path,
    shared_data: Path,
    cache_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import huggingface_hub

    hub_cache = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(hub_cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # conftest sets it too; said here because the test needs it
    study = pawsx_study(tmp_path, shared_data, model="hf:someone/tiny-model")
    out = tmp_path / "out"
    assert run(study, out, cache_dir) == 2
    line = one_error_line(capsys)
    assert "someone/tiny-model" in line and "not in the local Hugging Face cache" in line
    assert not out.exists()

    # Online, a hub that cannot be reached is one line too (the client is replaced: tests stay offline).
    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise OSError("Network is unreachable")

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", unreachable)
    assert run(study, out, cache_dir) == 2
    line = one_error_line(capsys)
    assert "not reachable on the hub" in line and "Network is unreachable" in line
    assert not out.exists()

    # A model cached whole (config, safetensors, tokenizer) passes without asking the hub.
    snapshot_dir = hub_cache / "models--someone--tiny-model" / "snapshots" / ("0" * 40)
    snapshot_dir.mkdir(parents=True)
    (hub_cache / "models--someone--tiny-model" / "refs").mkdir()
    (hub_cache / "models--someone--tiny-model" / "refs" / "main").write_text("0" * 40)
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        (snapshot_dir / name).write_text(GOOD_CONFIG if name == "config.json" else "")
    preflight.check_model_source("hf:someone/tiny-model")
    # Offline, a copy without weights is named for what it lacks.
    (snapshot_dir / "model.safetensors").unlink()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError, match="cache is incomplete \\(no safetensors weights"):
        preflight.check_model_source("hf:someone/tiny-model")
    with pytest.raises(ConfigError, match="not a valid Hugging Face repo id"):
        preflight.check_model_source("hf:a/b/c")


@pytest.mark.parametrize(
    ("content", "said"),
    [(b"garbage" * 1000, "file is not a database"), (None, "not an xstilts results store")],
)
def test_a_corrupt_store_leaves_the_output_folder_unchanged(
    tmp_path: Path,
    shared_data: Path,
    cache_dir: Path,
    capsys: pytest.CaptureFixture[str],
    content: bytes | None,
    said: str,
) -> None:
    import sqlite3

    study = pawsx_study(tmp_path, shared_data)
    out = tmp_path / "out"
    (out / "runs").mkdir(parents=True)
    (out / "notes.txt").write_text("the user's own file\n")
    store = out / "results.sqlite"
    if content is None:  # another program's database
        with sqlite3.connect(store) as conn:
            conn.execute("CREATE TABLE things (x)")
        conn.close()
    else:
        store.write_bytes(content)
    before = snapshot(out)
    assert run(study, out, cache_dir) == 2
    line = one_error_line(capsys)
    assert str(store) in line and said in line
    assert snapshot(out) == before


def test_a_damaged_store_page_is_found_before_the_run_writes(
    tmp_path: Path, shared_data: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from xstilts.results.store import ResultsStore

    study = pawsx_study(tmp_path, shared_data)
    out = tmp_path / "out"
    out.mkdir()
    store = out / "results.sqlite"
    row = {
        "study": "s",
        "arm": "a",
        "run": "r",
        "phase": "target",
        "seed": 1,
        "task": "t",
        "task_version": 1,
        "language": "en",
        "split": "test",
        "value": 0.5,
    }
    ResultsStore(store).record([{**row, "metric": f"m{i}"} for i in range(400)])
    data = bytearray(store.read_bytes())
    page = 4096
    assert len(data) > 3 * page
    data[2 * page + 8 : 3 * page] = b"\xff" * (page - 8)  # an index or table page, overwritten
    store.write_bytes(bytes(data))
    before = snapshot(out)
    assert run(study, out, cache_dir) == 2
    line = one_error_line(capsys)
    assert str(store) in line
    assert snapshot(out) == before


@pytest.mark.slow
def test_a_finished_run_is_untouched_when_a_new_evaluation_file_is_broken(
    tmp_path: Path, shared_data: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = pawsx_study(tmp_path, shared_data)
    out = tmp_path / "out"
    assert run(study, out, cache_dir) == 0
    capsys.readouterr()
    before = snapshot(out)
    assert any(name.startswith("runs/target-") and name.endswith("/DONE") for name in before)
    # The same run, now also scored in French, whose file is broken: the run is done, the new
    # evaluation is not, and the check reads its file before anything is written.
    raw = yaml.safe_load(study.read_text())
    raw["targets"][0]["evaluate"]["languages"] = ["de", "fr"]
    study.write_text(yaml.safe_dump(raw))
    break_line(tmp_path / "data" / "xtreme" / "pawsx" / "dev-fr.tsv", 17, "no tabs at all")
    assert run(study, out, cache_dir) == 2
    assert "dev-fr.tsv:17" in one_error_line(capsys)
    assert snapshot(out) == before


def test_out_and_cache_folders_under_a_file_are_refused(
    tmp_path: Path, shared_data: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = pawsx_study(tmp_path, shared_data)
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    assert run(study, a_file / "out", cache_dir) == 2
    assert f"--out {a_file / 'out'}: {a_file} is a file" in one_error_line(capsys)
    out = tmp_path / "out"
    assert main(["run", str(study), "--out", str(out), "--quiet", "--cache-dir", str(a_file / "c")]) == 2
    assert f"--cache-dir {a_file / 'c'}: {a_file} is a file" in one_error_line(capsys)
    assert main(["run", str(study), "--out", str(out), "--quiet", "--cache-dir", str(a_file)]) == 2
    assert f"--cache-dir {a_file}: is a file, not a folder" in one_error_line(capsys)
    assert not out.exists() and a_file.read_text() == ""


def test_tasks_with_a_missing_data_folder_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tasks", "--data-dir", "/missing"]) == 2
    assert one_error_line(capsys) == "xstilts: error: --data-dir /missing: no such folder"
