"""The plan's budget: model shapes, token lengths, padding, the estimate per run, calibration, --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_pipeline import STUDY, write_study

from xstilts.cli import main
from xstilts.config.features import FeatureSettings
from xstilts.config.model_source import RANDOM_PRESETS
from xstilts.config.study import load_study
from xstilts.data.lengths import TokenLengths, feature_lengths, tokenizer_file
from xstilts.plan.calibration import calibrated_device, load_calibration, save_calibration
from xstilts.plan.estimate import CPU_PROCESS_BYTES, LengthSample, Throughput, estimate_plan, padded_mean
from xstilts.plan.graph import build_plan
from xstilts.plan.model_shape import PUBLISHED_SHAPES, model_shape, shape_from_config


def test_xlmr_large_has_560m_parameters_and_weighs_2_2_gb() -> None:
    large = PUBLISHED_SHAPES["FacebookAI/xlm-roberta-large"]
    # The model card's "560M" with the MLM head; the encoder alone (no pooler) is 558.8M.
    assert 558e6 < large.parameter_count() < 561e6
    assert 2.2e9 < 4 * large.parameter_count() < 2.25e9  # float32 safetensors
    assert large.parameter_count() == RANDOM_PRESETS["large"].parameter_count()  # same shape
    assert model_shape("hf:FacebookAI/xlm-roberta-large") is not None
    assert model_shape("hf:FacebookAI/xlm-roberta-large").key() == model_shape("random:large").key()


def test_me5_small_shape_matches_its_converted_weights() -> None:
    shape = model_shape("bundled:me5-small", Path("/nonexistent"))  # the conversion's shape, not read
    assert shape.parameter_count() == 117_505_920  # xstilts models: 117.5M
    # The converted file in the cache: parameters x 4 bytes plus the safetensors header.
    assert abs(4 * shape.parameter_count() - 470_045_872) < 100_000


def test_shape_from_a_config_file(tmp_path: Path) -> None:
    config = {"hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 16}
    (tmp_path / "config.json").write_text(json.dumps({**config, "vocab_size": 100}))
    (tmp_path / "tokenizer.json").write_text("x" * 1234)
    shape = model_shape(f"path:{tmp_path}")
    assert (shape.hidden, shape.layers, shape.vocab, shape.tokenizer_bytes) == (8, 2, 100, 1234)
    with pytest.raises(ValueError):
        shape_from_config({"hidden_size": 8}, "x")
    assert model_shape("hf:nobody/unknown-model") is None  # not cached, not published


def test_feature_lengths_follow_the_featurisers() -> None:
    settings = FeatureSettings(max_length=64, doc_stride=16, max_query_length=10)
    assert feature_lengths(("pair", 10, 0, 1), settings) == [12]
    assert feature_lengths(("pair", 10, 5, 1), settings) == [19]
    assert feature_lengths(("pair", 100, 5, 1), settings) == [64]  # truncated
    assert feature_lengths(("chunk", 130, 0, 1), settings) == [64, 64, 8]  # windows of 62 + specials
    # QA: question cut to 10, context room 64 - 10 - 4 = 50
    assert feature_lengths(("window", 30, 40, 1), settings) == [54]
    # question 5: room 55, windows start every 55 - 16 = 39 tokens (0, 39, 78): the last holds 22
    assert feature_lengths(("window", 5, 100, 1), settings) == [64, 64, 5 + 22 + 4]


def test_padding_per_batch() -> None:
    assert padded_mean([7] * 100, 8, 100, None) == 7
    lengths = list(range(1, 401))
    grouped = padded_mean(lengths, 8, 400, 400)
    shuffled = padded_mean(lengths, 8, 400, 0)
    assert sum(lengths) / 400 <= grouped < sum(lengths) / 400 + 8  # at most a batch's spread
    assert shuffled > grouped + 100  # random batches pad to a high quantile
    # A sample standing for a large population: batches cover a small share of the sample.
    assert padded_mean(lengths, 8, 1_000_000, None) == pytest.approx(sum(lengths) / 400, rel=0.01)


def test_token_lengths_are_sampled_and_cached(tmp_path: Path, shared_data: Path) -> None:
    study, registry = load_study(write_study(tmp_path, shared_data))
    path, _ = tokenizer_file("random:tiny")
    lengths = TokenLengths(registry, path, tmp_path / "cache", sample=50)
    sample = lengths.sample("pawsx", "dev", ["en", "de"], FeatureSettings(max_length=64))
    assert sample.measured and len(sample.lengths) == 100 and max(sample.lengths) <= 64
    assert sample.features_per_example == 1.0
    cached = list((tmp_path / "cache" / "lengths").glob("pawsx-dev-*.json"))
    assert len(cached) == 2
    again = TokenLengths(registry, None, tmp_path / "cache", sample=50)  # no tokenizer: from the cache
    again.tokenizer_path = path
    assert again.sample("pawsx", "dev", ["en", "de"], FeatureSettings(max_length=64)) == sample
    absent = lengths.sample("mnli", "train", ["en"], FeatureSettings(max_length=64))
    assert not absent.measured and absent.lengths == (64,)


def fixed_lengths(task: str, split: str, languages, settings: FeatureSettings) -> LengthSample:
    return LengthSample((32,) * 10)


def test_estimate_per_run(tmp_path: Path, shared_data: Path) -> None:
    study, registry = load_study(write_study(tmp_path, shared_data))
    plan = build_plan(study, registry, tmp_path / "out")
    shape = model_shape("random:tiny")
    tokens_per_second = 1000.0
    budget = estimate_plan(plan, shape, fixed_lengths, Throughput.given(tokens_per_second), "cpu")
    target = next(n for n in plan if n.phase == "target" and n.arms == ["none"])
    run = budget.runs[target.id]
    # 40 examples x 2 epochs trained, dev 16 x 2 passes + 24 x 3 languages evaluated, 32 tokens each
    expected = (80 * 32 / tokens_per_second + (32 + 72) * 32 / (3 * tokens_per_second)) / 3600
    assert run.device_hours == pytest.approx(expected)
    weights = 4 * shape.parameter_count() + shape.tokenizer_bytes
    assert weights < run.written_bytes < weights + 100_000
    assert run.disk_bytes < 100_000  # keep: reused, a target's weights go
    intermediate = next(n for n in plan if n.phase == "intermediate")
    assert budget.runs[intermediate.id].disk_bytes > weights  # targets train on it: kept
    # Memory: float32 weights, gradients and two moments of what trains (word embeddings frozen in
    # the intermediate phase), the best weights (early stopping on CPU), plus activations.
    params = shape.parameter_count()
    assert run.peak_memory_bytes > 4 * params * 4 + 4 * params + CPU_PROCESS_BYTES
    frozen = budget.runs[intermediate.id].peak_memory_bytes
    states = 4 * params + 12 * (params - shape.word_embedding_parameters) + CPU_PROCESS_BYTES
    assert states < frozen < states + 50_000_000
    assert budget.total.device_hours == pytest.approx(sum(e.device_hours for e in budget.runs.values()))
    assert budget.total.written_bytes == sum(e.written_bytes for e in budget.runs.values())
    unknown = estimate_plan(plan, shape, fixed_lengths, None, "cpu")
    assert unknown.total.device_hours is None and unknown.runs[target.id].device_hours is None


def test_calibration_is_stored_per_shape_device_and_precision(tmp_path: Path) -> None:
    shape = model_shape("random:large")
    record = {
        "device": "cuda",
        "device_name": "H200",
        "precision": "bf16",
        "length": 128,
        "train_tokens_per_second": 50_000.0,
        "eval_tokens_per_second": 150_000.0,
        "step_seconds": 0.05,
    }
    save_calibration(tmp_path, shape, record)
    found = load_calibration(tmp_path, model_shape("hf:FacebookAI/xlm-roberta-large"), "cuda", "bf16")
    assert found is not None and found.train_tokens_per_second == 50_000 and found.length == 128
    assert load_calibration(tmp_path, shape, "cuda", "fp32") is None
    assert load_calibration(tmp_path, model_shape("random:base"), "cuda", "bf16") is None
    assert calibrated_device(tmp_path, shape) == "cuda"


def test_plan_json_carries_the_estimate(
    tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_study(tmp_path, shared_data)
    cache = ["--cache-dir", str(tmp_path / "cache")]
    assert main(["plan", str(path), "--out", str(tmp_path / "out"), "--json", *cache]) == 0
    listing = json.loads(capsys.readouterr().out)
    keys = {"device_hours", "disk_bytes", "written_bytes", "peak_memory_bytes"}
    for entry in [listing["summary"], *listing["runs"]]:
        assert set(entry["estimate"]) == keys
        assert entry["estimate"]["device_hours"] is None  # no calibration, no --tokens-per-second
        assert entry["estimate"]["disk_bytes"] > 0 and entry["estimate"]["peak_memory_bytes"] > 0
    args = ["plan", str(path), "--out", str(tmp_path / "out"), *cache, "--tokens-per-second", "2000"]
    args += ["--device", "cpu"]
    assert main([*args, "--json"]) == 0
    timed = json.loads(capsys.readouterr().out)
    assert timed["summary"]["estimate"]["device_hours"] > 0
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "device-hours (cpu)" in text and "peak training memory" in text and "disk at the end" in text
    assert main(["plan", str(path), "--out", str(tmp_path / "out"), *cache]) == 0
    assert "run xstilts calibrate --model random:tiny" in capsys.readouterr().out


@pytest.mark.parametrize("here", ["cpu", "cuda"])
def test_without_calibration_the_plan_budgets_for_this_machines_device(
    here: str, tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    import xstilts.plan.calibration

    monkeypatch.setattr(xstilts.plan.calibration, "local_device", lambda: here)
    path = write_study(tmp_path, shared_data)
    cache = ["--cache-dir", str(tmp_path / "cache")]
    assert main(["plan", str(path), "--out", str(tmp_path / "out"), *cache]) == 0
    assert f"run xstilts calibrate --model random:tiny --device {here}" in capsys.readouterr().out
    assert main(["plan", str(path), "--out", str(tmp_path / "out"), *cache, "--device", "cuda"]) == 0
    assert "run xstilts calibrate --model random:tiny --device cuda" in capsys.readouterr().out


def test_lora_and_gradient_checkpointing_change_time_memory_and_disk(
    tmp_path: Path, shared_data: Path
) -> None:
    """A LoRA target stores its adapter and heads, keeps optimiser state for those alone and skips
    weight gradients (4 N a token, not 6 N); gradient checkpointing trades activations for a second
    forward pass (+2 N)."""
    shape, given = model_shape("random:tiny"), Throughput(1000.0, 3000.0, step_seconds=0.5)

    def target_run(training: dict):
        # batch 32: training's activations, not evaluation's, set the peak of each
        settings = {**STUDY["target_training"], "batch_size": 32, **training}
        study = {**STUDY, "retrieval": [], "target_training": settings}
        loaded, registry = load_study(write_study(tmp_path, shared_data, study))
        plan = build_plan(loaded, registry, tmp_path / "out")
        node = next(n for n in plan if n.phase == "target" and n.arms == ["none"])
        return estimate_plan(plan, shape, fixed_lengths, given, "cpu").runs[node.id]

    full, lora = target_run({}), target_run({"method": "lora", "lora": {"r": 4}})
    full_gc = target_run({"gradient_checkpointing": True})
    lora_gc = target_run({"method": "lora", "lora": {"r": 4}, "gradient_checkpointing": True})
    params, adapter = shape.parameter_count(), shape.lora_parameters(["query", "value"], 4)
    heads = shape.hidden * (shape.hidden + 21)

    # Disk: the adapter and one head in float32, no encoder, no tokenizer.
    assert full.written_bytes - lora.written_bytes == pytest.approx(
        4 * params + shape.tokenizer_bytes - 4 * (adapter + heads), abs=1_000
    )
    # Memory: gradients and two moments of the whole encoder are gone, the best-weights copy is small.
    saved = 12 * params + 4 * params - 4 * adapter - 16 * (adapter + heads)
    assert full.peak_memory_bytes - lora.peak_memory_bytes == pytest.approx(saved, abs=1_000)
    assert full_gc.peak_memory_bytes < full.peak_memory_bytes
    assert (
        full.peak_memory_bytes - full_gc.peak_memory_bytes
        == lora.peak_memory_bytes - lora_gc.peak_memory_bytes
    )

    # Time: 80 trained examples of 32 tokens at 1000 tokens/s, 3 optimiser steps (80 / 32) of 0.5 s
    # (scaled by the share of weights updated); dev passes and evaluations cost the same in all four.
    steps, tokens = 3, 80 * 32 / 1000
    rest = full.device_hours * 3600 - tokens - steps * 0.5
    share = (adapter + heads) / params
    assert lora.device_hours * 3600 == pytest.approx(rest + tokens * 4 / 6 + steps * 0.5 * share)
    assert full_gc.device_hours * 3600 == pytest.approx(rest + tokens * 8 / 6 + steps * 0.5)
    assert lora_gc.device_hours * 3600 == pytest.approx(rest + tokens + steps * 0.5 * share)


def test_keeping_every_checkpoint_costs_more_disk(tmp_path: Path, shared_data: Path) -> None:
    budgets = {}
    for keep in ("all", "reused", "none"):
        study, registry = load_study(
            write_study(tmp_path, shared_data, {**STUDY, "checkpoints": {"keep": keep}})
        )
        plan = build_plan(study, registry, tmp_path / "out")
        budgets[keep] = estimate_plan(plan, model_shape("random:tiny"), fixed_lengths, None, "cpu").total
    assert budgets["all"].disk_bytes > budgets["reused"].disk_bytes > budgets["none"].disk_bytes
    assert budgets["all"].written_bytes == budgets["reused"].written_bytes == budgets["none"].written_bytes
    assert budgets["all"].disk_bytes == budgets["all"].written_bytes


def test_wall_clock_across_devices(tmp_path: Path, shared_data: Path) -> None:
    from xstilts.plan.estimate import wall_hours

    study, registry = load_study(write_study(tmp_path, shared_data, {**STUDY, "seeds": [1, 2]}))
    plan = build_plan(study, registry, tmp_path / "out")
    budget = estimate_plan(plan, model_shape("random:tiny"), fixed_lengths, Throughput.given(100.0), "cpu")
    assert wall_hours(plan, budget, 1) == pytest.approx(budget.total.device_hours)
    first, *units = plan.units()
    pretrained = budget.runs[first[0].node.id].device_hours
    longest = max(sum(budget.runs[s.node.id].device_hours for s in unit) for unit in units)
    assert wall_hours(plan, budget, 8) == pytest.approx(pretrained + longest)  # 4 units, 8 devices
    assert wall_hours(plan, budget, 2) < budget.total.device_hours
    assert (
        wall_hours(plan, estimate_plan(plan, model_shape("random:tiny"), fixed_lengths, None, "cpu"), 8)
        is None
    )


@pytest.mark.slow
def test_calibrate_command_feeds_the_plan(
    tmp_path: Path, shared_data: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = ["--cache-dir", str(cache_dir)]
    args = [
        "--model",
        "random:tiny",
        "--device",
        "cpu",
        "--steps",
        "1",
        "--length",
        "16",
        "--batch-size",
        "2",
    ]
    assert main(["calibrate", *args, *cache]) == 0
    assert "tokens/s" in capsys.readouterr().out
    [stored] = (cache_dir / "throughput").glob("h64-l2-*-cpu-fp32.json")
    record = json.loads(stored.read_text())
    assert record["model"] == "random:tiny" and record["length"] == 16 and record["precision"] == "fp32"
    assert record["train_tokens_per_second"] > 0 and record["eval_tokens_per_second"] > 0
    study = write_study(tmp_path, shared_data, {**STUDY, "device": "cpu"})
    assert main(["plan", str(study), "--out", str(tmp_path / "out"), "--json", *cache]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["summary"]["estimate"]["device_hours"] > 0
    assert all(run["estimate"]["device_hours"] > 0 for run in listing["runs"])


def test_multiple_choice_counts_a_row_per_choice(tmp_path: Path, shared_data: Path) -> None:
    study, registry = load_study(write_study(tmp_path, shared_data))
    path, _ = tokenizer_file("random:tiny")
    lengths = TokenLengths(registry, path, tmp_path / "cache", sample=20)
    sample = lengths.sample("xcopa", "test", ["it"], FeatureSettings(max_length=64))
    # One feature per example (the featuriser's), two rows: XCOPA has two choices.
    assert sample.features_per_example == 1.0 and sample.rows_per_feature == 2.0
