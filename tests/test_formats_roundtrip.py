"""One generic test per format (as AllenNLP does): featurise -> train a few steps on the tiny
random model -> the loss falls -> save -> load -> the same predictions."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from xstilts.config.cards import TaskCard
from xstilts.config.features import FeatureSettings
from xstilts.config.formats import get_format
from xstilts.config.training import TrainConfig
from xstilts.data.examples import (
    Answer,
    ClassificationExample,
    MultipleChoiceExample,
    QAExample,
    TaggingExample,
)
from xstilts.models.sources import load_model
from xstilts.training.loop import TrainingTask, predict, to_device, train
from xstilts.training.task_model import TaskModel, load_heads, save_checkpoint

CLASSIFICATION = [
    ClassificationExample("c1", "The cat sleeps on the sofa.", "A cat is sleeping.", "yes"),
    ClassificationExample("c2", "Der Zug ist pünktlich.", "The train is late.", "no"),
    ClassificationExample("c3", "Il pleut à Paris.", "It is raining in Paris.", "yes"),
    ClassificationExample("c4", "Она купила хлеб.", "She sold the car.", "no"),
    ClassificationExample("c5", "我们明天去北京。", "We go to Beijing tomorrow.", "yes"),
]
MULTIPLE_CHOICE = [
    MultipleChoiceExample(
        "m1",
        "The man broke his toe.",
        "What was the cause?",
        ("He dropped a hammer on his foot.", "He got a hole in his sock."),
        0,
    ),
    MultipleChoiceExample(
        "m2",
        "I poured water on the fire.",
        "What happened as a result?",
        ("The fire went out.", "The fire grew larger."),
        0,
    ),
    MultipleChoiceExample(
        "m3",
        "The girl ran out of energy.",
        "What was the cause?",
        ("She read a book.", "She ran a marathon."),
        1,
    ),
    MultipleChoiceExample(
        "m4", "Die Straße war nass.", "What was the cause?", ("Die Sonne schien.", "Es hatte geregnet."), 1
    ),
]
CONTEXT = "Marie Curie was born in Warsaw in 1867. She won the Nobel Prize in Physics in 1903."
QA = [
    QAExample("q1", "Where was Marie Curie born?", CONTEXT, (Answer("Warsaw", CONTEXT.index("Warsaw")),)),
    QAExample("q2", "When did she win the Nobel Prize?", CONTEXT, (Answer("1903", CONTEXT.index("1903")),)),
    QAExample("q3", "In which year was she born?", CONTEXT, (Answer("1867", CONTEXT.index("1867")),)),
    QAExample(
        "q4",
        "Which prize did she win?",
        CONTEXT,
        (Answer("the Nobel Prize in Physics", CONTEXT.index("the Nobel Prize in Physics")),),
    ),
]
TAGGING = [
    TaggingExample("t1", ("Anna", "lives", "in", "Berlin", "."), ("B-PER", "O", "O", "B-LOC", "O")),
    TaggingExample("t2", ("Die", "Vereinten", "Nationen", "tagen", "."), ("O", "B-ORG", "I-ORG", "O", "O")),
    TaggingExample("t3", ("Москва", "—", "столица", "России"), ("B-LOC", "O", "O", "B-LOC")),
    TaggingExample("t4", ("Juan", "Pérez", "trabaja", "en", "Google"), ("B-PER", "I-PER", "O", "O", "B-ORG")),
]
NER_LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]

CASES = {
    "classification": (CLASSIFICATION, {"labels": ["no", "yes"], "metric": "accuracy"}),
    "multiple_choice": (MULTIPLE_CHOICE, {"metric": "accuracy"}),
    "span_qa": (QA, {"metric": "squad"}),
    "tagging": (TAGGING, {"labels": NER_LABELS, "metric": "f1"}),
}


def card_for(fmt: str, extra: dict) -> TaskCard:
    return TaskCard(
        name=f"toy-{fmt}",
        format=fmt,
        reader="none",
        languages=["en"],
        splits={"train": {"path": "none"}},
        **extra,
    )


def mean_loss(model: TaskModel, fmt, task: str, features, pad_id: int) -> float:
    model.eval()
    with torch.inference_mode():
        batch = to_device(fmt.collate(features, pad_id), next(model.parameters()).device)
        return float(fmt.loss(model(task, batch), batch))


@pytest.mark.slow
@pytest.mark.parametrize("format_name", list(CASES))
def test_train_save_load_same_predictions(format_name: str, tiny, tmp_path: Path) -> None:
    examples, extra = CASES[format_name]
    card = card_for(format_name, extra)
    fmt = get_format(format_name)
    settings = FeatureSettings(max_length=64, max_query_length=16, doc_stride=16)
    features = fmt.featurize(examples, tiny.tokenizer, card, settings)
    pad_id = tiny.tokenizer.pad_token_id

    encoder = copy.deepcopy(tiny.encoder)
    torch.manual_seed(0)
    model = TaskModel(encoder, {card.name: fmt.build_head(card, encoder.config.hidden_size)})
    before = mean_loss(model, fmt, card.name, features, pad_id)
    # Frozen word embeddings: AdamW over the 250k-row table would dominate the step time.
    config = TrainConfig(
        learning_rate=3e-3, batch_size=4, epochs=80, warmup=0.0, patience=None, freeze_word_embeddings=True
    )
    result = train(
        model, [TrainingTask(card, fmt, features, settings)], config, pad_id, seed=0, progress=False
    )
    after = mean_loss(model, fmt, card.name, features, pad_id)
    assert result.steps > 0
    assert after < 0.5 * before, f"{format_name}: loss {before:.3f} -> {after:.3f}"

    logits = predict(model, card.name, fmt, features, pad_id)
    predictions = fmt.decode(examples, features, logits, card, settings)
    save_checkpoint(tmp_path / "ckpt", model, tiny.tokenizer)

    reloaded = load_model(f"path:{tmp_path / 'ckpt' / 'encoder'}")
    heads = {card.name: fmt.build_head(card, reloaded.encoder.config.hidden_size)}
    load_heads(tmp_path / "ckpt", heads)
    model2 = TaskModel(reloaded.encoder, heads)
    features2 = fmt.featurize(examples, reloaded.tokenizer, card, settings)
    logits2 = predict(model2, card.name, fmt, features2, pad_id)
    assert fmt.decode(examples, features2, logits2, card, settings) == predictions
    for a, b in zip(logits, logits2, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    # A trained tiny model fits its four or five examples: the scores must reflect that.
    metrics = fmt.score(examples, predictions, card)
    assert next(iter(metrics.values())) >= 50.0
