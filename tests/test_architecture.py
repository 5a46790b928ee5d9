"""The shape docs/architecture.md promises, checked: a core without torch, fast light commands, no
import cycles, small modules, and format names known only to formats/."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "xstilts"
STUDY = Path(__file__).resolve().parents[1] / "studies" / "smoke.yaml"
PINNED_STORE = Path(__file__).parent / "pinned" / "store"
HEAVY = ("torch", "transformers", "datasets", "faiss", "matplotlib", "ray")
# The configuration core and what the light commands need.
TORCH_FREE = (
    "xstilts.config.study",
    "xstilts.config.features",
    "xstilts.config.selection",
    "xstilts.config.training",
    "xstilts.config.model_source",
    "xstilts.config.registry",
    "xstilts.metrics.benchmark",
    "xstilts.config.formats",
    "xstilts.plan.graph",
    "xstilts.plan.table",
    "xstilts.results.tables",
    "xstilts.data.codecs",
    "xstilts.data.check",
    "xstilts.report.build",
    "xstilts.export.xtreme",
    "xstilts.stats.estimates",
)


def loaded_after(code: str) -> list[str]:
    """The heavy packages a fresh interpreter has imported after running `code`."""
    probe = f"{code}\nimport sys, json\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_the_core_imports_no_torch() -> None:
    assert loaded_after("\n".join(f"import {module}" for module in TORCH_FREE)) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["tasks"],
        ["plan", str(STUDY), "--out", "{tmp}/out"],
        ["plan", str(STUDY), "--out", "{tmp}/out", "--json"],
        ["results", str(PINNED_STORE)],
    ],
    ids=["help", "tasks", "plan", "plan-json", "results"],
)
def test_light_commands_never_import_torch(argv: list[str], tmp_path: Path) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code = (
        "import contextlib, io\n"
        "from xstilts.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        f"        code = main({argv!r})\n"
        "    except SystemExit as done:\n"  # --help
        "        code = done.code\n"
        "assert code == 0, code"
    )
    assert loaded_after(code) == []


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """Every xstilts module `path` imports, at module level or inside a function."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            submodules = {f"{module}.{a.name}" for a in node.names} & known
            # `from xstilts.cli import plan` imports the module xstilts.cli.plan; a package's
            # __init__ counts only where a name comes from it (every submodule runs it, as the
            # parent package, and may itself be imported by it)
            found |= submodules
            if len(submodules) < len(node.names):
                found.add(module)
    return {m for m in found if m in known and m != name}


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    known = {module_name(p) for p in paths}
    return {module_name(p): imported_modules(p, known) for p in paths}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Import cycles of a module graph, each as the path that closes it (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    return cycles


def test_no_import_cycle_in_src() -> None:
    assert find_cycles(import_graph()) == []


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_no_module_over_400_lines() -> None:
    long = {
        str(p.relative_to(SRC)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert long == {}


FORMAT_NAMES = ("classification", "multiple_choice", "span_qa", "tagging", "retrieval", "masked_lm")
BRANCH = re.compile(
    r"(format|fmt)\w*\s*(==|!=)\s*[\"'](" + "|".join(FORMAT_NAMES) + r")[\"']"
    r"|[\"'](" + "|".join(FORMAT_NAMES) + r")[\"']\s*(==|!=)\s*\w*format"
)


def test_only_formats_branch_on_a_format_name() -> None:
    offenders = [
        f"{p.relative_to(SRC)}:{i}"
        for p in PACKAGE.rglob("*.py")
        if "formats" not in p.relative_to(PACKAGE).parts
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if BRANCH.search(line)
    ]
    assert offenders == []
    assert BRANCH.search('if card.format == "retrieval":') and BRANCH.search("fmt != 'span_qa'")
