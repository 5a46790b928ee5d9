"""XTREME and XTREME-R scores: per-task averages over a benchmark's languages and the overall score.

A benchmark's tasks are the task cards that have an entry for it under `benchmarks`: each entry gives
the task's languages, the split the benchmark scores, its category, its per-language metrics and its
place in the benchmark's tables, and the card's comments say where its lists come from
(`benchmarks_from_cards`; `builtin_benchmarks` for the cards shipped with xstilts). A new benchmark
task is one card. This module holds the scoring rules, and where they come from:

XTREME (Hu et al. 2020), leaderboard script google-research/xtreme `evaluate.py` (`TASK2LANGS`,
`GROUP2TASK`, `METRIC_FUNCTION`, `evaluate()`):
  * each task's metrics are averaged over the task's languages (`avg_<metric>`); English is one of
    them wherever the task has English test data (all but BUCC and Tatoeba, where English is the
    side every other language is paired with);
  * the task score (`avg_metric`) is `avg_accuracy` (XNLI, PAWS-X, Tatoeba) or `avg_f1` (UD-POS,
    PAN-X, BUCC), and for QA (XQuAD, MLQA, TyDiQA-GoldP) `(avg_exact_match + avg_f1) / 2`, not F1:
    the mean of the averages of the metrics a card's entry lists;
  * the overall score (`all_task`) is the mean of the nine task scores, computed only when every task
    is present; a group (classification, tagging, qa, retrieval) score is the mean of its tasks'
    scores, computed when all of that group's tasks are present.

XTREME-R (Ruder et al. 2021, "XTREME-R: Towards More Challenging and Nuanced Multilingual
Evaluation", EMNLP):
  * categories: classification (XNLI, XCOPA), structured prediction (UD-POS, NER), question
    answering (XQuAD, MLQA, TyDiQA-GoldP), retrieval (Tatoeba, Mewsli-X, LAReQA). xtreme's
    `evaluate.py` has the same groups in `XTREME_R_GROUP2TASK` except that its retrieval group leaves
    LAReQA out (and it adds a `multi_choice` group holding XCOPA);
  * metrics: accuracy (XNLI, XCOPA, Tatoeba), F1 (UD-POS, NER), (F1 + EM) / 2 (QA, as in XTREME),
    mAP@20 (Mewsli-X, LAReQA);
  * `overall` is the mean of the four category scores, each the mean of its tasks. The source is the
    paper as recalled, not checked against its text here: the rule reproduces the Avg column of its
    Table 3 from the per-task numbers of that table as remembered (mBERT 54.1, XLM-R Large 65.3,
    mT5-XXL 64.6), which a mean over the ten tasks does not (tests/test_benchmark_scores.py);
  * `task_mean` is the other rule, that of xtreme's `evaluate.py --xtreme_version xtreme-r` (since
    commit c1eda7f, "Added initial support for XTREME-R tasks and languages to evaluate.py"): the
    plain mean of the task scores (`all_task`), as for XTREME. evaluate.py itself never produces it
    for XTREME-R: its `XTREME_R_TASK2LANGS` gives LAReQA no languages, so without a LAReQA folder it
    reports no overall score, and with one and every other task it fails (LAReQA gets no
    `avg_metric`). Here LAReQA counts in `task_mean` with the eleven XQuAD-R languages of its card.
    For XTREME the two rules are one.
  * languages: those of `XTREME_R_TASK2LANGS` (XQuAD 12, with Romanian, since commit c1eda7f; XTREME's
    XQuAD stays at 11), from the task cards.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args

from xstilts.config.cards import BenchmarkCategory, BenchmarkName, TaskCard
from xstilts.config.registry import BUILTIN_CARDS, TaskRegistry

CLASSIFICATION, STRUCTURED, QA, RETRIEVAL = get_args(BenchmarkCategory)
Overall = Literal["tasks", "categories"]
# What each benchmark's overall score is the mean of; the key order is the order of its tables.
OVERALL: dict[BenchmarkName, Overall] = {"xtreme": "tasks", "xtreme-r": "categories"}


@dataclass(frozen=True)
class BenchmarkTask:
    name: str
    category: str
    metrics: tuple[str, ...]  # per-language metric keys; the task score is the mean of their averages
    languages: tuple[str, ...]
    split: str = "test"


@dataclass(frozen=True)
class Benchmark:
    name: str
    tasks: tuple[BenchmarkTask, ...]
    overall: Overall  # what the overall score is the mean of

    def task(self, name: str) -> BenchmarkTask:
        return next(t for t in self.tasks if t.name == name)

    @property
    def categories(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for t in self.tasks:
            groups.setdefault(t.category, []).append(t.name)
        return groups


def benchmarks_from_cards(cards: Iterable[TaskCard]) -> dict[str, Benchmark]:
    """Every benchmark, with the tasks whose cards have an entry for it, in the entries' positions."""
    placed: dict[str, list[tuple[int, str, BenchmarkTask]]] = {name: [] for name in OVERALL}
    for card in cards:
        for name, entry in card.benchmarks.items():
            task = BenchmarkTask(
                card.name, entry.category, tuple(entry.metrics), tuple(entry.languages), entry.split
            )
            placed[name].append((entry.position, card.name, task))
    return {
        name: Benchmark(name, tuple(task for *_, task in sorted(found)), OVERALL[name])
        for name, found in placed.items()
    }


@cache
def builtin_benchmarks() -> Mapping[str, Benchmark]:
    """The benchmarks as the task cards shipped with xstilts define them (read once)."""
    return benchmarks_from_cards(TaskRegistry(Path("."), (BUILTIN_CARDS,)).cards.values())


def get_benchmark(benchmark: str | Benchmark) -> Benchmark:
    """A benchmark given by name is the built-in cards' one."""
    if isinstance(benchmark, Benchmark):
        return benchmark
    known = builtin_benchmarks()
    if benchmark not in known:
        raise ValueError(f"unknown benchmark {benchmark!r} (known: {', '.join(known)})")
    return known[benchmark]


# --- scores from values ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskScore:
    """One task's average over the benchmark's languages. `score` and `averages` are set only when
    every language has every metric; `partial_*` average the languages that are complete."""

    task: str
    category: str
    score: float | None
    averages: dict[str, float]
    partial_score: float | None
    partial_averages: dict[str, float]
    languages: tuple[str, ...]  # the benchmark languages that are complete
    missing: tuple[str, ...]  # "de" (no value) or "de:exact_match" (that metric missing)
    ignored: tuple[str, ...] = ()  # languages given that the benchmark does not score

    @property
    def complete(self) -> bool:
        return not self.missing


@dataclass(frozen=True)
class BenchmarkScores:
    """`overall` and `categories` are only computed from complete tasks; `partial_*` use the partial
    score of every task with at least one complete language, and say so by their name. `task_mean` is
    the plain mean of the task scores (evaluate.py's `all_task`), whatever the benchmark's `overall`
    rule: for XTREME it equals `overall`, for XTREME-R it is the number evaluate.py's rule gives."""

    benchmark: str
    tasks: dict[str, TaskScore]
    overall: float | None
    categories: dict[str, float]
    partial_overall: float | None
    partial_categories: dict[str, float]
    task_mean: float | None = None
    partial_task_mean: float | None = None
    missing: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ignored_tasks: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return self.overall is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "overall": self.overall,
            "categories": self.categories,
            "partial_overall": self.partial_overall,
            "partial_categories": self.partial_categories,
            "task_mean": self.task_mean,
            "partial_task_mean": self.partial_task_mean,
            "tasks": {name: _task_dict(t) for name, t in self.tasks.items()},
            "missing": {name: list(m) for name, m in self.missing.items()},
            "ignored_tasks": list(self.ignored_tasks),
        }


def _task_dict(t: TaskScore) -> dict[str, Any]:
    return {
        "category": t.category,
        "score": t.score,
        "averages": t.averages,
        "partial_score": t.partial_score,
        "partial_averages": t.partial_averages,
        "languages": len(t.languages),
        "missing": list(t.missing),
        "ignored": list(t.ignored),
    }


LanguageValues = Mapping[str, float | Mapping[str, float]]


def _metric_values(task: BenchmarkTask, lang: str, value: float | Mapping[str, float]) -> dict[str, float]:
    if isinstance(value, Mapping):
        return {m: float(v) for m, v in value.items()}
    if len(task.metrics) != 1:
        raise ValueError(
            f"task {task.name} ({lang}): give {{metric: value}} with {' and '.join(task.metrics)}, "
            "not one number"
        )
    return {task.metrics[0]: float(value)}


def task_score(task: BenchmarkTask, per_language: LanguageValues) -> TaskScore:
    """Average one task's per-language values ({lang: value} or {lang: {metric: value}})."""
    values = {lang: _metric_values(task, lang, v) for lang, v in per_language.items()}
    missing: list[str] = []
    complete: list[str] = []
    for lang in task.languages:
        absent = [m for m in task.metrics if m not in values.get(lang, {})]
        if len(absent) == len(task.metrics):
            missing.append(lang)
        elif absent:
            missing += [f"{lang}:{m}" for m in absent]
        else:
            complete.append(lang)
    partial: dict[str, float] = {}
    if complete:
        partial = {m: statistics.fmean(values[lang][m] for lang in complete) for m in task.metrics}
    partial_score = statistics.fmean(partial.values()) if partial else None
    done = not missing
    return TaskScore(
        task=task.name,
        category=task.category,
        score=partial_score if done else None,
        averages=dict(partial) if done else {},
        partial_score=partial_score,
        partial_averages=partial,
        languages=tuple(complete),
        missing=tuple(missing),
        ignored=tuple(sorted(set(values) - set(task.languages))),
    )


def _aggregate(
    benchmark: Benchmark, task_values: Mapping[str, float], *, partial: bool
) -> tuple[float | None, dict[str, float], float | None]:
    """Category means, the overall mean (of tasks or of categories, as the benchmark defines it) and the
    plain mean of the tasks. Not partial: a category needs all its tasks and the overall every task;
    partial: whatever is there."""
    present = any if partial else all
    categories = {
        name: statistics.fmean(task_values[t] for t in tasks if t in task_values)
        for name, tasks in benchmark.categories.items()
        if present(t in task_values for t in tasks)
    }
    if not task_values or (not partial and len(task_values) < len(benchmark.tasks)):
        return None, categories, None
    task_mean = statistics.fmean(task_values.values())
    overall = statistics.fmean(categories.values()) if benchmark.overall == "categories" else task_mean
    return overall, categories, task_mean


def benchmark_scores(values: Mapping[str, LanguageValues], benchmark: str | Benchmark) -> BenchmarkScores:
    """Per-task averages, category scores and the overall score from {task: {lang: value}}, where a
    value is a number for single-metric tasks or {metric: value} (QA needs `f1` and `exact_match`)."""
    bench = get_benchmark(benchmark)
    tasks = {t.name: task_score(t, values.get(t.name, {})) for t in bench.tasks}
    complete = {n: s.score for n, s in tasks.items() if s.score is not None}
    present = {n: s.partial_score for n, s in tasks.items() if s.partial_score is not None}
    overall, categories, task_mean = _aggregate(bench, complete, partial=False)
    partial_overall, partial_categories, partial_task_mean = _aggregate(bench, present, partial=True)
    return BenchmarkScores(
        benchmark=bench.name,
        tasks=tasks,
        overall=overall,
        categories=categories,
        partial_overall=partial_overall,
        partial_categories=partial_categories,
        task_mean=task_mean,
        partial_task_mean=partial_task_mean,
        missing={n: s.missing for n, s in tasks.items() if s.missing},
        ignored_tasks=tuple(sorted(set(values) - {t.name for t in bench.tasks})),
    )


# --- scores from results rows ----------------------------------------------------------------------

EVALUATION_KEY = ("study", "arm", "seed", "phase", "run", "task", "split")
SYSTEM_KEY = ("study", "arm", "seed")
# Which evaluation of a task a system's overall score uses when there are several (after preferring
# the benchmark's split): retrieval tasks, which have no training data, on the encoder before target
# training (Phang et al. 2020 score BUCC and Tatoeba on the intermediate-trained encoder); the others
# on the target-trained model.
PHASE_PREFERENCE = {
    RETRIEVAL: ("intermediate", "pretrained", "target"),
    "default": ("target", "intermediate", "pretrained"),
}


def _evaluations(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[Any, ...], dict[str, dict[str, float]]]:
    """{evaluation key: {language: {metric: value}}}; a repeated (key, language, metric) must agree."""
    found: dict[tuple[Any, ...], dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        key = tuple(row.get(k) for k in EVALUATION_KEY)
        metrics = found[key][row["language"]]
        value = float(row["value"])
        if metrics.get(row["metric"], value) != value:
            raise ValueError(f"results: two values for {row['metric']} of {row['language']} in {key}")
        metrics[row["metric"]] = value
    return found


def _choose(
    task: BenchmarkTask, candidates: list[tuple[Any, ...]]
) -> tuple[tuple[Any, ...] | None, list[tuple[Any, ...]]]:
    """The one evaluation to use, or None and the candidates it could not choose between."""
    phase, split = EVALUATION_KEY.index("phase"), EVALUATION_KEY.index("split")
    if len(candidates) > 1:
        candidates = [c for c in candidates if c[split] == task.split] or candidates
    if len(candidates) > 1:
        for preferred in PHASE_PREFERENCE.get(task.category, PHASE_PREFERENCE["default"]):
            if any(c[phase] == preferred for c in candidates):
                candidates = [c for c in candidates if c[phase] == preferred]
                break
    return (candidates[0], []) if len(candidates) == 1 else (None, candidates)


def _source(key: tuple[Any, ...]) -> dict[str, Any]:
    return {k: key[EVALUATION_KEY.index(k)] for k in ("phase", "run", "split")}


def scores(
    rows: Iterable[Mapping[str, Any]], benchmarks: Sequence[str | Benchmark] = ("xtreme", "xtreme-r")
) -> dict[str, list[dict[str, Any]]]:
    """Benchmark summaries of results rows (study, arm, seed, phase, run, task, language, split,
    metric, value) as JSON-ready dicts:

    `task_averages`: one entry per evaluation (study, arm, seed, phase, run, task, split) of a
    benchmark task and per benchmark, with its TaskScore fields.
    `overall`: one entry per system (study, arm, seed) and benchmark that has any of its tasks, with
    the BenchmarkScores fields and, per task, the evaluation used (`sources`). When a system has
    several evaluations of a task they are narrowed to the benchmark's split, then by
    PHASE_PREFERENCE; if several remain the task is `ambiguous` and counts as missing.
    """
    evaluations = _evaluations(rows)
    task_averages: list[dict[str, Any]] = []
    overall: list[dict[str, Any]] = []
    for bench in map(get_benchmark, benchmarks):
        by_system: dict[tuple[Any, ...], dict[str, list[tuple[Any, ...]]]]
        by_system = defaultdict(lambda: defaultdict(list))
        for key, values in evaluations.items():
            record = dict(zip(EVALUATION_KEY, key, strict=True))
            if record["task"] not in {t.name for t in bench.tasks}:
                continue
            by_system[key[: len(SYSTEM_KEY)]][record["task"]].append(key)
            score = task_score(bench.task(record["task"]), values)
            task_averages.append({**record, "benchmark": bench.name, **_task_dict(score)})
        for system, candidates_by_task in by_system.items():
            chosen: dict[str, Mapping[str, Any]] = {}
            sources: dict[str, dict[str, Any]] = {}
            ambiguous: dict[str, list[dict[str, Any]]] = {}
            for task_name, candidates in candidates_by_task.items():
                key, undecided = _choose(bench.task(task_name), sorted(candidates, key=repr))
                if key is None:
                    ambiguous[task_name] = [_source(c) for c in undecided]
                    continue
                chosen[task_name] = evaluations[key]
                sources[task_name] = _source(key)
            result = benchmark_scores(chosen, bench).as_dict()
            for task_name in ambiguous:
                result["missing"][task_name] = ["ambiguous: several evaluations"]
            overall.append(
                {
                    **dict(zip(SYSTEM_KEY, system, strict=True)),
                    **result,
                    "sources": sources,
                    "ambiguous": ambiguous,
                }
            )
    return {"task_averages": task_averages, "overall": overall}
