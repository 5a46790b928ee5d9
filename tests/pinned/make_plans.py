"""Write tests/pinned/plans.json: `xstilts plan --json` of every example study, before a refactor.

    .venv/bin/python tests/pinned/make_plans.py      # only when run ids are meant to change

`tests/test_pinned_plans.py` compares the current planner against this file: run ids, parents,
arms, evaluations and example counts must stay identical across a move of code.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PINNED = Path(__file__).with_name("plans.json")
# Whether a run is done depends on the output directory, not on the planner; the budget (`estimate`,
# added after the pin) on the machine's calibration and the retention policy, not on run resolution.
VOLATILE = ("done", "estimate")


def study_files() -> list[Path]:
    return sorted((ROOT / "studies").glob("*.yaml")) + sorted((ROOT / "src/xstilts/demo").glob("study*.yaml"))


def plan_json(study: Path) -> dict:
    from xstilts.cli import main

    with tempfile.TemporaryDirectory() as out:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            code = main(["plan", str(study), "--out", out, "--json", "--cache-dir", out])
        assert code in (0, None), f"plan {study} exited {code}"
    plan = json.loads(buffer.getvalue())
    for run in plan["runs"]:
        for key in VOLATILE:
            run.pop(key, None)
    plan["summary"].pop("done", None)
    plan["summary"].pop("to_run", None)
    plan["summary"].pop("estimate", None)
    return plan


def main() -> None:
    pinned = {str(p.relative_to(ROOT)): plan_json(p) for p in study_files()}
    PINNED.write_text(json.dumps(pinned, indent=1, sort_keys=True) + "\n")
    print(f"wrote {PINNED}: {len(pinned)} studies", file=sys.stderr)


if __name__ == "__main__":
    main()
