"""Parameter-efficient phases (LoRA through peft) and gradient checkpointing (issue 10, items 3-4)."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError
from test_pipeline import STUDY

from xstilts.config.training import LoraSettings, TrainConfig

NEW_KEYS = {"method", "lora", "merge", "gradient_checkpointing"}


# ------------------------------------------------------------------------------------------ identity


def test_the_default_identity_is_the_settings_before_lora_existed() -> None:
    config = TrainConfig(learning_rate=1e-3, epochs=2)
    before = {k: v for k, v in config.model_dump().items() if k not in NEW_KEYS}
    assert config.identity() == before


def test_identity_names_the_method_and_its_settings_but_not_gradient_checkpointing() -> None:
    full = TrainConfig()
    lora = TrainConfig(method="lora")
    assert full.identity() != lora.identity()
    assert lora.identity()["lora"] == {
        "r": 8,
        "alpha": 16.0,
        "dropout": 0.1,
        "target_modules": ("query", "value"),
    }
    assert lora.identity() != TrainConfig(method="lora", lora=LoraSettings(r=16)).identity()
    assert lora.identity() != TrainConfig(method="lora", merge=False).identity()
    # the same arithmetic: a run trained with checkpointing is the run trained without
    assert TrainConfig(gradient_checkpointing=True).identity() == full.identity()
    assert TrainConfig(method="lora", gradient_checkpointing=True).identity() == lora.identity()
    # LoRA settings do nothing to a full fine-tuning run
    assert TrainConfig(lora=LoraSettings(r=64)).identity() == full.identity()


def test_stacking_needs_a_lora_phase() -> None:
    with pytest.raises(ValidationError, match="merge: false"):
        TrainConfig(merge=False)
    with pytest.raises(ValidationError):
        LoraSettings(target_modules=())


# ------------------------------------------------------------------------------------------ adapters


def lora_params(layers: int, hidden: int, r: int, modules: int = 2) -> int:
    """LoRA on `modules` square projections per layer: A (r x hidden) and B (hidden x r) each."""
    return layers * modules * 2 * r * hidden


def trainable(module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def total(module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(
    "modules", [("query", "value"), ("key",), ("dense",), ("attention.output.dense", "intermediate.dense")]
)
def test_the_plan_counts_adapter_weights_as_peft_adds_them(tiny, modules) -> None:
    """The budget's LoRA size (no torch, from the model's shape) against peft on the real model."""
    pytest.importorskip("peft")
    from xstilts.plan.model_shape import model_shape
    from xstilts.training.adapters import add_adapter

    encoder = add_adapter(copy.deepcopy(tiny.encoder), LoraSettings(r=4, target_modules=modules), "target")
    assert model_shape("random:tiny").lora_parameters(modules, 4) == trainable(encoder)


def test_merge_and_stack_train_only_the_new_adapter(tiny, tmp_path: Path) -> None:
    pytest.importorskip("peft")
    import torch

    from xstilts.training.adapters import adapter_names, add_adapter, load_adapter, merged, save_adapter

    base_size, config = total(tiny.encoder), tiny.encoder.config
    adapter = lora_params(config.num_hidden_layers, config.hidden_size, r=4)
    settings = LoraSettings(r=4)

    torch.manual_seed(0)
    intermediate = add_adapter(copy.deepcopy(tiny.encoder), settings, "intermediate")
    assert trainable(intermediate) == adapter and total(intermediate) == base_size + adapter
    with torch.no_grad():  # B starts at zero; give the adapter an effect to carry over
        for name, param in intermediate.named_parameters():
            if "lora_B" in name:
                param.normal_(std=0.1)
    save_adapter(intermediate, tmp_path, "intermediate")
    saved = tmp_path / "adapters" / "intermediate"
    assert {p.name for p in saved.iterdir()} == {"adapter_config.json", "adapter_model.safetensors"}

    ids = torch.randint(5, 1000, (2, 9))
    intermediate.eval()
    expected = intermediate(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state

    def hidden(encoder):
        encoder.eval()
        return encoder(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state

    reloaded = load_adapter(copy.deepcopy(tiny.encoder), tmp_path, "intermediate")
    assert trainable(reloaded) == 0 and torch.equal(hidden(reloaded), expected)

    # merge: the adapter is folded into the weights; the target's adapter is the only addition
    folded = merged(load_adapter(copy.deepcopy(tiny.encoder), tmp_path, "intermediate"))
    assert adapter_names(folded) == [] and total(folded) == base_size
    torch.testing.assert_close(hidden(folded), expected, rtol=1e-5, atol=1e-5)
    on_merged = add_adapter(folded, settings, "target")
    assert trainable(on_merged) == adapter and total(on_merged) == base_size + adapter

    # stack: the intermediate adapter stays, frozen, and acts beside the fresh one
    stacked = add_adapter(
        load_adapter(copy.deepcopy(tiny.encoder), tmp_path, "intermediate"), settings, "target"
    )
    assert adapter_names(stacked) == ["intermediate", "target"]
    assert trainable(stacked) == adapter and total(stacked) == base_size + 2 * adapter
    assert all("lora_" in n and ".target." in n for n, p in stacked.named_parameters() if p.requires_grad)
    assert torch.equal(hidden(stacked), expected)  # the fresh adapter's B is zero: no effect yet

    # saving a stacked model writes only its own adapter
    save_adapter(stacked, tmp_path / "stacked", "target")
    assert [p.name for p in (tmp_path / "stacked" / "adapters").iterdir() if p.is_dir()] == ["target"]


# ------------------------------------------------------------------------------ gradient checkpointing


def one_step(encoder, card, batch, checkpointing: bool) -> tuple[float, dict]:
    import torch

    from xstilts.config.formats import get_format
    from xstilts.training.loop import enable_gradient_checkpointing
    from xstilts.training.task_model import TaskModel

    fmt = get_format(card.format)
    torch.manual_seed(0)
    model = TaskModel(copy.deepcopy(encoder), {card.name: fmt.build_head(card, encoder.config.hidden_size)})
    if checkpointing:
        enable_gradient_checkpointing(model)
        assert any(getattr(m, "gradient_checkpointing", False) for m in model.encoder.modules())
    model.train()  # dropout on: the recomputed forward must replay the same masks
    torch.manual_seed(1)
    loss = fmt.loss(model(card.name, batch), batch)
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
    return float(loss.detach()), grads


@pytest.fixture(scope="module")
def xnli_batch(shared_data: Path, tiny):
    from xstilts.config.features import FeatureSettings
    from xstilts.config.formats import get_format
    from xstilts.config.registry import TaskRegistry

    registry = TaskRegistry(shared_data)
    card = registry.card("xnli")
    fmt = get_format(card.format)
    examples = registry.load("xnli", "dev", "en")[:4]
    features = fmt.featurize(examples, tiny.tokenizer, card, FeatureSettings(max_length=32))
    return card, fmt.collate(features, tiny.tokenizer.pad_token_id)


@pytest.mark.parametrize("method", ["full", "lora"])
def test_gradient_checkpointing_gives_the_same_loss_and_gradients(tiny, xnli_batch, method: str) -> None:
    import torch

    encoder = tiny.encoder
    if method == "lora":
        pytest.importorskip("peft")
        from xstilts.training.adapters import add_adapter

        torch.manual_seed(0)
        encoder = add_adapter(copy.deepcopy(encoder), LoraSettings(r=4), "target")
    card, batch = xnli_batch
    loss, grads = one_step(encoder, card, batch, checkpointing=False)
    loss_gc, grads_gc = one_step(encoder, card, batch, checkpointing=True)
    assert loss_gc == pytest.approx(loss, rel=1e-6)
    assert grads.keys() == grads_gc.keys() and len(grads) > 2
    for name, grad in grads.items():
        torch.testing.assert_close(grads_gc[name], grad, rtol=1e-5, atol=1e-7, msg=name)


@pytest.mark.slow
def test_gradient_checkpointing_works_on_the_bundled_me5(cache_dir: Path, xnli_batch) -> None:
    import torch

    from xstilts.models.sources import load_model

    me5 = load_model("bundled:me5-small", cache_dir)  # a BERT: another model class than XLM-R
    card, batch = xnli_batch  # same tokenizer (mE5 uses XLM-R's vocabulary)
    loss, grads = one_step(me5.encoder, card, batch, checkpointing=False)
    loss_gc, grads_gc = one_step(me5.encoder, card, batch, checkpointing=True)
    assert loss_gc == pytest.approx(loss, rel=1e-6)
    for name, grad in grads.items():
        torch.testing.assert_close(grads_gc[name], grad, rtol=1e-5, atol=1e-7, msg=name)


# ------------------------------------------------------------------------------------------- resume


@pytest.mark.slow
def test_an_interrupted_lora_run_resumes_to_the_same_adapter(tiny, shared_data: Path, tmp_path: Path) -> None:
    pytest.importorskip("peft")
    import torch
    from test_resume import Interrupted, StopsAfter

    from xstilts.config.features import FeatureSettings
    from xstilts.config.formats import get_format
    from xstilts.config.registry import TaskRegistry
    from xstilts.formats.classification import ClassificationFormat
    from xstilts.training.adapters import add_adapter
    from xstilts.training.loop import TrainingTask, train
    from xstilts.training.resume import TrainingCheckpoint
    from xstilts.training.task_model import TaskModel

    registry = TaskRegistry(shared_data)
    card, settings = registry.card("xnli"), FeatureSettings(max_length=48)
    fmt = get_format("classification")
    features = fmt.featurize(registry.load("xnli", "dev", "en")[:48], tiny.tokenizer, card, settings)
    dev_examples = registry.load("xnli", "dev", "de")[:16]
    dev_features = fmt.featurize(dev_examples, tiny.tokenizer, card, settings)
    config = TrainConfig(
        method="lora", learning_rate=1e-3, batch_size=8, max_steps=9, warmup=0.2, eval_every=2, patience=5
    )

    def run(task_format, checkpoint=None):
        torch.manual_seed(0)
        encoder = add_adapter(copy.deepcopy(tiny.encoder), config.lora, "target")
        model = TaskModel(encoder, {card.name: fmt.build_head(card, 64)})
        task = TrainingTask(card, task_format, features, settings, dev_examples, dev_features, "de")
        result = train(model, [task], config, tiny.tokenizer.pad_token_id, 5, False, checkpoint)
        return model, result

    reference, ref_result = run(ClassificationFormat())
    state = TrainingCheckpoint(tmp_path / "state", every_steps=2, every_seconds=None)
    with pytest.raises(Interrupted):
        run(StopsAfter(5), state)
    saved = state.load()
    assert saved is not None and 2 <= saved["step"] < 9
    # only what trains is in the state: the adapter and the head, not the frozen encoder
    assert saved["model"] and all("lora_" in key or key.startswith("heads.") for key in saved["model"])

    resumed, result = run(ClassificationFormat(), TrainingCheckpoint(state.path, 2, None))
    assert result.history == ref_result.history and result.best_step == ref_result.best_step
    for (name, a), (_, b) in zip(reference.state_dict().items(), resumed.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


# -------------------------------------------------------------------------------------- a LoRA study

LORA = {"method": "lora", "learning_rate": 1e-3, "lora": {"r": 4}}
LORA_STUDY = {
    **STUDY,
    "name": "lora",
    "intermediate_training": {**STUDY["intermediate_training"], **LORA},
    "target_training": {**STUDY["target_training"], **LORA},
    "arms": [a for a in STUDY["arms"] if a["name"] == "nli"],
    "targets": [
        STUDY["targets"][0],  # pawsx: the intermediate adapter merged into the encoder first
        {
            "task": "xnli",
            "training": {"merge": False},  # a fresh adapter stacked on the frozen intermediate one
            "train": {"split": "dev", "languages": ["en"], "size": 40, "offset": 48},
            "evaluate": {"split": "dev", "languages": ["en", "de"], "size": 24, "offset": 100},
        },
    ],
    "retrieval": [],
}


def directory_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


@pytest.mark.slow
def test_a_lora_study_stores_adapters_and_rebuilds_its_encoders(
    tmp_path: Path, shared_data: Path, cache_dir: Path, tiny
) -> None:
    pytest.importorskip("peft")
    from xstilts.config.study import load_study
    from xstilts.engine.runner import run_study
    from xstilts.models.sources import resolve_model_dir

    path = tmp_path / "study.yaml"
    # keep: all, so that the target runs' adapters stay on disk to be checked (by default they are
    # deleted once the runs are scored).
    spec = {**LORA_STUDY, "data_dir": str(shared_data), "checkpoints": {"keep": "all"}}
    path.write_text(yaml.safe_dump(spec))
    study, registry = load_study(path)
    out = tmp_path / "out"
    rows = run_study(study, registry, out, cache_dir, progress=False)
    assert {(r["phase"], r["task"]) for r in rows} >= {("target", "pawsx"), ("target", "xnli")}

    from xstilts.config.formats import get_format

    runs = {}
    for run in (out / "runs").glob("[it]*-*"):
        phase, task = (
            run.name.split("-")[0],
            json.loads((run / "config.json").read_text())["tasks"][0]["task"],
        )
        runs[f"{phase}:{task}"] = run
    assert set(runs) == {"intermediate:xnli", "target:pawsx", "target:xnli"}
    model_dir = resolve_model_dir("random:tiny", cache_dir)
    config = json.loads((model_dir / "config.json").read_text())
    adapter = lora_params(config["num_hidden_layers"], config["hidden_size"], r=4)
    base = total(tiny.encoder)
    counts = {}
    for name, run in runs.items():
        phase, task = name.split(":")
        card = registry.card(task)
        head = total(get_format(card.format).build_head(card, config["hidden_size"]))
        checkpoint = run / "checkpoint"
        assert not (checkpoint / "encoder").exists(), name
        assert (checkpoint / "adapters" / phase / "adapter_model.safetensors").is_file(), name
        assert directory_bytes(checkpoint) < directory_bytes(model_dir) / 50, name
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["trainable_parameters"] == adapter + head, name  # the new adapter and the head
        counts[name] = metrics["parameters"] - head
    # merged: the intermediate adapter is in the weights; stacked: it stays as a second adapter
    assert counts == {
        "intermediate:xnli": base + adapter,
        "target:pawsx": base + adapter,
        "target:xnli": base + 2 * adapter,
    }

    # scores from encoders rebuilt from disk (base + adapters) equal those of the trained models
    before = sorted(
        (r["task"], r["language"], r["metric"], r["value"]) for r in rows if r["phase"] == "target"
    )
    for run in runs.values():
        shutil.rmtree(run / "evals", ignore_errors=True)
    again = run_study(study, registry, out, cache_dir, progress=False)
    assert sorted(
        (r["task"], r["language"], r["metric"], r["value"]) for r in again if r["phase"] == "target"
    ) == (before)


def test_the_training_state_holds_what_trains_and_refuses_another_model(tiny) -> None:
    import torch

    from xstilts.errors import XstiltsError
    from xstilts.training.loop import load_trained_state, trained_state
    from xstilts.training.task_model import TaskModel

    model = TaskModel(copy.deepcopy(tiny.encoder), {"toy": torch.nn.Linear(64, 3)})
    model.encoder.get_input_embeddings().weight.requires_grad_(False)
    state = {k: v.clone() for k, v in trained_state(model).items()}
    assert "encoder.embeddings.word_embeddings.weight" not in state and "heads.toy.weight" in state
    with torch.no_grad():
        model.heads["toy"].weight.zero_()
    load_trained_state(model, state)
    assert torch.equal(model.heads["toy"].weight, state["heads.toy.weight"])
    load_trained_state(model, model.state_dict())  # a whole state_dict (states written before LoRA)
    with pytest.raises(XstiltsError, match="1 trainable missing"):
        load_trained_state(model, {k: v for k, v in state.items() if k != "heads.toy.bias"})
    with pytest.raises(XstiltsError, match="1 unknown"):
        load_trained_state(model, {**state, "heads.other.weight": torch.zeros(1)})
