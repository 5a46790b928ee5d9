"""Throughput figures that `xstilts calibrate` measures and `xstilts plan` reads, in the cache.

One JSON file per model shape, device and precision: `<cache>/throughput/<shape>-<device>-<precision>.json`.
Keyed by the shape, not the spec, because two sources of one shape compute alike: a calibration of
`random:large` on a GPU serves `hf:FacebookAI/xlm-roberta-large` before it is downloaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xstilts.files import read_json, write_json
from xstilts.plan.estimate import Throughput
from xstilts.plan.model_shape import ModelShape

DEVICES = ("cuda", "cpu")  # the device types a plan looks for, in this order, when the study says auto


def calibration_path(cache_dir: Path, shape: ModelShape, device: str, precision: str) -> Path:
    return Path(cache_dir) / "throughput" / f"{shape.key()}-{device}-{precision}.json"


def save_calibration(cache_dir: Path, shape: ModelShape, record: dict[str, Any]) -> Path:
    """Store a measured record (atomic write: a reader never sees half of one)."""
    path = calibration_path(cache_dir, shape, record["device"], record["precision"])
    write_json(path, record)
    return path


def load_calibration(cache_dir: Path, shape: ModelShape, device: str, precision: str) -> Throughput | None:
    path = calibration_path(cache_dir, shape, device, precision)
    if not path.is_file():
        return None
    record = read_json(path)
    where = f"{record.get('device_name', device)}, {precision}, calibrated {record.get('measured_at', '?')}"
    return Throughput(
        float(record["train_tokens_per_second"]),
        float(record["eval_tokens_per_second"]),
        float(record.get("step_seconds", 0.0)),
        int(record["length"]),
        float(record.get("load_seconds", 0.0)),
        source=f"xstilts calibrate ({where})",
    )


def local_device() -> str:
    """The device `run` picks on this machine when the study says auto (torch.cuda.is_available()),
    found without importing torch: an NVIDIA driver is loaded."""
    return "cuda" if Path("/proc/driver/nvidia/version").exists() else "cpu"


def calibrated_device(cache_dir: Path, shape: ModelShape) -> str | None:
    """The device a plan assumes when the study says auto: the first calibrated one (GPU first)."""
    for device in DEVICES:
        if any(Path(cache_dir, "throughput").glob(f"{shape.key()}-{device}-*.json")):
            return device
    return None
