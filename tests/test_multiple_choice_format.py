"""The multiple-choice format with the real XLM-R tokenizer and a tiny random XLM-R encoder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import toy_card, train_fresh_head

from xstilts.config.features import FeatureSettings
from xstilts.data.examples import MultipleChoiceExample
from xstilts.errors import XstiltsError
from xstilts.formats.multiple_choice import MULTIPLE_CHOICE, NO_LABEL

DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TASK = toy_card("toy-copa", "multiple_choice", "accuracy")


def copa_like() -> list[MultipleChoiceExample]:
    rows = [
        ("The man turned on the faucet.", "The toilet filled.", "Water flowed.", 1),
        ("The girl found a bug in her cereal.", "She poured milk.", "She lost her appetite.", 1),
        ("The woman retired.", "She received her pension.", "She paid off her mortgage.", 0),
        ("I wanted to conserve energy.", "I swept the floor.", "I turned off the lights.", 1),
    ]
    return [
        MultipleChoiceExample(str(i), premise, "effect", (first, second), label)
        for i, (premise, first, second, label) in enumerate(rows, start=1)
    ]


def test_featurize_encodes_context_question_and_each_choice_as_a_pair(tokenizer):
    examples = copa_like()[:2]
    features = MULTIPLE_CHOICE.featurize(examples, tokenizer, TASK, FeatureSettings())
    assert [f["example_index"] for f in features] == [0, 1]
    assert [f["label"] for f in features] == [1, 1]
    assert len(features[0]["input_ids"]) == 2
    expected = tokenizer("The man turned on the faucet. effect", "Water flowed.")["input_ids"]
    assert features[0]["input_ids"][1] == expected
    assert MULTIPLE_CHOICE.length(features[1]) == max(len(row) for row in features[1]["input_ids"])


def test_empty_parts_are_skipped_and_unlabelled_examples_featurise(tokenizer):
    examples = [
        MultipleChoiceExample("q-only", "", "Where do fish live?", ("water", "trees", "sky")),
        MultipleChoiceExample("ctx-only", "A cat sat.", "", ("yes", "no", "maybe"), 2),
    ]
    features = MULTIPLE_CHOICE.featurize(examples, tokenizer, TASK, FeatureSettings())
    assert features[0]["input_ids"][0] == tokenizer("Where do fish live?", "water")["input_ids"]
    assert features[1]["input_ids"][2] == tokenizer("A cat sat.", "maybe")["input_ids"]
    assert [f["label"] for f in features] == [NO_LABEL, 2]


def test_collate_flattens_choices_and_pads_to_the_batch_longest_row(tokenizer):
    features = MULTIPLE_CHOICE.featurize(copa_like()[:3], tokenizer, TASK, FeatureSettings())
    batch = MULTIPLE_CHOICE.collate(features, tokenizer.pad_token_id)
    rows = [row for f in features for row in f["input_ids"]]
    width = max(len(row) for row in rows)
    assert batch["input_ids"].shape == batch["attention_mask"].shape == (6, width)
    assert batch["attention_mask"].sum(dim=1).tolist() == [len(row) for row in rows]
    assert batch["input_ids"][3].tolist() == rows[3] + [tokenizer.pad_token_id] * (width - len(rows[3]))
    assert batch["labels"].tolist() == [1, 1, 0]
    assert int(batch["num_choices"]) == 2

    head = MULTIPLE_CHOICE.build_head(TASK, 32)
    logits = head(torch.randn(6, width, 32), batch)
    assert logits.shape == (3, 2)
    assert [row.shape for row in MULTIPLE_CHOICE.unbatch(logits, batch)] == [(2,)] * 3


def test_long_context_is_cut_and_the_choice_kept_whole(tokenizer):
    long_context = "It rained all day and the streets were flooded. " * 20
    long_choice = "an answer that goes on and on " * 10
    examples = [MultipleChoiceExample("long", long_context, "Why?", ("Storms.", long_choice), 0)]
    features = MULTIPLE_CHOICE.featurize(examples, tokenizer, TASK, FeatureSettings(max_length=32))
    short_row, long_row = features[0]["input_ids"]
    assert len(short_row) == 32 and len(long_row) == 32
    storms = tokenizer("Storms.", add_special_tokens=False)["input_ids"]
    assert short_row[-len(storms) - 1 : -1] == storms  # only the context was cut
    assert long_row[:2] == [0, tokenizer("It", add_special_tokens=False)["input_ids"][0]]


def test_decode_takes_the_argmax_choice(tokenizer):
    examples = copa_like()[:3]
    features = MULTIPLE_CHOICE.featurize(examples, tokenizer, TASK, FeatureSettings())
    reordered = [features[2], features[0], features[1]]
    logits = [np.array([0.3, -1.0]), np.array([-2.0, 4.0]), np.array([0.1, 0.2])]
    predictions = MULTIPLE_CHOICE.decode(examples, reordered, logits, TASK, FeatureSettings())
    assert predictions == [1, 1, 0]


def test_mismatched_choice_counts_and_bad_labels_are_errors(tokenizer):
    three = MultipleChoiceExample("three", "c", "q", ("a", "b", "c"), 0)
    two = MultipleChoiceExample("two", "c", "q", ("a", "b"), 0)
    with pytest.raises(XstiltsError, match="example two has 2 choices but example three has 3"):
        MULTIPLE_CHOICE.featurize([three, two], tokenizer, TASK, FeatureSettings())
    with pytest.raises(XstiltsError, match="example out has label 2, outside its 2 choices"):
        MULTIPLE_CHOICE.featurize(
            [MultipleChoiceExample("out", "c", "q", ("a", "b"), 2)], tokenizer, TASK, FeatureSettings()
        )
    mixed = MULTIPLE_CHOICE.featurize([three], tokenizer, TASK, FeatureSettings())
    mixed += MULTIPLE_CHOICE.featurize([two], tokenizer, TASK, FeatureSettings())
    with pytest.raises(XstiltsError, match="2 choices where the batch has 3"):
        MULTIPLE_CHOICE.collate(mixed, tokenizer.pad_token_id)


def test_loss_falls_with_adamw(tokenizer):
    features = MULTIPLE_CHOICE.featurize(copa_like(), tokenizer, TASK, FeatureSettings(max_length=32))
    batch = MULTIPLE_CHOICE.collate(features, tokenizer.pad_token_id)
    losses = train_fresh_head(MULTIPLE_CHOICE, TASK, batch, learning_rate=3e-3)
    before, after = losses.before, losses.after
    assert after < 0.5 * before, (before, after)


def test_score_is_accuracy_over_labelled_examples():
    pytest.importorskip(
        "xstilts.metrics.classification", reason="xstilts.metrics.classification is not written yet"
    )
    examples = copa_like() + [MultipleChoiceExample("u", "c", "q", ("a", "b"))]
    assert MULTIPLE_CHOICE.score(examples, [1, 0, 0, 1, 0], TASK) == {"accuracy": pytest.approx(75.0)}


def test_real_xcopa_featurises_within_max_length(tokenizer):
    path = DATA_DIR / "xtreme-r" / "xcopa" / "zh" / "val.zh.jsonl"
    if not path.exists():
        pytest.skip(f"{path} is not there (the shared benchmark data is absent)")
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    examples = [
        MultipleChoiceExample(
            str(r["idx"]), r["premise"], r["question"], (r["choice1"], r["choice2"]), r["label"]
        )
        for r in records
    ]
    features = MULTIPLE_CHOICE.featurize(examples, tokenizer, TASK, FeatureSettings(max_length=24))
    assert len(features) == len(examples) == 100
    assert all(len(row) <= 24 for f in features for row in f["input_ids"])
    assert all(row[0] == 0 and row[-1] == 2 for f in features for row in f["input_ids"])
    batch = MULTIPLE_CHOICE.collate(features[:8], tokenizer.pad_token_id)
    assert batch["input_ids"].shape[0] == 16
