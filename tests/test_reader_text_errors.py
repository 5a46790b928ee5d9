"""Text that is not text: a NUL byte in any reader's file, and a line longer than the csv field limit.

Every reader that reads text refuses a NUL (raw, or a JSON `\\u0000` escape), naming the file and
line; a csv line over the field limit says that, not "set quoted: false" (issue 12, item 8).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from xstilts.cli import main
from xstilts.data.codecs import read
from xstilts.errors import DataFormatError

CONLLU_WORD = "1\tI\tI\tPRON\tPRP\t_\t0\troot\t_\t_\n"
COSMOS_HEADER = "id,context,question,answer0,answer1,answer2,answer3,label\n"
COPA = {"premise": "p", "choice1": "a", "choice2": "b", "question": "cause", "label": 0, "idx": 0}
COPA_LINES = json.dumps(COPA) + "\n" + json.dumps({**COPA, "premise": "p{x}", "idx": 1})

# reader, file name, options, the file's text with "{x}" where line 2 holds the NUL
NUL_CASES = [
    ("xtreme_tsv_pairs", "dev-en.tsv", {}, "a\tb\tentailment\nc{x}\td\tneutral\n"),
    ("xtreme_tsv_pairs", "raw.tsv", {"quoted": False}, "a\tb\tentailment\nc{x}\td\tneutral\n"),
    ("xtreme_tsv_tagging", "dev-en.tsv", {}, "Ann\tB-PER\nsl{x}eeps\tO\n"),
    ("glue_tsv", "dev.tsv", {}, "sentence1\tsentence2\tlabel\nA{x}\tB\tentailment\n"),
    ("conllu", "dev.conllu", {}, "# sent_id = a\n1\tI{x}\tI\tPRON\tPRP\t_\t0\troot\t_\t_\n"),
    ("ccg_supertags", "dev.txt", {"min_count": 1}, "I|PRP|NP sleep|VBP|S\\NP\nYou|PRP|NP r{x}un|VBP|S\\NP\n"),
    ("copa_jsonl", "val.jsonl", {}, COPA_LINES),
    ("cosmosqa_csv", "valid.csv", {}, COSMOS_HEADER + "r1,c{x},q,a,b,c,d,0\n"),
    ("plain_text", "text.txt", {}, "one sentence\ntwo{x} sentences\n"),
]


def write(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def read_error(reader: str, path: Path, **options: object) -> DataFormatError:
    with pytest.raises(DataFormatError) as err:
        read(reader, {"path": path}, **options)
    assert len(str(err.value).splitlines()) == 1
    return err.value


@pytest.mark.parametrize("reader, name, options, text", NUL_CASES, ids=[c[0] for c in NUL_CASES])
def test_a_raw_nul_byte_names_file_and_line(reader: str, name: str, options: dict, text: str, tmp_path: Path):
    clean = write(tmp_path / f"clean-{name}", text.replace("{x}", ""))
    assert read(reader, {"path": clean}, **options)  # the same file without the NUL reads
    path = write(tmp_path / name, text.replace("{x}", "\x00"))
    err = read_error(reader, path, **options)
    assert (err.path, err.line) == (str(path), 2)
    assert str(err).startswith(f"{path}:2: NUL byte (\\x00) at byte ")


@pytest.mark.parametrize(
    "reader, name",
    [("copa_jsonl", "val.jsonl"), ("squad_json", "dev.json")],
)
def test_a_json_nul_escape_is_refused_too(reader: str, name: str, tmp_path: Path) -> None:
    if reader == "copa_jsonl":
        text = json.dumps(COPA) + "\n" + json.dumps({**COPA, "premise": "p\x00q", "idx": 1})
    else:
        paragraph = {"context": "a\x00b", "qas": [{"id": "1", "question": "q", "answers": []}]}
        document = {"version": "1", "data": [{"title": "t", "paragraphs": [paragraph]}]}
        text = json.dumps(document, indent=1)
    assert "\\u0000" in text and "\x00" not in text  # json writes the NUL as an escape
    path = write(tmp_path / name, text)
    err = read_error(reader, path)
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "\\u0000" in t)
    assert err.line == line
    assert "a string holds a NUL character (\\u0000)" in str(err)


def test_an_escaped_backslash_before_u0000_is_no_nul(tmp_path: Path) -> None:
    record = {**COPA, "premise": "C:\\u0000 is a path, not a NUL"}
    text = json.dumps(record)
    assert "\\\\u0000" in text
    examples = read("copa_jsonl", {"path": write(tmp_path / "val.jsonl", text)})
    assert examples[0].context.startswith("C:\\u0000")


def test_a_raw_nul_in_a_squad_file_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path / "dev.json", '{"version": "1",\n "data": [{"title": "t\x00"}]}')
    err = read_error("squad_json", path)
    assert str(err) == (
        f"{path}:2: NUL byte (\\x00) at byte 23 of the line; text holds none (a binary or damaged file?)"
    )


def test_a_line_over_the_csv_field_limit_says_so(tmp_path: Path) -> None:
    long = "x" * 10_000_000
    path = write(tmp_path / "train-en.tsv", f"a\tb\tentailment\n{long}\tb\tneutral\n")
    err = read_error("xtreme_tsv_pairs", path)
    limit = csv.field_size_limit()
    assert str(err) == (
        f"{path}:2: a line of 10,000,011 bytes exceeds the csv field limit of {limit:,} characters "
        "(a wrong or damaged file, or rows that lost their line breaks?)"
    )
    assert "quoted: false" not in str(err)
    cosmos = write(tmp_path / "valid.csv", COSMOS_HEADER + f"r1,{long},q,a,b,c,d,0\n")
    assert "a line of 10,000,016 bytes exceeds the csv field limit" in str(read_error("cosmosqa_csv", cosmos))


def test_an_unclosed_quote_that_runs_into_the_limit_is_named_as_one(tmp_path: Path) -> None:
    lines = ("y" * 1000 + "\n") * 200
    path = write(tmp_path / "dev-en.tsv", f'a\tb\tentailment\n"open\tb\tneutral\n{lines}')
    err = read_error("xtreme_tsv_pairs", path)
    assert err.line == 2
    assert "a quoted field opened on this line runs on for" in str(err)
    assert "(an unclosed quote?); if fields are not quoted, set quoted: false" in str(err)


def test_plan_and_run_refuse_a_nul_in_one_line_before_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cards, data = tmp_path / "cards", tmp_path / "data"
    cards.mkdir()
    data.mkdir()
    card = {
        "name": "toy-nli",
        "format": "classification",
        "reader": "xtreme_tsv_pairs",
        "labels": ["entailment", "neutral"],
        "metric": "accuracy",
        "languages": ["en"],
        "splits": {"train": {"path": "train-{lang}.tsv"}},
    }
    (cards / "toy-nli.yaml").write_text(yaml.safe_dump(card))
    bad = write(data / "train-en.tsv", "a\tb\tentailment\nc\x00\td\tneutral\n")
    target = {"task": "toy-nli", "train": {"split": "train"}, "evaluate": {"split": "train"}}
    study = {"name": "nul", "model": "random:tiny", "builtin_tasks": False, "task_dirs": [str(cards)]}
    study |= {"data_dir": str(data), "arms": [{"name": "none"}], "targets": [target]}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    out = tmp_path / "out"
    for command in ("plan", "run"):
        assert main([command, str(path), "--out", str(out), "--quiet"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"xstilts: error: {bad}:2: NUL byte")
        assert not out.exists()
