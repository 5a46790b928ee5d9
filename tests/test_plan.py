"""The planner: the runs a study needs, shared where possible, what they cost, before any training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from test_pipeline import STUDY, write_study

from xstilts.cli import main
from xstilts.config.study import load_study
from xstilts.engine.runner import run_study
from xstilts.errors import ConfigError
from xstilts.plan.graph import build_plan
from xstilts.plan.table import plan_summary

# Two QA targets trained on the same data: one target run per arm and seed serves both.
QA_TARGETS = [
    {
        "task": task,
        "train": {"task": "tydiqa", "split": "dev", "languages": ["en"], "size": 12},
        "evaluate": {"split": evaluate_split, "languages": ["de"], "size": 6},
        "training": {"epochs": 1, "batch_size": 4},
    }
    for task, evaluate_split in (("xquad", "test"), ("mlqa", "dev"))
]


def test_plan_lists_each_run_once_with_its_cost(tmp_path: Path, shared_data: Path) -> None:
    design = {**STUDY, "seeds": [1, 2], "targets": [*STUDY["targets"], *QA_TARGETS]}
    study, registry = load_study(write_study(tmp_path, shared_data, design))
    plan = build_plan(study, registry, tmp_path / "out")

    kinds = [r.phase for r in plan]
    # 1 pretrained; 1 intermediate per seed; per seed and arm one pawsx run and one shared QA run
    assert kinds.count("pretrained") == 1
    assert kinds.count("intermediate") == 2
    assert kinds.count("target") == 2 * 2 * 2
    assert len({r.id for r in plan}) == len(plan)
    assert not any(r.done for r in plan)
    qa_runs = [r for r in plan if r.tasks == ["tydiqa"]]
    assert len(qa_runs) == 4 and all(len(r.scored) == 2 for r in qa_runs)
    assert {r.parent_key for r in plan if r.phase == "intermediate"} == {"random:tiny"}

    pawsx = next(r for r in plan if r.tasks == ["pawsx"] and r.arms == ["none"] and r.seed == 1)
    # 40 examples x 2 epochs; dev 16 examples scored once per epoch; 24 examples x 3 languages
    assert (pawsx.train_examples, pawsx.train_cost) == (40, 80)
    assert pawsx.eval_examples == 16 * 2 + 24 * 3
    assert pawsx.cost == 80 + 32 + 72
    intermediate = next(r for r in plan if r.phase == "intermediate" and r.seed == 1)
    assert intermediate.train_cost == 48  # 48 examples, 1 epoch; plus tatoeba 2 x 40 retrieval queries
    assert intermediate.eval_examples == 80
    assert plan_summary(plan)["examples_to_process"] == sum(r.cost for r in plan)


@pytest.mark.slow
def test_plan_matches_what_run_trains(tmp_path: Path, shared_data: Path, cache_dir: Path) -> None:
    small = {**STUDY, "targets": [{**STUDY["targets"][0], "training": {"epochs": 1}}]}
    study, registry = load_study(write_study(tmp_path, shared_data, small))
    out = tmp_path / "out"
    before = build_plan(study, registry, out)
    run_study(study, registry, out, cache_dir, progress=False)
    on_disk = {p.name for p in (out / "runs").iterdir() if not p.name.startswith(".")}
    assert on_disk == {f"{r.phase}-{r.id}" for r in before}
    after = build_plan(study, registry, out)
    assert all(r.done for r in after) and plan_summary(after)["examples_to_process"] == 0
    # the per-target override reached the run
    config = json.loads(next((out / "runs").glob("target-*/config.json")).read_text())
    assert config["train"]["epochs"] == 1.0


@pytest.mark.slow
def test_a_target_trained_on_another_tasks_data(tmp_path: Path, shared_data: Path, cache_dir: Path) -> None:
    design = {**STUDY, "arms": [{"name": "none"}], "retrieval": [], "targets": QA_TARGETS}
    study, registry = load_study(write_study(tmp_path, shared_data, design))
    rows = run_study(study, registry, tmp_path / "out", cache_dir, progress=False)
    runs = [p for p in (tmp_path / "out" / "runs").iterdir() if p.name.startswith("target-")]
    assert len(runs) == 1  # trained once on TyDiQA English, evaluated on XQuAD and MLQA
    scored = {(r["task"], r["language"]) for r in rows if r["metric"] == "f1"}
    assert scored == {("xquad", "de"), ("mlqa", "de")}


def test_unknown_cost_when_data_is_absent(tmp_path: Path, shared_data: Path) -> None:
    cards = tmp_path / "cards"
    cards.mkdir()
    card = {
        "name": "offline-nli",
        "format": "classification",
        "reader": "xtreme_tsv_pairs",
        "labels": ["entailment", "neutral", "contradiction"],
        "metric": "accuracy",
        "languages": ["en"],
        "splits": {"train": {"path": "nowhere/train-{lang}.tsv"}},
    }
    (cards / "offline-nli.yaml").write_text(yaml.safe_dump(card))
    design = {
        **STUDY,
        "task_dirs": [str(cards)],
        "arms": [{"name": "x", "intermediate": [{"task": "offline-nli", "split": "train"}]}],
    }
    study, registry = load_study(write_study(tmp_path, shared_data, design))
    intermediate = next(r for r in build_plan(study, registry, tmp_path / "o") if r.phase == "intermediate")
    assert not intermediate.complete and intermediate.unknown == ["offline-nli/train/en"]
    assert intermediate.train_cost is None and intermediate.cost == 80  # only the tatoeba queries counted

    # a published count makes it plannable
    card["splits"]["train"]["examples"] = {"en": 1000}
    (cards / "offline-nli.yaml").write_text(yaml.safe_dump(card))
    study, registry = load_study(write_study(tmp_path, shared_data, design))
    intermediate = next(r for r in build_plan(study, registry, tmp_path / "o") if r.phase == "intermediate")
    assert intermediate.complete and intermediate.train_cost == 1000  # 1 epoch


def test_plan_command(tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_study(tmp_path, shared_data)
    out = tmp_path / "out"
    assert main(["plan", str(path), "--out", str(out), "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["summary"]["runs"] == 4 and listing["summary"]["to_run"] == 4
    assert main(["run", str(path), "--out", str(out), "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "4 runs (1 pretrained, 1 intermediate, 2 target); 0 done, 4 to run" in text
    assert not out.exists()  # planning writes nothing


@pytest.mark.parametrize(
    "change, where",
    [
        ({"targets": [{**STUDY["targets"][0], "training": {"epochs": 0}}]}, "targets.0.training.epochs"),
        ({"targets": [{**STUDY["targets"][0], "training": {"epoch": 2}}]}, "targets.0.training.epoch"),
        ({"arms": [{"name": "none", "training": {"epochs": 2}}]}, "arms.0.training"),
        (
            {"targets": [{**STUDY["targets"][0], "train": {"task": "xnli", "split": "dev"}}]},
            "targets.0.train.task",
        ),
    ],
)
def test_bad_training_overrides_name_the_key(
    change: dict, where: str, tmp_path: Path, shared_data: Path
) -> None:
    with pytest.raises(ConfigError) as err:
        load_study(write_study(tmp_path, shared_data, {**STUDY, **change}))
    assert where in str(err.value)
