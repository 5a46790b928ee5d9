"""The XTREME / XTREME-R target task cards: exact language lists, hub sources, mirror paths, CLI.

Language lists follow google-research/xtreme (evaluate.py TASK2LANGS for XTREME; for XTREME-R
scripts/download_data.sh, train_panx.sh, run_tatoeba.sh and utils_preprocess.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xstilts.cli import main
from xstilts.config.cards import TaskCard
from xstilts.config.registry import TaskRegistry
from xstilts.errors import ConfigError

# The issue's counts, per task and benchmark.
COUNTS = {
    ("xnli", "xtreme"): 15,
    ("xnli", "xtreme-r"): 15,
    ("pawsx", "xtreme"): 7,
    ("udpos", "xtreme"): 33,
    ("udpos", "xtreme-r"): 38,
    ("panx", "xtreme"): 40,
    ("panx", "xtreme-r"): 48,
    ("xquad", "xtreme"): 11,
    ("xquad", "xtreme-r"): 12,
    ("mlqa", "xtreme"): 7,
    ("mlqa", "xtreme-r"): 7,
    ("tydiqa", "xtreme"): 9,
    ("tydiqa", "xtreme-r"): 9,
    ("bucc", "xtreme"): 4,
    ("tatoeba", "xtreme"): 36,
    ("tatoeba", "xtreme-r"): 41,
    ("xcopa", "xtreme-r"): 11,
}
MY_TARGETS = ["xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "tatoeba", "bucc", "xcopa"]
# Written by another helper; checked when present.
OTHER_TARGETS = {
    "lareqa": ["ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"],
    "mewsli-x": ["ar", "de", "en", "es", "fa", "ja", "pl", "ro", "ta", "tr", "uk"],
}

# The XTREME README's 40 languages; XTREME-R adds 10.
XTREME_40 = set(
    "af ar bg bn de el en es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr ms my nl pt ru sw ta te "
    "th tl tr ur vi yo zh".split()
)
XTREME_R_50 = XTREME_40 | {"az", "gu", "ht", "lt", "pa", "pl", "qu", "ro", "uk", "wo"}

EXACT = {
    ("xnli", "xtreme"): "ar bg de el en es fr hi ru sw th tr ur vi zh",
    ("pawsx", "xtreme"): "de en es fr ja ko zh",
    ("mlqa", "xtreme"): "ar de en es hi vi zh",
    ("tydiqa", "xtreme"): "ar bn en fi id ko ru sw te",
    ("bucc", "xtreme"): "de fr ru zh",
    ("xquad", "xtreme"): "ar de el en es hi ru th tr vi zh",
    ("xcopa", "xtreme-r"): "et ht id it qu sw ta th tr vi zh",
}
# What each benchmark adds over XTREME's list for the same task.
XTREME_R_ADDS = {
    "udpos": {"lt", "pl", "ro", "uk", "wo"},
    "panx": {"az", "gu", "lt", "pa", "pl", "qu", "ro", "uk"},
    "tatoeba": {"az", "lt", "pl", "uk", "ro"},
    "xquad": {"ro"},
    "xnli": set(),
    "mlqa": set(),
    "tydiqa": set(),
}

# (task, split, language) that no single hub dataset holds, each explained in `obtain`: the
# XTREME-R UD-POS languages exist on the hub only per treebank, unmerged.
HUB_GAPS = {
    ("udpos", split, lang) for split in ("train", "dev", "test") for lang in ("lt", "pl", "ro", "uk", "wo")
}


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TaskCard]:
    return TaskRegistry(tmp_path_factory.mktemp("empty")).cards


def _langs(words: str) -> list[str]:
    return sorted(words.split())


@pytest.mark.parametrize("task, benchmark", sorted(COUNTS))
def test_benchmark_language_counts(cards: dict[str, TaskCard], task: str, benchmark: str) -> None:
    entry = cards[task].benchmarks[benchmark]
    assert len(entry.languages) == COUNTS[task, benchmark]
    assert len(set(entry.languages)) == len(entry.languages), "duplicate language"
    # Every benchmark language is in the split the benchmark scores.
    assert set(entry.languages) <= set(cards[task].split_languages(entry.split))


def test_benchmarks_are_exactly_the_issue_list(cards: dict[str, TaskCard]) -> None:
    found = {(name, b) for name in MY_TARGETS for b in cards[name].benchmarks}
    assert found == set(COUNTS)
    # XTREME-R dropped PAWS-X and BUCC and added XCOPA.
    assert "xtreme-r" not in cards["pawsx"].benchmarks and "xtreme-r" not in cards["bucc"].benchmarks
    assert "xtreme" not in cards["xcopa"].benchmarks


@pytest.mark.parametrize("task, benchmark", sorted(EXACT))
def test_exact_language_lists(cards: dict[str, TaskCard], task: str, benchmark: str) -> None:
    assert sorted(cards[task].benchmarks[benchmark].languages) == _langs(EXACT[task, benchmark])


@pytest.mark.parametrize("task", sorted(XTREME_R_ADDS))
def test_xtreme_r_adds_exactly_its_new_languages(cards: dict[str, TaskCard], task: str) -> None:
    xtreme = set(cards[task].benchmarks["xtreme"].languages)
    xtreme_r = set(cards[task].benchmarks["xtreme-r"].languages)
    assert xtreme <= xtreme_r
    assert xtreme_r - xtreme == XTREME_R_ADDS[task]


def test_known_members_and_non_members(cards: dict[str, TaskCard]) -> None:
    def langs(task: str, benchmark: str) -> set[str]:
        return set(cards[task].benchmarks[benchmark].languages)

    assert "ro" in langs("xquad", "xtreme-r") and "ro" not in langs("xquad", "xtreme")
    assert {"th", "tl", "yo", "kk"} <= langs("udpos", "xtreme") and "wo" not in langs("udpos", "xtreme")
    assert {"my", "ms", "jv", "yo"} <= langs("panx", "xtreme") and "qu" not in langs("panx", "xtreme")
    assert "en" not in langs("tatoeba", "xtreme") and "ms" not in langs("tatoeba", "xtreme-r")
    assert {"ja", "th"}.isdisjoint(langs("tydiqa", "xtreme"))
    assert "en" not in langs("xcopa", "xtreme-r") and "qu" in langs("xcopa", "xtreme-r")
    # The XTREME-R Tatoeba additions have ISO 639-3 file codes.
    codes = cards["tatoeba"].language_codes
    assert {lang: codes[lang] for lang in ("az", "lt", "pl", "uk", "ro")} == {
        "az": "aze",
        "lt": "lit",
        "pl": "pol",
        "uk": "ukr",
        "ro": "ron",
    }
    assert set(cards["tatoeba"].languages) == set(codes)


def test_benchmark_unions_are_the_benchmark_languages(cards: dict[str, TaskCard]) -> None:
    xtreme = set().union(
        *(c.benchmarks["xtreme"].languages for c in cards.values() if "xtreme" in c.benchmarks)
    )
    assert xtreme == XTREME_40
    xtreme_r = set().union(
        *(c.benchmarks["xtreme-r"].languages for c in cards.values() if "xtreme-r" in c.benchmarks)
    )
    assert xtreme_r == XTREME_R_50


@pytest.mark.parametrize("task", sorted(OTHER_TARGETS))
def test_lareqa_and_mewsli_x_when_present(cards: dict[str, TaskCard], task: str) -> None:
    if task not in cards:
        pytest.skip(f"no {task} card yet")
    assert sorted(cards[task].benchmarks["xtreme-r"].languages) == OTHER_TARGETS[task]


def _target_cards(cards: dict[str, TaskCard]) -> list[TaskCard]:
    names = MY_TARGETS + ["ud-ewt"] + [t for t in OTHER_TARGETS if t in cards]
    return [cards[name] for name in names]


def test_every_split_has_a_hub_source_for_every_language(cards: dict[str, TaskCard]) -> None:
    unset = set()
    for card in _target_cards(cards):
        assert card.source and card.obtain, f"{card.name}: no source/obtain text"
        for split in card.splits:
            if card.split_source(split).hub is None:
                # lareqa / mewsli-x have no hub copy that serves (their `source` says why).
                assert card.name in OTHER_TARGETS, f"{card.name} {split}: no hub source"
                continue
            for lang in card.split_languages(split):
                if lang in card.split_source(split).hub.unavailable:
                    with pytest.raises(ConfigError, match="not on the Hugging Face hub"):
                        card.hub_source(split, lang)
                    unset.add((card.name, split, lang))
                    continue
                dataset, config, hub_split = card.hub_source(split, lang)
                assert "/" in dataset and hub_split
                if config is None:
                    unset.add((card.name, split, lang))
                else:
                    assert "{" not in config and "}" not in config, (card.name, split, lang, config)
    # Only the gaps documented in these cards' `obtain` (lareqa/mewsli-x: formatting only).
    assert cards["xcopa"].hub_source("dev", "en") == ("aps/super_glue", "copa", "validation")
    assert {gap for gap in unset if gap[0] in MY_TARGETS} == HUB_GAPS


def test_hub_configs_follow_the_hub_names(cards: dict[str, TaskCard]) -> None:
    def config(task: str, split: str, lang: str) -> tuple[str, str | None, str]:
        return cards[task].hub_source(split, lang)

    assert config("xnli", "test", "sw") == ("facebook/xnli", "sw", "test")
    assert config("pawsx", "dev", "de") == ("google/xtreme", "PAWS-X.de", "validation")
    assert config("udpos", "test", "de") == ("google/xtreme", "udpos.German", "test")
    assert config("udpos", "dev", "fa") == ("google/xtreme", "udpos.Persian", "validation")
    assert config("panx", "test", "qu") == ("unimelb-nlp/wikiann", "qu", "test")
    assert config("xquad", "test", "ro") == ("google/xquad", "xquad.ro", "validation")
    assert config("mlqa", "test", "hi") == ("google/xtreme", "MLQA.hi.hi", "test")
    assert config("tydiqa", "dev", "te") == ("google/xtreme", "tydiqa", "validation")
    assert config("tatoeba", "test", "zh") == ("mteb/tatoeba-bitext-mining", "cmn-eng", "test")
    assert config("tatoeba", "test", "ro") == ("mteb/tatoeba-bitext-mining", "ron-eng", "test")
    assert config("bucc", "dev", "zh") == ("google/xtreme", "bucc18.zh", "validation")
    assert config("xcopa", "test", "ht") == ("cambridgeltl/xcopa", "ht", "test")
    assert config("xcopa", "train", "en") == ("aps/super_glue", "copa", "train")
    # udpos: every XTREME language has a google/xtreme config.
    udpos = cards["udpos"]
    for lang in udpos.benchmarks["xtreme"].languages:
        assert udpos.hub_source("test", lang)[1].startswith("udpos.")


def test_udpos_splits_match_xtreme_treebanks(cards: dict[str, TaskCard]) -> None:
    udpos = cards["udpos"]
    assert len(udpos.split_languages("train")) == 35 and len(udpos.split_languages("dev")) == 34
    assert {"th", "tl", "yo"}.isdisjoint(udpos.split_languages("train"))
    assert {"kk", "th", "tl", "yo"}.isdisjoint(udpos.split_languages("dev"))
    assert set(udpos.split_languages("test")) == set(udpos.languages)
    panx = cards["panx"]
    assert all(set(panx.split_languages(s)) == set(panx.languages) for s in ("train", "dev", "test"))


# What the mirror holds (../shared/data/SOURCES.md), as the cards find it.
MIRROR = {
    "xnli": {"dev": 15},
    "pawsx": {"dev": 7},
    "udpos": {"train": 19, "dev": 33, "test": 37},
    "panx": {"train": 8, "dev": 39},
    "xquad": {"test": 12},
    "mlqa": {"dev": 7},
    "tydiqa": {"train": 3, "dev": 9},
    "tatoeba": {"test": 41},
    "bucc": {"dev": 1},
    "xcopa": {"train": 1, "dev": 12, "test": 11},
    "ud-ewt": {"dev": 1, "test": 1},
}
# Folders whose every data file some card split/language points at.
OWNED_FOLDERS = {
    "xtreme/xnli": ["xnli"],
    "xtreme/pawsx": ["pawsx"],
    "xtreme/udpos": ["udpos"],
    "xtreme/panx": ["panx"],
    "xtreme/xquad": ["xquad"],
    "xtreme/mlqa": ["mlqa"],
    "xtreme/tydiqa": ["tydiqa"],
    "xtreme/bucc2018": ["bucc"],
    "xtreme-r/xcopa": ["xcopa"],
    "ud/en_ewt": ["ud-ewt"],
}


def test_card_paths_find_the_mirror(shared_data: Path) -> None:
    registry = TaskRegistry(shared_data)
    for task, expected in MIRROR.items():
        present = registry.present(task)
        assert {split: len(langs) for split, langs in present.items()} == expected, task
        for split, langs in present.items():
            for lang in langs:
                assert all(p.is_file() for p in registry.files(task, split, lang).values())
    assert registry.present("tydiqa")["train"] == ["en", "ko", "sw"]
    assert registry.present("bucc")["dev"] == ["zh"]
    # Tatoeba: every language of both benchmarks, the XTREME-R additions included.
    assert set(registry.present("tatoeba")["test"]) == set(registry.card("tatoeba").languages)


def test_every_mirror_file_belongs_to_a_card(shared_data: Path) -> None:
    registry = TaskRegistry(shared_data)
    for folder, tasks in OWNED_FOLDERS.items():
        claimed = {
            path.resolve()
            for task in tasks
            for split, langs in registry.present(task).items()
            for lang in langs
            for path in registry.files(task, split, lang).values()
        }
        on_disk = {p.resolve() for p in (shared_data / folder).rglob("*") if p.is_file()}
        assert on_disk - claimed == set(), folder


def _tasks_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, dict]:
    assert main(["tasks", "--json", *args]) == 0
    return {item["name"]: item for item in json.loads(capsys.readouterr().out)}


def test_tasks_json_lists_benchmarks_and_hub_sources(
    shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = _tasks_json(capsys, "--data-dir", str(shared_data))
    for (task, benchmark), count in COUNTS.items():
        entry = listing[task]["benchmarks"][benchmark]
        assert len(entry["languages"]) == count and entry["split"] in listing[task]["splits_defined"]
    assert listing["tydiqa"]["benchmarks"]["xtreme"]["split"] == "dev"
    assert listing["panx"]["splits_present"]["dev"] and len(listing["panx"]["languages"]) == 48
    assert listing["udpos"]["hub"]["test"]["sources"]["de"] == {
        "dataset": "google/xtreme",
        "config": "udpos.German",
        "split": "test",
    }
    assert "wo" not in listing["udpos"]["hub"]["test"]["sources"]
    assert "wo" in listing["udpos"]["hub"]["test"]["unavailable"]
    assert listing["xcopa"]["hub"]["dev"]["sources"]["en"]["dataset"] == "aps/super_glue"
    assert listing["tatoeba"]["hub"]["test"]["dataset"] == "mteb/tatoeba-bitext-mining"
    assert (
        listing["xcopa"]["split_languages"]["test"] == listing["xcopa"]["benchmarks"]["xtreme-r"]["languages"]
    )
    assert listing["xnli"]["source"] and listing["bucc"]["obtain"]


def test_tasks_benchmark_filter_and_plain_listing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listing = _tasks_json(capsys, "--data-dir", str(tmp_path), "--benchmark", "xtreme-r")
    assert {"xnli", "xcopa", "udpos", "panx", "xquad", "mlqa", "tydiqa", "tatoeba"} <= set(listing)
    assert {"pawsx", "bucc", "copa", "ud-ewt"}.isdisjoint(listing)
    assert all(item["splits_present"] == {} for item in listing.values())

    assert main(["tasks", "--data-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    panx = next(line for line in lines if line.startswith("panx "))
    assert "xtreme 40 test, xtreme-r 48 test" in panx and "no data" in panx
    tydiqa = next(line for line in lines if line.startswith("tydiqa "))
    assert "xtreme 9 dev" in tydiqa
