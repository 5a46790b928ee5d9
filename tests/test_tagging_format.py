"""The tagging format with the real XLM-R tokenizer and a tiny random XLM-R encoder."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import toy_card, train_fresh_head

from xstilts.config.cards import TaskCard
from xstilts.config.features import FeatureSettings
from xstilts.data.examples import TaggingExample
from xstilts.errors import XstiltsError
from xstilts.formats.tagging import NO_LABEL, TAGGING

DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"
NER_TAGS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]


def card(metric: str = "f1", labels: list[str] | None = None) -> TaskCard:
    return toy_card("toy-ner", "tagging", metric, labels=labels or NER_TAGS)


def logits_pointing_at(features: list[dict], word_tag: dict[tuple[int, int], int], num_labels: int) -> list:
    """Hand-made logits: a word's first sub-token points at its tag, every other token at tag 1
    (so a decoder reading the wrong token would get the wrong answer)."""
    out = []
    for feature in features:
        rows = np.zeros((len(feature["input_ids"]), num_labels), dtype=np.float32)
        rows[:, 1] = 5.0
        word_ids = feature["word_ids"]
        for position, word in enumerate(word_ids):
            if word >= 0 and (position == 0 or word_ids[position - 1] != word):
                rows[position, :] = 0.0
                rows[position, word_tag[(feature["example_index"], word)]] = 5.0
        out.append(rows)
    return out


def check_windows_cover_every_word_once(
    features: list[dict], examples: list[TaggingExample], max_length: int
):
    seen: dict[int, list[int]] = {i: [] for i in range(len(examples))}
    for feature in features:
        assert len(feature["input_ids"]) <= max_length
        assert len(feature["input_ids"]) == len(feature["word_ids"]) == len(feature["label_ids"])
        assert feature["input_ids"][0] == 0 and feature["input_ids"][-1] == 2  # <s> ... </s>
        word_ids = feature["word_ids"]
        firsts = [w for p, w in enumerate(word_ids) if w >= 0 and (p == 0 or word_ids[p - 1] != w)]
        assert firsts[0] == feature["window_word_start"]
        seen[feature["example_index"]] += firsts
    for index, ex in enumerate(examples):
        assert seen[index] == list(range(len(ex.tokens)))


def test_label_goes_on_first_sub_token_only(tokenizer):
    ex = TaggingExample("s1", ("Hello", "unbelievably", "Washington"), ("O", "B-PER", "B-LOC"))
    (feature,) = TAGGING.featurize([ex], tokenizer, card(), FeatureSettings())
    pieces = tokenizer.convert_ids_to_tokens(feature["input_ids"])
    assert pieces == ["<s>", "▁Hello", "▁un", "beli", "eva", "bly", "▁Washington", "</s>"]
    assert feature["word_ids"] == [-1, 0, 1, 1, 1, 1, 2, -1]
    assert feature["label_ids"] == [NO_LABEL, 0, 1, NO_LABEL, NO_LABEL, NO_LABEL, 5, NO_LABEL]
    assert feature["example_index"] == 0 and feature["window_word_start"] == 0


def test_every_word_starts_with_metaspace_like_in_a_sentence(tokenizer):
    words = ("Paris", "is", "in", "France", ".")
    (feature,) = TAGGING.featurize([TaggingExample("s", words)], tokenizer, card(), FeatureSettings())
    in_sentence = tokenizer(" ".join(words))["input_ids"]
    assert feature["input_ids"] == in_sentence
    assert all(label == NO_LABEL for label in feature["label_ids"])  # unlabelled example


def test_word_by_word_fallback_gives_the_same_features(tokenizer, monkeypatch):
    from xstilts.formats import tagging

    examples = [
        TaggingExample("a", ("Hello", "unbelievably", "", "北京", "القاهرة"), None),
        TaggingExample("empty", (), None),
        TaggingExample("b", ("x",), None),
    ]
    assert tagging._split_words_tokenise_alone(tokenizer)  # XLM-R takes the fast, pre-split path
    fast = TAGGING.featurize(examples, tokenizer, card(), FeatureSettings(max_length=8))
    monkeypatch.setattr(tagging, "_split_words_tokenise_alone", lambda tokenizer: False)
    assert TAGGING.featurize(examples, tokenizer, card(), FeatureSettings(max_length=8)) == fast
    empty = [f for f in fast if f["example_index"] == 1]
    assert [f["input_ids"] for f in empty] == [[0, 2]]  # an empty sentence still gets a (wordless) window


def test_long_sentence_is_split_into_windows_and_decoded_word_by_word(tokenizer):
    vocabulary = ["the", "internationalisation", "of", "Kilimanjaro", "is", "extraordinarily", "slow", ","]
    rng = random.Random(0)
    long_words = tuple(rng.choice(vocabulary) for _ in range(300))
    tags = tuple(NER_TAGS[i % len(NER_TAGS)] for i in range(300))
    examples = [
        TaggingExample("long", long_words, tags),
        TaggingExample("short", ("John", "lives", "here"), ("B-PER", "O", "O")),
    ]
    settings = FeatureSettings(max_length=64)
    features = TAGGING.featurize(examples, tokenizer, card(), settings)
    long_windows = [f for f in features if f["example_index"] == 0]
    assert len(long_windows) > 3
    check_windows_cover_every_word_once(features, examples, 64)

    word_tag = {(i, w): NER_TAGS.index(t) for i, ex in enumerate(examples) for w, t in enumerate(ex.tags)}
    order = list(range(len(features)))
    random.Random(1).shuffle(order)  # decode must not rely on features coming in order
    shuffled = [features[i] for i in order]
    predictions = TAGGING.decode(
        examples, shuffled, logits_pointing_at(shuffled, word_tag, len(NER_TAGS)), card(), settings
    )
    assert predictions == [list(ex.tags) for ex in examples]


def test_non_latin_words_chinese_characters_and_arabic(tokenizer):
    examples = [
        TaggingExample("zh", tuple("我住在北京市海淀区") * 20, None),
        TaggingExample("ar", ("ذهب", "محمد", "إلى", "القاهرة", "بالسيارة") * 30, None),
    ]
    settings = FeatureSettings(max_length=32)
    features = TAGGING.featurize(examples, tokenizer, card(), settings)
    check_windows_cover_every_word_once(features, examples, 32)
    for feature in features:
        first_pieces = [
            tokenizer.convert_ids_to_tokens(token)
            for p, (token, w) in enumerate(zip(feature["input_ids"], feature["word_ids"], strict=True))
            if w >= 0 and (p == 0 or feature["word_ids"][p - 1] != w)
        ]
        assert all(piece.startswith("▁") for piece in first_pieces)
    word_tag = {(i, w): (w % 3) for i, ex in enumerate(examples) for w in range(len(ex.tokens))}
    predictions = TAGGING.decode(
        examples, features, logits_pointing_at(features, word_tag, len(NER_TAGS)), card(), settings
    )
    assert [len(p) for p in predictions] == [180, 150]
    assert predictions[0][:4] == ["O", "B-PER", "I-PER", "O"]


def test_word_longer_than_a_window_keeps_its_first_sub_tokens(tokenizer):
    monster = "Rindfleischetikettierungsüberwachungsaufgabenübertragungsgesetz" * 3
    ex = TaggingExample("m", ("Das", monster, "gilt", ""), ("O", "B-LOC", "O", "O"))
    settings = FeatureSettings(max_length=12)
    features = TAGGING.featurize([ex], tokenizer, card(), settings)
    check_windows_cover_every_word_once(features, [ex], 12)
    monster_window = next(f for f in features if 1 in f["word_ids"])
    assert monster_window["word_ids"] == [-1] + [1] * 10 + [-1]
    assert monster_window["label_ids"][1] == NER_TAGS.index("B-LOC")
    # The empty word tokenises to nothing; it stands as <unk> so it still gets a prediction.
    assert tokenizer.unk_token_id in features[-1]["input_ids"]


def test_unknown_tag_and_tag_count_errors_name_the_example(tokenizer):
    with pytest.raises(XstiltsError, match=r"example bad-1.*'B-MISC'"):
        TAGGING.featurize(
            [TaggingExample("bad-1", ("a", "b"), ("O", "B-MISC"))], tokenizer, card(), FeatureSettings()
        )
    with pytest.raises(XstiltsError, match="example bad-2 has 2 words but 1 tags"):
        TAGGING.featurize([TaggingExample("bad-2", ("a", "b"), ("O",))], tokenizer, card(), FeatureSettings())


def test_collate_pads_and_unbatch_trims(tokenizer):
    examples = [
        TaggingExample("a", ("Anna", "wohnt", "in", "Berlin"), ("B-PER", "O", "O", "B-LOC")),
        TaggingExample("b", ("Hi",), ("O",)),
    ]
    features = TAGGING.featurize(examples, tokenizer, card(), FeatureSettings())
    batch = TAGGING.collate(features, tokenizer.pad_token_id)
    width = max(len(f["input_ids"]) for f in features)
    assert batch["input_ids"].shape == batch["labels"].shape == (2, width)
    assert batch["input_ids"][1, -1] == tokenizer.pad_token_id and batch["labels"][1, -1] == NO_LABEL
    assert batch["attention_mask"].sum().item() == sum(len(f["input_ids"]) for f in features)
    head = TAGGING.build_head(card(), 32)
    logits = head(torch.randn(2, width, 32), batch)
    assert logits.shape == (2, width, len(NER_TAGS))
    rows = TAGGING.unbatch(logits, batch)
    assert [r.shape for r in rows] == [(len(f["input_ids"]), len(NER_TAGS)) for f in features]


def test_loss_falls_with_adamw(tokenizer):
    examples = [
        TaggingExample("1", ("Merkel", "visited", "Paris", "."), ("B-PER", "O", "B-LOC", "O")),
        TaggingExample("2", ("Google", "opened", "in", "Zurich"), ("B-ORG", "O", "O", "B-LOC")),
        TaggingExample("3", ("The", "United", "Nations", "met"), ("O", "B-ORG", "I-ORG", "O")),
        TaggingExample("4", ("Ibrahim", "lives", "in", "Cairo"), ("B-PER", "O", "O", "B-LOC")),
    ]
    task = card()
    features = TAGGING.featurize(examples, tokenizer, task, FeatureSettings(max_length=16))
    batch = TAGGING.collate(features, tokenizer.pad_token_id)
    losses = train_fresh_head(TAGGING, task, batch, learning_rate=1e-3)
    before, after = losses.before, losses.after
    assert after < 0.5 * before, (before, after)


def test_loss_of_a_batch_without_labels_is_zero_not_nan(tokenizer):
    features = TAGGING.featurize([TaggingExample("u", ("x", "y"))], tokenizer, card(), FeatureSettings())
    batch = TAGGING.collate(features, tokenizer.pad_token_id)
    logits = torch.randn(1, batch["input_ids"].shape[1], len(NER_TAGS), requires_grad=True)
    loss = TAGGING.loss(logits, batch)
    assert loss.item() == 0.0
    loss.backward()  # still part of the graph


def read_conll_tsv(path: Path, limit: int) -> list[TaggingExample]:
    """Just enough of the `token<TAB>tag` format for a test (the real reader lives elsewhere)."""
    examples, words, tags = [], [], []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if not line.strip():
            if words:
                examples.append(TaggingExample(f"{path.name}:{len(examples)}", tuple(words), tuple(tags)))
                words, tags = [], []
                if len(examples) == limit:
                    break
            continue
        word, tag = line.rsplit("\t", 1)
        words.append(word)
        tags.append(tag)
    return examples


@pytest.mark.parametrize("name", ["panx/dev-zh.tsv", "panx/dev-ar.tsv", "udpos/dev-ja.tsv"])
def test_real_data_every_word_gets_one_prediction(tokenizer, name):
    path = DATA_DIR / "xtreme" / name
    if not path.exists():
        pytest.skip(f"{path} is not there (the shared benchmark data is absent)")
    examples = read_conll_tsv(path, limit=400)
    labels = sorted({tag for ex in examples for tag in ex.tags})
    task = card(labels=labels)
    settings = FeatureSettings(max_length=32)
    features = TAGGING.featurize(examples, tokenizer, task, settings)
    check_windows_cover_every_word_once(features, examples, 32)
    gold_tag = {(i, w): labels.index(t) for i, ex in enumerate(examples) for w, t in enumerate(ex.tags)}
    predictions = TAGGING.decode(
        examples, features, logits_pointing_at(features, gold_tag, len(labels)), task, settings
    )
    assert predictions == [list(ex.tags) for ex in examples]


def test_score_dispatches_on_the_card_metric():
    pytest.importorskip("xstilts.metrics.tagging", reason="xstilts.metrics.tagging is not written yet")
    examples = [
        TaggingExample("1", ("Angela", "Merkel", "visited", "Paris"), ("B-PER", "I-PER", "O", "B-LOC")),
        TaggingExample("2", ("Hi",), None),  # unlabelled: left out of the score
    ]
    perfect = [["B-PER", "I-PER", "O", "B-LOC"], ["O"]]
    half = [["B-PER", "I-PER", "O", "O"], ["O"]]
    assert TAGGING.score(examples, perfect, card("f1"))["f1"] == pytest.approx(100.0)
    scores = TAGGING.score(examples, half, card("f1"))
    assert scores["precision"] == pytest.approx(100.0) and scores["recall"] == pytest.approx(50.0)
    assert TAGGING.score(examples, half, card("accuracy")) == {"accuracy": pytest.approx(75.0)}


def test_score_of_pos_tags_gives_xtreme_f1_and_accuracy():
    pytest.importorskip("xstilts.metrics.tagging", reason="xstilts.metrics.tagging is not written yet")
    examples = [TaggingExample("1", ("dogs", "bark", "loudly"), ("NOUN", "VERB", "ADV"))]
    scores = TAGGING.score(examples, [["NOUN", "VERB", "NOUN"]], card("f1", labels=["NOUN", "VERB", "ADV"]))
    assert scores["accuracy"] == pytest.approx(200 / 3)
    assert 0.0 < scores["f1"] < 100.0


def test_score_rejects_a_metric_tagging_does_not_know():
    examples = [TaggingExample("1", ("a",), ("O",))]
    with pytest.raises(XstiltsError, match="metric 'bleu'"):
        TAGGING.score(examples, [["O"]], card("bleu"))


def test_a_sentence_longer_than_the_model_limit_gives_no_tokenizer_warning(tokenizer, capfd, caplog):
    """Featurising tokenises whole sentences before cutting them into windows; transformers' warning
    "Token indices sequence length is longer than the specified maximum" would tell the user of an
    indexing error that cannot happen."""
    import copy

    bounded = copy.copy(tokenizer)
    bounded.model_max_length = 512  # what a saved checkpoint's tokenizer_config sets
    words = tuple(["internationalisation"] * 300)  # 600 tokens
    examples = [TaggingExample("long", words, ("O",) * len(words))]
    features = TAGGING.featurize(examples, bounded, card(), FeatureSettings(max_length=64))
    assert len(features) >= 10  # windows of 62 tokens
    captured = capfd.readouterr()
    assert "Token indices sequence length" not in captured.err + captured.out + caplog.text
