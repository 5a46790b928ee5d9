"""The results store (SQLite), its tables and exports, `xstilts results`, and the runner filling it."""

from __future__ import annotations

import csv
import math
import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from helpers import result_row

import xstilts
from xstilts.errors import XstiltsError
from xstilts.results.store import COLUMNS, STORE_NAME, ResultsStore
from xstilts.results.tables import current_rows, format_tables


def main(argv: list[str]) -> int:
    # Imported here: the spawned writers import this module, and need only the store.
    from xstilts.cli import main

    return main(argv)


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("xstilts: error: ")
    return err[0]


def test_record_and_read_back(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path / STORE_NAME)
    written = [
        result_row(language="en", value=71.25),
        result_row(language="de", value=60.5),
        result_row(
            study="t", arm="pretrained", phase="pretrained", seed=None, run="p", task="tatoeba", value=12.0
        ),
        result_row(language="zh", metric="f1", value=float("nan")),
    ]
    assert store.record(written) == 4
    got = store.rows()
    assert [tuple(r) for r in got] == [COLUMNS] * 4
    for before, after in zip(written, got, strict=True):
        for key, value in before.items():
            if key == "value" and math.isnan(value):
                assert math.isnan(after[key])
            else:
                assert after[key] == value and type(after[key]) is type(value), key
        assert after["code_version"] == xstilts.__version__ and after["recorded_at"].startswith("20")
    assert store.studies() == ["s", "t"]
    assert [r["language"] for r in store.rows(study="s")] == ["en", "de", "zh"]
    assert [r["task"] for r in store.rows(task="tatoeba")] == ["tatoeba"]
    assert store.rows(study="nobody") == []
    with sqlite3.connect(tmp_path / STORE_NAME) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    with pytest.raises(ValueError, match="lacks task_version"):
        store.record([{k: v for k, v in result_row().items() if k != "task_version"}])


def test_rerecording_replaces_instead_of_adding(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path / STORE_NAME)
    rows = [result_row(language=lang) for lang in ("en", "de")]
    # A NULL seed must still collide with itself (SQLite's UNIQUE alone treats NULLs as distinct).
    rows.append(result_row(arm="pretrained", phase="pretrained", seed=None, run="p", task="tatoeba"))
    store.record(rows)
    first = store.rows()
    store.record(rows)
    store.record([result_row(language="de", value=77.0)])
    again = store.rows()
    assert len(again) == 3
    assert [r["language"] for r in again] == ["en", "de", "en"]  # first-recorded order kept
    assert again[1]["value"] == 77.0 and again[1]["recorded_at"] > first[1]["recorded_at"]
    # Another seed or run of the same arm is another row, not a replacement.
    store.record([result_row(seed=2, run="r2"), result_row(seed=-1, run="r3"), result_row(run="r9")])
    assert len(store) == 6


CREATION_RACES = 50


def _write_rows(path: str, writer: int, barrier: Any, errors: Any) -> None:
    try:
        # Both create the same new stores at the same moment: switching a new file to WAL is where
        # SQLite answers "database is locked" without waiting (unretried, one race in seven failed).
        for k in range(CREATION_RACES):
            barrier.wait()
            ResultsStore(Path(f"{path}.{k}")).record([result_row(arm=f"arm{writer}")])
        barrier.wait()
        store = ResultsStore(Path(path))
        for i in range(200):
            # One transaction per row: 400 chances for the two writers to collide.
            store.record([result_row(arm=f"arm{writer}", language=f"l{i}", value=float(i))])
    except BaseException as err:
        errors.put(f"writer {writer}: {type(err).__name__}: {err}")
        barrier.abort()  # the other writer stops waiting for this one
        raise


def test_two_processes_write_one_store_concurrently(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier, errors = ctx.Barrier(2), ctx.Queue()
    path = tmp_path / STORE_NAME
    workers = [ctx.Process(target=_write_rows, args=(str(path), w, barrier, errors)) for w in (1, 2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        if worker.exitcode is None:
            worker.kill()
    # A writer that gave up ("database is locked") reports why and exits 1.
    assert [w.exitcode for w in workers] == [0, 0], [errors.get(timeout=5) for _ in range(errors.qsize())]
    rows = ResultsStore(path, create=False).rows()
    assert len(rows) == 400
    for k in range(CREATION_RACES):
        assert len(ResultsStore(Path(f"{path}.{k}"), create=False)) == 2
    for writer in (1, 2):
        mine = sorted((r["language"], r["value"]) for r in rows if r["arm"] == f"arm{writer}")
        assert mine == sorted((f"l{i}", float(i)) for i in range(200))


def test_store_that_cannot_be_used_fails_before_any_work(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"not a database at all" * 100)
    with pytest.raises(XstiltsError, match="results store"):
        ResultsStore(garbage)
    newer = tmp_path / "newer.sqlite"
    with sqlite3.connect(newer) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(XstiltsError, match="newer"):
        ResultsStore(newer)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE results (x)")
    with pytest.raises(XstiltsError, match="not an xstilts results store"):
        ResultsStore(other)
    with sqlite3.connect(other) as conn:  # another program's database is left as it was
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def two_seed_rows() -> list[dict[str, Any]]:
    # en: 70, 73 -> 71.5±2.1; de: 57, 50 -> 53.5±4.9. Per-seed averages 63.5 and 61.5 -> 62.5±1.4:
    # not the mean of the per-language spreads (3.5), since the seeds move the languages oppositely.
    values = {
        ("none", 1, "en"): 70.0,
        ("none", 2, "en"): 73.0,
        ("none", 1, "de"): 57.0,
        ("none", 2, "de"): 50.0,
    }
    # Arm nli lost seed 2 of de (a killed study): that cell and its average are flagged.
    values |= {("nli", 1, "en"): 80.0, ("nli", 2, "en"): 82.0, ("nli", 1, "de"): 60.0}
    rows = [
        result_row(arm=arm, seed=seed, run=f"{arm}{seed}", language=lang, value=value)
        for (arm, seed, lang), value in values.items()
    ]
    # Retrieval: the pretrained baseline (no seed) and the intermediate phase of arm nli.
    for lang, value in (("de", 30.0), ("ru", 20.0)):
        fields = {"task": "tatoeba", "split": "test"}
        rows.append(
            result_row(
                arm="pretrained", phase="pretrained", seed=None, run="p", language=lang, value=value, **fields
            )
        )
        rows.append(
            result_row(
                arm="pretrained",
                phase="pretrained",
                seed=None,
                run="p",
                language=lang,
                metric="layer",
                value=7.0,
                **fields,
            )
        )
        for seed in (1, 2):
            rows.append(
                result_row(
                    arm="nli",
                    phase="intermediate",
                    seed=seed,
                    run=f"i{seed}",
                    language=lang,
                    value=value + 10 * seed,
                    **fields,
                )
            )
    return rows


def table_lines(text: str, title_start: str) -> list[list[str]]:
    block = next(b for b in text.split("\n\n") if b.startswith(title_start))
    return [line.split() for line in block.splitlines()]


def test_tables_show_mean_and_std_over_seeds() -> None:
    text = format_tables(two_seed_rows())
    pawsx = table_lines(text, "pawsx")
    assert pawsx[0] == ["pawsx", "(dev,", "accuracy,", "mean±std", "over", "2", "seeds)"]
    assert pawsx[1] == ["language", "none", "nli"]
    assert pawsx[3] == ["en", "71.5±2.1", "81.0±1.4"]
    assert pawsx[4] == ["de", "53.5±4.9", "60.0*"]
    # nli's average uses only seed 1, the seed that has every language: (80 + 60) / 2.
    assert pawsx[5] == ["avg", "62.5±1.4", "70.0*"]
    assert pawsx[6][0] == "*"
    # Retrieval: one table per phase after pretrained, the pretrained model as its first column;
    # the `layer` setting is not a score and the pretrained phase has no table of its own.
    assert "after pretrained" not in text
    tatoeba = table_lines(text, "tatoeba")
    assert tatoeba[0][:4] == ["tatoeba", "(test,", "accuracy,", "after"]
    assert tatoeba[1] == ["language", "pretrained", "nli"]
    assert tatoeba[3:] == [
        ["de", "30.0", "45.0±7.1"],
        ["ru", "20.0", "35.0±7.1"],
        ["avg", "25.0", "40.0±7.1"],
    ]

    md = format_tables(two_seed_rows(), "md")
    assert "| en | 71.5±2.1 | 81.0±1.4 |" in md and "|---|---:|---:|" in md and "### pawsx" in md


def test_tables_pick_the_headline_metric_and_the_latest_run() -> None:
    # Tagging reports precision and recall before F1; the table shows F1 (XTREME's number).
    tagging = [
        result_row(task="udpos", metric=m, value=v)
        for m, v in (("precision", 1.0), ("recall", 2.0), ("f1", 3.0))
    ]
    assert table_lines(format_tables(tagging), "udpos")[0][:3] == ["udpos", "(dev,", "f1)"]
    # A study edited under the same name made a new run for the same arm and seed: the older run's
    # number is not a second seed.
    old = result_row(run="old", value=10.0, recorded_at="2024-01-01T00:00:00+00:00")
    new = result_row(run="new", value=20.0, recorded_at="2024-02-01T00:00:00+00:00")
    kept, left_out = current_rows([new, old])
    assert kept == [new] and left_out == 1
    assert table_lines(format_tables([old, new]), "pawsx")[3] == ["en", "20.0"]


def test_results_command_prints_tables_and_exports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ResultsStore(tmp_path / STORE_NAME)
    store.record(two_seed_rows())
    store.record([result_row(study="other", value=1.0)])
    out_csv, out_parquet = tmp_path / "r.csv", tmp_path / "r.parquet"
    args = ["results", str(tmp_path), "--study", "s", "--csv", str(out_csv), "--parquet", str(out_parquet)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("study s: ") and "en        71.5±2.1" in printed and "other" not in printed
    expected = store.rows(study="s")
    assert len(expected) == len(two_seed_rows())

    with out_csv.open(newline="") as handle:
        read = list(csv.DictReader(handle))
    for line in read:
        line["seed"] = int(line["seed"]) if line["seed"] else None
        line["task_version"] = int(line["task_version"])
        line["value"] = float(line["value"])
    assert read == expected

    import pyarrow.parquet as pq

    table = pq.read_table(out_parquet)
    assert table.column_names == list(COLUMNS)
    assert (
        str(table.schema.field("seed").type) == "int64" and str(table.schema.field("value").type) == "double"
    )
    assert table.to_pylist() == expected

    assert main(["results", str(tmp_path), "--format", "md"]) == 0
    printed = capsys.readouterr().out
    assert "## study s: " in printed and "## study other: " in printed and "| en | 71.5±2.1 |" in printed


def test_results_command_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["results", str(tmp_path / "missing")]) == 2
    assert "no such directory" in one_error_line(capsys)
    assert main(["results", str(tmp_path)]) == 2
    assert "no results store" in one_error_line(capsys)
    ResultsStore(tmp_path / STORE_NAME)
    assert main(["results", str(tmp_path)]) == 2
    assert "empty" in one_error_line(capsys)
    ResultsStore(tmp_path / STORE_NAME).record([result_row()])
    assert main(["results", str(tmp_path), "--study", "nope"]) == 2
    assert "it has s" in one_error_line(capsys)
    # An export into a missing folder stops before anything is printed or written.
    assert main(["results", str(tmp_path), "--csv", str(tmp_path / "no" / "r.csv")]) == 2
    assert "no such directory" in one_error_line(capsys) and capsys.readouterr().out == ""
    (tmp_path / STORE_NAME).write_bytes(b"garbage" * 1000)
    for suffix in ("-wal", "-shm"):
        (tmp_path / (STORE_NAME + suffix)).unlink(missing_ok=True)
    assert main(["results", str(tmp_path)]) == 2
    assert "results store" in one_error_line(capsys)


@pytest.mark.slow
def test_run_study_fills_the_store_as_it_goes(
    tmp_path: Path,
    shared_data: Path,
    cache_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from test_pipeline import STUDY, write_study

    from xstilts.config.study import load_study
    from xstilts.engine import runner, training

    small = {**STUDY, "arms": [STUDY["arms"][0]], "retrieval": []}
    study, registry = load_study(write_study(tmp_path, shared_data, small))
    out = tmp_path / "out"
    rows = runner.run_study(study, registry, out, cache_dir, progress=False)
    stored = ResultsStore(out / STORE_NAME, create=False).rows()
    assert len(stored) == len(rows) > 0
    version = registry.card("pawsx").version
    for made, kept in zip(rows, stored, strict=True):
        made = {k: v for k, v in made.items() if k != "examples_file"}  # a pointer, kept in its own table
        assert {k: kept[k] for k in made} == made
        assert kept["study"] == "e2e" and kept["task_version"] == version
        assert kept["code_version"] == xstilts.__version__
    assert {r["language"] for r in stored if r["metric"] == "accuracy"} == {"en", "de", "zh"}
    # A re-run reuses its runs and records the same numbers again: no new rows.
    runner.run_study(study, registry, out, cache_dir, progress=False)
    again = ResultsStore(out / STORE_NAME).rows()
    assert [r["recorded_at"] for r in again] > [r["recorded_at"] for r in stored]
    assert [{**r, "recorded_at": None} for r in again] == [{**r, "recorded_at": None} for r in stored]
    capsys.readouterr()
    assert main(["results", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[2] == "pawsx (dev, accuracy)" and printed[3].split() == ["language", "none"]
    assert [line.split()[0] for line in printed[5:]] == ["en", "de", "zh", "avg"]

    # A study killed after its first evaluation keeps that evaluation's numbers in the store.
    def killed(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "_train_and_commit", killed)
    killed_study = {
        **small,
        "name": "killed",
        "retrieval": [{"task": "tatoeba", "languages": ["de"], "size": 20, "after": ["pretrained"]}],
    }
    study, registry = load_study(write_study(tmp_path, shared_data, killed_study))
    with pytest.raises(KeyboardInterrupt):
        runner.run_study(study, registry, out / "killed", cache_dir, progress=False)
    kept = ResultsStore(out / "killed" / STORE_NAME, create=False).rows()
    assert {(r["task"], r["phase"], r["language"]) for r in kept} == {("tatoeba", "pretrained", "de")}
    assert not (out / "killed" / "results.json").exists()
