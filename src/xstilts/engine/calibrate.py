"""`xstilts calibrate`: a few timed training and evaluation steps of a model on this device.

What the training loop does per batch, on random token ids of one fixed length: forward and
backward under the loop's autocast, then (timed apart, since it costs per step, not per token)
gradient clipping, AdamW's update and zeroing the gradients; evaluation is a forward pass under
inference mode. Loading the model and tokenizer onto the device is timed too (every run loads
once). The loss is the mean square of the hidden states: heads are a rounding error of an
encoder's compute. The first step of each is a warm-up and not timed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from xstilts.config.model_source import default_cache_dir
from xstilts.models.sources import load_model
from xstilts.plan.calibration import save_calibration
from xstilts.plan.model_shape import shape_from_config
from xstilts.training.loop import autocast, pick_device


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def resolved_precision(device: torch.device, precision: str) -> str:
    """What `autocast` in the training loop does with `precision` on `device`."""
    return "bf16" if isinstance(autocast(device, precision), torch.autocast) else "fp32"


def calibrate(
    spec: str,
    cache_dir: Path | None = None,
    device: str = "auto",
    precision: str = "auto",
    batch_size: int = 8,
    length: int = 128,
    steps: int = 5,
    eval_batch_size: int = 64,
) -> tuple[dict[str, Any], Path]:
    """Measure, store in the cache and return the record, with the file it went to."""
    cache_dir = cache_dir or default_cache_dir()
    where = pick_device(device)
    load_model(spec, cache_dir)  # materialise it first (a conversion or download is no run's cost)
    _sync(where)
    started = time.perf_counter()
    loaded = load_model(spec, cache_dir)
    encoder = loaded.encoder.to(where)
    _sync(where)
    load_seconds = time.perf_counter() - started
    shape = shape_from_config(loaded.encoder.config.to_dict(), spec)
    resolved = resolved_precision(where, precision)
    vocab = encoder.config.vocab_size
    generator = torch.Generator().manual_seed(0)

    def batch(size: int) -> dict[str, torch.Tensor]:
        ids = torch.randint(5, vocab, (size, length), generator=generator)
        return {"input_ids": ids.to(where), "attention_mask": torch.ones_like(ids).to(where)}

    fused = where.type in ("cpu", "cuda")
    optimizer = torch.optim.AdamW(encoder.parameters(), lr=1e-5, fused=fused)
    encoder.train()
    forward_backward = step_seconds = 0.0
    for step in range(steps + 1):
        inputs = batch(batch_size)
        _sync(where)
        started = time.perf_counter()
        with autocast(where, resolved):
            hidden = encoder(**inputs).last_hidden_state
        hidden.float().pow(2).mean().backward()
        _sync(where)
        middle = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(encoder.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        _sync(where)
        if step:  # the first step warms up (kernels, allocator, optimiser state)
            forward_backward += middle - started
            step_seconds += time.perf_counter() - middle
    encoder.eval()
    evaluation = 0.0
    with torch.inference_mode():
        for step in range(steps + 1):
            inputs = batch(eval_batch_size)
            _sync(where)
            started = time.perf_counter()
            with autocast(where, resolved):
                encoder(**inputs)
            _sync(where)
            if step:
                evaluation += time.perf_counter() - started
    record = {
        "model": spec,
        "shape": shape.key(),
        "device": where.type,
        "device_name": torch.cuda.get_device_name(where) if where.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
        "precision": resolved,
        "length": length,
        "batch_size": batch_size,
        "eval_batch_size": eval_batch_size,
        "steps": steps,
        "train_tokens_per_second": round(steps * batch_size * length / forward_backward, 2),
        "step_seconds": round(step_seconds / steps, 5),
        "load_seconds": round(load_seconds, 3),
        "eval_tokens_per_second": round(steps * eval_batch_size * length / evaluation, 2),
        "torch": torch.__version__,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    return record, save_calibration(cache_dir, shape, record)
