"""How long `xstilts report` takes on a study the size of Phang et al. 2020.

    .venv/bin/python bench/report_scale.py [--study studies/paper-xtreme.yaml] [--seeds 1]
        [--resamples 2000] [--out /tmp/report-scale]

It writes a results store for the study file's design with synthetic per-example scores (no model
is trained): every arm and seed, every target task in every language the study evaluates, with the
card's published test-set sizes, and retrieval before and after the intermediate phase. The values
are drawn at random per the format's example-metric recipe (0/1 correctness, token counts, chunk
counts, per-question F1), so the store has the real shapes and sizes and the report does the work
it would do on the real study. Then it times `build_report` and `write_site`, and prints the sizes
and the seconds.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from xstilts.config.formats import get_format
from xstilts.config.study import load_study
from xstilts.report.build import build_report
from xstilts.report.site import write_site
from xstilts.results import recipes
from xstilts.results.example_files import write_examples_file
from xstilts.results.store import STORE_NAME, ResultsStore

# Where a card publishes no test-set size: a typical one.
DEFAULT_SIZE = 2000


def _values(recipe: dict[str, list[str]], n: int, quality: float, rng: np.random.Generator) -> dict:
    """Synthetic per-example columns for a format's recipe, better with higher `quality` (0..1)."""
    columns: dict[str, np.ndarray] = {}
    for kind, *parts in recipe.values():
        if any(p in columns for p in parts):
            continue
        if kind == "mean":  # 0/1 correctness, or a per-example F1 in [0, 1]
            columns[parts[0]] = (rng.random(n) < quality).astype(np.float32)
        elif kind in ("ratio", "perplexity"):  # tokens right of tokens
            total = rng.poisson(15, n) + 1
            columns[parts[0]] = rng.binomial(total, quality).astype(np.int32)
            columns[parts[1]] = total.astype(np.int32)
        elif kind == "f1":  # chunks right, predicted, gold
            gold = rng.poisson(1.5, n)
            predicted = rng.poisson(1.5, n)
            columns[parts[0]] = rng.binomial(np.minimum(gold, predicted), quality).astype(np.int32)
            columns[parts[1]] = predicted.astype(np.int32)
            columns[parts[2]] = gold.astype(np.int32)
    return columns


def _evaluation(
    out: Path,
    study: str,
    arm: str,
    phase: str,
    seed: int | None,
    task: Any,
    split: str,
    languages: list[str],
    rng: np.random.Generator,
    quality: float,
    sizes: dict[str, int],
) -> list[dict[str, Any]]:
    """One evaluation's example file and store rows."""
    recipe = {k: list(v) for k, v in get_format(task.format).recipes(task).items()}
    run = f"{phase}-{arm}-{seed}-{task.name}"
    file = out / "runs" / run / "evals" / f"{task.name}.examples.parquet"
    columns = {}
    for lang in languages:
        n = task.split_source(split).examples.get(lang, DEFAULT_SIZE)
        values = _values(recipe, n, quality - 0.01 * (lang != "en") * (zlib.crc32(lang.encode()) % 20), rng)
        columns[lang] = {"id": np.array([f"{lang}-{i}" for i in range(n)], dtype=object), **values}
    write_examples_file(file, columns, recipe)
    sizes["evaluations"] += 1
    rows = []
    sizes["examples"] += sum(len(c["id"]) for c in columns.values())
    for lang, values in columns.items():
        for metric, value in recipes.scores(values, recipe).items():
            rows.append(
                {
                    "study": study,
                    "arm": arm,
                    "phase": phase,
                    "seed": seed,
                    "run": run,
                    "task": task.name,
                    "task_version": task.version,
                    "language": lang,
                    "split": split,
                    "metric": metric,
                    "value": value,
                    "examples_file": str(file),
                }
            )
    return rows


def write_store(study_file: Path, out: Path, seeds: list[int]) -> dict[str, int]:
    study, registry = load_study(study_file)
    study = study.model_copy(update={"seeds": seeds})
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    (out / "study.json").write_text(json.dumps(study.model_dump(mode="json")), encoding="utf-8")
    rng = np.random.default_rng(0)
    rows: list[dict[str, Any]] = []
    store = ResultsStore(out / STORE_NAME)
    sizes = {"evaluations": 0, "examples": 0}
    for a, arm in enumerate(study.arms):
        quality = 0.70 + 0.01 * a  # arms differ a little, as intermediate tasks do
        for seed in seeds:
            for target in study.targets:
                task = registry.card(target.task)
                split, languages = target.evaluate.split, target.evaluate.languages or task.languages
                rows += _evaluation(
                    out, study.name, arm.name, "target", seed, task, split, languages, rng, quality, sizes
                )
            for spec in study.retrieval if arm.intermediate else ():
                task = registry.card(spec.task)
                languages = spec.languages or task.languages
                rows += _evaluation(
                    out,
                    study.name,
                    arm.name,
                    "intermediate",
                    seed,
                    task,
                    spec.split,
                    languages,
                    rng,
                    quality,
                    sizes,
                )
            store.record(rows)
            rows = []
    for spec in study.retrieval:
        task = registry.card(spec.task)
        languages = spec.languages or task.languages
        store.record(
            _evaluation(
                out,
                study.name,
                "pretrained",
                "pretrained",
                None,
                task,
                spec.split,
                languages,
                rng,
                0.75,
                sizes,
            )
        )
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", type=Path, default=Path("studies/paper-xtreme.yaml"))
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path("/tmp/report-scale"))
    args = parser.parse_args(argv)
    start = time.perf_counter()
    sizes = write_store(args.study, args.out, list(range(1, args.seeds + 1)))
    written = time.perf_counter() - start
    print(f"store: {sizes['evaluations']} evaluations, {sizes['examples']:,} examples ({written:.0f} s)")
    start = time.perf_counter()
    report = build_report(args.out, resamples=args.resamples, progress=lambda m: print(" ", m, flush=True))
    built = time.perf_counter() - start
    start = time.perf_counter()
    write_site(report, args.out / "report")
    drawn = time.perf_counter() - start
    print(
        f"build_report: {built:.1f} s ({args.resamples} resamples, {args.seeds} seed(s)); "
        f"write_site: {drawn:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
