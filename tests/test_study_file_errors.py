"""Bad study files: one line naming the file and the place, exit code 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from xstilts.cli import main

GOOD = """\
name: x
model: random:tiny
seeds: {seeds}
arms: [{{name: none}}]
targets: [{{task: pawsx, evaluate: {{split: test, languages: {languages}}}}}]
"""


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("xstilts: error: ")
    return err[0].removeprefix("xstilts: error: ")


def plan(tmp_path: Path, text: str | bytes) -> int:
    study = tmp_path / "study.yaml"
    study.write_bytes(text if isinstance(text, bytes) else text.encode())
    return main(["plan", str(study), "--out", str(tmp_path / "out")])


def test_yaml_syntax_error_is_file_line_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert plan(tmp_path, "name: x\nmodel: random:tiny\nseeds: [1, 2\narms: [{name: none}]\n") == 2
    line = one_error_line(capsys)
    assert line.startswith(f"{tmp_path / 'study.yaml'}:4:5: not valid YAML: ")
    assert "<unicode string>" not in line
    assert not (tmp_path / "out").exists()


def test_a_study_file_that_is_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert plan(tmp_path, b"name: caf\xe9\n") == 2
    assert (
        one_error_line(capsys)
        == f"{tmp_path / 'study.yaml'}: not UTF-8 text (byte 9: invalid continuation byte)"
    )


@pytest.mark.parametrize("seed", [-1, 2**32])
def test_seeds_outside_what_the_generators_take(
    seed: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert plan(tmp_path, GOOD.format(seeds=f"[{seed}]", languages="[de]")) == 2
    assert one_error_line(capsys).startswith(f"{tmp_path / 'study.yaml'}: seeds.0: Input should be")


def test_an_empty_language_list_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert plan(tmp_path, GOOD.format(seeds="[1]", languages="[]")) == 2
    assert one_error_line(capsys) == (
        f"{tmp_path / 'study.yaml'}: targets.0.evaluate.languages: "
        "List should have at least 1 item after validation, not 0"
    )
    assert plan(tmp_path, GOOD.format(seeds="[4294967295]", languages="[de]")) == 0


def test_a_check_of_a_whole_training_mapping_names_the_mapping(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """merge: false is checked against method (a model validator, no single field): the error names
    `targets.0.training`, with no trailing dot."""
    text = GOOD.format(seeds="[1]", languages="[de]").replace(
        "targets: [{task: pawsx,", "targets: [{task: pawsx, training: {merge: false},"
    )
    assert plan(tmp_path, text) == 2
    line = one_error_line(capsys)
    assert line.startswith(f"{tmp_path / 'study.yaml'}: targets.0.training: "), line
    assert "merge: false" in line
    assert not (tmp_path / "out").exists()
