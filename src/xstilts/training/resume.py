"""Training state on disk, so that a killed run continues where it stopped.

Everything that decides what the next optimiser step does is saved: model and optimiser
weights, the learning-rate schedule, each task's batch stream and the task sampler, every random
generator (Python, NumPy, torch CPU and CUDA), the counters, the dev history and the best
weights kept for early stopping. A resumed CPU run therefore takes exactly the steps the
uninterrupted run would have taken and ends with the same weights.

The state is one safetensors file and holds no code: every tensor (weights, optimiser moments,
best weights, torch's random states as uint8 tensors) is a safetensors entry, and the rest of
the state (counters, scheduler, NumPy and Python random states, batch-stream and sampler
positions, dev history) is JSON, with each tensor replaced by a reference to its entry. The JSON
is itself an entry (UTF-8 bytes as a uint8 tensor), not the metadata header: safetensors refuses
to read headers over 100 MB, and the batch streams' pending indices of a training set with
millions of examples would come near that. One file written to a temporary name, synced and
renamed: a kill during the write leaves the previous state intact, and the tensors and the JSON
always belong together.

A state that cannot be read (truncated, overwritten, written for another model) is discarded
with a note naming it, and the run starts from its beginning: the result is then that of an
uninterrupted run. The pickled `train-state.pt` of older versions is never loaded, only removed.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

STATE_FILE = "train-state.safetensors"
LEGACY_STATE_FILE = "train-state.pt"  # a pickle (torch.save): never loaded, it could run code
STATE_FORMAT = "xstilts-train-state"  # metadata key; its value is the version
DOCUMENT_ENTRY = "state.json"  # the JSON tree (tensor entries are paths in the tree: "/model/...")
STATE_VERSION = 1
# Tags of the JSON tree: values JSON itself cannot tell apart. Plain dicts of the state never
# have keys starting with "__" (saving checks), so a tag cannot be mistaken for data.
TENSOR, TUPLE, INT_KEYS = "__tensor__", "__tuple__", "__int_keys__"


class DamagedState(Exception):
    """A training state file that cannot be read back as a state."""


def random_states() -> dict[str, Any]:
    """Every random generator the training draws from, as JSON values and uint8 tensors."""
    version, internal, gauss_next = random.getstate()
    numpy_state = np.random.get_state(legacy=False)
    numpy_key = numpy_state["state"]["key"].tolist()  # MT19937's 624 words, as JSON ints
    states: dict[str, Any] = {
        "python": [version, list(internal), gauss_next],
        "numpy": {**numpy_state, "state": {**numpy_state["state"], "key": numpy_key}},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_random_states(states: dict[str, Any]) -> None:
    version, internal, gauss_next = states["python"]
    random.setstate((version, tuple(internal), gauss_next))
    numpy_state = states["numpy"]
    key = np.asarray(numpy_state["state"]["key"], dtype=np.uint32)
    np.random.set_state({**numpy_state, "state": {**numpy_state["state"], "key": key}})
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def write_state(path: Path, state: Mapping[str, Any]) -> None:
    """Write `state` (a tree of dicts, lists, tuples, numbers, strings and tensors) atomically."""
    packer = _Packer()
    tree = packer.pack(state, "")
    document = json.dumps(tree, separators=(",", ":")).encode()
    tensors = {**packer.tensors, DOCUMENT_ENTRY: torch.frombuffer(bytearray(document), dtype=torch.uint8)}
    metadata = {"format": "pt", STATE_FORMAT: str(STATE_VERSION)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        save_file(tensors, str(tmp), metadata=metadata)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_state(path: Path) -> dict[str, Any]:
    """The state written by `write_state`; DamagedState if the file is not one (and never runs
    anything: safetensors holds raw tensors and json.loads builds plain values)."""
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            version = (handle.metadata() or {}).get(STATE_FORMAT)
            if version is None or DOCUMENT_ENTRY not in handle.keys():  # noqa: SIM118 (not a dict)
                raise DamagedState("not an xstilts training state")
            if version != str(STATE_VERSION):
                raise DamagedState(f"version {version} of the training state, not {STATE_VERSION}")
            document = json.loads(handle.get_tensor(DOCUMENT_ENTRY).numpy().tobytes())
            tensors = {key: handle.get_tensor(key) for key in handle.keys() if key != DOCUMENT_ENTRY}  # noqa: SIM118
        state = _unpack(document, tensors)
    except (SafetensorError, ValueError, KeyError, TypeError, IndexError) as error:
        # ValueError covers json.JSONDecodeError and UnicodeDecodeError.
        raise DamagedState(" ".join(f"{type(error).__name__}: {error}".split())) from error
    if not isinstance(state, dict) or not isinstance(state.get("step"), int):
        raise DamagedState("the state has no step counter")
    return state


def model_mismatch(saved: Mapping[str, torch.Tensor], live: Mapping[str, torch.Tensor]) -> str | None:
    """Why saved model weights do not fit the live model (None when they fit)."""
    if set(saved) != set(live):
        differing = sorted(set(saved) ^ set(live))
        return f"its model weights name other tensors ({', '.join(differing[:3])}...)"
    for name, tensor in live.items():
        other = saved[name]
        if not isinstance(other, torch.Tensor) or other.shape != tensor.shape or other.dtype != tensor.dtype:
            return f"its weight {name} has another shape or type than the model's"
    return None


class TrainingCheckpoint:
    """Where one run keeps its training state, and how often it refreshes it.

    `every_steps` (tests, short runs) and `every_seconds` (long GPU runs: a state of XLM-R Large
    with AdamW's moments is ~7 GB, too big to write every few steps) may be combined.
    """

    def __init__(
        self, path: Path, every_steps: int | None = None, every_seconds: float | None = 1800.0
    ) -> None:
        self.path = Path(path)
        self.every_steps = every_steps
        self.every_seconds = every_seconds
        self._last_save = time.monotonic()

    def due(self, step: int) -> bool:
        if self.every_steps is not None and step % self.every_steps == 0:
            return True
        return self.every_seconds is not None and time.monotonic() - self._last_save >= self.every_seconds

    def load(self, model_state: Mapping[str, torch.Tensor] | None = None) -> dict[str, Any] | None:
        """The saved state, or None to start from the beginning: when there is none, or when it
        is damaged or (given the live `model_state`) saved for another model: then it is
        discarded with a note on stderr."""
        legacy = self.path.with_name(LEGACY_STATE_FILE)
        if legacy != self.path and legacy.is_file():
            _note(
                f"removing {legacy}, the training state of an older xstilts: a pickle, never loaded (it can"
                " run code); the run starts from its beginning"
            )
            legacy.unlink(missing_ok=True)
        if not self.path.is_file():
            return None
        try:
            state = read_state(self.path)
        except DamagedState as damage:
            self.discard(str(damage))
            return None
        problem = model_mismatch(state.get("model", {}), model_state) if model_state is not None else None
        if problem is not None:
            self.discard(problem)
            return None
        return state

    def discard(self, reason: str) -> None:
        _note(f"discarding damaged training state {self.path} ({reason}); the run starts from its beginning")
        self.path.unlink(missing_ok=True)

    def save(self, state: dict[str, Any]) -> None:
        write_state(self.path, state)
        self._last_save = time.monotonic()


def _note(message: str) -> None:
    print(f"xstilts: {message}", file=sys.stderr, flush=True)


class _Packer:
    """The state as JSON, its tensors moved into `tensors` under their path in the tree. A tensor
    met twice (tied weights) is stored once; other views of a stored tensor's memory are copied
    apart, since safetensors stores no shared memory."""

    def __init__(self) -> None:
        self.tensors: dict[str, torch.Tensor] = {}
        self._stored: dict[tuple, str] = {}  # (data pointer, dtype, shape, stride) -> entry
        self._storages: set[int] = set()

    def pack(self, value: Any, path: str) -> Any:
        if isinstance(value, torch.Tensor):
            return {TENSOR: self._tensor(value, path)}
        if isinstance(value, Mapping):
            if all(isinstance(key, str) for key in value):
                if any(key.startswith("__") for key in value):
                    raise TypeError(f"training state {path or '/'}: keys starting with '__' are reserved")
                return {key: self.pack(item, f"{path}/{key}") for key, item in value.items()}
            if all(isinstance(key, int) and not isinstance(key, bool) for key in value):
                return {INT_KEYS: [[key, self.pack(item, f"{path}/{key}")] for key, item in value.items()]}
            raise TypeError(f"training state {path or '/'}: dict keys must be all strings or all ints")
        if isinstance(value, tuple):
            return {TUPLE: [self.pack(item, f"{path}/{i}") for i, item in enumerate(value)]}
        if isinstance(value, list):
            return [self.pack(item, f"{path}/{i}") for i, item in enumerate(value)]
        if isinstance(value, np.generic):
            return value.item()
        if value is None or isinstance(value, bool | int | float | str):
            return value
        raise TypeError(f"training state {path or '/'}: cannot store a {type(value).__name__}")

    def _tensor(self, value: torch.Tensor, path: str) -> str:
        tensor = value.detach().to("cpu")
        if not tensor.numel():  # empty tensors have no memory to share
            self.tensors[path] = tensor.contiguous()
            return path
        identity = (tensor.data_ptr(), tensor.dtype, tuple(tensor.shape), tensor.stride())
        if identity in self._stored:
            return self._stored[identity]
        storage = tensor.untyped_storage().data_ptr()
        if not tensor.is_contiguous() or storage in self._storages:
            tensor = tensor.contiguous().clone()
            storage = tensor.untyped_storage().data_ptr()
        self._storages.add(storage)
        self._stored[identity] = path
        self.tensors[path] = tensor
        return path


def _unpack(value: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    if isinstance(value, list):
        return [_unpack(item, tensors) for item in value]
    if not isinstance(value, dict):
        return value
    if TENSOR in value:
        return tensors[value[TENSOR]]
    if TUPLE in value:
        return tuple(_unpack(item, tensors) for item in value[TUPLE])
    if INT_KEYS in value:
        return {int(key): _unpack(item, tensors) for key, item in value[INT_KEYS]}
    return {key: _unpack(item, tensors) for key, item in value.items()}
