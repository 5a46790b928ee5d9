"""Write tests/pinned/store/: a results store written by xstilts before the redesign.

    .venv/bin/python tests/pinned/make_store.py      # only with the code the pin is meant to capture

The pinned files were written with the code of commit f8df9a5, before the redesign (this script
then used that code's module names; it follows today's). A small study on the demo data (written
for this project) with the tiny random model: two arms, two seeds, a classification target and
retrieval, so the store holds real evaluations with their per-example Parquet files. Then one
evaluation for each metric recipe the study cannot produce (entity F1 from counts, a ratio,
perplexity), written through the same store and example-file code. Kept: results.sqlite,
study.json and the per-example files (checkpoints are dropped), plus what `xstilts results` and
`xstilts report --format md` printed from it then (`results.txt`, `report.md`).
`tests/test_pinned_store.py` re-reports it with today's code.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PINNED = Path(__file__).with_name("store")
DEMO = ROOT / "src" / "xstilts" / "demo"

STUDY = f"""
name: pinned
model: random:tiny
data_dir: {DEMO / "data"}
task_dirs: [{DEMO / "cards"}]
builtin_tasks: false
seeds: [1, 2]
features: {{max_length: 48}}
intermediate_training: {{learning_rate: 1.0e-3, batch_size: 16, epochs: 1, patience: null}}
target_training: {{learning_rate: 1.0e-3, batch_size: 16, epochs: 1, patience: null}}
arms:
  - name: none
  - name: nli
    intermediate: [{{task: demo-nli, split: train, languages: [en], size: 48}}]
targets:
  - task: demo-paraphrase
    train: {{split: train, languages: [en], size: 48}}
    evaluate: {{split: test, size: 30}}
retrieval:
  - {{task: demo-parallel, split: test, size: 30, after: [pretrained, intermediate]}}
"""

# Synthetic per-example columns for the recipes a classification/retrieval study does not write.
RECIPES = {
    "ner": ({"f1": ("f1", "correct", "predicted", "gold")}, ("correct", "predicted", "gold")),
    "qa-ratio": ({"hits": ("ratio", "hit", "total")}, ("hit", "total")),
    "mlm": ({"perplexity": ("perplexity", "log_prob", "tokens")}, ("log_prob", "tokens")),
}


def cli(*argv: str) -> str:
    from xstilts.cli import main

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(list(argv))
    assert code in (0, None), f"xstilts {argv} exited {code}"
    return buffer.getvalue()


def synthetic_evaluations(out: Path) -> None:
    from xstilts.results.example_files import write_examples_file
    from xstilts.results.recipes import scores
    from xstilts.results.store import STORE_NAME, ResultsStore

    store = ResultsStore(out / STORE_NAME)
    rng = np.random.default_rng(7)
    for arm in ("none", "nli"):
        for seed in (1, 2):
            for task, (metrics, names) in RECIPES.items():
                languages = {}
                for lang in ("de", "zh"):
                    n = 25
                    if task == "mlm":
                        columns = {"log_prob": -rng.gamma(2.0, 1.0, n), "tokens": rng.integers(1, 9, n)}
                    else:
                        gold = rng.integers(0, 4, n)
                        predicted = rng.integers(0, 4, n)
                        columns = dict(
                            zip(names, (np.minimum(gold, predicted), predicted, gold), strict=False)
                        )
                    languages[lang] = {
                        "id": np.array([f"{lang}-{i}" for i in range(n)], dtype=object),
                        **columns,
                    }
                path = out / "runs" / f"synthetic-{arm}-{seed}" / "evals" / f"{task}.examples.parquet"
                write_examples_file(path, languages, metrics, task=task)
                rows = [
                    {
                        "study": "pinned",
                        "arm": arm,
                        "run": f"synthetic-{arm}-{seed}",
                        "phase": "target",
                        "seed": seed,
                        "task": task,
                        "task_version": 1,
                        "language": lang,
                        "split": "test",
                        "metric": metric,
                        "value": value,
                        "examples_file": str(path),
                    }
                    for lang, columns in languages.items()
                    for metric, value in scores(columns, metrics).items()
                ]
                store.record(rows)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "study.yaml").write_text(STUDY)
        out = work / "out"
        cli("run", str(work / "study.yaml"), "--out", str(out), "--cache-dir", str(work / "cache"), "--quiet")
        synthetic_evaluations(out)
        shutil.rmtree(PINNED, ignore_errors=True)
        PINNED.mkdir(parents=True)
        for path in [
            out / "results.sqlite",
            out / "study.json",
            *out.glob("runs/*/evals/*.examples.parquet"),
        ]:
            target = PINNED / path.relative_to(out)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        (PINNED / "results.txt").write_text(cli("results", str(PINNED)))
        report = cli("report", str(PINNED), "--format", "md", "--resamples", "400")
        (PINNED / "report.md").write_text(report.replace(str(PINNED), "{STORE}"))
    print(f"wrote {PINNED}", file=sys.stderr)


if __name__ == "__main__":
    main()
