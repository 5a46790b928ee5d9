"""The retrieval format: sentence embedding with a real (tiny, random) XLM-R, and scoring corpora."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import retrieval_card

from xstilts.config.cards import TaskCard
from xstilts.data.examples import RetrievalCorpus
from xstilts.errors import ConfigError, XstiltsError
from xstilts.formats.retrieval import RETRIEVAL
from xstilts.formats.sentence_embeddings import embed_sentences

SENTENCES = (
    "The cat sleeps on the warm windowsill.",
    "Der Zug nach Berlin hat heute zwanzig Minuten Verspätung.",
    "我们明天早上八点在火车站见面。",
    "¿Dónde está la biblioteca municipal?",
    "Квантовая механика описывает поведение элементарных частиц.",
    "OK",
    "سوف نسافر إلى القاهرة في الصيف القادم مع العائلة.",
    "Numbers like 3.14159 and 2.71828 appear everywhere in mathematics and physics.",
)


def _card(metric: str) -> TaskCard:
    return retrieval_card(metric, layer=-1)


def _embed(tiny, sentences, layer: int = -1, **kwargs) -> np.ndarray:
    return embed_sentences(tiny.encoder, tiny.tokenizer, sentences, layer, **kwargs)


# --- embed_sentences ------------------------------------------------------------------------------


def test_rows_come_back_in_input_order_whatever_the_length_sorting(tiny) -> None:
    # batch_size 3 over 8 sentences of mixed lengths: batches are cut from the length-sorted order,
    # yet row i must still be sentence i (compared with each sentence embedded on its own).
    batched = _embed(tiny, SENTENCES, batch_size=3)
    alone = np.stack([_embed(tiny, [s])[0] for s in SENTENCES])
    assert batched.shape == (len(SENTENCES), tiny.encoder.config.hidden_size)
    assert batched.dtype == np.float32
    np.testing.assert_allclose(batched, alone, atol=1e-5)
    assert not np.allclose(batched[0], batched[1], atol=1e-3)  # the rows really differ


def test_padding_does_not_change_a_sentence_embedding(tiny) -> None:
    short, long = "OK", " ".join(["a much longer sentence"] * 20)
    alone = _embed(tiny, [short])[0]
    beside_long = _embed(tiny, [short, long], batch_size=2)[0]
    assert len(tiny.tokenizer(long)["input_ids"]) > 10 * len(tiny.tokenizer(short)["input_ids"])
    np.testing.assert_allclose(beside_long, alone, atol=1e-5)


def test_layer_selection_and_mean_pooling(tiny) -> None:
    layers = tiny.encoder.config.num_hidden_layers
    sentence = [SENTENCES[1]]
    top, embedding_layer = _embed(tiny, sentence, layer=-1), _embed(tiny, sentence, layer=0)
    assert not np.allclose(top, embedding_layer, atol=1e-3)
    np.testing.assert_allclose(top, _embed(tiny, sentence, layer=layers), atol=1e-6)  # -1 is the top
    # layer 0 by hand: the embedding output averaged over all tokens (no padding in a batch of one)
    inputs = tiny.tokenizer(sentence, return_tensors="pt")
    with torch.inference_mode():
        states = tiny.encoder(**inputs, output_hidden_states=True).hidden_states
    np.testing.assert_allclose(embedding_layer[0], states[0][0].mean(dim=0).numpy(), atol=1e-5)


def test_an_out_of_range_layer_is_a_config_error(tiny) -> None:
    states = tiny.encoder.config.num_hidden_layers + 1
    with pytest.raises(ConfigError, match=f"out of range for an encoder with {states} hidden states"):
        _embed(tiny, ["x"], layer=states)


def test_dropout_is_off_while_embedding_and_the_mode_is_restored(tiny) -> None:
    expected = _embed(tiny, SENTENCES[:2])
    tiny.encoder.train()
    try:
        np.testing.assert_allclose(_embed(tiny, SENTENCES[:2]), expected, atol=1e-6)
        assert tiny.encoder.training
    finally:
        tiny.encoder.eval()


def test_no_sentences_give_an_empty_matrix(tiny) -> None:
    assert _embed(tiny, []).shape == (0, tiny.encoder.config.hidden_size)


# --- RetrievalFormat.evaluate ---------------------------------------------------------------------


def test_tatoeba_identical_sentences_score_100(tiny) -> None:
    order = [3, 0, 7, 5, 1, 6, 2, 4]  # candidates shuffled; the gold map says where each one went
    corpus = RetrievalCorpus(
        query_ids=tuple(f"q{i}" for i in range(len(SENTENCES))),
        queries=SENTENCES,
        candidate_ids=tuple(f"c{i}" for i in order),
        candidates=tuple(SENTENCES[i] for i in order),
        gold={f"q{i}": frozenset({f"c{i}"}) for i in range(len(SENTENCES))},
    )
    assert RETRIEVAL.evaluate(tiny.encoder, tiny.tokenizer, corpus, _card("tatoeba_accuracy"), -1).scores == {
        "accuracy": 100.0
    }


def test_tatoeba_without_gold_aligns_line_by_line(tiny) -> None:
    ids = tuple(str(i) for i in range(len(SENTENCES)))
    aligned = RetrievalCorpus(ids, SENTENCES, ids, SENTENCES)
    rotated = RetrievalCorpus(ids, SENTENCES, ids, SENTENCES[1:] + SENTENCES[:1])
    card = _card("tatoeba_accuracy")
    assert RETRIEVAL.evaluate(tiny.encoder, tiny.tokenizer, aligned, card, -1).scores["accuracy"] == 100.0
    # every query's identical sentence now sits one line off, so line-by-line gold is never hit
    assert RETRIEVAL.evaluate(tiny.encoder, tiny.tokenizer, rotated, card, -1).scores["accuracy"] == 0.0


def _bucc_corpus() -> RetrievalCorpus:
    # sources 0-3 have an identical copy among the targets; 4-7 have no partner
    targets = (
        SENTENCES[2],
        "Ein völlig anderer Satz.",
        SENTENCES[0],
        "Totally unrelated words here",
        SENTENCES[5],
        SENTENCES[1],
        "もう一つの文です。",
    )
    return RetrievalCorpus(
        query_ids=tuple(f"zh-{i}" for i in range(len(SENTENCES))),
        queries=SENTENCES,
        candidate_ids=tuple(f"en-{i}" for i in range(len(targets))),
        candidates=targets,
        gold={
            "zh-0": frozenset({"en-2"}),
            "zh-1": frozenset({"en-5"}),
            "zh-2": frozenset({"en-0"}),
            "zh-5": frozenset({"en-4"}),
        },
    )


def test_bucc_tunes_the_threshold_on_dev_or_says_it_used_test(tiny) -> None:
    corpus, card = _bucc_corpus(), _card("bucc_f1")
    on_itself = RETRIEVAL.evaluate(tiny.encoder, tiny.tokenizer, corpus, card, -1).scores
    assert on_itself["f1"] == pytest.approx(100.0)
    assert on_itself["threshold_tuned_on_scored_data"] == 1.0
    assert on_itself["threshold"] > 0
    with_dev = RETRIEVAL.evaluate(tiny.encoder, tiny.tokenizer, corpus, card, -1, dev_corpus=corpus).scores
    assert "threshold_tuned_on_scored_data" not in with_dev
    assert with_dev["threshold"] == pytest.approx(on_itself["threshold"])
    assert set(with_dev) == {"f1", "precision", "recall", "threshold"}


def test_map_at_20_finds_identical_answers_first(tiny) -> None:
    # each question's one relevant candidate is its identical copy: rank 1, AP 1 / min(20, 1) = 1
    candidates = SENTENCES + ("Filler one.", "Filler two.")
    corpus = RetrievalCorpus(
        query_ids=("a", "b"),
        queries=(SENTENCES[0], SENTENCES[3]),
        candidate_ids=tuple(f"c{i}" for i in range(len(candidates))),
        candidates=candidates,
        gold={"a": frozenset({"c0"}), "b": frozenset({"c3"})},
    )
    scores = RETRIEVAL.evaluate(
        tiny.encoder, tiny.tokenizer, corpus, _card("map@20"), -1, batch_size=4
    ).scores
    assert scores == {"map@20": pytest.approx(100.0)}


def test_bad_retrieval_inputs_raise_user_errors(tiny) -> None:
    corpus = RetrievalCorpus(("q",), ("x",), ("c1", "c2"), ("x", "y"), {"q": frozenset({"c1", "c2"})})
    with pytest.raises(ConfigError, match="retrieval has no metric 'accuracy'"):
        RETRIEVAL.evaluate(tiny.encoder, tiny.tokenizer, corpus, _card("accuracy"), -1)
    with pytest.raises(XstiltsError, match="query 'q' has 2 gold candidates"):
        RETRIEVAL.evaluate(tiny.encoder, tiny.tokenizer, corpus, _card("tatoeba_accuracy"), -1)
    missing = RetrievalCorpus(("q",), ("x",), ("c1",), ("x",), {"q": frozenset({"c9"})})
    with pytest.raises(XstiltsError, match="not in the corpus"):
        RETRIEVAL.evaluate(tiny.encoder, tiny.tokenizer, missing, _card("map@20"), -1)
    assert RETRIEVAL.trainable is False and RETRIEVAL.name == "retrieval"
