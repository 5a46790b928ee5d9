"""Retrieval scored as XTREME / XTREME-R score it: BUCC's dev-chosen threshold applied to test,
LAReQA's 11-language pool, Mewsli-X's mention -> entity retrieval, mAP@20.

Hand-computed cases use a lookup "embedder" (text -> chosen vector), so every cosine, margin and
rank is known; the tiny random model checks the wiring end to end.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from xstilts.config.registry import TaskRegistry
from xstilts.config.study import Retrieval
from xstilts.data.codecs import read
from xstilts.data.codecs.lareqa import read_lareqa
from xstilts.data.codecs.mewsli_x import read_mewsli_x
from xstilts.data.examples import RetrievalCorpus, pool_languages
from xstilts.engine.evaluation import EvalScores, evaluate
from xstilts.engine.phase_model import PhaseModel
from xstilts.engine.workspace import Workspace
from xstilts.errors import DataFormatError, XstiltsError
from xstilts.formats.retrieval import RETRIEVAL
from xstilts.formats.retrieval_benchmarks import choose_bucc_threshold, score_bucc, score_pooled
from xstilts.metrics.retrieval import TUNED_ON_SCORED, average_precisions_at_k
from xstilts.plan.graph import pretrained_node, retrieval_evaluation
from xstilts.training.task_model import TaskModel

LAREQA_LANGS = ["ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"]


def lookup(vectors: dict[str, Sequence[float]]):
    """An embedder that maps each text to its chosen vector."""

    def embed(texts: Sequence[str]) -> np.ndarray:
        return np.array([vectors[t] for t in texts], dtype=np.float32).reshape(len(texts), -1)

    return embed


def unit(degrees: float) -> tuple[float, float]:
    return math.cos(math.radians(degrees)), math.sin(math.radians(degrees))


# --- mAP@k ---------------------------------------------------------------------------------------


def test_average_precision_per_query_by_hand() -> None:
    # candidates at 0, 30, 60, 90, 120 degrees: a query at 0 ranks them in that order
    candidates = np.array([unit(a) for a in (0, 30, 60, 90, 120)], dtype=np.float32)
    query = np.array([unit(0)], dtype=np.float32)
    queries = np.concatenate([query, query, query])
    gold = [{1, 3}, {0, 2, 4}, {4}]
    # {1,3}: hits at ranks 2 and 4 -> (1/2 + 2/4) / 2 = 0.5
    # {0,2,4}: ranks 1, 3, 5 -> (1 + 2/3 + 3/5) / 3 = 0.7555...
    # {4}: rank 5 -> (1/5) / 1 = 0.2
    expected = [0.5, (1 + 2 / 3 + 3 / 5) / 3, 0.2]
    np.testing.assert_allclose(average_precisions_at_k(queries, candidates, gold, k=20), expected, rtol=1e-6)
    # k=3: rank 5 falls out; divisor min(3, |relevant|): (1 + 2/3) / 3, and the third query has none
    np.testing.assert_allclose(
        average_precisions_at_k(queries, candidates, gold, k=3), [0.5 / 2, (1 + 2 / 3) / 3, 0.0], rtol=1e-6
    )


# --- pooling languages (LAReQA) and scoring per query language -------------------------------------


def _two_language_parts() -> dict[str, RetrievalCorpus]:
    def part(lang: str) -> RetrievalCorpus:
        return RetrievalCorpus(
            query_ids=("q1", "q2"),
            queries=(f"Q1 {lang}", f"Q2 {lang}"),
            candidate_ids=("1_0", "1_1"),
            candidates=(f"A1 {lang}", f"A2 {lang}"),
            gold={"q1": frozenset({"1_0"}), "q2": frozenset({"1_1"})},
        )

    return {"xx": part("xx"), "yy": part("yy")}


def test_pool_links_each_question_to_its_answer_in_every_language() -> None:
    pool = pool_languages(_two_language_parts())
    assert pool.query_ids == ("xx:q1", "xx:q2", "yy:q1", "yy:q2")
    assert pool.query_languages == ("xx", "xx", "yy", "yy")
    assert pool.candidate_ids == ("xx:1_0", "xx:1_1", "yy:1_0", "yy:1_1")
    assert pool.candidate_languages == ("xx", "xx", "yy", "yy")
    assert pool.gold["yy:q1"] == {"xx:1_0", "yy:1_0"}
    assert pool.gold["xx:q2"] == {"xx:1_1", "yy:1_1"}
    assert pool.query_rows("yy") == [2, 3]
    # head keeps languages aligned with their queries
    assert pool.head(3).query_languages == ("xx", "xx", "yy")


def test_pool_of_a_shared_multilingual_corpus_is_that_corpus() -> None:
    shared = RetrievalCorpus(("m1", "m2"), ("a", "b"), ("Q1",), ("e",), {}, ("en", "de"))
    assert pool_languages({"en": shared, "de": shared}) is shared
    other = RetrievalCorpus(("m3",), ("c",), ("Q1",), ("e",), {}, ("en",))
    with pytest.raises(ValueError, match="not one shared multilingual pool"):
        pool_languages({"en": shared, "de": other})
    with pytest.raises(ValueError, match="not one shared multilingual pool"):
        pool_languages({"en": shared, "de": _two_language_parts()["xx"]})


def test_map_per_query_language_by_hand() -> None:
    pool = pool_languages(_two_language_parts())
    # candidates on the unit circle; each question's two relevant answers (its own language's and
    # the other's) and where its own angle puts them in the ranking:
    vectors = {
        "A1 xx": unit(0),
        "A2 xx": unit(40),
        "A1 yy": unit(80),
        "A2 yy": unit(120),
        # 0 deg: A1xx 0, A2xx 40, A1yy 80, A2yy 120 -> relevant A1xx, A1yy at ranks 1, 3: (1 + 2/3)/2
        "Q1 xx": unit(0),
        # 130: A2yy 10, A1yy 50, A2xx 90, A1xx 130 -> relevant A2yy, A2xx at ranks 1, 3: (1 + 2/3)/2
        "Q2 xx": unit(130),
        # 65: A1yy 15, A2xx 25, A2yy 55, A1xx 65 -> relevant A1yy, A1xx at ranks 1, 4: (1 + 2/4)/2
        "Q1 yy": unit(65),
        # 190: A2yy 70, A1yy 110, A2xx 150, A1xx 170 -> relevant A2yy, A2xx at ranks 1, 3: (1 + 2/3)/2
        "Q2 yy": unit(190),
    }
    embed = lookup(vectors)
    five_sixths = (1 + 2 / 3) / 2
    scores = {lang: s.scores for lang, s in score_pooled(pool, embed, embed, ["xx", "yy"]).items()}
    assert scores["xx"]["map@20"] == pytest.approx(100 * five_sixths)
    assert scores["yy"]["map@20"] == pytest.approx(100 * (0.75 + five_sixths) / 2)
    # k=2: every question finds one relevant answer at rank 1 out of min(2, 2) -> AP 0.5
    assert {lang: s.scores for lang, s in score_pooled(pool, embed, embed, ["xx", "yy"], k=2).items()} == {
        "xx": {"map@2": 50.0},
        "yy": {"map@2": 50.0},
    }
    # size=1: the first question of each language only
    first = {lang: s.scores for lang, s in score_pooled(pool, embed, embed, ["yy", "xx"], size=1).items()}
    assert first == {
        "yy": {"map@20": pytest.approx(75.0)},
        "xx": {"map@20": pytest.approx(100 * five_sixths)},
    }
    with pytest.raises(XstiltsError, match="no queries in language 'zz'"):
        score_pooled(pool, embed, embed, ["zz"])


# --- BUCC: the threshold chosen on dev, applied to test -------------------------------------------


def _bucc(prefix: str, diagonal: Sequence[float], gold: Sequence[int]) -> tuple[RetrievalCorpus, dict]:
    """A 4 x 4 BUCC corpus whose source-target cosines are `diagonal` on the diagonal and 0.1
    elsewhere. Source i is the unit vector e_i; target j is column j of that matrix, padded to unit
    length in a fifth dimension, so cos(source i, target j) is exactly that matrix entry.

    With 4 neighbours (all of them) each side's kNN mean is its row / column mean, (d + 0.3) / 4,
    so the ratio margin of pair (i, i) is d / ((d + 0.3) / 4) = 4d / (d + 0.3), every off-diagonal
    margin is below 0.8, and mining keeps exactly the four diagonal pairs.
    """
    n = len(diagonal)
    matrix = np.full((n, n), 0.1)
    np.fill_diagonal(matrix, diagonal)
    vectors = {}
    for i in range(n):
        vectors[f"{prefix} source {i}"] = [*np.eye(n)[i], 0.0]
        column = matrix[:, i]
        vectors[f"{prefix} target {i}"] = [*column, math.sqrt(1 - float(column @ column))]
    corpus = RetrievalCorpus(
        query_ids=tuple(f"s{i}" for i in range(n)),
        queries=tuple(f"{prefix} source {i}" for i in range(n)),
        candidate_ids=tuple(f"t{i}" for i in range(n)),
        candidates=tuple(f"{prefix} target {i}" for i in range(n)),
        gold={f"s{i}": frozenset({f"t{i}"}) for i in gold},
    )
    return corpus, vectors


def test_bucc_threshold_from_dev_differs_from_the_test_optimum_and_is_applied_to_test() -> None:
    # dev margins 4d/(d+0.3): 3.0 (gold), 2.8 (gold), 2.5, 2.0. F1 walking down: 2/3, 1.0, 0.8, 2/3,
    # so the threshold sits halfway between 2.8 and 2.5.
    dev, dev_vectors = _bucc("dev", [0.9, 0.7, 0.5, 0.3], gold=[0, 1])
    # test margins: 2.8 (gold), 8/3 (not gold), 2.4 (gold), 1.6 (not gold)
    test, test_vectors = _bucc("test", [0.7, 0.6, 0.45, 0.2], gold=[0, 2])
    embed = lookup({**dev_vectors, **test_vectors})

    threshold = choose_bucc_threshold(dev, embed)
    assert threshold == pytest.approx(2.65, abs=1e-5)

    # At 2.65 test extracts 2.8 (gold) and 8/3 (not): P = R = 1/2, F1 = 1/2.
    scores = score_bucc(test, embed, dev_corpus=dev).scores
    assert scores == {
        "precision": pytest.approx(50.0),
        "recall": pytest.approx(50.0),
        "f1": pytest.approx(50.0),
        "threshold": pytest.approx(2.65, abs=1e-5),
    }
    assert score_bucc(test, embed, threshold=threshold).scores == scores

    # Tuned on test itself the F1 peak is after 2.4 (P 2/3, R 1, F1 0.8), threshold (2.4 + 1.6) / 2:
    # a better number, and flagged, because it was chosen on the pairs it scores.
    on_itself = score_bucc(test, embed).scores
    assert on_itself["f1"] == pytest.approx(80.0)
    assert on_itself["precision"] == pytest.approx(200 / 3)
    assert on_itself["recall"] == pytest.approx(100.0)
    assert on_itself["threshold"] == pytest.approx(2.0, abs=1e-5)
    assert on_itself[TUNED_ON_SCORED] == 1.0
    assert TUNED_ON_SCORED not in scores

    with pytest.raises(XstiltsError, match="not both"):
        score_bucc(test, embed, threshold=2.0, dev_corpus=dev)


def _write_bucc(root: Path, lang: str, split: str, pairs: int, extra: int) -> None:
    folder = root / "xtreme" / "bucc2018"
    folder.mkdir(parents=True, exist_ok=True)
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
    src, tgt, gold = [], [], []
    for i in range(pairs + extra):
        sentence = f"{split} {words[i % len(words)]} {i} {' '.join(words[: i % 5 + 1])}"
        src.append(f"{lang}-{i:09d}\t{sentence}")
        if i < pairs:
            tgt.append(f"en-{i:09d}\t{sentence}")
            gold.append(f"{lang}-{i:09d}\ten-{i:09d}")
        else:
            tgt.append(f"en-{i:09d}\tunrelated {words[-1 - i % len(words)]} number {i * 7}")
    (folder / f"{lang}-en.{split}.{lang}").write_text("\n".join(src) + "\n")
    (folder / f"{lang}-en.{split}.en").write_text("\n".join(tgt) + "\n")
    (folder / f"{lang}-en.{split}.gold").write_text("\n".join(gold) + "\n")


def _workspace(tmp_path: Path, data_dir: Path, tiny) -> tuple[Workspace, PhaseModel]:
    ws = Workspace(tmp_path / "out", TaskRegistry(data_dir), None, "cpu", progress=False)
    node = pretrained_node(ws.out_dir, "random:tiny")
    node.run.ensure_exists()
    phase = PhaseModel(ws, node, model=TaskModel(tiny.encoder, {}), tokenizer=tiny.tokenizer)
    return ws, phase


def evaluate_retrieval(ws: Workspace, phase: PhaseModel, spec: Retrieval) -> EvalScores:
    """A study's retrieval entry, planned as `xstilts run` plans it, then evaluated on `phase`."""
    return evaluate(ws, phase, retrieval_evaluation(spec, ws.registry)[0])


def test_pipeline_scores_bucc_test_with_the_dev_threshold(tmp_path: Path, tiny) -> None:
    data = tmp_path / "data"
    _write_bucc(data, "de", "dev", pairs=6, extra=6)
    _write_bucc(data, "de", "test", pairs=5, extra=7)
    _write_bucc(data, "fr", "test", pairs=5, extra=7)  # no French dev
    ws, phase = _workspace(tmp_path, data, tiny)
    card = ws.registry.card("bucc")
    dev = ws.registry.load("bucc", "dev", "de").head(10)
    test = ws.registry.load("bucc", "test", "de").head(10)

    scores = evaluate_retrieval(ws, phase, Retrieval(task="bucc", split="test", languages=["de"], size=10))
    layer = int(scores["de"]["layer"])
    # the threshold is the one chosen on (the same-sized subset of) dev, and test is scored with it
    threshold = RETRIEVAL.bucc_threshold(tiny.encoder, tiny.tokenizer, dev, card, layer)
    assert scores["de"]["threshold"] == pytest.approx(threshold)
    applied = RETRIEVAL.evaluate(tiny.encoder, tiny.tokenizer, test, card, layer, threshold=threshold).scores
    assert {k: scores["de"][k] for k in applied} == pytest.approx(applied)
    assert TUNED_ON_SCORED not in scores["de"]

    # dev only (this machine's BUCC): tuned on the data it scores, and said so
    on_dev = evaluate_retrieval(ws, phase, Retrieval(task="bucc", split="dev", languages=["de"], size=10))
    assert on_dev["de"][TUNED_ON_SCORED] == 1.0
    assert on_dev["de"]["threshold"] == pytest.approx(threshold)

    with pytest.raises(
        DataFormatError, match="fr-en.dev.fr: file not found \\(task bucc needs dev to choose"
    ):
        evaluate_retrieval(ws, phase, Retrieval(task="bucc", split="test", languages=["fr"]))


def test_pipeline_scores_tatoeba_per_language_pair(tmp_path: Path, shared_data: Path, tiny) -> None:
    ws, phase = _workspace(tmp_path, shared_data, tiny)
    scores = evaluate_retrieval(
        ws, phase, Retrieval(task="tatoeba", languages=["de", "zh"], size=20, layer=1)
    )
    card = ws.registry.card("tatoeba")
    for lang in ("de", "zh"):
        corpus = ws.registry.load("tatoeba", "test", lang).head(20)
        expected = RETRIEVAL.evaluate(tiny.encoder, tiny.tokenizer, corpus, card, 1).scores
        assert scores[lang] == {**expected, "layer": 1.0}


# --- LAReQA on the real XQuAD-R files -------------------------------------------------------------


@pytest.fixture(scope="module")
def xquad_r(shared_data: Path) -> dict[str, RetrievalCorpus]:
    folder = shared_data / "xtreme-r" / "lareqa" / "xquad-r"
    return {lang: read_lareqa(folder / f"{lang}.json") for lang in LAREQA_LANGS}


def test_lareqa_reader_on_the_real_files(xquad_r: dict[str, RetrievalCorpus], shared_data: Path) -> None:
    assert {len(c.queries) for c in xquad_r.values()} == {1190}  # SOURCES.md: 1190 questions each
    english = xquad_r["en"]
    assert len(english.candidates) == 1180  # the sentences of its 240 paragraphs
    assert {c.split("_")[0] for c in english.candidate_ids} == {str(n) for n in range(1, 241)}
    raw = json.loads((shared_data / "xtreme-r/lareqa/xquad-r/en.json").read_text())["data"][0]["paragraphs"][
        0
    ]
    first = raw["sentences"][0]
    assert english.query_ids[0] == "56beb4343aeaaa14008c925b" and "308" in first  # answer_start 34
    assert english.gold["56beb4343aeaaa14008c925b"] == {"1_0"}
    # the candidate text XTREME-R embeds: the sentence, then its whole paragraph, no separator
    assert english.candidates[0] == (first + raw["context"]).replace("\n", "")

    pool = pool_languages(xquad_r)
    assert (len(pool.queries), len(pool.candidates)) == (11 * 1190, 13014)
    # every question has 11 relevant sentences, one in each language, its own included
    for qid in pool.query_ids:
        assert sorted(c.split(":")[0] for c in pool.gold[qid]) == LAREQA_LANGS
    assert pool.gold["de:56beb4343aeaaa14008c925b"] >= {"de:1_0", "zh:1_0", "en:1_0"}


def _first_paragraphs(corpus: RetrievalCorpus, paragraphs: int) -> RetrievalCorpus:
    """The questions of the first paragraphs with those paragraphs' sentences (test-sized pool)."""
    keep = [i for i, c in enumerate(corpus.candidate_ids) if int(c.split("_")[0]) <= paragraphs]
    kept = {corpus.candidate_ids[i] for i in keep}
    rows = [i for i, q in enumerate(corpus.query_ids) if corpus.gold[q] <= kept]
    return RetrievalCorpus(
        tuple(corpus.query_ids[i] for i in rows),
        tuple(corpus.queries[i] for i in rows),
        tuple(corpus.candidate_ids[i] for i in keep),
        tuple(corpus.candidates[i] for i in keep),
        {corpus.query_ids[i]: corpus.gold[corpus.query_ids[i]] for i in rows},
    )


@pytest.mark.slow
def test_lareqa_pool_on_real_data_with_the_tiny_model(xquad_r: dict[str, RetrievalCorpus], tiny) -> None:
    parts = {lang: _first_paragraphs(corpus, 3) for lang, corpus in xquad_r.items()}
    pool = pool_languages(parts)
    card = TaskRegistry(Path(".")).card("lareqa")
    pooled = RETRIEVAL.evaluate_pooled(tiny.encoder, tiny.tokenizer, pool, card, 1, ["en", "zh", "th"])
    scores = {lang: s.scores for lang, s in pooled.items()}
    assert list(scores) == ["en", "zh", "th"]
    for metrics in scores.values():
        assert set(metrics) == {"map@20"} and 0.0 <= metrics["map@20"] <= 100.0
    # the pool is 11 languages' sentences of those paragraphs; chance AP is far from 1
    assert len(pool.candidates) == sum(len(p.candidates) for p in parts.values()) > 100


def test_lareqa_split_pools_every_language_whatever_is_scored(tiny) -> None:
    card = TaskRegistry(Path(".")).card("lareqa")
    calls = []

    def load(split: str, lang: str) -> RetrievalCorpus:
        calls.append((split, lang))
        # the same texts in every language: the question is its answer's exact text, so all 11
        # answers (one per language) share the top cosine and AP is 1, whatever the random model
        return RetrievalCorpus(
            ("q",),
            ("The answer sentence.",),
            ("1_0", "1_1"),
            ("The answer sentence.", "Something else."),
            {"q": frozenset({"1_0"})},
        )

    split = RETRIEVAL.evaluate_split(tiny.encoder, tiny.tokenizer, card, load, "test", ["de", "en"], 1)
    scores = {lang: s.scores for lang, s in split.items()}
    assert calls == [("test", lang) for lang in card.split_languages("test")]
    assert len(calls) == 11
    assert scores == {"de": {"map@20": pytest.approx(100.0)}, "en": {"map@20": pytest.approx(100.0)}}


def _lareqa_file(path: Path, paragraphs: list[dict]) -> Path:
    path.write_text(json.dumps({"version": "1.1", "data": [{"title": "T", "paragraphs": paragraphs}]}))
    return path


def _paragraph(context: str, breaks: list, qas: list[tuple[str, int]]) -> dict:
    return {
        "context": context,
        "sentence_breaks": breaks,
        "qas": [
            {"id": qid, "question": f"question {qid}?", "answers": [{"text": "x", "answer_start": start}]}
            for qid, start in qas
        ],
    }


def test_lareqa_reader_rules_on_small_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    one = "Red fox. Blue sky. Red fox."  # sentences [0,8) [9,18) [19,27): the first and last are equal
    two = "Gap here.  Next."  # [0,9) and [11,16): offset 9-10 lies in no sentence
    path = _lareqa_file(
        tmp_path / "xx.json",
        [
            _paragraph(one, [[0, 8], [9, 18], [19, 27]], [("a", 4), ("b", 10)]),
            _paragraph(two, [[0, 9], [11, 16]], [("c", 9)]),
        ],
    )
    with caplog.at_level(logging.WARNING):
        corpus = read("lareqa", {"path": path})
    assert "skipped 1 questions whose answer starts in no sentence" in caplog.text
    assert corpus.query_ids == ("a", "b")
    # paragraph 2 kept no question, so (as in the reference) its sentences are not candidates
    assert corpus.candidate_ids == ("1_0", "1_1", "1_2")
    assert corpus.candidates[1] == "Blue sky." + one
    # "Red fox." occurs twice in the paragraph: both copies are the answer
    assert corpus.gold == {"a": {"1_0", "1_2"}, "b": {"1_1"}}

    bad_cases = [
        (
            [_paragraph(one, [[0, 8], [9, 40]], [("a", 1)])],
            "sentence_breaks\\[1\\]: expected \\[start, end\\]",
        ),
        ([_paragraph(one, [[0, 8]], [("a", 99)])], "answer_start 99 is outside the context"),
        ([_paragraph(one, [[0, 8]], [("a", 1), ("a", 2)])], "question id 'a' is repeated"),
    ]
    for paragraphs, message in bad_cases:
        with pytest.raises(DataFormatError, match=message):
            read_lareqa(_lareqa_file(tmp_path / "bad.json", paragraphs))
    two_answers = _paragraph(one, [[0, 8]], [("a", 1)])
    two_answers["qas"][0]["answers"].append({"text": "y", "answer_start": 2})
    with pytest.raises(DataFormatError, match="has 2 answers, expected 1"):
        read_lareqa(_lareqa_file(tmp_path / "bad.json", [two_answers]))
    (tmp_path / "broken.json").write_text('{"data": [\n  {"paragraphs": }\n]}')
    with pytest.raises(DataFormatError, match="broken.json:2: invalid JSON"):
        read_lareqa(tmp_path / "broken.json")


# --- Mewsli-X ---------------------------------------------------------------------------------------

EN_TEXT = "Strike in Helsinki\n\nIn Helsinki, drivers {union} went on strike. Buses stopped."
DE_TEXT = "Berlin ist groß.\nDie Stadt\nBerlin wächst."
# The query strings XTREME-R's preprocess_mention makes of the three mentions below, worked by hand:
# the mention's sentence only, "{ mention }" marked, "mention: " in front, {...} in the sentence
# escaped to (...), line breaks to spaces, then one pass of "  " -> " ".
EN_TITLE_QUERY = "Helsinki: Strike in { Helsinki }"
EN_BODY_QUERY = "Helsinki: In { Helsinki } , drivers (union) went on strike."
DE_QUERY = "Berlin: Die Stadt { Berlin } wächst."


def _mention(example_id: str, text: str, surface: str, occurrence: int, entity: str) -> dict:
    start = -1
    for _ in range(occurrence):
        start = text.index(surface, start + 1)
    span = {"start": start, "end": start + len(surface), "text": surface}
    return {"example_id": example_id, "mention_span": span, "entity_id": entity, "metadata": {"bin": "b1"}}


def _article(doc: str, lang: str, text: str, spans: list[tuple[int, int]], mentions: list[dict]) -> dict:
    context = {
        "document_title": doc,
        "document_url": f"https://{lang}.wikinews.org/wiki?curid={doc}",
        "document_id": f"{lang}-{doc}",
        "language": lang,
        "text": text,
        "sentence_spans": [{"start": s, "end": e} for s, e in spans],
    }
    return {"context": context, "mentions": mentions}


def _entity(entity_id: str, description: str, spans: list[tuple[int, int]] | None = None) -> dict:
    spans = spans or [(0, len(description))]
    return {
        "entity_id": entity_id,
        "title": entity_id,
        "description": description,
        "description_language": "en",
        "description_url": f"https://en.wikipedia.org/wiki/{entity_id}",
        "sentence_spans": [{"start": s, "end": e} for s, e in spans],
    }


def _write_jsonl(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def _mewsli_files(folder: Path, split: str = "test") -> tuple[Path, Path]:
    articles = [
        _article(
            "1",
            "en",
            EN_TEXT,
            [(0, 18), (20, 64), (65, 79)],
            [
                _mention("m-en-1", EN_TEXT, "Helsinki", 1, "Q1"),
                _mention("m-en-2", EN_TEXT, "Helsinki", 2, "Q2"),
            ],
        ),
        _article("2", "de", DE_TEXT, [(0, 16), (17, 41)], [_mention("m-de-1", DE_TEXT, "Berlin", 2, "Q3")]),
    ]
    # Each gold entity's description is its mention's query text, so a random encoder still ranks it
    # first (cosine 1); the distractors check that the whole set is searched.
    entities = [
        _entity("Q1", EN_TITLE_QUERY),
        _entity("Q2", EN_BODY_QUERY),
        _entity("Q3", DE_QUERY),
        _entity("Q4", "Helsinki is the capital of Finland. [1] It lies on the coast.", [(0, 35), (40, 61)]),
        _entity("Q5", "Berlin   is the capital.\nOf Germany."),
        *[_entity(f"Q{n}", f"Distractor entity number {n} of the candidate set.") for n in range(6, 30)],
    ]
    mentions = _write_jsonl(folder / f"wikinews_mentions-{split}.jsonl", articles)
    return mentions, _write_jsonl(folder / "candidate_set_entities.jsonl", entities)


def test_mewsli_x_reader_builds_the_reference_texts(tmp_path: Path) -> None:
    mentions, entities = _mewsli_files(tmp_path)
    corpus = read("mewsli_x", {"mentions": mentions, "entities": entities})
    assert corpus.query_ids == ("m-en-1", "m-en-2", "m-de-1")
    assert corpus.queries == (EN_TITLE_QUERY, EN_BODY_QUERY, DE_QUERY)
    assert corpus.query_languages == ("en", "en", "de")
    assert corpus.gold == {"m-en-1": {"Q1"}, "m-en-2": {"Q2"}, "m-de-1": {"Q3"}}
    assert len(corpus.candidates) == 29 and corpus.candidate_languages == ()
    by_id = dict(zip(corpus.candidate_ids, corpus.candidates, strict=True))
    # only the annotated sentences, joined by one space ("[1]" lies between them)
    assert by_id["Q4"] == "Helsinki is the capital of Finland. It lies on the coast."
    # newline -> space; one replace pass turns the three spaces into two, exactly as the reference does
    assert by_id["Q5"] == "Berlin  is the capital. Of Germany."


def test_mewsli_x_reader_errors_name_file_and_line(tmp_path: Path) -> None:
    mentions, entities = _mewsli_files(tmp_path / "ok")
    good = [json.loads(line) for line in mentions.read_text(encoding="utf-8").splitlines()]

    def broken(change) -> Path:
        records = json.loads(json.dumps(good))
        change(records[1])
        return _write_jsonl(tmp_path / "bad" / "mentions.jsonl", records)

    def no_text(r):
        r["context"]["text"] = ""

    def crossing(r):
        r["mentions"][0]["mention_span"] = {"start": 14, "end": 20, "text": DE_TEXT[14:20]}

    def unknown(r):
        r["mentions"][0]["entity_id"] = "Q999"

    def wrong_surface(r):
        r["mentions"][0]["mention_span"]["text"] = "Bonn"

    cases = [
        (no_text, "mentions.jsonl:2: context.text is empty: this is the release file without article text"),
        (crossing, "mentions.jsonl:2: mentions\\[0\\].mention_span \\[14, 20\\) lies in no single sentence"),
        (unknown, "mentions.jsonl:2: mentions\\[0\\].entity_id 'Q999' is not in"),
        (
            wrong_surface,
            "mentions.jsonl:2: mentions\\[0\\].mention_span: text 'Bonn' but the context has 'Berlin'",
        ),
    ]
    for change, message in cases:
        with pytest.raises(DataFormatError, match=message):
            read_mewsli_x(broken(change), entities)
    lines = entities.read_text(encoding="utf-8").splitlines()
    twice = _write_jsonl(tmp_path / "bad" / "entities.jsonl", [json.loads(x) for x in lines + lines[:1]])
    with pytest.raises(
        DataFormatError, match=f"entities.jsonl:{len(lines) + 1}: entity_id 'Q1' repeats line 1"
    ):
        read_mewsli_x(mentions, twice)
    (tmp_path / "bad" / "cut.jsonl").write_text(lines[0] + "\n" + lines[1][:40] + "\n")
    with pytest.raises(DataFormatError, match="cut.jsonl:2: invalid JSON"):
        read_mewsli_x(mentions, tmp_path / "bad" / "cut.jsonl")


def test_pipeline_scores_mewsli_x_per_language_reading_the_files_once(
    tmp_path: Path, tiny, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    _mewsli_files(data / "xtreme-r" / "mewslix")
    ws, phase = _workspace(tmp_path, data, tiny)
    assert ws.registry.present("mewsli-x") == {"test": ws.registry.card("mewsli-x").languages}
    loads = []
    real_load = ws.registry.load
    monkeypatch.setattr(ws.registry, "load", lambda *args: loads.append(args) or real_load(*args))

    scores = evaluate_retrieval(ws, phase, Retrieval(task="mewsli-x", split="test", languages=["en", "de"]))
    assert loads == [("mewsli-x", "test", "ar")]  # one read serves all 11 languages of the pool
    assert set(scores) == {"en", "de"}
    for metrics in scores.values():
        # every gold entity's text equals its query's: rank 1, AP 1
        assert metrics["map@20"] == pytest.approx(100.0)
        assert metrics["layer"] == float(int(metrics["layer"]))
    with pytest.raises(XstiltsError, match="no queries in language 'ja'"):
        evaluate_retrieval(ws, phase, Retrieval(task="mewsli-x", split="test", languages=["ja"]))


# --- cards -------------------------------------------------------------------------------------------


def test_lareqa_and_mewsli_x_cards(shared_data: Path) -> None:
    registry = TaskRegistry(shared_data)
    lareqa, mewsli = registry.card("lareqa"), registry.card("mewsli-x")
    assert (lareqa.format, lareqa.metric, mewsli.format, mewsli.metric) == ("retrieval", "map@20") * 2
    assert sorted(lareqa.benchmarks["xtreme-r"].languages) == LAREQA_LANGS
    assert lareqa.benchmarks["xtreme-r"].split == "test"
    assert sorted(mewsli.benchmarks["xtreme-r"].languages) == "ar de en es fa ja pl ro ta tr uk".split()
    assert mewsli.benchmarks["xtreme-r"].split == "test"
    assert registry.present("lareqa") == {"test": lareqa.languages}
    assert registry.present("mewsli-x") == {}  # not on this machine
    # every Mewsli-X language reads the same two files
    assert (
        len({tuple(sorted(registry.files("mewsli-x", "dev", lang).items())) for lang in mewsli.languages})
        == 1
    )
