"""No file on disk can make xstilts run code: no pickle loads anywhere in src/, and a model
directory with pickled weights only is refused before anything reads it.

(The training state and the feature cache, the two files xstilts itself writes and reads back,
are tested in test_resume.py and test_feature_cache.py, planted pickles included.)
"""

from __future__ import annotations

import ast
import pickle
from pathlib import Path

import pytest
import yaml
from test_cli import one_error_line, write_mini_task

from xstilts.cli import main
from xstilts.config.model_source import check_spec
from xstilts.errors import ConfigError

SRC = Path(__file__).resolve().parents[1] / "src"

# Modules whose loading runs code stored in the data (pickle and its relatives).
PICKLE_MODULES = {"pickle", "_pickle", "cPickle", "cloudpickle", "dill", "joblib", "shelve", "marshal"}


def qualified_names(tree: ast.Module) -> dict[str, str]:
    """Local name -> the dotted name it was imported as (`np` -> numpy, `load` -> torch.load)."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def dotted(node: ast.expr, names: dict[str, str]) -> str | None:
    if isinstance(node, ast.Name):
        return names.get(node.id, node.id)
    if isinstance(node, ast.Attribute):
        base = dotted(node.value, names)
        return f"{base}.{node.attr}" if base is not None else None
    return None


def keyword_is(call: ast.Call, name: str, value: object) -> bool:
    return any(
        k.arg == name and isinstance(k.value, ast.Constant) and k.value.value is value for k in call.keywords
    )


def unsafe_loads(source: str, filename: str = "<snippet>") -> list[str]:
    """Every place in `source` that could run code from a file, as 'file:line: what'."""
    tree = ast.parse(source, filename)
    names = qualified_names(tree)
    found: list[str] = []
    for node in ast.walk(tree):
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                if module.split(".")[0] in PICKLE_MODULES:
                    found.append(f"{where}: imports {module}")
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node.func, names) or ""
        if name.split(".")[0] in PICKLE_MODULES and name.rsplit(".", 1)[-1] in {"load", "loads", "Unpickler"}:
            found.append(f"{where}: {name}")
        elif name == "torch.load" and not keyword_is(node, "weights_only", True):
            found.append(f"{where}: torch.load without weights_only=True")
        elif name == "torch.save":
            found.append(f"{where}: torch.save (its files are pickles)")
        elif name in {"numpy.load", "numpy.lib.npyio.load"} and any(
            k.arg == "allow_pickle" and not keyword_is(node, "allow_pickle", False) for k in node.keywords
        ):
            found.append(f"{where}: numpy.load with allow_pickle")
        elif name in {
            "yaml.load",
            "yaml.load_all",
            "yaml.unsafe_load",
            "yaml.full_load",
            "yaml.unsafe_load_all",
        }:
            found.append(f"{where}: {name} (use yaml.safe_load)")
        elif name in {"eval", "exec", "builtins.eval", "builtins.exec"}:
            found.append(f"{where}: {name}()")
    return found


def test_no_code_in_src_loads_a_pickle_or_runs_strings() -> None:
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 50  # the scan sees the package
    problems = [p for path in files for p in unsafe_loads(path.read_text(encoding="utf-8"), str(path))]
    assert problems == []


@pytest.mark.parametrize(
    "snippet",
    [
        "import pickle",
        "from pickle import loads",
        "import cloudpickle as cp\ncp.loads(b'')",
        "import joblib",
        "import torch\ntorch.load('x')",
        "import torch as th\nth.load('x', weights_only=False)",
        "from torch import load\nload('x', map_location='cpu')",
        "import torch\ntorch.save({}, 'x')",
        "import numpy as np\nnp.load('x', allow_pickle=True)",
        "import numpy\nnumpy.load('x', allow_pickle=flag)",
        "import yaml\nyaml.load(text, Loader=yaml.Loader)",
        "eval('1 + 1')",
        "exec(code)",
    ],
)
def test_the_scan_finds_each_unsafe_load(snippet: str) -> None:
    assert unsafe_loads(snippet)


@pytest.mark.parametrize(
    "snippet",
    [
        "import torch\ntorch.load('x', weights_only=True)",
        "import numpy as np\nnp.load('x')\nnp.load('y', allow_pickle=False)",
        "import yaml\nyaml.safe_load(text)",
        "model.eval()",
        "from safetensors.torch import load_file\nload_file('x')",
    ],
)
def test_the_scan_passes_safe_loads(snippet: str) -> None:
    assert unsafe_loads(snippet) == []


# --------------------------------------------------------------------------- path: model directories


class WritesMarker:
    """What a planted pytorch_model.bin could hold: a pickle that runs code when loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


def pickle_only_model(directory: Path, weights: str = "pytorch_model.bin") -> Path:
    directory.mkdir(parents=True)
    (directory / "config.json").write_text('{"model_type": "xlm-roberta"}')
    (directory / weights).write_bytes(pickle.dumps(WritesMarker(directory / "pwned")))
    return directory


@pytest.mark.parametrize("weights", ["pytorch_model.bin", "pytorch_model-00001-of-00002.bin", "weights.pt"])
def test_a_pickle_only_model_directory_is_refused_with_how_to_convert(tmp_path: Path, weights: str) -> None:
    model = pickle_only_model(tmp_path / "model", weights)
    with pytest.raises(ConfigError) as error:
        check_spec(f"path:{model}")
    message = str(error.value)
    assert "\n" not in message and weights in message and "safetensors weights only" in message
    assert f"save_pretrained({str(model)!r}, safe_serialization=True)" in message
    assert not (model / "pwned").exists()


def test_a_model_directory_without_weights_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ConfigError, match="has no safetensors weights"):
        check_spec(f"path:{tmp_path}")


def test_loading_refuses_a_pickle_only_directory_too(tmp_path: Path) -> None:
    """The guard at load time, for model directories that no study check saw."""
    from xstilts.models.sources import load_model

    model = pickle_only_model(tmp_path / "model")
    with pytest.raises(ConfigError, match="safetensors weights only"):
        load_model(f"path:{model}", tmp_path / "cache")
    assert not (model / "pwned").exists()


@pytest.mark.parametrize("command", [["plan"], ["run", "--dry-run"], ["run"]])
def test_the_cli_refuses_a_pickle_only_model_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    study = write_mini_task(tmp_path, ["A.\tB.\tneutral"])
    model = pickle_only_model(tmp_path / "model")
    raw = yaml.safe_load(study.read_text())
    raw["model"] = f"path:{model}"
    study.write_text(yaml.safe_dump(raw))
    out = tmp_path / "out"
    assert main([command[0], str(study), *command[1:], "--out", str(out)]) == 2
    line = one_error_line(capsys)
    assert "pytorch_model.bin" in line and "safe_serialization=True" in line
    assert not out.exists() and not (model / "pwned").exists()
