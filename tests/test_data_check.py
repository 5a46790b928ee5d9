"""`xstilts data check`: every problem of a data directory found and named, and a meaningful exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from xstilts.cli import main
from xstilts.config.cards import TaskCard
from xstilts.data.check import label_problem
from xstilts.data.examples import MultipleChoiceExample

NLI_LABELS = ["entailment", "neutral", "contradiction"]
CARDS = {
    # The reader is given the labels: it rejects a bad one itself, with the line.
    "mini-nli": {
        "name": "mini-nli",
        "format": "classification",
        "reader": "xtreme_tsv_pairs",
        "reader_options": {"labels": NLI_LABELS},
        "labels": NLI_LABELS,
        "metric": "accuracy",
        "languages": ["en", "de", "fr", "es"],
        "splits": {"dev": {"path": "nli/dev-{lang}.tsv"}, "test": {"path": "nli/test-{lang}.tsv"}},
    },
    # No reader labels: only the check after reading can see a label outside the card's set.
    "mini-sentiment": {
        "name": "mini-sentiment",
        "format": "classification",
        "reader": "xtreme_tsv_pairs",
        "reader_options": {"columns": 2},
        "labels": ["positive", "negative"],
        "metric": "accuracy",
        "languages": ["en"],
        "splits": {"dev": {"path": "sentiment/dev-{lang}.tsv"}},
    },
    "mini-ner": {
        "name": "mini-ner",
        "format": "tagging",
        "reader": "xtreme_tsv_tagging",
        "labels": ["O", "B-PER", "I-PER"],
        "metric": "f1",
        "languages": ["en", "de"],
        "splits": {"dev": {"path": "ner/dev-{lang}.tsv"}},
    },
    "mini-retrieval": {
        "name": "mini-retrieval",
        "format": "retrieval",
        "reader": "tatoeba",
        "metric": "tatoeba_accuracy",
        "languages": ["de", "fr"],
        "language_codes": {"de": "deu", "fr": "fra"},
        "splits": {
            "test": {"paths": {"source": "par/p.{code}-eng.eng", "target": "par/p.{code}-eng.{code}"}}
        },
    },
}

PAIRS = (
    "A man sleeps.\tA man is asleep.\tentailment\n"
    "It rains.\tIt is dry.\tcontradiction\n"
    "Hi.\tHello.\tneutral\n"
)


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture()
def tree(tmp_path: Path) -> tuple[Path, Path]:
    cards, data = tmp_path / "cards", tmp_path / "data"
    cards.mkdir()
    for name, card in CARDS.items():
        (cards / f"{name}.yaml").write_text(yaml.safe_dump(card))
    write(data, "nli/dev-en.tsv", PAIRS)
    write(data, "nli/dev-de.tsv", "Ein Mann schläft.\tEr schläft.\tentailment\nnur zwei\tSpalten\n")
    write(data, "nli/dev-es.tsv", "")  # empty; dev-fr is missing; no test file at all
    write(data, "sentiment/dev-en.tsv", "Great film.\tpositive\nMeh.\tmaybe\nBad.\tnegative\nOk.\tmaybe\n")
    write(data, "ner/dev-en.tsv", "Ann\tB-PER\nsleeps\tO\n\nBob\tB-FOO\n")
    write(data, "ner/dev-de.tsv", "Anna\tB-PER\nschläft\tO\n\nBernd\tB-PER\nlacht\tO\n")
    write(data, "par/p.deu-eng.eng", "I sleep.\nYou run.\n")  # its .deu side is missing
    write(data, "par/p.fra-eng.eng", "I sleep.\nYou run.\n")
    write(data, "par/p.fra-eng.fra", "Je dors.\nTu cours.\n")
    return cards, data


def run_check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["data", "check", *args, "--quiet"])
    out, err = capsys.readouterr()
    return code, out, err


def check_tree(
    capsys: pytest.CaptureFixture[str], tree: tuple[Path, Path], *args: str
) -> tuple[int, str, str]:
    """`data check` of the tree's data directory against its cards alone."""
    cards, data = tree
    return run_check(capsys, str(data), "--task-dir", str(cards), "--no-builtin-tasks", *args)


def rows_by_key(report: dict) -> dict[tuple[str, str, str], dict]:
    return {(r["task"], r["split"], r["language"]): r for r in report["rows"]}


def test_every_problem_is_reported_with_file_and_line(tree, capsys):
    _, data = tree
    code, out, err = check_tree(capsys, tree, "--json")
    assert code == 2
    assert err.strip().splitlines() == [f"xstilts: error: data check: 5 problems in {data} (listed above)"]
    rows = rows_by_key(json.loads(out))

    assert rows["mini-nli", "dev", "en"]["status"] == "ok" and rows["mini-nli", "dev", "en"]["examples"] == 3
    de = rows["mini-nli", "dev", "de"]
    assert de["status"] == "malformed"
    assert de["problem"] == f"{data / 'nli/dev-de.tsv'}:2: expected 3 tab-separated columns, found 2"
    # A language with none of its files is not downloaded, as a whole split is (issue 12, item 7).
    fr = rows["mini-nli", "dev", "fr"]
    assert fr["status"] == "not downloaded" and not fr["is_problem"] and fr["problem"] == ""
    assert rows["mini-nli", "dev", "es"]["problem"].endswith("file is empty")
    # A split with no file in any language is listed once, and is not a problem by default.
    test = rows["mini-nli", "test", "-"]
    assert test["status"] == "not downloaded" and not test["is_problem"]

    sentiment = rows["mini-sentiment", "dev", "en"]
    assert sentiment["status"] == "bad labels" and sentiment["examples"] == 4
    assert "2 labels are not one of positive, negative: 'maybe'" in sentiment["problem"]
    assert "first in example dev-en-2" in sentiment["problem"]
    ner = rows["mini-ner", "dev", "en"]
    assert ner["status"] == "bad labels" and "'B-FOO'" in ner["problem"]
    assert rows["mini-ner", "dev", "de"]["status"] == "ok" and rows["mini-ner", "dev", "de"]["examples"] == 2

    # Tatoeba: one of the two files of a language present is a problem, both present is fine.
    assert rows["mini-retrieval", "test", "de"]["status"] == "missing"
    assert rows["mini-retrieval", "test", "de"]["problem"] == f"missing {data / 'par/p.deu-eng.deu'}"
    assert rows["mini-retrieval", "test", "fr"]["examples"] == 2
    assert sum(r["is_problem"] for r in rows.values()) == 5


def test_a_label_the_reader_checks_is_reported_once_with_its_line(tree, capsys):
    _, data = tree
    write(data, "nli/dev-en.tsv", PAIRS + "Yes.\tNo.\tcontradictory\n")
    code, out, _ = check_tree(capsys, tree, "--task", "mini-nli", "--languages", "en", "--json")
    assert code == 2
    report = json.loads(out)
    assert [(r["language"], r["status"]) for r in report["rows"]] == [
        ("en", "malformed"),
        ("-", "not downloaded"),
    ]
    assert report["rows"][0]["problem"].startswith(f"{data / 'nli/dev-en.tsv'}:4: label 'contradictory'")
    assert report["summary"]["problems"] == 1


def test_table_names_task_split_language_and_problem(tree, capsys):
    code, out, _ = check_tree(capsys, tree)
    assert code == 2
    lines = out.splitlines()
    assert lines[2].split() == ["task", "split", "language", "examples", "status", "problem"]
    de = next(line for line in lines if line.startswith("mini-nli") and " de " in line)
    assert de.split()[:4] == ["mini-nli", "dev", "de", "malformed"]
    assert "dev-de.tsv:2: expected 3 tab-separated columns" in de
    assert lines[-1].startswith("4 tasks: ")
    assert (
        "5 problems; 1 split and 1 split/language not downloaded "
        "(not counted as problems; --require counts them)" in lines[-1]
    )


def test_not_downloaded_splits_count_only_with_require(tree, capsys):
    args = ["--task", "mini-nli", "--split", "test"]
    code, out, err = check_tree(capsys, tree, *args)
    assert code == 0 and err == ""
    assert "0 problems; 1 split not downloaded" in out
    code, out, err = check_tree(capsys, tree, *args, "--require")
    assert code == 2
    assert "no file for any of its 4 languages" in out
    assert "1 problem in" in err


def test_languages_not_downloaded_count_only_with_require(tree, capsys):
    _, data = tree
    args = ["--task", "mini-nli", "--split", "dev", "--languages", "en", "fr", "--json"]
    code, out, err = check_tree(capsys, tree, *args)
    assert code == 0 and err == ""
    report = json.loads(out)
    assert [(r["language"], r["status"], r["is_problem"]) for r in report["rows"]] == [
        ("en", "ok", False),
        ("fr", "not downloaded", False),
    ]
    assert report["summary"]["languages_not_downloaded"] == 1 and report["summary"]["not_downloaded"] == 0
    code, out, err = check_tree(capsys, tree, *args, "--require")
    assert code == 2 and "1 problem in" in err
    fr = rows_by_key(json.loads(out))["mini-nli", "dev", "fr"]
    assert fr["status"] == "not downloaded" and fr["is_problem"]
    assert fr["problem"] == f"missing {data / 'nli/dev-fr.tsv'}"


def test_a_nul_byte_is_a_malformed_file_with_its_line(tree, capsys):
    _, data = tree
    (data / "nli/dev-en.tsv").write_bytes(PAIRS.replace("It rains.", "It r\x00ains.").encode())
    code, out, _ = check_tree(capsys, tree, "--task", "mini-nli", "--languages", "en", "--json")
    assert code == 2
    row = json.loads(out)["rows"][0]
    assert row["status"] == "malformed"
    assert row["problem"].startswith(f"{data / 'nli/dev-en.tsv'}:2: NUL byte (\\x00) at byte 5 of the line")


def test_a_partial_download_of_the_shared_mirror_is_no_problem(shared_data, capsys):
    # PAN-X train holds 8 of its 48 languages on the mirror: the other 40 are not downloaded.
    code, out, err = run_check(capsys, str(shared_data), "--task", "panx", "--split", "train", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["summary"] == {
        "tasks": 1,
        "read": 8,
        "ok": 8,
        "examples": 145000,
        "problems": 0,
        "not_downloaded": 0,
        "languages_not_downloaded": 40,
    }


def test_clean_directory_exits_zero(tree, capsys):
    code, out, err = check_tree(
        capsys,
        tree,
        "--task",
        "mini-ner",
        "mini-retrieval",
        "--languages",
        "fr",
        "de",
        "--split",
        "dev",
        "--json",
    )
    # mini-ner de is fine; mini-retrieval has no dev split, so nothing of it is checked.
    assert code == 0 and err == ""
    assert [(r["task"], r["language"], r["examples"]) for r in json.loads(out)["rows"]] == [
        ("mini-ner", "de", 2)
    ]


def test_bad_arguments_are_one_line_errors(tree, capsys, tmp_path):
    _, data = tree
    code, _, err = check_tree(capsys, tree, "--task", "mini-nl")
    assert code == 2 and "unknown task; did you mean mini-nli" in err and len(err.splitlines()) == 1
    code, _, err = run_check(capsys, str(tmp_path / "nowhere"))
    assert (
        code == 2
        and err.strip() == f"xstilts: error: data directory {tmp_path / 'nowhere'}: no such directory"
    )
    code, _, err = run_check(capsys, str(data), "--task-dir", str(tmp_path / "no-cards"))
    assert code == 2 and "no such directory" in err


def test_multiple_choice_answer_outside_the_choices_is_a_label_problem():
    card = TaskCard.model_validate(
        {
            "name": "mc",
            "format": "multiple_choice",
            "reader": "copa_jsonl",
            "metric": "accuracy",
            "languages": ["en"],
            "splits": {"dev": {"path": "x"}},
        }
    )
    examples = [
        MultipleChoiceExample("a", "p", "q", ("x", "y"), 1),
        MultipleChoiceExample("b", "p", "q", ("x", "y"), 2),
        MultipleChoiceExample("c", "p", "q", ("x", "y"), None),
    ]
    assert (
        label_problem(card, examples)
        == "1 label is not an index of one of the choices: '2' (first in example b)"
    )
    assert label_problem(card, examples[:1]) == ""


# Counts from ../shared/data/SOURCES.md ("Per-file counts").
XNLI_LANGS = ["en", "fr", "es", "de", "el", "bg", "ru", "tr", "ar", "vi", "th", "zh", "hi", "sw", "ur"]
XCOPA_LANGS = ["et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh"]


def test_real_data_counts_match_sources(shared_data, capsys):
    code, out, err = run_check(capsys, str(shared_data), "--task", "xnli", "pawsx", "xcopa", "--json")
    assert code == 0, err
    report = json.loads(out)
    counts = {
        (r["task"], r["split"], r["language"]): r["examples"] for r in report["rows"] if r["status"] == "ok"
    }
    expected = {("xnli", "dev", lang): 2490 for lang in XNLI_LANGS}
    expected |= {("pawsx", "dev", lang): 2000 for lang in ["en", "de", "es", "fr", "ja", "ko", "zh"]}
    expected |= {("xcopa", "dev", lang): 100 for lang in ["en", *XCOPA_LANGS]}  # en: COPA's val-en
    expected |= {("xcopa", "test", lang): 500 for lang in XCOPA_LANGS}
    expected |= {("xcopa", "train", "en"): 400}
    assert counts == expected
    not_downloaded = {(r["task"], r["split"]) for r in report["rows"] if r["status"] == "not downloaded"}
    assert not_downloaded == {("xnli", "train"), ("xnli", "test"), ("pawsx", "train"), ("pawsx", "test")}
    assert report["summary"]["problems"] == 0
