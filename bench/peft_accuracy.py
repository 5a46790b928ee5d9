"""Full fine-tuning vs LoRA on the same budget: zero-shot XNLI accuracy and its difference, with the
report's interval (issue 10, item 3).

Two studies identical but for the target phase's `method` (and learning rate: LoRA moves a few
million weights and wants one 10-50x larger) train mE5-small (bundled) on English XNLI dev pairs
for the same epochs, batch and examples, and score it zero-shot in five other languages. XNLI's dev
sets are translations of one another, so the model trains on `--train-size` English pairs and is
scored on the next `--eval-size` pairs of each language (the same `offset` selection), never on
translations of what it trained on.

The difference LoRA minus full is computed by the report's own machinery: the per-example records
both runs stored (`report.evidence.ExampleSource`), resampled together so the comparison is paired
(`stats.resampling.resample_examples`), and `stats.intervals.compare`: the bootstrap percentile
interval and Koehn's paired p-value, with McNemar's exact test per language beside it. The average
is XTREME's unweighted mean over languages.

    PYTHONPATH=src OMP_NUM_THREADS=2 python bench/peft_accuracy.py --out out/peft-accuracy \\
        --json-out out/peft_accuracy.json                                     (docs/benchmarks.md)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

from xstilts.config.study import load_study  # noqa: E402
from xstilts.engine.runner import run_study  # noqa: E402
from xstilts.report.evidence import ExampleSource  # noqa: E402
from xstilts.results.store import STORE_NAME, ResultsStore  # noqa: E402
from xstilts.stats.intervals import compare  # noqa: E402
from xstilts.stats.mcnemar import mcnemar_if_binary  # noqa: E402
from xstilts.stats.resampling import child_stream, resample_examples  # noqa: E402

TASK, SPLIT, METRIC = "xnli", "dev", "accuracy"


def study(method: str, args: argparse.Namespace) -> dict[str, Any]:
    training = {
        "method": method,
        "learning_rate": args.lora_lr if method == "lora" else args.full_lr,
        "lora": {"r": args.r, "alpha": 2 * args.r, "dropout": 0.1},
        "batch_size": args.batch_size,
        "epochs": args.epochs,
        "patience": None,
    }
    return {
        "name": f"xnli-{method}",
        "model": args.model,
        "data_dir": str(args.data_dir),
        "seeds": args.seeds,
        "features": {"max_length": args.max_length},
        "target_training": training,
        "arms": [{"name": "none"}],
        "targets": [
            {
                "task": TASK,
                "train": {"split": SPLIT, "languages": ["en"], "size": args.train_size},
                "evaluate": {
                    "split": SPLIT,
                    "languages": args.languages,
                    "size": args.eval_size,
                    "offset": args.train_size,
                },
            }
        ],
    }


def run(method: str, args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    out = args.out / method
    out.mkdir(parents=True, exist_ok=True)
    path = out / "study.yaml"
    path.write_text(yaml.safe_dump(study(method, args)))
    loaded, registry = load_study(path)
    started = time.perf_counter()
    run_study(loaded, registry, out, args.cache_dir, progress=not args.quiet)
    runs = [json.loads(p.read_text()) for p in (out / "runs").glob("target-*/metrics.json")]
    info = {
        "seconds": round(time.perf_counter() - started, 1),
        "trainable_parameters": [r["trainable_parameters"] for r in runs],
        "steps": [r["steps"] for r in runs],
    }
    return out, info


def evidence(out: Path, name: str, reference: dict[str, Any], languages: list[str]) -> Any:
    store = ResultsStore(out / STORE_NAME, create=False)
    rows = store.rows(name, task=TASK, phase="target", split=SPLIT)
    runs = {row["seed"]: row["run"] for row in rows}
    source = ExampleSource(store, name)
    found = source.evidence(TASK, SPLIT, "target", "none", runs, languages, METRIC, reference)
    if found is None:
        sys.exit(f"{out}: no per-example scores ({'; '.join(source.problems)})")
    return found


def compare_runs(full_out: Path, lora_out: Path, args: argparse.Namespace) -> dict[str, Any]:
    languages, reference = list(args.languages), {}
    full = evidence(full_out, "xnli-full", reference, languages)
    lora = evidence(lora_out, "xnli-lora", reference, languages)
    resampled_lora, resampled_full = resample_examples(
        [lora.by_language, full.by_language], full.metric, args.resamples, args.report_seed
    )
    result: dict[str, Any] = {}
    comparisons = [*((lang, [lang]) for lang in languages), ("average", languages)]
    for index, (name, chosen) in enumerate(comparisons):
        mcnemar = None
        if len(chosen) == 1:
            mcnemar = mcnemar_if_binary(lora.by_language[name], full.by_language[name], full.metric)
        difference = compare(
            resampled_lora,
            resampled_full,
            chosen,
            args.confidence,
            child_stream(args.report_seed, index),  # each comparison's seed term: a stream of its own
            mcnemar=mcnemar,
        )
        result[name] = {
            "full": round(difference.baseline, 2),
            "lora": round(difference.arm, 2),
            "difference": round(difference.estimate, 2),
            "low": round(difference.low, 2),
            "high": round(difference.high, 2),
            "p_value": round(difference.p_value, 4),
            "mcnemar_p": None if mcnemar is None else round(mcnemar.p_value, 4),
        }
    return result


def print_table(result: dict[str, Any], confidence: float) -> None:
    level = f"{confidence:.0%} interval"
    print(f"{'language':<9} {'full':>6} {'lora':>6} {'lora-full':>10} {level:>17} {'p':>7}")
    for name, r in result.items():
        interval = f"[{r['low']:+.2f}, {r['high']:+.2f}]"
        scores = f"{r['full']:>6.2f} {r['lora']:>6.2f} {r['difference']:>+10.2f}"
        print(f"{name:<9} {scores} {interval:>17} {r['p_value']:>7.4f}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory (one study per method)")
    parser.add_argument("--model", default="bundled:me5-small")
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--languages", nargs="+", default=["de", "es", "ru", "zh", "ar"])
    parser.add_argument("--train-size", type=int, default=1490, help="English XNLI dev pairs to train on")
    parser.add_argument("--eval-size", type=int, default=1000, help="pairs per language, after those")
    parser.add_argument("--epochs", type=float, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--full-lr", type=float, default=3e-5)
    parser.add_argument("--lora-lr", type=float, default=5e-4)
    parser.add_argument("--r", type=int, default=8, help="LoRA rank (alpha is 2r)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument(
        "--resamples", type=int, default=2000, help="bootstrap resamples (the report's default)"
    )
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--report-seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--json-out", type=Path, default=None)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    full_out, full_info = run("full", args)
    lora_out, lora_info = run("lora", args)
    result = compare_runs(full_out, lora_out, args)
    print_table(result, args.confidence)
    print(f"full: {full_info}\nlora: {lora_info}")
    if args.json_out is not None:
        settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        payload = {"settings": settings, "full": full_info, "lora": lora_info, "accuracy": result}
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(payload, indent=1) + "\n")


if __name__ == "__main__":
    main()
