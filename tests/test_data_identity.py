"""Data identity: a run's id names the content of the files it trains on, an evaluation's cache name
the content of the files it scores on; the location of the data directory names nothing
(issue 12, item 5). File hashes are cached by path, size and modification time."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from xstilts.config.study import load_study
from xstilts.plan.fingerprint import HASH_CACHE_NAME, FileHashes
from xstilts.plan.graph import Plan, build_plan

LABELS = ["entailment", "neutral", "contradiction"]
CARDS = {
    "toy-nli": {
        "name": "toy-nli",
        "format": "classification",
        "reader": "xtreme_tsv_pairs",
        "labels": LABELS,
        "metric": "accuracy",
        "languages": ["en", "de"],
        "splits": {"train": {"path": "nli/train-{lang}.tsv"}, "dev": {"path": "nli/dev-{lang}.tsv"}},
    },
    "toy-tatoeba": {
        "name": "toy-tatoeba",
        "format": "retrieval",
        "reader": "tatoeba",
        "metric": "tatoeba_accuracy",
        "languages": ["de"],
        "language_codes": {"de": "deu"},
        "splits": {
            "test": {"paths": {"source": "tat/t.{code}-eng.{code}", "target": "tat/t.{code}-eng.eng"}}
        },
    },
}
STUDY = {
    "name": "identity",
    "model": "random:tiny",
    "builtin_tasks": False,
    "arms": [{"name": "none"}, {"name": "nli", "intermediate": [{"task": "toy-nli", "split": "train"}]}],
    "targets": [
        {
            "task": "toy-nli",
            "train": {"split": "train", "languages": ["en"]},
            "evaluate": {"split": "dev", "languages": ["de"]},
        }
    ],
    "retrieval": [{"task": "toy-tatoeba", "languages": ["de"], "after": ["pretrained"]}],
}


def rows(n: int, word: str = "a") -> str:
    return "".join(f"{word} {i}.\tb {i}.\t{LABELS[i % 3]}\n" for i in range(n))


@pytest.fixture()
def setup(tmp_path: Path) -> tuple[Path, Path]:
    """(study file, data directory)."""
    cards, data = tmp_path / "cards", tmp_path / "data"
    cards.mkdir()
    for name, card in CARDS.items():
        (cards / f"{name}.yaml").write_text(yaml.safe_dump(card))
    (data / "nli").mkdir(parents=True)
    (data / "tat").mkdir()
    for lang in ("en", "de"):
        (data / f"nli/train-{lang}.tsv").write_text(rows(12))
        (data / f"nli/dev-{lang}.tsv").write_text(rows(6))
    (data / "tat/t.deu-eng.deu").write_text("Hallo.\nDanke.\n")
    (data / "tat/t.deu-eng.eng").write_text("Hello.\nThanks.\n")
    study = tmp_path / "study.yaml"
    study.write_text(yaml.safe_dump({**STUDY, "task_dirs": [str(cards)]}))
    return study, data


def plan(study: Path, data: Path, out: Path, cache: Path | None = None) -> Plan:
    loaded, registry = load_study(study, data)
    return build_plan(loaded, registry, out, cache or out.parent / "cache")


def ids(p: Plan) -> dict[tuple[str, tuple[str, ...]], str]:
    return {(n.phase, tuple(n.arms)): n.id for n in p}


def eval_names(p: Plan) -> dict[str, list[str]]:
    return {n.phase + ":" + ",".join(n.arms): [e.name for e in n.evaluations] for n in p}


def test_the_same_data_elsewhere_names_the_same_runs(setup, tmp_path: Path) -> None:
    study, data = setup
    moved = tmp_path / "elsewhere" / "copy"
    shutil.copytree(data, moved)
    here, there = plan(study, data, tmp_path / "out"), plan(study, moved, tmp_path / "out")
    assert ids(here) == ids(there)
    assert eval_names(here) == eval_names(there)


def test_changed_training_data_names_new_runs(setup, tmp_path: Path) -> None:
    study, data = setup
    before = plan(study, data, tmp_path / "out")
    # Same size, one letter different: a content hash sees it, a size check would not.
    (data / "nli/train-de.tsv").write_text(rows(12, word="c"))
    after = plan(study, data, tmp_path / "out")
    changed = {key for key in ids(before) if ids(before)[key] != ids(after)[key]}
    # The intermediate run trains on every language of toy-nli train; the target runs only on en,
    # but the one on the intermediate run has a new parent.
    assert changed == {("intermediate", ("nli",)), ("target", ("nli",))}
    intermediate = next(n for n in after if n.phase == "intermediate")
    hashes = intermediate.run.identity["tasks"][0]["data"]
    assert set(hashes) == {"en", "de"} and all(len(h["path"]) == 64 for h in hashes.values())


def test_a_changed_evaluation_file_is_scored_again(setup, tmp_path: Path) -> None:
    study, data = setup
    before = plan(study, data, tmp_path / "out")
    (data / "nli/dev-de.tsv").write_text(rows(6, word="z"))
    after = plan(study, data, tmp_path / "out")
    assert ids(before) == ids(after)  # nothing trains on dev-de
    target = ("target:none", "target:nli")
    assert all(eval_names(before)[t] != eval_names(after)[t] for t in target)
    assert eval_names(before)["pretrained:none,nli"] == eval_names(after)["pretrained:none,nli"]


def test_a_changed_retrieval_file_is_scored_again(setup, tmp_path: Path) -> None:
    study, data = setup
    before = plan(study, data, tmp_path / "out")
    (data / "tat/t.deu-eng.eng").write_text("Hello!\nThanks.\n")
    after = plan(study, data, tmp_path / "out")
    assert ids(before) == ids(after)
    assert eval_names(before)["pretrained:none,nli"] != eval_names(after)["pretrained:none,nli"]


def test_a_finished_run_on_other_data_is_not_reused(setup, tmp_path: Path) -> None:
    """`--data-dir /other/data` on an output directory: the runs trained on the first data are not
    taken for the second's."""
    study, data = setup
    out = tmp_path / "out"
    first = plan(study, data, out)
    for node in first:  # as if `run` had finished every run
        node.run.path.mkdir(parents=True)
        (node.run.path / "DONE").write_text("")
    other = tmp_path / "other"
    shutil.copytree(data, other)
    (other / "nli/train-en.tsv").write_text(rows(12, word="o"))
    second = plan(study, other, out)
    assert {n.phase: n.done for n in second if "nli" in n.arms and n.phase != "pretrained"} == {
        "intermediate": False,
        "target": False,
    }
    assert all(n.done for n in plan(study, data, out))  # the first data: every run reused


def test_hashes_are_cached_by_path_size_and_mtime(tmp_path: Path) -> None:
    path = tmp_path / "train.tsv"
    path.write_text(rows(3))
    cache = tmp_path / "cache" / HASH_CACHE_NAME
    hashes = FileHashes(cache)
    real = hashes.digest(path)
    hashes.save()
    entry = json.loads(cache.read_text())["files"][str(path)]
    stat = path.stat()
    assert entry == [stat.st_size, stat.st_mtime_ns, real]

    # A cached hash is trusted while size and mtime match (planted here, to see that it is used) ...
    entry[2] = "0" * 64
    cache.write_text(json.dumps({"version": 1, "files": {str(path): entry}}))
    assert FileHashes(cache).digest(path) == "0" * 64
    # ... and recomputed when the mtime moves.
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert FileHashes(cache).digest(path) == real
    assert FileHashes(None).digest(tmp_path / "absent.tsv") is None


def test_a_damaged_or_unwritable_cache_only_costs_a_rehash(tmp_path: Path) -> None:
    path = tmp_path / "train.tsv"
    path.write_text(rows(3))
    expected = FileHashes(None).digest(path)
    cache = tmp_path / "cache" / HASH_CACHE_NAME
    cache.parent.mkdir()
    cache.write_text('{"version": 1, "files": {')  # cut off mid-write
    hashes = FileHashes(cache)
    assert hashes.digest(path) == expected
    hashes.save()
    assert json.loads(cache.read_text())["files"][str(path)][2] == expected
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    unwritable = FileHashes(blocked / HASH_CACHE_NAME)  # its folder is a file: cannot be written
    assert unwritable.digest(path) == expected
    unwritable.save()  # no error


def test_concurrent_savers_keep_each_others_hashes(tmp_path: Path) -> None:
    one, two = tmp_path / "one.tsv", tmp_path / "two.tsv"
    one.write_text(rows(2))
    two.write_text(rows(4))
    cache = tmp_path / HASH_CACHE_NAME
    first, second = FileHashes(cache), FileHashes(cache)
    first.digest(one)
    second.digest(two)
    first.save()
    second.save()
    assert set(json.loads(cache.read_text())["files"]) == {str(one), str(two)}
