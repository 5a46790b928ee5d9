"""Every wired task card on real data: read through the registry -> featurise -> a fresh head on
the tiny random model predicts -> decode -> the task's metric. Catches any mismatch between a
card, its reader and its format."""

from __future__ import annotations

import pytest
import torch

from xstilts.config.features import FeatureOptions
from xstilts.config.formats import get_format
from xstilts.config.registry import TaskRegistry
from xstilts.data.examples import RetrievalCorpus
from xstilts.training.loop import evaluate
from xstilts.training.task_model import TaskModel

CASES = [
    ("xnli", "dev", "de", "accuracy"),
    ("pawsx", "dev", "ja", "accuracy"),
    ("udpos", "test", "ja", "f1"),
    ("panx", "dev", "ar", "f1"),
    ("ud-ewt", "dev", "en", "accuracy"),
    ("xquad", "test", "th", "f1"),
    ("mlqa", "dev", "zh", "f1"),
    ("tydiqa", "dev", "ko", "f1"),
    ("tydiqa", "train", "sw", "f1"),
    ("xcopa", "test", "zh", "accuracy"),
    ("xcopa", "dev", "en", "accuracy"),
    ("copa", "train", "en", "accuracy"),
    ("siqa", "dev", "en", "accuracy"),
    ("cosmosqa", "dev", "en", "accuracy"),
    ("commonsenseqa", "dev", "en", "accuracy"),
]


@pytest.fixture(scope="module")
def registry(shared_data) -> TaskRegistry:
    return TaskRegistry(shared_data)


@pytest.mark.parametrize("task, split, lang, metric", CASES, ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES])
def test_zero_shot_evaluation_on_real_data(task, split, lang, metric, registry, tiny) -> None:
    card = registry.card(task)
    fmt = get_format(card.format)
    examples = registry.load(task, split, lang)[:40]
    settings = FeatureOptions().settings(card.format)
    features = fmt.featurize(examples, tiny.tokenizer, card, settings)
    assert {f["example_index"] for f in features} == set(range(len(examples)))
    torch.manual_seed(0)
    model = TaskModel(tiny.encoder, {task: fmt.build_head(card, tiny.encoder.config.hidden_size)})
    predictions, scores = evaluate(
        model, card, fmt, examples, features, settings, tiny.tokenizer.pad_token_id, lang=lang
    )
    assert len(predictions) == len(examples)
    assert metric in scores and 0.0 <= scores[metric] <= 100.0


@pytest.mark.parametrize("task, split, lang", [("tatoeba", "test", "zh"), ("tatoeba", "test", "de")])
def test_retrieval_on_real_data(task, split, lang, registry, tiny) -> None:
    card = registry.card(task)
    corpus = registry.load(task, split, lang)
    assert isinstance(corpus, RetrievalCorpus) and len(corpus) == 1000
    scored = get_format(card.format).evaluate(tiny.encoder, tiny.tokenizer, corpus.head(100), card, layer=2)
    scores = scored.scores
    assert 0.0 <= scores["accuracy"] <= 100.0


@pytest.mark.slow
def test_bucc_on_real_data(registry, tiny) -> None:
    card = registry.card("bucc")
    corpus = registry.load("bucc", "dev", "zh")
    assert len(corpus.gold) == 257
    small = corpus.head(300)
    scores = get_format("retrieval").evaluate(tiny.encoder, tiny.tokenizer, small, card, layer=1).scores
    assert {"f1", "precision", "recall"} <= set(scores)
