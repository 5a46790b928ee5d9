"""The span-QA format on XLM-R's real tokenizer: windows, labels, decoding, batching, training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import toy_card, train_fresh_head

from xstilts.config.cards import TaskCard
from xstilts.config.features import FeatureSettings
from xstilts.data.examples import Answer, QAExample
from xstilts.errors import ConfigError, XstiltsError
from xstilts.formats.span_qa import SPAN_QA

DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"

WINDOWED = FeatureSettings(
    max_length=128, doc_stride=32, max_query_length=32, max_answer_length=30, n_best=20
)

# Sentences in several languages and scripts, so windows cut through Latin, Cyrillic, Greek, CJK
# and Arabic text alike.
LONG_CONTEXT_SENTENCES = [
    "The Rhine rises in the Swiss Alps and flows north through Germany before it reaches the North Sea.",
    "Der Kölner Dom wurde im Jahr 1248 begonnen und erst im neunzehnten Jahrhundert vollendet.",
    "La Sagrada Família de Barcelona fue diseñada por Antoni Gaudí y todavía no está terminada.",
    "Москва стоит на реке Москве и является крупнейшим городом России по численности населения.",
    "Η Ακρόπολη της Αθήνας είναι ένα από τα πιο γνωστά μνημεία της αρχαίας Ελλάδας.",
    "长江是亚洲最长的河流，全长约六千三百公里，流经中国多个省份。",
    "يعد نهر النيل أطول نهر في أفريقيا، ويمر عبر عدة دول قبل أن يصب في البحر المتوسط.",
    "Mount Kilimanjaro in Tanzania is the highest mountain in Africa, at 5,895 metres above sea level.",
    "La Tour Eiffel a été construite pour l'Exposition universelle de 1889 à Paris.",
    "Tokyo became the capital of Japan in 1868, when the emperor moved there from Kyoto.",
    "Il Colosseo di Roma poteva ospitare decine di migliaia di spettatori durante i giochi.",
    "富士山は日本で最も高い山で、標高は三千七百七十六メートルです。",
    "The Amazon rainforest covers much of the Amazon basin of South America.",
    "Варшава была почти полностью разрушена во время Второй мировой войны и затем восстановлена.",
    "Ludwig van Beethoven was born in Bonn in December 1770 and died in Vienna in 1827.",
    "서울은 대한민국의 수도이며 한강이 도시를 가로질러 흐른다.",
    "Die Donau fließt durch zehn Länder und mündet in das Schwarze Meer.",
    "El lago Titicaca, entre Perú y Bolivia, es uno de los lagos navegables más altos del mundo.",
    "The Great Barrier Reef off the coast of Queensland is the largest coral reef system on Earth.",
    "Το Άγιον Όρος είναι μια χερσόνησος στη βόρεια Ελλάδα με πολλά μοναστήρια.",
    "黄河被称为中华民族的母亲河，它的泥沙含量在世界大河中名列前茅。",
    "Istanbul lies on both sides of the Bosphorus, the strait between Europe and Asia.",
    "Der Bodensee liegt zwischen Deutschland, Österreich und der Schweiz.",
    "Lisbon was largely destroyed by an earthquake and a tsunami on 1 November 1755.",
    "تقع مدينة مراكش في جنوب المغرب عند سفوح جبال الأطلس.",
    "The Danube delta is home to more than three hundred species of birds.",
    "Санкт-Петербург был основан Петром Первым в 1703 году в устье Невы.",
    "The Sahara is the largest hot desert in the world and covers most of North Africa.",
    "Reykjavík is the northernmost capital of a sovereign state and is heated by geothermal water.",
    "La ciudad de México fue construida sobre las ruinas de Tenochtitlan, la capital azteca.",
    "Kraków war bis 1596 die Hauptstadt Polens und besitzt eine der ältesten Universitäten Europas.",
]
LONG_CONTEXT = " ".join(LONG_CONTEXT_SENTENCES)


def make_card(metric: str = "squad", **reader_options: object) -> TaskCard:
    return toy_card(
        "toy_qa",
        "span_qa",
        metric,
        reader="squad_json",
        reader_options=dict(reader_options),
        splits={"dev": {"path": "dev.json"}},
    )


def example_with_answer(question: str, context: str, answer: str, qid: str = "q") -> QAExample:
    start = context.index(answer)
    return QAExample(id=qid, question=question, context=context, answers=(Answer(answer, start),))


def labelled_text(feature: dict, context: str) -> str:
    offsets = feature["offsets"]
    return context[offsets[feature["start_position"]][0] : offsets[feature["end_position"]][1]]


def context_token_ids(feature: dict) -> list[int]:
    return [i for i, o in zip(feature["input_ids"], feature["offsets"], strict=True) if o is not None]


def oracle_logits(features: list[dict]) -> list[np.ndarray]:
    """Logits that point at each feature's labelled span (and at <s> where there is none)."""
    rows = []
    for feature in features:
        row = np.zeros((len(feature["input_ids"]), 2), dtype=np.float32)
        row[feature["start_position"], 0] = 10.0
        row[feature["end_position"], 1] = 10.0
        rows.append(row)
    return rows


def test_long_context_is_cut_into_overlapping_windows_that_cover_it(tokenizer) -> None:
    answer = "das Schwarze Meer"  # falls where two windows overlap
    example = example_with_answer("Wohin mündet die Donau?", LONG_CONTEXT, answer)
    features = SPAN_QA.featurize([example], tokenizer, make_card(), WINDOWED)

    full_context_ids = tokenizer(LONG_CONTEXT, add_special_tokens=False)["input_ids"]
    assert len(full_context_ids) > 600
    assert len(features) >= 5
    assert all(f["example_index"] == 0 and len(f["input_ids"]) <= WINDOWED.max_length for f in features)

    # Consecutive windows overlap by exactly doc_stride tokens and together hold every context token.
    position = 0
    for index, feature in enumerate(features):
        window_ids = context_token_ids(feature)
        assert window_ids == full_context_ids[position : position + len(window_ids)]
        if index < len(features) - 1:
            position += len(window_ids) - WINDOWED.doc_stride
        else:
            assert position + len(window_ids) == len(full_context_ids)

    # Question and special tokens carry no offsets; the window starts with <s>.
    for feature in features:
        assert feature["input_ids"][0] == tokenizer.cls_token_id
        assert feature["offsets"][0] is None and feature["offsets"][-1] is None

    answer_start = LONG_CONTEXT.index(answer)
    assert sum(f["start_position"] != 0 for f in features) == 2
    for feature in features:
        spans = [o for o in feature["offsets"] if o is not None]
        holds_answer = spans[0][0] <= answer_start and spans[-1][1] >= answer_start + len(answer)
        if holds_answer:
            assert labelled_text(feature, LONG_CONTEXT) == answer
            assert 0 < feature["start_position"] <= feature["end_position"]
        else:
            assert (feature["start_position"], feature["end_position"]) == (0, 0)
    assert SPAN_QA.decode([example], features, oracle_logits(features), make_card(), WINDOWED) == [answer]


def test_long_question_is_cut_to_max_query_length(tokenizer) -> None:
    question = " ".join(LONG_CONTEXT_SENTENCES[:3])  # far more than 32 tokens
    example = example_with_answer(question, LONG_CONTEXT_SENTENCES[9], "1868")
    (feature,) = SPAN_QA.featurize([example], tokenizer, make_card(), WINDOWED)

    question_ids = feature["input_ids"][1 : feature["input_ids"].index(tokenizer.sep_token_id)]
    full_question_ids = tokenizer(question, add_special_tokens=False)["input_ids"]
    assert len(question_ids) == WINDOWED.max_query_length
    assert question_ids == full_question_ids[: len(question_ids)]
    assert labelled_text(feature, example.context) == "1868"


@pytest.mark.parametrize(
    ("question", "context", "answer"),
    [
        ("长江有多长？", "长江是亚洲最长的河流，全长约六千三百公里，流经中国多个省份。", "六千三百公里"),
        ("ما هو أطول نهر في أفريقيا؟", "يعد نهر النيل أطول نهر في أفريقيا، ويمر عبر عدة دول.", "نهر النيل"),
        (
            "富士山の標高は？",
            "富士山は日本で最も高い山で、標高は三千七百七十六メートルです。",
            "三千七百七十六メートル",
        ),
        (
            "Где стоит Москва?",
            "Москва стоит на реке Москве и является крупнейшим городом России.",
            "на реке Москве",
        ),
    ],
)
def test_non_latin_answers_round_trip_through_offsets(tokenizer, question, context, answer) -> None:
    example = example_with_answer(question, context, answer)
    (feature,) = SPAN_QA.featurize([example], tokenizer, make_card(), WINDOWED)
    assert labelled_text(feature, context) == answer
    assert SPAN_QA.decode([example], [feature], oracle_logits([feature]), make_card(), WINDOWED) == [answer]


def test_answer_with_surrounding_whitespace_is_labelled_without_it(tokenizer) -> None:
    context = "The Rhine rises in the Swiss Alps and flows north."
    start = context.index(" Swiss Alps")
    example = QAExample("q", "Where does the Rhine rise?", context, (Answer(" Swiss Alps ", start),))
    (feature,) = SPAN_QA.featurize([example], tokenizer, make_card(), WINDOWED)
    assert labelled_text(feature, context) == "Swiss Alps"


def test_answer_that_does_not_match_its_context_is_rejected(tokenizer) -> None:
    example = QAExample("q7", "Where?", "In Bonn.", (Answer("Vienna", 3),))
    with pytest.raises(XstiltsError, match="q7.*Vienna"):
        SPAN_QA.featurize([example], tokenizer, make_card(), WINDOWED)


def test_settings_without_room_for_the_stride_are_rejected(tokenizer) -> None:
    example = example_with_answer("Where?", "In Bonn.", "Bonn")
    with pytest.raises(ConfigError, match="doc_stride 60"):
        SPAN_QA.featurize([example], tokenizer, make_card(), FeatureSettings(128, 60, 64))


def test_unanswerable_and_unlabelled_examples_point_at_s(tokenizer) -> None:
    examples = [
        QAExample("a", "Who?", "Nobody is named here.", is_impossible=True),
        QAExample("b", "Who?", "Nobody is named here either."),
    ]
    features = SPAN_QA.featurize(examples, tokenizer, make_card(), WINDOWED)
    assert [(f["example_index"], f["start_position"], f["end_position"]) for f in features] == [
        (0, 0, 0),
        (1, 0, 0),
    ]


# Decoding on hand-made features: context "Alpha beta gamma delta epsilon", tokens 2..6 are words.
TOY_CONTEXT = "Alpha beta gamma delta epsilon"
TOY_OFFSETS = [None, None, (0, 5), (6, 10), (11, 16), (17, 22), (23, 30), None]
TOY_EXAMPLE = QAExample("toy", "Which?", TOY_CONTEXT)


def toy_feature(example_index: int = 0, offsets: list | None = None) -> dict:
    offsets = TOY_OFFSETS if offsets is None else offsets
    return {"input_ids": [0] * len(offsets), "example_index": example_index, "offsets": offsets}


def toy_logits(starts: dict[int, float], ends: dict[int, float], null: float = 0.0) -> np.ndarray:
    row = np.full((len(TOY_OFFSETS), 2), -5.0, dtype=np.float32)
    row[0] = null
    for index, value in starts.items():
        row[index, 0] = value
    for index, value in ends.items():
        row[index, 1] = value
    return row


def decode_one(rows: list[np.ndarray], settings: FeatureSettings = WINDOWED, **options: object) -> str:
    features = [toy_feature() for _ in rows]
    return SPAN_QA.decode([TOY_EXAMPLE], features, rows, make_card(**options), settings)[0]


def test_decode_picks_the_highest_scoring_span() -> None:
    assert decode_one([toy_logits({3: 4.0, 2: 1.0}, {4: 4.0, 6: 2.0})]) == "beta gamma"


def test_decode_never_ends_before_it_starts() -> None:
    # The best end (alpha) comes before the best start (delta): the best legal pair wins instead.
    assert decode_one([toy_logits({5: 9.0, 2: 1.0}, {2: 9.0, 6: 3.0})]) == "delta epsilon"


def test_decode_respects_max_answer_length() -> None:
    row = toy_logits({2: 9.0}, {6: 9.0, 3: 2.0})
    assert decode_one([row]) == TOY_CONTEXT
    assert decode_one([row], FeatureSettings(max_answer_length=2)) == "Alpha beta"


def test_decode_ignores_question_tokens() -> None:
    # Token 1 is a question token: its high logits must not produce a span.
    assert decode_one([toy_logits({1: 20.0, 4: 1.0}, {1: 20.0, 4: 1.0})]) == "gamma"


def test_decode_takes_the_best_window_of_an_example() -> None:
    second_window_offsets = [None, None, (11, 16), (17, 22), (23, 30), None]
    features = [toy_feature(), toy_feature(offsets=second_window_offsets)]
    weak = toy_logits({2: 3.0}, {2: 3.0})
    strong = np.full((len(second_window_offsets), 2), -5.0, dtype=np.float32)
    strong[3] = 6.0  # "delta" as both start and end, only in the second window
    predictions = SPAN_QA.decode([TOY_EXAMPLE], features, [weak, strong], make_card(), WINDOWED)
    assert predictions == ["delta"]


def test_decode_predicts_no_answer_only_for_version_2() -> None:
    row = toy_logits({3: 2.0}, {3: 2.0}, null=5.0)  # null 10 beats the span's 4
    assert decode_one([row]) == "beta"
    assert decode_one([row], version_2_with_negative=True) == ""
    impossible = QAExample("x", "Which?", TOY_CONTEXT, is_impossible=True)
    assert SPAN_QA.decode([impossible], [toy_feature()], [row], make_card(), WINDOWED) == [""]
    # The null score is the lowest over an example's windows, as in run_qa.py.
    low_null = toy_logits({3: 2.0}, {3: 2.0}, null=1.0)
    assert decode_one([row, low_null], version_2_with_negative=True) == "beta"


def test_collate_pads_each_batch_to_its_own_longest_row(tokenizer) -> None:
    examples = [
        example_with_answer("Where?", LONG_CONTEXT_SENTENCES[0], "Swiss Alps"),
        example_with_answer("When?", LONG_CONTEXT_SENTENCES[1], "1248"),
        example_with_answer("Who?", LONG_CONTEXT_SENTENCES[2], "Antoni Gaudí"),
        example_with_answer("Wie?", LONG_CONTEXT_SENTENCES[16], "zehn Länder"),
    ]
    features = SPAN_QA.featurize(examples, tokenizer, make_card(), WINDOWED)
    for batch_features in (features[:2], features[2:]):
        batch = SPAN_QA.collate(batch_features, tokenizer.pad_token_id)
        lengths = [len(f["input_ids"]) for f in batch_features]
        assert batch["input_ids"].shape == (2, max(lengths))
        assert batch["attention_mask"].sum(dim=1).tolist() == lengths
        assert batch["start_positions"].tolist() == [f["start_position"] for f in batch_features]
        assert batch["end_positions"].tolist() == [f["end_position"] for f in batch_features]
    assert len({len(f["input_ids"]) for f in features}) > 1


def test_head_masks_padding_and_unbatch_trims_it() -> None:
    head = SPAN_QA.build_head(make_card(), hidden_size=8)
    batch = SPAN_QA.collate(
        [
            {"input_ids": [0, 5, 2, 2, 6, 7, 2], "start_position": 4, "end_position": 5},
            {"input_ids": [0, 5, 2, 2, 6], "start_position": 0, "end_position": 0},
        ],
        pad_id=1,
    )
    logits = head(torch.randn(2, 7, 8), batch)
    assert logits.shape == (2, 7, 2)
    assert (logits[1, 5:] < -1e30).all() and (logits[0] > -1e30).all()
    rows = SPAN_QA.unbatch(logits, batch)
    assert [r.shape for r in rows] == [(7, 2), (5, 2)]
    assert np.isfinite(SPAN_QA.loss(logits, batch).item())


def test_loss_falls_when_training_a_tiny_encoder(tokenizer) -> None:
    pytest.importorskip("transformers")
    examples = [
        example_with_answer("Where does the Rhine rise?", LONG_CONTEXT_SENTENCES[0], "Swiss Alps"),
        example_with_answer("Wann wurde der Dom begonnen?", LONG_CONTEXT_SENTENCES[1], "1248"),
        example_with_answer("长江有多长？", LONG_CONTEXT_SENTENCES[5], "六千三百公里"),
        example_with_answer("Where was Beethoven born?", LONG_CONTEXT_SENTENCES[14], "Bonn"),
    ]
    batch = SPAN_QA.collate(
        SPAN_QA.featurize(examples, tokenizer, make_card(), WINDOWED), tokenizer.pad_token_id
    )
    losses = train_fresh_head(SPAN_QA, make_card(), batch, learning_rate=1e-3).steps
    assert losses[-1] < 0.5 * losses[0]


def test_score_uses_squad_metric_and_empty_gold_for_unanswerable() -> None:
    pytest.importorskip("xstilts.metrics.squad")
    examples = [
        example_with_answer("Where?", "It rises in the Swiss Alps.", "the Swiss Alps"),
        QAExample("n", "Who?", "Nobody.", is_impossible=True),
    ]
    assert SPAN_QA.score(examples, ["Swiss Alps", ""], make_card()) == {"exact_match": 100.0, "f1": 100.0}
    assert SPAN_QA.score(examples, ["Alps", "Nobody"], make_card())["exact_match"] == 0.0
    assert SPAN_QA.score(examples, ["Swiss Alps", ""], make_card("mlqa"), "en")["f1"] == 100.0


def test_score_refuses_what_it_cannot_score() -> None:
    unlabelled = [QAExample("u1", "Who?", "Nobody.")]
    with pytest.raises(XstiltsError, match="u1"):
        SPAN_QA.score(unlabelled, [""], make_card())
    labelled = [example_with_answer("Who?", "Only Ada.", "Ada")]
    with pytest.raises(ConfigError, match="language"):
        SPAN_QA.score(labelled, ["Ada"], make_card("mlqa"))
    with pytest.raises(ConfigError, match="accuracy"):
        SPAN_QA.score(labelled, ["Ada"], make_card("accuracy"))


def read_squad_json(path: Path, limit: int) -> list[QAExample]:
    examples = []
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answers = tuple(Answer(a["text"], a["answer_start"]) for a in qa["answers"])
                examples.append(QAExample(str(qa["id"]), qa["question"], paragraph["context"], answers))
    return examples[:limit]


@pytest.mark.parametrize(
    "name", ["xquad/xquad.zh.json", "xquad/xquad.ar.json", "mlqa/dev/dev-context-hi-question-hi.json"]
)
def test_labels_on_real_data_hold_the_gold_answer(tokenizer, name) -> None:
    path = DATA_DIR / "xtreme" / name
    if not path.exists():
        pytest.skip(f"{path} is not available")
    examples = read_squad_json(path, limit=300)
    settings = FeatureSettings(max_length=384, doc_stride=128, max_query_length=64)
    features = SPAN_QA.featurize(examples, tokenizer, make_card(), settings)
    labelled = {
        f["example_index"]: labelled_text(f, examples[f["example_index"]].context)
        for f in features
        if f["start_position"]
    }
    assert len(labelled) == len(examples)
    for index, text in labelled.items():
        gold = examples[index].answers[0].text.strip()
        assert gold in text
        # A label longer than the gold only ever takes in the rest of a token the answer cut through.
        assert len(text) - len(gold) <= 12
