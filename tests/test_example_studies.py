"""The example studies in studies/: each plans to the runs its design implies; smoke runs end to end.
Also the study-file features they rely on: fractions, language mixtures, k-of-N combinations."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from xstilts.config.selection import DataSelection, mix_counts
from xstilts.config.study import load_study
from xstilts.engine.runner import run_study
from xstilts.errors import ConfigError
from xstilts.plan.graph import build_plan

STUDIES = Path(__file__).resolve().parents[1] / "studies"

# study -> (intermediate runs, target runs): arms x seeds and arms x seeds x targets, shared runs once
EXPECTED = {
    "smoke": (2 * 2, 3 * 2 * 2),
    "data-volume": (3 * 3, 4 * 3 * 1),
    "non-english-scaling": (4, 5 * 2),
    "language-mix": (4, 5 * 2),
    "multilingual-reasoning": (3 * 2, 4 * 2 * 2),
    "task-count": (2 + 2 + 1, 1 + 2 + 2 + 1),  # k=1: 2 of 4 sampled, k=2: 2 of 6, k=4: the 1
    "mlm-baseline": (3, 4),
    "task-selection": (6 * 3, 7 * 3 * 2),
    "paper-xtreme": (10, 11 * 6),  # XQuAD and MLQA share one SQuAD run per arm
    "lora": (1, 2 * 2),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_study_plans(name: str, shared_data: Path, tmp_path: Path) -> None:
    study, registry = load_study(STUDIES / f"{name}.yaml", shared_data)
    plan = build_plan(study, registry, tmp_path)
    kinds = [r.phase for r in plan]
    assert kinds.count("pretrained") == 1
    assert (kinds.count("intermediate"), kinds.count("target")) == EXPECTED[name]
    pretrained = next(r for r in plan if r.phase == "pretrained")
    assert pretrained.arms == [arm.name for arm in study.arms]  # every arm starts from it
    for run in plan:
        if run.phase == "target" and run.parent_key != study.model:  # on an intermediate run of the same arm
            parent = next(r for r in plan if r.id == run.parent_key)
            assert parent.phase == "intermediate" and set(run.arms) <= set(parent.arms)


def test_every_study_file_is_planned_here() -> None:
    assert {p.stem for p in STUDIES.glob("*.yaml")} == set(EXPECTED)


@pytest.mark.slow
def test_smoke_study_runs_every_phase(shared_data: Path, tmp_path: Path, cache_dir: Path) -> None:
    # How long it takes is measured by bench/smoke_study.py, not asserted: a busy machine must not
    # fail the suite.
    study, registry = load_study(STUDIES / "smoke.yaml", shared_data)
    rows = run_study(study, registry, tmp_path / "out", cache_dir, progress=False)
    scored = {(r["arm"], r["seed"], r["task"]) for r in rows if r["phase"] == "target"}
    assert scored == {
        (arm, seed, task)
        for arm in ("none", "nli", "ner-de-es")
        for seed in (1, 2)
        for task in ("pawsx", "tydiqa")
    }
    assert {r["language"] for r in rows if r["task"] == "tydiqa"} == {"en", "sw"}


# ------------------------------------------------------------------------------ selection sizing


def test_mix_counts_add_up() -> None:
    assert mix_counts({"en": 2, "es": 1, "de": 1}, 900) == {"en": 450, "es": 225, "de": 225}
    assert mix_counts({"en": 1, "es": 1, "de": 1}, 100) == {"de": 34, "en": 33, "es": 33}
    assert sum(mix_counts({"a": 0.3, "b": 0.3, "c": 0.4}, 7).values()) == 7


def test_sizes_fraction_and_mix_select_per_language() -> None:
    by_sizes = DataSelection(task="xnli", split="dev", sizes={"es": 10, "de": 5})
    assert by_sizes.chosen_languages() == ["es", "de"] and by_sizes.size_for("de", 2490) == 5
    by_fraction = DataSelection(task="xnli", split="dev", languages=["en"], fraction=0.1, offset=90)
    assert by_fraction.size_for("en", 2490) == 240  # 10% of the 2,400 after the offset
    by_mix = DataSelection(task="xnli", split="dev", size=900, mix={"en": 2, "es": 1, "de": 1, "fr": 0})
    assert by_mix.chosen_languages() == ["en", "es", "de"] and by_mix.size_for("es", None) == 225
    # runs that use none of the new options keep their identity (and so their run ids)
    assert set(DataSelection(task="xnli").identity()) == {
        "task",
        "split",
        "languages",
        "size",
        "offset",
        "seed",
    }


@pytest.mark.parametrize(
    "fields",
    [
        {"size": 10, "fraction": 0.5},
        {"sizes": {"en": 10}, "mix": {"en": 1}, "size": 10},
        {"mix": {"en": 1}},
        {"sizes": {"en": 10}, "languages": ["en"]},
        {"sizes": {"en": 0}},
    ],
)
def test_inconsistent_sizing_is_refused(fields: dict) -> None:
    with pytest.raises(ValidationError):
        DataSelection(task="xnli", split="dev", **fields)


def test_fractions_are_nested(shared_data: Path, tmp_path: Path, cache_dir: Path, tiny) -> None:
    from xstilts.config.features import FeatureOptions
    from xstilts.config.registry import TaskRegistry
    from xstilts.engine.workspace import Workspace

    ws = Workspace(tmp_path, TaskRegistry(shared_data), cache_dir, "cpu", False)
    settings = FeatureOptions(max_length=32).settings("classification")

    def ids(fraction: float) -> set[str]:
        selection = DataSelection(task="xnli", split="dev", languages=["de"], fraction=fraction)
        return {e.id for e in ws.data(selection, "de", tiny.tokenizer, settings).examples}

    quarter, half = ids(0.25), ids(0.5)
    assert len(quarter) == round(0.25 * 2490) and quarter < half


def test_combinations_expand_to_arms(shared_data: Path, tmp_path: Path) -> None:
    study, _ = load_study(STUDIES / "task-count.yaml", shared_data)
    names = [arm.name for arm in study.arms]
    assert names[0] == "none" and "k:xnli+panx+tydiqa+siqa" in names
    assert sum(len(arm.intermediate) == 1 for arm in study.arms) == 2  # sampled: 2 of 4
    assert sum(len(arm.intermediate) == 2 for arm in study.arms) == 2  # 2 of 6
    again, _ = load_study(STUDIES / "task-count.yaml", shared_data)
    assert [arm.name for arm in again.arms] == names  # the same seed samples the same pairs

    raw = yaml.safe_load((STUDIES / "task-count.yaml").read_text())
    raw["combinations"][0]["k"] = [5]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**raw, "data_dir": str(shared_data)}))
    with pytest.raises(ConfigError, match="combinations.0"):
        load_study(bad)


@pytest.mark.slow
def test_smoke_study_on_a_local_ray(shared_data: Path, tmp_path: Path, cache_dir: Path) -> None:
    """`--executor ray`: the arms x seeds of the smoke study spread over a local Ray, one core each."""
    import ray

    from xstilts.results.store import STORE_NAME, ResultsStore

    study, registry = load_study(STUDIES / "smoke.yaml", shared_data)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        rows = run_study(study, registry, tmp_path / "out", cache_dir, progress=False, executor="ray")
    finally:
        ray.shutdown()
    plan = build_plan(study, registry, tmp_path / "out")
    assert all(r.done for r in plan)  # every run of the plan trained, once
    scored = {(r["arm"], r["seed"], r["task"]) for r in rows if r["phase"] == "target"}
    assert len(scored) == 3 * 2 * 2
    assert len(ResultsStore(tmp_path / "out" / STORE_NAME).rows()) == len(rows)


@pytest.mark.parametrize("name, runs", [("study.yaml", (2, 4)), ("study-xtreme.yaml", (1, 2))])
def test_demo_studies_load_and_plan(
    name: str, runs: tuple[int, int], shared_data: Path, tmp_path: Path
) -> None:
    from xstilts.demo import OWN_DATA_STUDY

    study, registry = load_study(OWN_DATA_STUDY.parent / name, shared_data if "xtreme" in name else None)
    kinds = [r.phase for r in build_plan(study, registry, tmp_path)]
    assert (kinds.count("intermediate"), kinds.count("target")) == runs
    assert all(r.complete for r in build_plan(study, registry, tmp_path))  # every count known
