"""Per-example scores: every format's `records` give back its `score` by its `recipes` (mean of
per-example values, or ratio of summed counts), the runs keep them in Parquet beside their evals, and the
results store points a report at them."""

from __future__ import annotations

import json
import math
import sqlite3
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import result_row, retrieval_card

from xstilts.config.formats import get_format
from xstilts.config.registry import TaskRegistry
from xstilts.config.selection import subset_indices
from xstilts.data.examples import (
    Answer,
    ClassificationExample,
    QAExample,
    RetrievalCorpus,
    TaggingExample,
    TextExample,
    pool_languages,
)
from xstilts.errors import XstiltsError
from xstilts.formats.masked_lm import MaskedTokenPredictions
from xstilts.formats.retrieval import RETRIEVAL
from xstilts.formats.retrieval_benchmarks import score_bucc, score_pooled
from xstilts.results import recipes
from xstilts.results.example_files import read_examples_file, write_examples_file
from xstilts.results.store import STORE_NAME, ResultsStore

TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def registry(shared_data: Path) -> TaskRegistry:
    return TaskRegistry(shared_data)


def assert_reproduces(
    columns: dict[str, np.ndarray], metrics: dict[str, tuple[str, ...]], scores: dict[str, float]
) -> None:
    """The recipes name exactly `score`'s metrics, in its order, and give back its numbers."""
    assert list(metrics) == [m for m in scores if m in metrics]
    assert set(metrics) <= set(scores)
    recomputed = recipes.scores(columns, metrics)
    for name, value in recomputed.items():
        assert value == pytest.approx(scores[name], abs=TOLERANCE, rel=0), name
    lengths = {name: len(values) for name, values in columns.items()}
    assert len(set(lengths.values())) == 1, lengths


def assert_ids(columns: dict[str, np.ndarray], expected: Sequence[str]) -> None:
    ids = list(columns["id"])
    assert ids == list(expected)
    assert len(set(ids)) == len(ids), "example ids must be unique to align arms"


def corrupt(golds: Sequence[Any], choices: Sequence[Any], keep: float, seed: int) -> list[Any]:
    """Each gold kept with probability `keep`, else replaced by a random choice (maybe itself)."""
    rng = np.random.default_rng(seed)
    return [g if rng.random() < keep else choices[rng.integers(len(choices))] for g in golds]


# --- One format at a time ---------------------------------------------------------------------------


def test_classification_on_xnli(registry: TaskRegistry) -> None:
    card = registry.card("xnli")
    fmt = get_format(card.format)
    examples = registry.load("xnli", "dev", "de")
    # An unlabelled example is not scored, so it gets no row either.
    examples = [*examples, ClassificationExample("unlabelled-1", "a", "b", None)]
    predictions = corrupt([ex.label or "neutral" for ex in examples], card.labels, 0.6, seed=1)
    scores = fmt.score(examples, predictions, card)
    columns = fmt.records(examples, predictions, card, "de")
    assert_ids(columns, [ex.id for ex in examples[:-1]])
    assert 40.0 < scores["accuracy"] < 90.0  # neither trivial end
    assert 100.0 * columns["correct"].mean() == pytest.approx(scores["accuracy"], abs=TOLERANCE)
    assert set(np.unique(columns["correct"])) == {0, 1}
    assert list(columns["prediction"]) == predictions[:-1]
    assert_reproduces(columns, fmt.recipes(card), scores)


def test_multiple_choice_on_xcopa(registry: TaskRegistry) -> None:
    card = registry.card("xcopa")
    fmt = get_format(card.format)
    examples = registry.load("xcopa", "test", "zh")
    predictions = corrupt([ex.label for ex in examples], [0, 1], 0.5, seed=2)
    scores = fmt.score(examples, predictions, card)
    columns = fmt.records(examples, predictions, card)
    assert_ids(columns, [ex.id for ex in examples])
    assert columns["prediction"].tolist() == predictions
    assert 100.0 * columns["correct"].mean() == pytest.approx(scores["accuracy"], abs=TOLERANCE)
    assert_reproduces(columns, fmt.recipes(card), scores)


def qa_predictions(examples: Sequence[QAExample], seed: int) -> list[str]:
    """Right answers, half answers, answers with extra words, empty ones and wrong spans."""
    rng = np.random.default_rng(seed)
    predictions = []
    for ex in examples:
        gold = ex.answers[0].text if ex.answers else ""
        kind = rng.integers(5)
        if kind == 0:
            predictions.append(gold)
        elif kind == 1:
            predictions.append(gold[: max(1, len(gold) // 2)])
        elif kind == 2:
            predictions.append(f"the {gold} of it")
        elif kind == 3:
            predictions.append("")
        else:
            start = int(rng.integers(max(1, len(ex.context) - 20)))
            predictions.append(ex.context[start : start + 15])
    return predictions


@pytest.mark.parametrize("task, split, lang", [("xquad", "test", "de"), ("mlqa", "dev", "zh")])
def test_span_qa_on_real_data(task: str, split: str, lang: str, registry: TaskRegistry) -> None:
    card = registry.card(task)
    fmt = get_format(card.format)
    examples = registry.load(task, split, lang)[:400]
    predictions = qa_predictions(examples, seed=3)
    scores = fmt.score(examples, predictions, card, lang)
    columns = fmt.records(examples, predictions, card, lang)
    assert_ids(columns, [ex.id for ex in examples])
    assert 0.0 < scores["exact_match"] < scores["f1"] < 100.0
    assert np.all((columns["f1"] >= 0) & (columns["f1"] <= 1))
    assert np.all(columns["exact_match"] <= columns["f1"])  # an exact match has F1 1
    assert 100.0 * columns["f1"].mean() == pytest.approx(scores["f1"], abs=TOLERANCE)
    assert 100.0 * columns["exact_match"].mean() == pytest.approx(scores["exact_match"], abs=TOLERANCE)
    assert list(columns["prediction"]) == predictions
    assert_reproduces(columns, fmt.recipes(card), scores)


def test_span_qa_unanswerable_questions(registry: TaskRegistry) -> None:
    card = registry.card("squad-v2")
    fmt = get_format(card.format)
    context = "Paris is the capital of France."
    examples = [
        QAExample("q1", "What is the capital?", context, (Answer("Paris", 0),)),
        QAExample("q2", "Who?", context, (), is_impossible=True),
        QAExample("q3", "Whose capital?", context, (Answer("France", 24),)),
        QAExample("q4", "When?", context, (), is_impossible=True),
    ]
    predictions = ["Paris", "", "capital of France", "Paris"]
    scores = fmt.score(examples, predictions, card)
    columns = fmt.records(examples, predictions, card)
    assert columns["exact_match"].tolist() == [1.0, 1.0, 0.0, 0.0]
    assert columns["f1"][2] == pytest.approx(0.5)  # 'capital france' vs 'france'
    assert_reproduces(columns, fmt.recipes(card), scores)


@pytest.mark.parametrize(
    "task, split, lang, metrics",
    [
        ("panx", "dev", "de", ["f1", "precision", "recall"]),  # entity F1 (seqeval, IOB2 tags)
        ("udpos", "dev", "fr", ["f1", "precision", "recall", "accuracy"]),  # seqeval 0.0.12 POS chunks
        ("ud-ewt", "dev", "en", ["accuracy"]),  # token accuracy
    ],
)
def test_tagging_counts_sum_to_the_score(
    task: str, split: str, lang: str, metrics: list[str], registry: TaskRegistry
) -> None:
    card = registry.card(task)
    fmt = get_format(card.format)
    examples = registry.load(task, split, lang)[:600]
    rng = np.random.default_rng(4)
    # Whole sentences wrong, single tags wrong and sentences left right: chunks split and merge.
    predictions = [
        corrupt(ex.tags, card.labels, keep=float(rng.choice([0.0, 0.8, 1.0])), seed=i)
        for i, ex in enumerate(examples)
    ]
    scores = fmt.score(examples, predictions, card)
    columns = fmt.records(examples, predictions, card)
    assert list(scores) == metrics
    assert_ids(columns, [ex.id for ex in examples])
    assert 10.0 < scores[metrics[0]] < 95.0
    assert [list(p) for p in columns["prediction"]] == predictions
    assert columns["tokens"].sum() == sum(len(ex.tokens) for ex in examples)
    if "f1" in metrics:
        tp, predicted, gold = (
            columns[c].sum() for c in ("chunks_correct", "chunks_predicted", "chunks_gold")
        )
        assert 0 < tp < min(predicted, gold)
        assert 100.0 * 2 * tp / (predicted + gold) == pytest.approx(scores["f1"], abs=TOLERANCE)
        assert 100.0 * tp / predicted == pytest.approx(scores["precision"], abs=TOLERANCE)
        # A sentence can only hold its own chunks.
        assert np.all(
            columns["chunks_correct"] <= np.minimum(columns["chunks_predicted"], columns["chunks_gold"])
        )
    if "accuracy" in metrics:
        ratio = 100.0 * columns["tokens_correct"].sum() / columns["tokens"].sum()
        assert ratio == pytest.approx(scores["accuracy"], abs=TOLERANCE)
    assert_reproduces(columns, fmt.recipes(card), scores)


def test_tagging_leaves_out_untagged_sentences(registry: TaskRegistry) -> None:
    card = registry.card("panx")
    fmt = get_format(card.format)
    examples = [
        TaggingExample("s1", ("Angela", "Merkel", "spoke"), ("B-PER", "I-PER", "O")),
        TaggingExample("s2", ("in", "Berlin"), None),
        TaggingExample("s3", ("Paris", "and", "Rome"), ("B-LOC", "O", "B-LOC")),
        TaggingExample("s4", (), ()),  # an empty sentence still sits between its neighbours
        TaggingExample("s5", ("Rome",), ("B-LOC",)),
    ]
    predictions = [["B-PER", "O", "O"], ["O", "B-LOC"], ["B-LOC", "O", "B-ORG"], [], ["B-LOC"]]
    columns = fmt.records(examples, predictions, card)
    assert_ids(columns, ["s1", "s3", "s4", "s5"])
    assert columns["chunks_correct"].tolist() == [0, 1, 0, 1]
    assert columns["chunks_predicted"].tolist() == [1, 2, 0, 1]
    assert columns["chunks_gold"].tolist() == [1, 2, 0, 1]
    assert_reproduces(columns, fmt.recipes(card), fmt.score(examples, predictions, card))


def test_masked_lm_counts(registry: TaskRegistry) -> None:
    card = registry.card("mlm-tatoeba")
    fmt = get_format(card.format)
    rng = np.random.default_rng(5)
    examples, predictions = [], []
    for i in range(200):
        masked = int(rng.integers(0, 6))  # a short text may get no masked token at all
        gold = tuple(int(t) for t in rng.integers(5, 50, masked))
        predicted = tuple(g if rng.random() < 0.4 else int(rng.integers(5, 50)) for g in gold)
        log_probs = tuple(float(-rng.exponential(2.0)) for _ in gold)
        examples.append(TextExample(f"t{i}", "text"))
        predictions.append(MaskedTokenPredictions(gold, predicted, log_probs))
    scores = fmt.score(examples, predictions, card)
    columns = fmt.records(examples, predictions, card)
    assert_ids(columns, [ex.id for ex in examples])
    assert 0 in columns["tokens"]
    assert columns["tokens"].sum() == sum(len(p.gold) for p in predictions)
    perplexity = math.exp(-columns["log_prob_sum"].sum() / columns["tokens"].sum())
    assert perplexity == pytest.approx(scores["perplexity"], rel=1e-12)
    assert_reproduces(columns, fmt.recipes(card), scores)


# --- Retrieval --------------------------------------------------------------------------------------


def ngram_embed(texts: Sequence[str], dims: int = 256) -> np.ndarray:
    """Hashed character-trigram counts: similar strings get similar vectors, no model needed."""
    rows = np.zeros((len(texts), dims), dtype=np.float32)
    for row, text in enumerate(texts):
        padded = f"  {text.lower()}  "
        for i in range(len(padded) - 2):
            rows[row, zlib.crc32(padded[i : i + 3].encode()) % dims] += 1.0
    return rows + 1e-3  # no all-zero row (an empty text)


def test_tatoeba_per_query_with_the_tiny_model(registry: TaskRegistry, tiny) -> None:
    card = registry.card("tatoeba")

    def load(split: str, lang: str) -> RetrievalCorpus:
        return registry.load("tatoeba", split, lang)

    args = (tiny.encoder, tiny.tokenizer, card, load, "test", ["de", "fr"], -1)
    scored = RETRIEVAL.evaluate_split(*args, size=120)
    scores, columns = {k: v.scores for k, v in scored.items()}, {k: v.records for k, v in scored.items()}
    for lang in ("de", "fr"):
        corpus = load("test", lang).head(120)
        assert_ids(columns[lang], corpus.query_ids)
        assert 0.0 < scores[lang]["accuracy"] < 100.0
        hits = [p == f"tgt-{i + 1}" for i, p in enumerate(columns[lang]["prediction"])]
        assert columns[lang]["correct"].tolist() == [int(h) for h in hits]
        assert_reproduces(columns[lang], RETRIEVAL.recipes(card), scores[lang])


def bucc_corpus(n_sources: int, seed: int) -> RetrievalCorpus:
    """Sources of which 60% have a (lightly edited) translation among the targets, plus distractors."""
    rng = np.random.default_rng(seed)
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]

    def sentence() -> str:
        return " ".join(rng.choice(words, size=int(rng.integers(4, 9))))

    sources = [sentence() for _ in range(n_sources)]
    targets, gold = [], {}
    for i, text in enumerate(sources):
        if rng.random() < 0.6:
            edited = text if rng.random() < 0.5 else f"{text} {rng.choice(words)}"
            gold[f"s{i}"] = frozenset({f"t{len(targets)}"})
            targets.append(edited)
    targets += [sentence() for _ in range(n_sources // 2)]
    return RetrievalCorpus(
        tuple(f"s{i}" for i in range(len(sources))),
        tuple(sources),
        tuple(f"t{i}" for i in range(len(targets))),
        tuple(targets),
        gold,
    )


@pytest.mark.parametrize("how", ["tuned on itself", "chosen on dev", "given"])
def test_bucc_counts_per_source_sentence(how: str) -> None:
    corpus = bucc_corpus(300, seed=6)
    kwargs: dict[str, Any] = {}
    if how == "chosen on dev":
        kwargs["dev_corpus"] = bucc_corpus(300, seed=7)
    elif how == "given":
        kwargs["threshold"] = 1.02
    scored = score_bucc(corpus, ngram_embed, **kwargs)
    scores, columns = scored.scores, scored.records
    assert_ids(columns, corpus.query_ids)
    assert 0.0 < scores["f1"] < 100.0
    assert columns["pairs_gold"].sum() == len(corpus.gold)
    assert set(columns["pairs_predicted"].tolist()) <= {0, 1}  # one partner per sentence
    extracted = [(s, t) for s, t in zip(columns["id"], columns["prediction"], strict=True) if t]
    assert len(extracted) == columns["pairs_predicted"].sum()
    assert sum((s, t) in {(q, next(iter(g))) for q, g in corpus.gold.items()} for s, t in extracted) == (
        columns["pairs_correct"].sum()
    )
    assert_reproduces(columns, RETRIEVAL.recipes(retrieval_card("bucc_f1")), scores)


@pytest.mark.slow
def test_bucc_on_real_data(registry: TaskRegistry) -> None:
    corpus = registry.load("bucc", "dev", "zh").head(3000)
    scored = score_bucc(corpus, ngram_embed)
    scores, columns = scored.scores, scored.records
    assert_ids(columns, corpus.query_ids)
    assert columns["pairs_gold"].sum() == sum(len(g) for g in corpus.gold.values()) > 0
    assert_reproduces(columns, RETRIEVAL.recipes(registry.card("bucc")), scores)


@pytest.mark.slow
def test_lareqa_average_precision_per_question(registry: TaskRegistry) -> None:
    card = registry.card("lareqa")
    languages = ["de", "en", "es"]
    pool = pool_languages({lang: registry.load("lareqa", "test", lang) for lang in languages})
    args = (pool, ngram_embed, ngram_embed, ["de", "en"])
    scored = score_pooled(*args, size=150)
    scores, columns = {k: v.scores for k, v in scored.items()}, {k: v.records for k, v in scored.items()}
    for lang in ("de", "en"):
        assert_ids(columns[lang], [pool.query_ids[row] for row in pool.query_rows(lang)[:150]])
        assert 0.0 < scores[lang]["map@20"] < 100.0
        assert np.all((columns[lang]["average_precision"] >= 0) & (columns[lang]["average_precision"] <= 1))
        assert_reproduces(columns[lang], RETRIEVAL.recipes(card), scores[lang])


# --- Files and the store ------------------------------------------------------------------------------


def objects(values: list[Any]) -> np.ndarray:
    """A 1-d object array of tuples (np.array would make equal-length tuples a 2-d array)."""
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def test_examples_file_round_trip_and_resampling(tmp_path: Path) -> None:
    languages = {
        "de": {
            "id": np.array(["a", "b", "c"], dtype=object),
            "correct": np.array([1, 0, 1], dtype=np.int8),
            "prediction": objects([("B-PER", "O"), ("O",), ()]),
        },
        "zh": {
            "id": np.array(["d"], dtype=object),
            "correct": np.array([0], dtype=np.int8),
            "prediction": objects([("O", "O")]),
        },
    }
    path = tmp_path / "evals" / "x.examples.parquet"
    write_examples_file(path, languages, {"accuracy": ("mean", "correct")}, run="r1")
    back = read_examples_file(path)
    assert list(back.languages) == ["de", "zh"]
    assert back.metrics == {"accuracy": ("mean", "correct")} and back.info == {"run": "r1"}
    assert back.languages["de"]["id"].tolist() == ["a", "b", "c"]
    assert back.languages["de"]["correct"].dtype == np.int8
    assert [list(p) for p in back.languages["de"]["prediction"]] == [["B-PER", "O"], ["O"], []]
    assert [f.name for f in path.parent.iterdir()] == [path.name]  # no temporary file left
    columns, recipe = back.languages["de"], back.metrics
    assert recipes.scores(columns, recipe)["accuracy"] == pytest.approx(200 / 3)
    # A bootstrap resample: indices with repeats.
    assert recipes.scores(columns, recipe, [0, 0, 2, 1])["accuracy"] == 75.0
    counts = {"tp": np.array([0, 0]), "p": np.array([0, 1]), "g": np.array([2, 0])}
    zero = {"f1": ("f1", "tp", "p", "g"), "precision": ("ratio", "tp", "p"), "recall": ("ratio", "tp", "g")}
    assert recipes.scores(counts, zero) == {"f1": 0.0, "precision": 0.0, "recall": 0.0}
    with pytest.raises(ValueError, match="columns"):
        write_examples_file(path, {"de": languages["de"], "zh": {"id": languages["zh"]["id"]}}, {})
    with pytest.raises(ValueError, match="one value per example"):
        write_examples_file(path, {"de": {"id": np.array([["a", "b"]], dtype=object)}}, {})


def test_store_points_at_example_files(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path / STORE_NAME)
    file = tmp_path / "runs" / "target-r1" / "evals" / "pawsx-dev-1.examples.parquet"
    columns = {"id": np.array(["x", "y"], dtype=object), "correct": np.array([1, 0], dtype=np.int8)}
    write_examples_file(file, {"de": columns, "en": columns}, {"accuracy": ("mean", "correct")})
    store.record(
        [
            result_row(language="de", examples_file=str(file)),
            result_row(language="de", metric="loss", value=0.5, examples_file=str(file)),
            result_row(language="en", examples_file=str(file)),
            result_row(
                language="de", arm="pretrained", phase="pretrained", seed=None, run="p", task="tatoeba"
            ),  # no file
        ]
    )
    assert len(store) == 4
    pointers = store.example_files()
    assert [(p["language"], p["path"]) for p in pointers] == [("de", str(file)), ("en", str(file))]
    with sqlite3.connect(tmp_path / STORE_NAME) as conn:  # kept relative: the directory may move
        assert conn.execute("SELECT DISTINCT path FROM example_files").fetchall() == [
            ("runs/target-r1/evals/pawsx-dev-1.examples.parquet",)
        ]
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    found = store.examples("s", language="en")
    assert len(found) == 1 and found[0].seed == 1 and found[0].columns["id"].tolist() == ["x", "y"]
    assert found[0].scores() == {"accuracy": 50.0} and len(found[0]) == 2
    # Recorded again (a re-run): replaced, not added.
    assert store.record_examples([{**result_row(language="en"), "path": str(file)}]) == 1
    assert len(store.example_files()) == 2
    with pytest.raises(ValueError, match="lacks path"):
        store.record_examples([result_row(language="de")])
    file.unlink()
    with pytest.raises(XstiltsError, match="cannot read the per-example file"):
        store.examples("s")


def test_older_store_reads_and_upgrades(tmp_path: Path) -> None:
    path = tmp_path / STORE_NAME
    ResultsStore(path).record([result_row(language="de")])
    with sqlite3.connect(path) as conn:  # back to schema 1: no example_files table
        conn.execute("DROP TABLE example_files")
        conn.execute("PRAGMA user_version = 1")
    reader = ResultsStore(path, create=False)  # `xstilts results` on an old directory still works
    assert [r["value"] for r in reader.rows()] == [50.0] and reader.example_files() == []
    ResultsStore(path).record([result_row(language="en", examples_file=str(tmp_path / "f.parquet"))])
    assert [p["language"] for p in ResultsStore(path, create=False).example_files()] == ["en"]


# --- A study run -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def study_run(tmp_path_factory: pytest.TempPathFactory, shared_data: Path, cache_dir: Path):
    """One arm (no intermediate phase) with PAWS-X as target and Tatoeba before and after it."""
    from test_pipeline import STUDY, write_study

    from xstilts.config.study import load_study
    from xstilts.engine.runner import run_study

    tmp = tmp_path_factory.mktemp("examples-study")
    spec = {
        **STUDY,
        "name": "examples",
        # Keep the target run's weights: a test below re-scores an evaluation whose per-example file
        # was lost, which needs them (with the default, `reused`, that study is refused instead).
        "checkpoints": {"keep": "all"},
        "arms": [STUDY["arms"][0]],
        "retrieval": [
            {"task": "tatoeba", "languages": ["de", "ru"], "size": 40, "after": ["pretrained", "target"]}
        ],
    }
    study, registry = load_study(write_study(tmp, shared_data, spec))
    out = tmp / "out"
    rows = run_study(study, registry, out, cache_dir, progress=False)
    return study, registry, out, rows, cache_dir


def example_files(out: Path) -> dict[str, Path]:
    return {
        f"{p.parent.parent.name.split('-')[0]}/{p.name.split('-')[0]}": p
        for p in out.glob("runs/*/evals/*.parquet")
    }


@pytest.mark.slow
def test_study_leaves_example_files(study_run) -> None:
    _, _, out, rows, _ = study_run
    files = example_files(out)
    assert sorted(files) == ["pretrained/tatoeba", "target/pawsx", "target/tatoeba"]
    for name, file in files.items():
        assert file.with_name(file.name.replace(".examples.parquet", ".json")).is_file()
        data = read_examples_file(file)
        task = name.split("/")[1]
        assert list(data.languages) == (["en", "de", "zh"] if task == "pawsx" else ["de", "ru"])
        for lang, columns in data.languages.items():
            assert len(columns["id"]) == (24 if task == "pawsx" else 40)
            assert len(set(columns["id"])) == len(columns["id"])
            recorded = {
                r["metric"]: r["value"]
                for r in rows
                if r["task"] == task and r["language"] == lang and r["phase"] == name.split("/")[0]
            }
            recomputed = recipes.scores(columns, data.metrics)
            assert recomputed and all(
                recomputed[m] == pytest.approx(recorded[m], abs=TOLERANCE) for m in recomputed
            )
    # PAWS-X rows are the evaluated selection, in its order: the 24 pairs the study's subset picks.
    study, registry = study_run[0], study_run[1]
    selection = study.targets[0].evaluate
    dev = registry.load("pawsx", "dev", "de")
    keep = subset_indices(len(dev), selection.size_for("de", len(dev)), selection.offset, selection.seed)
    pawsx = read_examples_file(files["target/pawsx"]).languages["de"]["id"].tolist()
    assert pawsx == [dev[i].id for i in keep]


@pytest.mark.slow
def test_store_returns_the_examples_of_a_study(study_run) -> None:
    _, _, out, _, _ = study_run
    store = ResultsStore(out / STORE_NAME, create=False)
    found = store.examples("examples")
    assert sorted({(e.task, e.phase, e.language) for e in found}) == sorted(
        [("pawsx", "target", lang) for lang in ("en", "de", "zh")]
        + [("tatoeba", phase, lang) for phase in ("pretrained", "target") for lang in ("de", "ru")]
    )
    recorded = {
        (r["task"], r["phase"], r["language"], r["metric"]): r["value"] for r in store.rows("examples")
    }
    for evaluation in found:
        for metric, value in evaluation.scores().items():
            assert value == pytest.approx(
                recorded[(evaluation.task, evaluation.phase, evaluation.language, metric)]
            )
    # Two phases of the same retrieval data are aligned example by example: a paired test can pair them.
    by_phase = {e.phase: e for e in store.examples("examples", task="tatoeba", language="de")}
    assert by_phase["pretrained"].columns["id"].tolist() == by_phase["target"].columns["id"].tolist()
    assert by_phase["pretrained"].seed is None and by_phase["target"].seed == 3


@pytest.mark.slow
def test_rerun_reuses_example_files_and_redoes_missing_ones(study_run) -> None:
    from xstilts.engine.runner import run_study

    study, registry, out, rows, cache_dir = study_run
    files = example_files(out)
    stamps = {name: file.stat().st_mtime_ns for name, file in files.items()}
    again = run_study(study, registry, out, cache_dir, progress=False)
    assert {name: file.stat().st_mtime_ns for name, file in example_files(out).items()} == stamps
    assert [r["value"] for r in again] == [r["value"] for r in rows]
    # An evaluation scored before per-example files existed (its json alone) is evaluated again.
    lost = files["target/pawsx"]
    before = read_examples_file(lost).languages["zh"]
    lost.unlink()
    scores_file = lost.with_name(lost.name.replace(".examples.parquet", ".json"))
    scores_before = json.loads(scores_file.read_text())
    run_study(study, registry, out, cache_dir, progress=False)
    after = read_examples_file(lost).languages["zh"]
    assert after["id"].tolist() == before["id"].tolist()
    assert after["correct"].tolist() == before["correct"].tolist()
    assert json.loads(scores_file.read_text()) == scores_before
    assert {
        name: file.stat().st_mtime_ns for name, file in example_files(out).items() if name != "target/pawsx"
    } == {name: stamp for name, stamp in stamps.items() if name != "target/pawsx"}


def test_evaluate_retrieval_keeps_bucc_and_pooled_examples(tmp_path: Path, tiny) -> None:
    from test_retrieval_benchmarks import _mewsli_files, _workspace, _write_bucc, evaluate_retrieval

    from xstilts.config.study import Retrieval

    data = tmp_path / "data"
    _write_bucc(data, "de", "dev", pairs=6, extra=6)
    _write_bucc(data, "de", "test", pairs=5, extra=7)
    _mewsli_files(data / "xtreme-r" / "mewslix")
    ws, phase = _workspace(tmp_path, data, tiny)

    bucc = evaluate_retrieval(ws, phase, Retrieval(task="bucc", split="test", languages=["de"], size=10))
    written = read_examples_file(bucc.examples_file)
    columns = written.languages["de"]
    assert_ids(columns, ws.registry.load("bucc", "test", "de").head(10).query_ids)
    assert columns["pairs_gold"].sum() == 5  # the gold pairs among the first 10 sources
    assert written.info["layer"] == int(bucc["de"]["layer"])
    assert_reproduces(columns, written.metrics, bucc["de"])

    mewsli = evaluate_retrieval(ws, phase, Retrieval(task="mewsli-x", split="test", languages=["en", "de"]))
    written = read_examples_file(mewsli.examples_file)
    assert list(written.languages) == ["en", "de"]
    assert written.languages["en"]["id"].tolist() == ["m-en-1", "m-en-2"]
    for lang in ("en", "de"):
        assert written.languages[lang]["average_precision"].tolist() == [1.0] * len(
            written.languages[lang]["id"]
        )
        assert_reproduces(written.languages[lang], written.metrics, mewsli[lang])
    # Asked again: the same evaluation, read back with its file, nothing scored.
    again = evaluate_retrieval(ws, phase, Retrieval(task="mewsli-x", split="test", languages=["en", "de"]))
    assert again == mewsli and again.examples_file == mewsli.examples_file
