"""A selection that asks for more than the data holds is refused when the study is planned, naming
task, split, language, file, what was asked and what there is; `size: all` asks for everything
(issue 12, item 3: `size` larger than the data, an `offset` beyond it)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError
from test_pipeline import STUDY, write_study

from xstilts.cli import main
from xstilts.config.selection import DataSelection
from xstilts.config.study import load_study
from xstilts.errors import ConfigError
from xstilts.plan.graph import build_plan

PAWSX_DEV_EN = "xtreme/pawsx/dev-en.tsv"  # 2,000 rows on the shared mirror


def with_target_part(part: str, **selection: object) -> dict:
    study = copy.deepcopy(STUDY)
    study["targets"][0][part] = {"split": "dev", "languages": ["en"], **selection}
    return study


def plan_error(tmp_path: Path, shared_data: Path, design: dict) -> str:
    study, registry = load_study(write_study(tmp_path, shared_data, design))
    with pytest.raises(ConfigError) as err:
        build_plan(study, registry, tmp_path / "out")
    message = str(err.value)
    assert len(message.splitlines()) == 1
    return message


def test_a_size_larger_than_the_file_is_refused(tmp_path: Path, shared_data: Path) -> None:
    message = plan_error(tmp_path, shared_data, with_target_part("train", size=50_000))
    assert message == (
        f"pawsx/dev/en ({shared_data / PAWSX_DEV_EN}): size 50000 asked, but there are 2000 examples: "
        "ask for at most 2000, or `all`"
    )


@pytest.mark.parametrize(
    "part, selection, problem",
    [
        ("evaluate", {"offset": 2000}, "offset 2000 is beyond the 2000 examples there are"),
        ("evaluate", {"offset": 5000, "size": 10}, "offset 5000 is beyond the 2000 examples there are"),
        (
            "evaluate",
            {"offset": 1500, "size": 600},
            "size 600 asked after offset 1500, but there are 2000 examples (500 after the offset): "
            "ask for at most 500, or `all`",
        ),
        ("dev", {"offset": 1990, "size": 16}, "size 16 asked after offset 1990"),
    ],
)
def test_an_offset_beyond_the_data_is_refused_before_training(
    part: str, selection: dict, problem: str, tmp_path: Path, shared_data: Path
) -> None:
    message = plan_error(tmp_path, shared_data, with_target_part(part, **selection))
    assert message.startswith(f"pawsx/dev/en ({shared_data / PAWSX_DEV_EN}): ")
    assert problem in message


def test_per_language_sizes_and_mix_shares_are_checked_per_language(
    tmp_path: Path, shared_data: Path
) -> None:
    study = copy.deepcopy(STUDY)
    study["arms"][1]["intermediate"] = [{"task": "tydiqa", "split": "dev", "sizes": {"en": 10, "bn": 200}}]
    message = plan_error(tmp_path, shared_data, study)
    assert "tydiqa/dev/bn (" in message and "sizes.bn 200 asked, but there are 113 examples" in message
    study["arms"][1]["intermediate"] = [
        {"task": "tydiqa", "split": "dev", "size": 400, "mix": {"en": 1, "bn": 1}}
    ]
    assert "mix share of bn in size 400: 200 asked" in plan_error(tmp_path, shared_data, study)


def test_a_retrieval_size_larger_than_the_queries_is_refused(tmp_path: Path, shared_data: Path) -> None:
    study = copy.deepcopy(STUDY)
    study["retrieval"] = [{"task": "tatoeba", "languages": ["jv"], "size": 1000}]
    assert "tatoeba/test/jv (" in plan_error(tmp_path, shared_data, study)
    assert "size 1000 asked, but there are 205 examples" in plan_error(tmp_path, shared_data, study)
    study["retrieval"] = [{"task": "tatoeba", "languages": ["jv"], "size": "all"}]
    study_obj, registry = load_study(write_study(tmp_path, shared_data, study))
    pretrained = build_plan(study_obj, registry, tmp_path / "out").nodes[0]
    assert pretrained.eval_examples == 205


def test_size_all_takes_everything_and_names_the_same_runs(tmp_path: Path, shared_data: Path) -> None:
    def plan_of(design: dict) -> list:
        study, registry = load_study(write_study(tmp_path, shared_data, design))
        return build_plan(study, registry, tmp_path / "out").nodes

    omitted = plan_of(with_target_part("train"))
    explicit = plan_of(with_target_part("train", size="all"))
    assert [n.id for n in explicit] == [n.id for n in omitted]
    target = next(n for n in explicit if n.phase == "target")
    assert target.train_examples == 2000
    by_language = copy.deepcopy(STUDY)
    by_language["targets"][0]["train"] = {"split": "dev", "sizes": {"en": "all", "de": 10}}
    target = next(n for n in plan_of(by_language) if n.phase == "target")
    assert target.train_examples == 2010


def test_size_must_be_a_number_or_all() -> None:
    assert DataSelection(task="xnli", size="all").size is None
    assert DataSelection(task="xnli", sizes={"en": "all"}).size_for("en", 2490) is None
    with pytest.raises(ValidationError, match="size must be a number of examples or `all`"):
        DataSelection(task="xnli", size="many")
    with pytest.raises(ValidationError, match="give `size` as a number"):
        DataSelection(task="xnli", size="all", mix={"en": 1})


def test_the_cli_says_it_in_one_line_and_writes_nothing(
    tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_study(tmp_path, shared_data, with_target_part("train", size=50_000))
    out = tmp_path / "out"
    for command in ("plan", "run"):
        assert main([command, str(path), "--out", str(out), "--quiet"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "size 50000 asked, but there are 2000 examples" in err[0]
        assert not out.exists()


def test_a_published_count_is_not_held_against_a_size(tmp_path: Path, shared_data: Path) -> None:
    """Without the files, `plan` costs a selection with the card's count; the files are checked
    once they are there."""
    cards = tmp_path / "cards"
    cards.mkdir()
    card = {
        "name": "offline-nli",
        "format": "classification",
        "reader": "xtreme_tsv_pairs",
        "labels": ["entailment", "neutral", "contradiction"],
        "metric": "accuracy",
        "languages": ["en"],
        "splits": {"train": {"path": "nowhere/train-{lang}.tsv", "examples": {"en": 100}}},
    }
    (cards / "offline-nli.yaml").write_text(yaml.safe_dump(card))
    design = {
        **STUDY,
        "task_dirs": [str(cards)],
        "arms": [{"name": "x", "intermediate": [{"task": "offline-nli", "split": "train", "size": 500}]}],
    }
    study, registry = load_study(write_study(tmp_path, shared_data, design))
    intermediate = next(r for r in build_plan(study, registry, tmp_path / "o") if r.phase == "intermediate")
    assert intermediate.train_examples == 100
