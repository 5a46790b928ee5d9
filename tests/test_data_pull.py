"""`xstilts data pull` through a local hub mirror: rows in the hub's schema -> writer -> files in the
card's layout -> the card's reader reads back the same examples. Nothing is downloaded."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from datasets import ClassLabel, Dataset, Features, List, Value

from xstilts.cli import main
from xstilts.config.registry import BUILTIN_CARDS, TaskRegistry
from xstilts.data.pull import PARTIAL_PREFIX
from xstilts.errors import DataFormatError

NLI_NAMES = ["entailment", "neutral", "contradiction"]
PANX_TAGS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
UPOS = ["ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT"]
UPOS += ["SCONJ", "SYM", "VERB", "X"]
# The hub's own column types (facebook/xnli, unimelb-nlp/wikiann, google/xtreme udpos.*, google/xquad,
# aps/super_glue copa, nyu-mll/glue sst2).
XNLI_FEATURES = Features(
    {
        "premise": Value("string"),
        "hypothesis": Value("string"),
        "label": ClassLabel(names=["entailment", "neutral", "contradiction"]),
    }
)
WIKIANN_FEATURES = Features(
    {
        "tokens": List(Value("string")),
        "ner_tags": List(ClassLabel(names=PANX_TAGS)),
        "langs": List(Value("string")),
        "spans": List(Value("string")),
    }
)
UDPOS_FEATURES = Features({"tokens": List(Value("string")), "pos_tags": List(ClassLabel(names=UPOS))})
XQUAD_FEATURES = Features(
    {
        "id": Value("string"),
        "context": Value("string"),
        "question": Value("string"),
        "answers": {"text": List(Value("string")), "answer_start": List(Value("int32"))},
    }
)
COPA_FEATURES = Features(
    {
        "premise": Value("string"),
        "choice1": Value("string"),
        "choice2": Value("string"),
        "question": Value("string"),
        "idx": Value("int32"),
        "label": ClassLabel(names=["choice1", "choice2"]),
    }
)
SST2_FEATURES = Features(
    {"sentence": Value("string"), "label": ClassLabel(names=["negative", "positive"]), "idx": Value("int32")}
)


def card_with_hub(cards: Path, builtin: str, hubs: dict[str, dict[str, Any]], **changes: Any) -> None:
    """A built-in card (its real layout and reader) with the given hub entries, into `cards`."""
    raw = yaml.safe_load((BUILTIN_CARDS / f"{builtin}.yaml").read_text(encoding="utf-8"))
    raw.update(changes)
    for split, hub in hubs.items():
        raw["splits"][split]["hub"] = hub
    cards.mkdir(exist_ok=True)
    (cards / f"{raw['name']}.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")


def mirror(
    hub: Path,
    dataset: str,
    config: str | None,
    split: str,
    rows: list[dict[str, Any]],
    features: Features | None = None,
    saved: bool = False,
) -> None:
    """One split in the mirror: jsonl (+ features.json), or a `save_to_disk` folder (saved=True)."""
    base = hub / dataset / (config or "default")
    base.mkdir(parents=True, exist_ok=True)
    if saved:
        Dataset.from_list(rows, features=features).save_to_disk(str(base / split))
        return
    (base / f"{split}.jsonl").write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
    )
    if features is not None:
        (base / "features.json").write_text(json.dumps(features.to_dict()), encoding="utf-8")


@pytest.fixture()
def place(tmp_path: Path) -> dict[str, Path]:
    return {"cards": tmp_path / "cards", "hub": tmp_path / "hub", "data": tmp_path / "data"}


def run_pull(place: dict[str, Path], *args: str) -> int:
    """`data pull` into the place's data directory, with its cards alone and its own cache."""
    return main(
        ["data", "pull", *args, "--to", str(place["data"]), "--quiet"]
        + ["--task-dir", str(place["cards"]), "--no-builtin-tasks"]
        + ["--cache-dir", str(place["hub"].parent / "cache")]
    )


def pull(
    capsys: pytest.CaptureFixture[str], place: dict[str, Path], *args: str
) -> tuple[int, list[dict], str]:
    code = run_pull(place, *args, "--hub-mirror", str(place["hub"]), "--json")
    out, err = capsys.readouterr()
    return code, json.loads(out)["rows"], err


def statuses(rows: list[dict]) -> dict[tuple[str, str, str], str]:
    return {(r["task"], r["split"], r["language"]): r["status"] for r in rows}


def registry(place: dict[str, Path]) -> TaskRegistry:
    return TaskRegistry(place["data"], card_dirs=[place["cards"]])


def no_partial_files(root: Path) -> bool:
    return not any(p.name.startswith(PARTIAL_PREFIX) for p in root.rglob("*"))


def test_classification_labels_come_back_as_the_cards_names(place, capsys):
    card_with_hub(
        place["cards"],
        "xnli",
        {"dev": {"dataset": "facebook/xnli", "config": "{lang}", "split": "validation"}},
    )
    en = [
        {"premise": 'He said "hi".', "hypothesis": "He spoke.", "label": 0},
        {"premise": "A tab\there and a\nnewline.", "hypothesis": "Odd\rtext.", "label": 2},
        {"premise": "It rains.", "hypothesis": "It is wet.", "label": 1},
    ]
    de = [{"premise": "Es regnet.", "hypothesis": "Es ist nass.", "label": 0}]
    mirror(place["hub"], "facebook/xnli", "en", "validation", en, XNLI_FEATURES)
    mirror(place["hub"], "facebook/xnli", "de", "validation", de, XNLI_FEATURES)

    code, rows, err = pull(capsys, place, "xnli", "--split", "dev", "--languages", "en", "de")
    assert code == 0, err
    assert statuses(rows) == {("xnli", "dev", "en"): "written", ("xnli", "dev", "de"): "written"}
    assert [r["examples"] for r in rows] == [3, 1]
    got = [(e.text_a, e.text_b, e.label) for e in registry(place).load("xnli", "dev", "en")]
    names = XNLI_FEATURES["label"].names
    assert got == [(r["premise"], r["hypothesis"], names[r["label"]]) for r in en]
    assert (place["data"] / "xtreme/xnli/dev-de.tsv").read_text() == "Es regnet.\tEs ist nass.\tentailment\n"


def test_tagging_classlabel_ints_become_tags(place, capsys):
    hub = {"dataset": "unimelb-nlp/wikiann", "config": "{lang}", "split": "validation"}
    card_with_hub(place["cards"], "panx", {"dev": hub})
    rows = [
        {
            "tokens": ["Anna", "Meyer", "lebt", "in", "Köln", '"'],
            "ner_tags": [1, 2, 0, 0, 5, 0],
            "langs": ["de"] * 6,
            "spans": [],
        },
        {"tokens": [], "ner_tags": [], "langs": [], "spans": []},  # nothing to tag: left out
        {"tokens": ["Die", "UNO", "\u200b"], "ner_tags": [0, 3, 0], "langs": ["de"] * 3, "spans": []},
    ]
    mirror(place["hub"], "unimelb-nlp/wikiann", "de", "validation", rows, WIKIANN_FEATURES, saved=True)

    code, result, err = pull(capsys, place, "panx", "--split", "dev", "--languages", "de")
    assert code == 0, err
    assert result[0]["examples"] == 2
    got = [(e.tokens, e.tags) for e in registry(place).load("panx", "dev", "de")]
    assert got == [
        (("Anna", "Meyer", "lebt", "in", "Köln", '"'), ("B-PER", "I-PER", "O", "O", "B-LOC", "O")),
        (("Die", "UNO", "\u200b"), ("O", "B-ORG", "O")),
    ]


def test_per_language_configs_and_languages_the_hub_lacks(place, capsys):
    # google/xtreme names udpos configs by language name; lt is not there (the card says so), and
    # a language left out of `configs` would load the dataset's default config: neither is pulled.
    hub = {
        "dataset": "google/xtreme",
        "split": "test",
        "configs": {"de": "udpos.German"},
        "unavailable": ["lt"],
    }
    card_with_hub(place["cards"], "udpos", {"test": hub})
    rows = [{"tokens": ["Das", "ist", "gut", "."], "pos_tags": [10, 3, 0, 12]}]
    mirror(place["hub"], "google/xtreme", "udpos.German", "test", rows, UDPOS_FEATURES)

    code, result, err = pull(capsys, place, "udpos", "--split", "test", "--languages", "de", "lt", "pl")
    assert code == 0, err
    by_lang = {r["language"]: r for r in result}
    assert (
        by_lang["de"]["status"] == "written"
        and by_lang["de"]["source"] == "google/xtreme udpos.German [test]"
    )
    assert by_lang["lt"]["status"] == "no hub source"
    assert "marks it unavailable on the hub" in by_lang["lt"]["problem"]
    assert by_lang["pl"]["status"] == "no hub source"
    assert "no config for pl" in by_lang["pl"]["problem"]
    assert not (place["data"] / "xtreme/udpos/test-lt.tsv").exists()
    (example,) = registry(place).load("udpos", "test", "de")
    assert example.tags == ("PRON", "AUX", "ADJ", "PUNCT")


def test_span_qa_rows_regroup_into_squad_json(place, capsys):
    card_with_hub(
        place["cards"],
        "xquad",
        {"test": {"dataset": "google/xquad", "config": "xquad.{lang}", "split": "validation"}},
    )
    first = "Der Rhein fließt durch Köln. Er ist lang."
    second = "Köln hat einen Dom."
    rows = [
        {
            "id": "q1",
            "context": first,
            "question": "Wodurch fließt der Rhein?",
            "answers": {"text": ["Köln"], "answer_start": [23]},
        },
        {
            "id": "q2",
            "context": first,
            "question": "Wie ist er?",
            "answers": {"text": ["lang", "lang."], "answer_start": [36, 36]},
        },
        {
            "id": "q3",
            "context": second,
            "question": "Was hat Köln?",
            "answers": {"text": ["einen Dom"], "answer_start": [9]},
        },
    ]
    mirror(place["hub"], "google/xquad", "xquad.de", "validation", rows, XQUAD_FEATURES)

    code, result, err = pull(capsys, place, "xquad", "--languages", "de")
    assert code == 0, err
    got = registry(place).load("xquad", "test", "de")
    assert [(e.id, e.question, e.context) for e in got] == [
        (r["id"], r["question"], r["context"]) for r in rows
    ]
    assert [[(a.text, a.start) for a in e.answers] for e in got] == [
        [("Köln", 23)],
        [("lang", 36), ("lang.", 36)],
        [("einen Dom", 9)],
    ]
    document = json.loads((place["data"] / "xtreme/xquad/xquad.de.json").read_text(encoding="utf-8"))
    assert [len(p["qas"]) for a in document["data"] for p in a["paragraphs"]] == [2, 1]


def test_tatoeba_in_both_hub_schemas(place, capsys):
    # mteb/tatoeba-bitext-mining: sentence1 in the config's first language, sentence2 in English.
    mteb = {"dataset": "mteb/tatoeba-bitext-mining", "config": "{code}-eng", "split": "test"}
    card_with_hub(place["cards"], "tatoeba", {"test": mteb})
    # google/xtreme: languages named in every row, each sentence keeping its line end.
    card_with_hub(
        place["cards"],
        "tatoeba",
        {"test": {"dataset": "google/xtreme", "config": "tatoeba.{code}", "split": "validation"}},
        name="tatoeba-xtreme",
    )
    mirror(
        place["hub"],
        "mteb/tatoeba-bitext-mining",
        "deu-eng",
        "test",
        [
            {"sentence1": "Ich schlafe.", "sentence2": "I sleep."},
            {"sentence1": "Du läufst.", "sentence2": "You run."},
        ],
    )
    mirror(
        place["hub"],
        "google/xtreme",
        "tatoeba.fra",
        "validation",
        [
            {
                "source_sentence": "Je dors.\n",
                "target_sentence": "I sleep.\n",
                "source_lang": "fra",
                "target_lang": "eng",
            },
            {
                "source_sentence": "Tu cours.\n",
                "target_sentence": "You run.\n",
                "source_lang": "fra",
                "target_lang": "eng",
            },
        ],
    )

    code, result, err = pull(capsys, place, "tatoeba", "--languages", "de")
    assert code == 0, err
    assert statuses(result) == {("tatoeba", "test", "de"): "written"}
    code, result, err = pull(capsys, place, "tatoeba-xtreme", "--languages", "fr")
    assert code == 0, err
    assert statuses(result) == {("tatoeba-xtreme", "test", "fr"): "written"}
    german = registry(place).load("tatoeba", "test", "de")
    # The card reads the English file as the queries and the other language as the candidates.
    assert german.queries == ("I sleep.", "You run.") and german.candidates == ("Ich schlafe.", "Du läufst.")
    assert (place["data"] / "xtreme/tatoeba/tatoeba.deu-eng.deu").read_text() == "Ich schlafe.\nDu läufst.\n"
    french = registry(place).load("tatoeba-xtreme", "test", "fr")
    assert french.queries == ("I sleep.", "You run.") and french.candidates == ("Je dors.", "Tu cours.")


def test_multiple_choice_labels_stay_indices(place, capsys):
    # English dev is COPA's validation set, in another hub dataset than XCOPA's languages.
    xcopa = {
        "dataset": "cambridgeltl/xcopa",
        "split": "validation",
        "configs": {"en": "copa", "et": "et"},
        "datasets": {"en": "aps/super_glue"},
    }
    train = {"dataset": "aps/super_glue", "config": "copa", "split": "train"}
    card_with_hub(place["cards"], "xcopa", {"dev": xcopa, "train": train})
    et = [
        {
            "premise": "Mees kukkus.",
            "choice1": "Ta libises.",
            "choice2": "Ta naeris.",
            "question": "cause",
            "label": 0,
            "idx": 1,
            "changed": False,
        },
        {
            "premise": "Vihma sadas.",
            "choice1": "Maa kuivas.",
            "choice2": "Maa sai märjaks.",
            "question": "effect",
            "label": 1,
            "idx": 2,
            "changed": True,
        },
    ]
    mirror(place["hub"], "cambridgeltl/xcopa", "et", "validation", et)
    # SuperGLUE's label is a ClassLabel named choice1/choice2: its integer is the answer index.
    en = [
        {
            "premise": "The man fell.",
            "choice1": "He slipped.",
            "choice2": "He laughed.",
            "question": "cause",
            "idx": 0,
            "label": 0,
        },
        {
            "premise": "It rained.",
            "choice1": "It got dry.",
            "choice2": "It got wet.",
            "question": "effect",
            "idx": 1,
            "label": 1,
        },
    ]
    mirror(place["hub"], "aps/super_glue", "copa", "train", en, COPA_FEATURES)
    mirror(place["hub"], "aps/super_glue", "copa", "validation", en[::-1], COPA_FEATURES)

    code, result, err = pull(capsys, place, "xcopa", "--split", "train", "dev", "--languages", "en", "et")
    assert code == 0, err
    assert {(r["split"], r["language"]): r["source"] for r in result} == {
        ("train", "en"): "aps/super_glue copa [train]",
        ("dev", "en"): "aps/super_glue copa [validation]",
        ("dev", "et"): "cambridgeltl/xcopa et [validation]",
    }
    assert [e.label for e in registry(place).load("xcopa", "dev", "en")] == [1, 0]
    got = registry(place).load("xcopa", "dev", "et")
    assert [(e.id, e.context, e.choices, e.label) for e in got] == [
        ("1", "Mees kukkus.", ("Ta libises.", "Ta naeris."), 0),
        ("2", "Vihma sadas.", ("Maa kuivas.", "Maa sai märjaks."), 1),
    ]
    assert [e.label for e in registry(place).load("xcopa", "train", "en")] == [0, 1]


def test_glue_classlabel_names_become_the_cards_integers(place, capsys):
    card_with_hub(
        place["cards"], "sst2", {"train": {"dataset": "nyu-mll/glue", "config": "sst2", "split": "train"}}
    )
    rows = [
        {"sentence": "a gorgeous film ", "label": 1, "idx": 0},
        {"sentence": '"dull" , slow', "label": 0, "idx": 1},
    ]
    mirror(place["hub"], "nyu-mll/glue", "sst2", "train", rows, SST2_FEATURES)
    code, _, err = pull(capsys, place, "sst2", "--split", "train")
    assert code == 0, err
    got = [(e.text_a, e.label) for e in registry(place).load("sst2", "train", "en")]
    assert got == [("a gorgeous film ", "1"), ('"dull" , slow', "0")]


def test_a_failed_pull_leaves_no_partial_files(place, capsys):
    card_with_hub(
        place["cards"],
        "panx",
        {"dev": {"dataset": "unimelb-nlp/wikiann", "config": "{lang}", "split": "validation"}},
    )
    good = [{"tokens": ["Anna"], "ner_tags": [1], "langs": ["en"], "spans": []}]
    bad = good + [{"tokens": ["a\tb"], "ner_tags": [0], "langs": ["de"], "spans": []}]
    mirror(place["hub"], "unimelb-nlp/wikiann", "en", "validation", good, WIKIANN_FEATURES)
    mirror(place["hub"], "unimelb-nlp/wikiann", "de", "validation", bad, WIKIANN_FEATURES)

    code, result, err = pull(capsys, place, "panx", "--split", "dev", "--languages", "en", "de")
    assert code == 2
    assert (
        err.strip() == "xstilts: error: data pull: 1 failed (listed above); "
        f"nothing was written for them in {place['data']}"
    )
    by_lang = {r["language"]: r for r in result}
    assert by_lang["en"]["status"] == "written" and (place["data"] / "xtreme/panx/dev-en.tsv").is_file()
    assert by_lang["de"]["status"] == "failed"
    assert by_lang["de"]["problem"] == (
        "unimelb-nlp/wikiann de [validation]: row 2: token 1 'a\\tb' holds a tab or line break, "
        "which this file format cannot hold"
    )
    assert not (place["data"] / "xtreme/panx/dev-de.tsv").exists()
    assert no_partial_files(place["data"])

    # Everything failing into a fresh directory leaves not even the directories it made.
    place["data"] = place["data"].parent / "fresh"
    code, _, _ = pull(capsys, place, "panx", "--split", "dev", "--languages", "de")
    assert code == 2 and not place["data"].exists()


def test_files_the_reader_rejects_are_not_kept_and_the_message_names_the_target(place, capsys):
    # google/xtreme's XNLI: one table for every language, told apart by its `language` column.
    hub = {"dataset": "google/xtreme", "config": "XNLI", "split": "validation", "language_column": "language"}
    card_with_hub(place["cards"], "xnli", {"dev": hub})
    rows = [
        {"language": "en", "sentence1": "It rains.", "sentence2": "It is wet.", "gold_label": "entailment"},
        {
            "language": "de",
            "sentence1": "Es regnet.",
            "sentence2": "Es ist nass.",
            "gold_label": "entailment",
        },
        {"language": "de", "sentence1": "Ja.", "sentence2": "Nein.", "gold_label": "contradictory"},
        {"language": "en", "sentence1": "Yes.", "sentence2": "No.", "gold_label": "contradiction"},
    ]
    mirror(place["hub"], "google/xtreme", "XNLI", "validation", rows)

    code, result, _ = pull(capsys, place, "xnli", "--split", "dev", "--languages", "en", "de", "fr")
    assert code == 2
    by_lang = {r["language"]: r for r in result}
    assert [(e.text_a, e.label) for e in registry(place).load("xnli", "dev", "en")] == [
        ("It rains.", "entailment"),
        ("Yes.", "contradiction"),
    ]
    target = place["data"] / "xtreme/xnli/dev-de.tsv"
    assert by_lang["de"]["problem"].startswith(
        f"{target} (as written):2: label 'contradictory' is not one of"
    )
    assert not target.exists() and no_partial_files(place["data"])
    assert by_lang["fr"]["problem"] == "google/xtreme XNLI [validation]: has no rows for fr"


def test_present_files_are_kept_unless_forced(place, capsys):
    card_with_hub(
        place["cards"],
        "xnli",
        {"dev": {"dataset": "facebook/xnli", "config": "{lang}", "split": "validation"}},
    )
    mirror(
        place["hub"],
        "facebook/xnli",
        "en",
        "validation",
        [{"premise": "A.", "hypothesis": "B.", "label": 1}],
        XNLI_FEATURES,
    )
    args = ("xnli", "--split", "dev", "--languages", "en")
    assert pull(capsys, place, *args)[0] == 0
    target = place["data"] / "xtreme/xnli/dev-en.tsv"
    target.write_text("Edited.\tBy hand.\tneutral\n")
    code, result, _ = pull(capsys, place, *args)
    assert code == 0 and result[0]["status"] == "present"
    assert target.read_text() == "Edited.\tBy hand.\tneutral\n"
    code, result, _ = pull(capsys, place, *args, "--force")
    assert code == 0 and result[0]["status"] == "written"
    assert target.read_text() == "A.\tB.\tneutral\n"


def test_one_table_for_every_language_split_by_id_prefix(place, capsys):
    # google/xtreme `tydiqa`: every language in one table, a row's language in its id's prefix.
    hub = {
        "dataset": "google/xtreme",
        "config": "tydiqa",
        "split": "train",
        "id_prefixes": {"en": "english-", "ko": "korean-"},
    }
    card_with_hub(place["cards"], "tydiqa", {"train": hub})
    rows = [
        {"id": f"{name}-{n}", "title": "T", "context": f"{name} text {n}", "question": "Q?",
         "answers": {"text": ["text"], "answer_start": [len(name) + 1]}}
        for name, n in [("english", 1), ("korean", 2), ("english", 3), ("arabic", 4)]
    ]  # fmt: skip
    mirror(
        place["hub"],
        "google/xtreme",
        "tydiqa",
        "train",
        rows,
        Features({**XQUAD_FEATURES, "title": Value("string")}),
    )
    code, result, err = pull(capsys, place, "tydiqa", "--split", "train", "--languages", "en", "ko", "sw")
    assert code == 0, err
    assert {r["language"]: (r["status"], r["examples"]) for r in result} == {
        "en": ("written", 2),
        "ko": ("written", 1),
        "sw": ("no hub source", None),
    }
    assert [e.id for e in registry(place).load("tydiqa", "train", "en")] == ["english-1", "english-3"]
    assert [e.context for e in registry(place).load("tydiqa", "train", "ko")] == ["korean text 2"]


def test_what_cannot_be_pulled_is_said_and_fails(place, capsys):
    # google/xtreme `tydiqa` holds every language in one table, with no language column.
    place["hub"].mkdir()
    card_with_hub(
        place["cards"],
        "tydiqa",
        {"train": {"dataset": "google/xtreme", "config": "tydiqa", "split": "train"}},
    )
    card_with_hub(
        place["cards"],
        "xquad",
        {"test": {"dataset": "google/xquad", "config": "xquad.{lang}", "split": "validation"}},
    )
    code, result, err = pull(
        capsys, place, "tydiqa", "xquad", "--split", "train", "test", "--languages", "en"
    )
    assert code == 2
    by_key = {(r["task"], r["split"], r["language"]): r for r in result}
    assert (
        "share the hub table google/xtreme tydiqa train and the card names neither"
        in by_key["tydiqa", "train", "en"]["problem"]
    )
    assert by_key["tydiqa", "train", "-"]["status"] == "failed"
    missing = by_key["xquad", "test", "en"]
    assert missing["status"] == "failed"
    assert "no validation/ (save_to_disk), validation.jsonl" in missing["problem"]
    assert str(place["hub"] / "google/xquad/xquad.en") in missing["problem"]
    assert "2 failed" in err and not place["data"].exists()


def test_unknown_task_split_or_language_fails_before_fetching(place, capsys):
    card_with_hub(place["cards"], "xnli", {})
    for args, expected in [
        (("xnlii",), "unknown task; did you mean xnli"),
        (("xnli", "--split", "validation"), "--split validation: none of xnli has this split"),
        (("xnli", "--languages", "xx"), "--languages xx: none of xnli has this language"),
    ]:
        code = main(
            [
                "data",
                "pull",
                *args,
                "--to",
                str(place["data"]),
                "--task-dir",
                str(place["cards"]),
                "--no-builtin-tasks",
            ]
        )
        err = capsys.readouterr().err
        assert code == 2 and expected in err and len(err.strip().splitlines()) == 1
    assert not place["data"].exists()


def test_without_a_mirror_the_hub_is_asked(place, capsys, monkeypatch):
    # The default path calls datasets.load_dataset on the hub; offline (as in every test) it fails
    # with the hub's own reason, one row, and nothing is written.
    if os.environ.get("HF_HUB_OFFLINE") != "1":
        pytest.skip("needs HF_HUB_OFFLINE=1 so that nothing is downloaded")
    monkeypatch.delenv("XSTILTS_HUB_MIRROR", raising=False)
    card_with_hub(
        place["cards"],
        "xquad",
        {"test": {"dataset": "google/xquad", "config": "xquad.{lang}", "split": "validation"}},
    )
    code = run_pull(place, "xquad", "--languages", "de", "--json")
    (row,) = json.loads(capsys.readouterr().out)["rows"]
    assert code == 2 and row["status"] == "failed"
    assert row["problem"].startswith("google/xquad xquad.de [validation]: could not load it: ")
    assert "google/xquad" in row["problem"].split("could not load it: ")[1]
    assert not place["data"].exists()


def roundtrip(
    tmp_path: Path, reader: str, rows: list[dict], features: Features | None = None, **options: Any
):
    """Rows -> the writer for `reader` -> a file -> `reader`: what a pull verifies, without the hub."""
    from xstilts.data.codecs import HubRows, read, write

    columns = list(features) if features is not None else list(rows[0])
    source = HubRows("test rows", columns, rows, features, labels=options.pop("card_labels", None))
    path = tmp_path / f"out.{reader}"
    written = write(reader, source, {"path": path}, options)
    return written, read(reader, {"path": path}, **options), path


def test_glue_writer_maps_the_hub_pair_onto_the_cards_columns(tmp_path):
    features = Features(
        {
            "premise": Value("string"),
            "hypothesis": Value("string"),
            "label": ClassLabel(names=["entailment", "neutral", "contradiction"]),
            "idx": Value("int32"),
        }
    )
    rows = [
        {"premise": '"Sure," he said.', "hypothesis": "He agreed.", "label": 0, "idx": 0},
        {"premise": "No.", "hypothesis": "Yes.", "label": 2, "idx": 1},
    ]
    options = {"text_a_column": "sentence1", "text_b_column": "sentence2", "label_column": "gold_label"}
    written, got, path = roundtrip(tmp_path, "glue_tsv", rows, features, **options, card_labels=NLI_NAMES)
    assert written == 2
    assert [(e.text_a, e.text_b, e.label) for e in got] == [
        ('"Sure," he said.', "He agreed.", "entailment"),
        ("No.", "Yes.", "contradiction"),
    ]
    assert path.read_text().splitlines()[0] == "sentence1\tsentence2\tgold_label"
    # GLUE's test split: every label -1, written without the label column and read unlabelled.
    unlabelled = [{**row, "label": -1} for row in rows]
    _, got, path = roundtrip(tmp_path, "glue_tsv", unlabelled, features, **options, card_labels=NLI_NAMES)
    assert [e.label for e in got] == [None, None]
    assert path.read_text().splitlines()[0] == "sentence1\tsentence2"


def test_conllu_writer_keeps_the_syntactic_words(tmp_path):
    names = ["NOUN", "PUNCT", "ADP", "NUM", "SYM", "SCONJ", "ADJ", "PART", "DET", "CCONJ", "PROPN"]
    names += ["PRON", "X", "_", "ADV", "INTJ", "VERB", "AUX"]  # the hub's own order, `_` included
    features = Features(
        {
            "idx": Value("string"),
            "text": Value("string"),
            "tokens": List(Value("string")),
            "lemmas": List(Value("string")),
            "upos": List(ClassLabel(names=names)),
            "xpos": List(Value("string")),
            "head": List(Value("string")),
            "deprel": List(Value("string")),
        }
    )
    rows = [
        {
            "idx": "s1",
            "text": "I don't know.",
            "tokens": ["I", "don't", "do", "n't", "know", "."],
            "lemmas": ["I", "_", "do", "not", "know", "."],
            "upos": [11, 13, 17, 7, 16, 1],
            "xpos": ["PRP", None, "VBP", "RB", "VB", "."],
            "head": ["4", "None", "4", "4", "0", "4"],
            "deprel": ["nsubj", "_", "aux", "advmod", "root", "punct"],
        }
    ]
    written, got, path = roundtrip(tmp_path, "conllu", rows, features, column="upos")
    assert written == 1
    assert [(e.id, e.tokens, e.tags) for e in got] == [
        ("s1", ("I", "do", "n't", "know", "."), ("PRON", "AUX", "PART", "VERB", "PUNCT"))
    ]
    assert path.read_text().splitlines()[2] == "1\tI\tI\tPRON\tPRP\t_\t4\tnsubj\t_\t_"


def test_multiple_choice_writers_round_trip(tmp_path):
    siqa = [
        {"context": "Ann lent Bo a pen.", "question": "Why?", "answerA": "kind", "answerB": "mean",
         "answerC": "odd", "label": "1"},
        {"context": "Bo left.", "question": "What next?", "answerA": "x", "answerB": "y", "answerC": "z",
         "label": "3"},
    ]  # fmt: skip
    _, got, _ = roundtrip(tmp_path, "siqa_jsonl", siqa)
    assert [(e.context, e.choices, e.label) for e in got] == [
        ("Ann lent Bo a pen.", ("kind", "mean", "odd"), 0),
        ("Bo left.", ("x", "y", "z"), 2),
    ]
    csqa = [
        {"id": "c1", "question": "Where is ink?", "question_concept": "ink",
         "choices": {"label": ["A", "B", "C"], "text": ["pen", "cup", "sky"]}, "answerKey": "A"},
    ]  # fmt: skip
    _, got, _ = roundtrip(tmp_path, "commonsenseqa_jsonl", csqa)
    assert [(e.id, e.question, e.choices, e.label) for e in got] == [
        ("c1", "Where is ink?", ("pen", "cup", "sky"), 0)
    ]
    cosmos = [
        {"id": "k1", "context": 'He said "no",\nthen left.', "question": "Why?", "answer0": "a",
         "answer1": "b", "answer2": "c", "answer3": "d", "label": 3},
    ]  # fmt: skip
    _, got, _ = roundtrip(tmp_path, "cosmosqa_csv", cosmos)
    assert [(e.id, e.context, e.choices, e.label) for e in got] == [
        ("k1", 'He said "no",\nthen left.', ("a", "b", "c", "d"), 3)
    ]
    _, got, path = roundtrip(tmp_path, "cosmosqa_csv", [{**cosmos[0], "label": -1}])
    assert got[0].label is None and path.read_text().splitlines()[0].endswith("answer3")
    hella = [
        {"ind": 7, "activity_label": "Cooking", "ctx_a": "A man cuts onions.", "ctx_b": "he",
         "ctx": "A man cuts onions. he", "endings": ["cries.", "sings.", "flies.", "sleeps."], "label": ""},
    ]  # fmt: skip
    _, got, _ = roundtrip(tmp_path, "hellaswag_jsonl", hella)
    assert [(e.id, e.context, e.choices[0], e.label) for e in got] == [
        ("7", "A man cuts onions.", "he cries.", None)
    ]


def test_copa_test_split_without_labels_needs_placeholder_cards(tmp_path):
    rows = [{"premise": "P.", "choice1": "A.", "choice2": "B.", "question": "cause", "idx": 0, "label": -1}]
    _, got, path = roundtrip(tmp_path, "copa_jsonl", rows, COPA_FEATURES, labels_are_placeholders=True)
    assert got[0].label is None and json.loads(path.read_text())["label"] == 0
    with pytest.raises(DataFormatError, match="row 1: has no label and the card reads this split's labels"):
        roundtrip(tmp_path, "copa_jsonl", rows, COPA_FEATURES)


def test_readers_without_a_writer_say_why(tmp_path):
    with pytest.raises(DataFormatError, match="cannot write files for the reader 'bucc': the hub's BUCC"):
        roundtrip(tmp_path, "bucc", [{"source_sentence": "a", "target_sentence": "b"}])


def test_mirror_from_the_environment_with_the_hubs_parquet_files(place, capsys, monkeypatch):
    # The hub's own file names (`<config>/<split>-00000-of-00001.parquet`); parquet keeps the
    # ClassLabel in its schema, so no features.json is needed.
    card_with_hub(
        place["cards"], "sst2", {"dev": {"dataset": "nyu-mll/glue", "config": "sst2", "split": "validation"}}
    )
    base = place["hub"] / "nyu-mll/glue/sst2"
    base.mkdir(parents=True)
    rows = [{"sentence": "fine", "label": 1, "idx": 0}, {"sentence": "awful", "label": 0, "idx": 1}]
    Dataset.from_list(rows, features=SST2_FEATURES).to_parquet(
        str(base / "validation-00000-of-00001.parquet")
    )
    monkeypatch.setenv("XSTILTS_HUB_MIRROR", str(place["hub"]))
    code = run_pull(place, "sst2", "--split", "dev")
    out = capsys.readouterr().out
    assert code == 0, out
    assert "sst2  dev    en        2         written  nyu-mll/glue sst2 [validation]" in out
    assert [(e.text_a, e.label) for e in registry(place).load("sst2", "dev", "en")] == [
        ("fine", "1"),
        ("awful", "0"),
    ]
