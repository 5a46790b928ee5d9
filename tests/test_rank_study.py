"""`xstilts rank` end to end on the tiny random model: the runs it trains are the runs `run` reuses, a
second `rank` reuses everything, and the report's Task selection section appears only when both the
rankings and the target runs exist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from xstilts.cli import main

STUDY = {
    "name": "tiny-rank",
    "model": "random:tiny",
    "seeds": [1],
    "features": {"max_length": 48},
    "intermediate_training": {
        "learning_rate": 1e-3,
        "batch_size": 8,
        "epochs": 1,
        "patience": None,
        "freeze_word_embeddings": True,
    },
    "target_training": {
        "learning_rate": 1e-3,
        "batch_size": 8,
        "epochs": 1,
        "patience": None,
        "freeze_word_embeddings": True,
    },
    "arms": [
        {"name": "none"},
        {"name": "nli", "intermediate": [{"task": "xnli", "split": "dev", "languages": ["en"], "size": 24}]},
        # Chinese POS: a language the target is scored in (small files: features are made per file).
        {"name": "pos", "intermediate": [{"task": "udpos", "split": "dev", "languages": ["zh"], "size": 24}]},
    ],
    "targets": [
        {
            "task": "pawsx",
            "train": {"split": "dev", "languages": ["en"], "size": 24},
            "dev": {"split": "dev", "languages": ["en"], "size": 16, "offset": 24},
            "evaluate": {"split": "dev", "languages": ["de", "zh"], "size": 16, "offset": 40},
        }
    ],
}


def _done_times(out: Path, phase: str) -> dict[str, int]:
    return {p.name: (p / "DONE").stat().st_mtime_ns for p in (out / "runs").glob(f"{phase}-*")}


@pytest.mark.slow
def test_rank_trains_what_run_reuses_and_reuses_everything(
    tmp_path: Path, shared_data: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = tmp_path / "study.yaml"
    study.write_text(yaml.safe_dump({**STUDY, "data_dir": str(shared_data)}))
    out = tmp_path / "out"
    common = ["--out", str(out), "--cache-dir", str(cache_dir), "--quiet"]

    assert main(["rank", str(study), *common, "--examples", "20"]) == 0
    first = capsys.readouterr().out
    assert "target pawsx (dev)" in first and "measured gain" not in first  # no target runs yet
    rankings = json.loads((out / "rankings.json").read_text())
    assert set(rankings["methods"]) == {"semb", "overlap", "logme", "proxy"}
    for method in rankings["methods"].values():
        assert set(method["targets"]["pawsx-dev-target"]["scores"]) == {"nli", "pos"}
        assert method["seconds"] > 0
    components = rankings["methods"]["overlap"]["targets"]["pawsx-dev-target"]["components"]
    assert components["nli"]["languages"] == 0.0 and components["pos"]["languages"] == 0.5  # zh of de, zh
    intermediate = _done_times(out, "intermediate")
    proxies = _done_times(out, "proxy")
    assert len(intermediate) == 2 and len(proxies) == 2 and not _done_times(out, "target")
    # Nothing trains on a proxy run: under the default retention its weights go once it is scored.
    for proxy in (out / "runs").glob("proxy-*"):
        assert (proxy / "WEIGHTS_DELETED").is_file() and not (proxy / "checkpoint").exists()
    assert all((p / "checkpoint").is_dir() for p in (out / "runs").glob("intermediate-*"))
    cached = {p: p.stat().st_mtime_ns for p in (out / "ranking").rglob("*.json")}

    # A second rank reuses every run and every cached piece, and reports the same costs.
    assert main(["rank", str(study), *common, "--examples", "20"]) == 0
    capsys.readouterr()
    again = json.loads((out / "rankings.json").read_text())
    assert {m: v["seconds"] for m, v in again["methods"].items()} == {
        m: v["seconds"] for m, v in rankings["methods"].items()
    }
    assert {p: p.stat().st_mtime_ns for p in (out / "ranking").rglob("*.json")} == cached
    assert _done_times(out, "intermediate") == intermediate and _done_times(out, "proxy") == proxies

    # `run` reuses the intermediate runs rank trained: same directories, DONE not rewritten.
    assert main(["run", str(study), *common]) == 0
    capsys.readouterr()
    assert _done_times(out, "intermediate") == intermediate
    assert len(_done_times(out, "target")) == 3  # none, nli, pos: the proxies are not target runs

    # Both exist now: rank scores each method, and the report has the section.
    assert main(["rank", str(study), *common, "--examples", "20", "--resamples", "50"]) == 0
    scored = capsys.readouterr().out
    assert "measured gain over none" in scored and "regret@3" in scored
    assert main(["report", str(out), "--format", "md", "--resamples", "50", "--quiet"]) == 0
    report = capsys.readouterr().out
    assert "Task selection" in report and "ranking quality and cost" in report
    assert main(["report", str(out), "--resamples", "50", "--quiet"]) == 0
    capsys.readouterr()
    assert (out / "report" / "tiny-rank-selection-pawsx-dev-target.png").is_file()

    (out / "rankings.json").unlink()
    assert main(["report", str(out), "--format", "md", "--resamples", "50", "--quiet"]) == 0
    assert "Task selection" not in capsys.readouterr().out


@pytest.mark.slow
def test_rank_refuses_in_one_line_when_retention_deleted_the_intermediate_weights(
    tmp_path: Path, shared_data: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Under `checkpoints: keep none` a finished study has no intermediate weights: semb and overlap
    still rank (they need none), logme and proxy refuse in one line and write no rankings."""
    design = {**STUDY, "checkpoints": {"keep": "none"}}
    study = tmp_path / "study.yaml"
    study.write_text(yaml.safe_dump({**design, "data_dir": str(shared_data)}))
    out = tmp_path / "out"
    common = ["--out", str(out), "--cache-dir", str(cache_dir), "--quiet"]
    assert main(["run", str(study), *common]) == 0
    intermediates = sorted((out / "runs").glob("intermediate-*"))
    assert len(intermediates) == 2 and all((p / "WEIGHTS_DELETED").is_file() for p in intermediates)
    capsys.readouterr()

    assert main(["rank", str(study), *common, "--methods", "semb,overlap", "--examples", "20"]) == 0
    capsys.readouterr()
    before = (out / "rankings.json").read_bytes()
    for method in ("logme", "proxy"):
        assert main(["rank", str(study), *common, "--methods", method, "--examples", "20"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "weights were deleted" in err[0], err
        assert any(err[0].startswith(f"xstilts: error: {p}: ") for p in intermediates), err
        assert f"--methods {method}" in err[0]
        assert (out / "rankings.json").read_bytes() == before
