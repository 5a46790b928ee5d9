"""Masked-language-model training as an intermediate task: the plain_text reader, the masked_lm
format (masking, tied LM head, loss, scoring), save/load, multi-task training beside a labelled
task, the mlm-tatoeba card on the real Tatoeba files, and a study that lists an MLM arm."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from safetensors.torch import load_file

from xstilts.config.cards import TaskCard
from xstilts.config.features import FeatureSettings
from xstilts.config.formats import get_format
from xstilts.config.registry import TaskRegistry
from xstilts.config.study import load_study
from xstilts.config.training import TrainConfig
from xstilts.data.codecs import read
from xstilts.data.examples import ClassificationExample, TextExample
from xstilts.errors import ConfigError, DataFormatError, XstiltsError
from xstilts.formats.masked_lm import NO_LABEL, MaskedLMHead, MaskedTokenPredictions
from xstilts.models.sources import load_model
from xstilts.plan.graph import build_plan
from xstilts.training.loop import TrainingTask, predict, to_device, train
from xstilts.training.task_model import TaskModel, load_heads, save_checkpoint

MLM = get_format("masked_lm")
SETTINGS = FeatureSettings(max_length=64)
PAD = 1  # XLM-R's <pad>, the tiny model's tokenizer
TEXTS = [
    "The cat sleeps on the sofa all afternoon.",
    "Der Zug kommt heute pünktlich in Berlin an.",
    "Il pleut à Paris depuis trois jours.",
    "Она купила хлеб и молоко в магазине.",
    "我们明天早上去北京参观博物馆。",
    "El perro corre por el parque con su dueño.",
    "Tom didn't know what to say to Mary.",
    "Ich habe keine Zeit für so etwas.",
    "Les enfants jouent dans le jardin.",
    "Мы живём в большом городе.",
    "今天的天气非常好。",
    "She writes <mask> letters to </s> her friends.",  # literal special tokens are never targets
]
EXAMPLES = [TextExample(f"t{i}", text) for i, text in enumerate(TEXTS)]
CARD = TaskCard(
    name="mlm",
    format="masked_lm",
    reader="plain_text",
    metric="mlm_accuracy",
    languages=["xx"],
    splits={"train": {"path": "text-{lang}.txt"}},
)


def fixed_mask_loss(model: TaskModel, task: str, features) -> float:
    """MLM loss on the features' evaluation masks (fixed), comparable before and after training."""
    model.eval()
    with torch.inference_mode():
        batch = to_device(MLM.collate(features, PAD), next(model.parameters()).device)
        return float(MLM.loss(model(task, batch), batch))


def targets(batch) -> torch.Tensor:
    return batch["labels"] != NO_LABEL


# ----------------------------------------------------------------------------- plain_text reader


def test_plain_text_reader_skips_blank_lines_and_strips_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "text.txt"
    # CRLF ends, a blank and a whitespace-only line, and a U+2028 that must not split its line.
    path.write_bytes("Erste Zeile.\r\n\r\n   \r\nzweite\u2028Zeile\nдритта\n".encode())
    examples = read("plain_text", {"path": path})
    assert examples == [
        TextExample("line-1", "Erste Zeile."),
        TextExample("line-4", "zweite\u2028Zeile"),
        TextExample("line-5", "дритта"),
    ]
    assert read("plain_text", {"path": path}, max_lines=4) == examples[:2]


@pytest.mark.parametrize(
    ("content", "line", "problem"),
    [
        (b"fine\n\xff\xfe broken\n", 2, "not valid UTF-8"),
        (b"fine\nbinary\x00junk\n", 2, "NUL byte"),
        (b"", None, "file is empty"),
        (b"\n  \n\r\n", None, "no non-blank lines"),
    ],
)
def test_plain_text_reader_rejects_malformed_files(
    tmp_path: Path, content: bytes, line: int | None, problem: str
) -> None:
    path = tmp_path / "text.txt"
    path.write_bytes(content)
    with pytest.raises(DataFormatError) as err:
        read("plain_text", {"path": path})
    assert err.value.path == str(path) and err.value.line == line and problem in err.value.problem


@pytest.mark.parametrize("value", [0, -3, "100", 2.5, True])
def test_plain_text_reader_rejects_bad_max_lines(tmp_path: Path, value) -> None:
    path = tmp_path / "text.txt"
    path.write_text("a\n")
    with pytest.raises(ConfigError, match="max_lines"):
        read("plain_text", {"path": path}, max_lines=value)


# ----------------------------------------------------------------------------- masking


@pytest.mark.slow
def test_masking_takes_15_percent_of_non_special_tokens_80_10_10(tiny) -> None:
    tokenizer = tiny.tokenizer
    features = MLM.featurize(EXAMPLES, tokenizer, CARD, SETTINGS)
    assert [f["example_index"] for f in features] == list(range(len(TEXTS)))
    special = set(tokenizer.all_special_ids)
    for f in features:
        # The tokenizer's own <s> ... </s>, and the literal "<mask>" / "</s>" in the last text.
        assert f["special_positions"] == [p for p, t in enumerate(f["input_ids"]) if t in special]
    assert len(features[-1]["special_positions"]) == 4

    np.random.seed(0)
    candidates = chosen = as_mask = as_random = kept = 0
    for _ in range(300):  # 300 training draws ("epochs") over the same features
        batch = MLM.collate(features, PAD)
        chosen_here = targets(batch)
        assert bool((batch["attention_mask"][chosen_here] == 1).all())
        for row, f in enumerate(features):
            ids = torch.tensor(f["input_ids"])
            n = len(ids)
            where = chosen_here[row, :n]
            assert not where[f["special_positions"]].any(), "a special token was masked"
            assert torch.equal(batch["labels"][row, :n][where], ids[where])
            # Untouched tokens keep their ids; specials are never replaced.
            assert torch.equal(batch["input_ids"][row, :n][~where], ids[~where])
            candidates += n - len(f["special_positions"])
            chosen += int(where.sum())
            replaced = batch["input_ids"][row, :n][where]
            as_mask += int((replaced == tokenizer.mask_token_id).sum())
            kept += int((replaced == ids[where]).sum())
            randoms = replaced[(replaced != tokenizer.mask_token_id) & (replaced != ids[where])]
            as_random += len(randoms)
            assert not any(int(t) in special for t in randoms), "a random replacement was a special token"
    assert abs(chosen / candidates - 0.15) < 0.01, chosen / candidates
    assert abs(as_mask / chosen - 0.8) < 0.03 and abs(as_random / chosen - 0.1) < 0.03
    assert abs(kept / chosen - 0.1) < 0.03


def test_training_masks_follow_the_seed_and_change_every_epoch(tiny) -> None:
    features = MLM.featurize(EXAMPLES, tiny.tokenizer, CARD, SETTINGS)

    def two_epochs(seed: int) -> list[torch.Tensor]:
        np.random.seed(seed)  # what the loop's seed_everything(seed) does
        return [MLM.collate(features, PAD)["input_ids"] for _ in range(2)]

    first, second = two_epochs(5)
    assert not torch.equal(first, second), "every epoch must draw new masks"
    again = two_epochs(5)
    assert torch.equal(first, again[0]) and torch.equal(second, again[1])
    assert not torch.equal(first, two_epochs(6)[0])


def test_evaluation_masks_are_fixed_and_leave_the_training_draws_alone(tiny) -> None:
    features = MLM.featurize(EXAMPLES, tiny.tokenizer, CARD, SETTINGS)
    np.random.seed(1)
    state = np.random.get_state()[1].copy()
    with torch.inference_mode():
        a = MLM.collate(features, PAD)
    np.random.seed(2)
    with torch.no_grad():
        b = MLM.collate(features[::-1], PAD)  # another order, another batch: same mask per feature
    last = len(features) - 1
    for i, f in enumerate(features):
        n = len(f["input_ids"])
        assert torch.equal(a["input_ids"][i, :n], b["input_ids"][last - i, :n])
        assert torch.equal(a["labels"][i, :n], b["labels"][last - i, :n])
    assert int(targets(a).sum()) > 0
    # Evaluation draws nothing from the global state, so dev evaluations in the middle of
    # training do not change the training masks that follow.
    np.random.seed(1)
    with torch.inference_mode():
        MLM.collate(features, PAD)
    assert np.array_equal(np.random.get_state()[1], state)
    # The evaluation mask comes from the tokens alone: featurising again gives the same seeds.
    again = MLM.featurize(EXAMPLES, tiny.tokenizer, CARD, SETTINGS)
    assert [f["mask_seed"] for f in again] == [f["mask_seed"] for f in features]


def test_long_text_is_cut_into_windows_without_losing_tokens(tiny) -> None:
    text = " ".join(TEXTS[:6]) * 3
    features = MLM.featurize([TextExample("long", text), EXAMPLES[0]], tiny.tokenizer, CARD, SETTINGS)
    windows = [f for f in features if f["example_index"] == 0]
    assert len(windows) > 1 and all(len(f["input_ids"]) <= SETTINGS.max_length for f in features)
    inner = [t for f in windows for t in f["input_ids"][1:-1]]
    assert inner == tiny.tokenizer(text, add_special_tokens=False)["input_ids"]
    assert [f["example_index"] for f in features][-1] == 1


def test_featurize_rejects_examples_of_another_format(tiny) -> None:
    with pytest.raises(ConfigError, match="plain_text"):
        MLM.featurize([ClassificationExample("c", "a", "b", "x")], tiny.tokenizer, CARD, SETTINGS)


# ----------------------------------------------------------------------------- head


def test_head_decoder_is_the_encoders_embedding_matrix(tiny) -> None:
    encoder = copy.deepcopy(tiny.encoder)
    head = MLM.build_head(CARD, encoder.config.hidden_size)
    features = MLM.featurize(EXAMPLES[:4], tiny.tokenizer, CARD, SETTINGS)
    batch = MLM.collate(features, PAD)
    hidden = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    with pytest.raises(RuntimeError, match="tie_to_encoder"):
        head(hidden, batch)

    head.tie_to_encoder(encoder)
    embeddings = encoder.get_input_embeddings().weight
    vocab, hidden_size = embeddings.shape
    assert head.tied and head.bias.shape == (vocab,)
    assert head.layer_norm.eps == encoder.config.layer_norm_eps
    # The head owns no copy of the embeddings: its checkpoint stays small.
    assert all(value.numel() < vocab * hidden_size for value in head.state_dict().values())

    logits = head(hidden, batch)
    assert logits.shape == (int(targets(batch).sum()), vocab)
    MLM.loss(logits, batch).backward()
    # Tied: the decoder's gradient lands on the encoder's embedding rows of the predicted vocabulary.
    assert embeddings.grad is not None and float(embeddings.grad.abs().sum()) > 0
    # The same embedding row scores a token at the input and at the output.
    token = int(batch["labels"][targets(batch)][0])
    expected = (
        head.layer_norm(torch.nn.functional.gelu(head.dense(hidden[targets(batch)][0]))) @ embeddings[token]
        + head.bias[token]
    )
    assert torch.allclose(logits[0, token], expected, atol=1e-5)

    with pytest.raises(XstiltsError, match="hidden size"):
        MaskedLMHead(hidden_size + 1).tie_to_encoder(encoder)


def test_task_model_ties_masked_lm_heads(tiny) -> None:
    encoder = copy.deepcopy(tiny.encoder)
    head = MLM.build_head(CARD, encoder.config.hidden_size)
    model = TaskModel(encoder, {"mlm": head})
    features = MLM.featurize(EXAMPLES[:2], tiny.tokenizer, CARD, SETTINGS)
    assert head.tied and math.isfinite(fixed_mask_loss(model, "mlm", features))


# ----------------------------------------------------------------------------- training, save, load


@pytest.mark.slow
def test_training_lowers_the_loss_and_reloads_to_the_same_predictions(tiny, tmp_path: Path) -> None:
    features = MLM.featurize(EXAMPLES, tiny.tokenizer, CARD, SETTINGS)
    encoder = copy.deepcopy(tiny.encoder)
    torch.manual_seed(0)
    model = TaskModel(encoder, {"mlm": MLM.build_head(CARD, encoder.config.hidden_size)})
    embeddings_before = encoder.get_input_embeddings().weight.detach().clone()
    before = fixed_mask_loss(model, "mlm", features)
    # Unfrozen embeddings: the tied decoder learns too, so a few steps show a clear drop.
    config = TrainConfig(learning_rate=3e-3, batch_size=4, max_steps=8, warmup=0.0, patience=None)
    result = train(model, [TrainingTask(CARD, MLM, features, SETTINGS)], config, PAD, seed=0, progress=False)
    after = fixed_mask_loss(model, "mlm", features)
    assert result.steps == 8 and math.isfinite(after)
    assert after < before - 0.5, f"loss {before:.3f} -> {after:.3f}"
    assert not torch.equal(encoder.get_input_embeddings().weight, embeddings_before)

    logits = predict(model, "mlm", MLM, features, PAD)
    predictions = MLM.decode(EXAMPLES, features, logits, CARD, SETTINGS)
    scores = MLM.score(EXAMPLES, predictions, CARD)
    assert list(scores) == ["accuracy", "perplexity"]
    assert 0.0 <= scores["accuracy"] <= 100.0
    # Perplexity is exp(mean loss): the same fixed masks give the same number both ways.
    assert scores["perplexity"] == pytest.approx(math.exp(after), rel=1e-4)

    save_checkpoint(tmp_path / "ckpt", model, tiny.tokenizer)
    stored = load_file(str(tmp_path / "ckpt" / "heads.safetensors"))
    assert sorted(stored) == [
        "mlm.bias",
        "mlm.dense.bias",
        "mlm.dense.weight",
        "mlm.layer_norm.bias",
        "mlm.layer_norm.weight",
    ]

    reloaded = load_model(f"path:{tmp_path / 'ckpt' / 'encoder'}")
    heads = {"mlm": MLM.build_head(CARD, reloaded.encoder.config.hidden_size)}
    load_heads(tmp_path / "ckpt", heads)  # before the model is assembled, as PhaseModel.get does
    model2 = TaskModel(reloaded.encoder, heads)
    features2 = MLM.featurize(EXAMPLES, reloaded.tokenizer, CARD, SETTINGS)
    logits2 = predict(model2, "mlm", MLM, features2, PAD)
    assert MLM.decode(EXAMPLES, features2, logits2, CARD, SETTINGS) == predictions
    for a, b in zip(logits, logits2, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_frozen_word_embeddings_freeze_the_tied_decoder_but_mlm_still_trains(tiny) -> None:
    features = MLM.featurize(EXAMPLES, tiny.tokenizer, CARD, SETTINGS)
    encoder = copy.deepcopy(tiny.encoder)
    torch.manual_seed(0)
    head = MLM.build_head(CARD, encoder.config.hidden_size)
    model = TaskModel(encoder, {"mlm": head})
    embeddings_before = encoder.get_input_embeddings().weight.detach().clone()
    layer_before = copy.deepcopy(encoder.encoder.layer[0].state_dict())
    before = fixed_mask_loss(model, "mlm", features)
    config = TrainConfig(
        learning_rate=1e-2, batch_size=4, max_steps=6, warmup=0.0, patience=None, freeze_word_embeddings=True
    )
    train(model, [TrainingTask(CARD, MLM, features, SETTINGS)], config, PAD, seed=0, progress=False)
    assert torch.equal(encoder.get_input_embeddings().weight, embeddings_before)
    assert float(head.bias.detach().abs().sum()) > 0  # the head's own bias learns
    assert any(not torch.equal(v, encoder.encoder.layer[0].state_dict()[k]) for k, v in layer_before.items())
    assert fixed_mask_loss(model, "mlm", features) < before


def test_score_and_decode_collect_every_window_of_an_example() -> None:
    features = [{"example_index": 0}, {"example_index": 1}, {"example_index": 0}]
    rows = [
        np.array([[5, 5, math.log(0.5)]], dtype=np.float32),
        np.zeros((0, 3), dtype=np.float32),
        np.array([[7, 8, math.log(0.25)], [9, 9, math.log(0.5)]], dtype=np.float32),
    ]
    examples = EXAMPLES[:2]
    predictions = MLM.decode(examples, features, rows, CARD, SETTINGS)
    assert predictions[0].gold == (5, 7, 9) and predictions[0].predicted == (5, 8, 9)
    assert predictions[1] == MaskedTokenPredictions((), (), ())
    scores = MLM.score(examples, predictions, CARD)
    assert scores["accuracy"] == pytest.approx(200 / 3)
    assert scores["perplexity"] == pytest.approx(
        math.exp(-(2 * math.log(0.5) + math.log(0.25)) / 3), rel=1e-6
    )
    with pytest.raises(XstiltsError, match="nothing to score"):
        MLM.score(examples[1:], predictions[1:], CARD)
    with pytest.raises(ConfigError, match="mlm_accuracy"):
        MLM.score(examples, predictions, CARD.model_copy(update={"metric": "accuracy"}))


# ----------------------------------------------------------------------------- real data


def test_mlm_tatoeba_card_reads_the_tatoeba_sides(shared_data: Path) -> None:
    registry = TaskRegistry(shared_data)
    card = registry.card("mlm-tatoeba")
    assert (card.format, card.reader, card.metric) == ("masked_lm", "plain_text", "mlm_accuracy")
    assert set(registry.present("mlm-tatoeba")["train"]) == set(card.languages)
    tatoeba = shared_data / "xtreme" / "tatoeba"
    for lang, file in [
        ("de", "tatoeba.deu-eng.deu"),
        ("zh", "tatoeba.cmn-eng.cmn"),
        ("en", "tatoeba.deu-eng.eng"),
    ]:
        examples = registry.load("mlm-tatoeba", "train", lang)
        lines = (tatoeba / file).read_text(encoding="utf-8").splitlines()
        assert [ex.text for ex in examples] == lines
    assert len(registry.load("mlm-tatoeba", "train", "jv")) == 205  # the shortest XTREME pair


def test_multi_task_training_mixes_mlm_and_classification_batches(tiny, shared_data: Path) -> None:
    registry = TaskRegistry(shared_data)
    xnli, mlm = registry.card("xnli"), registry.card("mlm-tatoeba")
    classification = get_format("classification")
    nli_examples = registry.load("xnli", "dev", "en")[:24]
    text = registry.load("mlm-tatoeba", "train", "de")[:16] + registry.load("mlm-tatoeba", "train", "zh")[:16]
    nli_features = classification.featurize(nli_examples, tiny.tokenizer, xnli, SETTINGS)
    mlm_features = MLM.featurize(text, tiny.tokenizer, mlm, SETTINGS)
    dev_text = registry.load("mlm-tatoeba", "train", "ru")[:8]

    encoder = copy.deepcopy(tiny.encoder)
    torch.manual_seed(0)
    heads = {
        "xnli": classification.build_head(xnli, encoder.config.hidden_size),
        "mlm-tatoeba": MLM.build_head(mlm, encoder.config.hidden_size),
    }
    model = TaskModel(encoder, heads)
    tasks = [
        TrainingTask(xnli, classification, nli_features, SETTINGS),
        TrainingTask(
            mlm,
            MLM,
            mlm_features,
            SETTINGS,
            dev_text,
            MLM.featurize(dev_text, tiny.tokenizer, mlm, SETTINGS),
            "ru",
        ),
    ]
    config = TrainConfig(
        learning_rate=1e-3,
        batch_size=4,
        max_steps=10,
        eval_every=5,
        warmup=0.0,
        patience=None,
        sampler="uniform",
        freeze_word_embeddings=True,
    )
    result = train(model, tasks, config, PAD, seed=0, progress=False)
    assert result.steps == 10
    assert result.examples_per_task["xnli"] > 0 and result.examples_per_task["mlm-tatoeba"] > 0
    assert all(math.isfinite(r["train_loss"]) for r in result.history)
    # The MLM dev set scores like any task's: early stopping can use it.
    assert all(0.0 <= r["dev/mlm-tatoeba"] <= 100.0 for r in result.history)
    model.eval()
    with torch.inference_mode():
        for task in tasks:
            batch = task.format.collate(task.features[:8], PAD)
            assert math.isfinite(float(task.format.loss(model(task.name, batch), batch))), task.name


def test_study_with_mlm_arms_validates_and_plans(tmp_path: Path, shared_data: Path) -> None:
    study = {
        "name": "mlm-baseline",
        "model": "random:tiny",
        "data_dir": str(shared_data),
        "seeds": [1],
        "arms": [
            {"name": "none"},
            {
                "name": "mlm",
                "intermediate": [
                    {"task": "mlm-tatoeba", "split": "train", "languages": ["de", "ru", "zh"], "size": 500}
                ],
            },
            {
                "name": "nli+mlm",
                "intermediate": [
                    {"task": "xnli", "split": "dev", "languages": ["en"], "size": 2000},
                    {
                        "task": "mlm-tatoeba",
                        "split": "train",
                        "languages": ["de", "ru"],
                        "size": 500,
                        "seed": 1,
                    },
                ],
            },
        ],
        "targets": [
            {
                "task": "pawsx",
                "train": {"split": "dev", "languages": ["en"], "size": 1000},
                "evaluate": {"split": "dev", "offset": 1000},
            }
        ],
    }
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    loaded, registry = load_study(path)
    assert [s.task for s in loaded.arms[2].intermediate] == ["xnli", "mlm-tatoeba"]
    intermediate = [
        run for run in build_plan(loaded, registry, tmp_path / "out") if run.phase == "intermediate"
    ]
    assert len(intermediate) == 2
    by_tasks = {tuple(run.tasks): run for run in intermediate}
    assert by_tasks[("mlm-tatoeba",)].train_examples == 1500
    assert by_tasks[("xnli", "mlm-tatoeba")].train_examples == 3000

    study["arms"][1]["intermediate"][0]["languages"] = ["de", "xx"]
    path.write_text(yaml.safe_dump(study))
    with pytest.raises(ConfigError, match=r"arms\.1\.intermediate\.0\.languages"):
        load_study(path)
