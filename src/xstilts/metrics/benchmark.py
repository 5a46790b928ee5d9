"""XTREME and XTREME-R scores: per-task averages over a benchmark's languages and the overall score.

How each benchmark scores, and where that comes from:

XTREME (Hu et al. 2020), leaderboard script google-research/xtreme `evaluate.py` (`TASK2LANGS`,
`GROUP2TASK`, `METRIC_FUNCTION`, `evaluate()`):
  * each task's metrics are averaged over the task's languages (`avg_<metric>`); English is one of
    them wherever the task has English test data (all but BUCC and Tatoeba, where English is the
    side every other language is paired with);
  * the task score (`avg_metric`) is `avg_accuracy` (XNLI, PAWS-X, Tatoeba) or `avg_f1` (UD-POS,
    PAN-X, BUCC), and for QA (XQuAD, MLQA, TyDiQA-GoldP) `(avg_exact_match + avg_f1) / 2`, not F1;
  * the overall score (`all_task`) is the mean of the nine task scores, computed only when every task
    is present; a group (classification, tagging, qa, retrieval) score is the mean of its tasks'
    scores, computed when all of that group's tasks are present.
  TyDiQA-GoldP's "test" set is the GoldP dev set (`scripts/eval_qa.sh`), hence split `dev` below.

XTREME-R (Ruder et al. 2021):
  * categories (the paper's task and results tables): classification (XNLI, XCOPA), structured
    prediction (UD-POS, WikiANN-NER: the PAN-X data with more languages), question answering
    (XQuAD, MLQA, TyDiQA-GoldP), retrieval (Tatoeba, Mewsli-X, LAReQA); PAWS-X and BUCC are dropped;
  * metrics: accuracy (XNLI, XCOPA, Tatoeba), F1 (UD-POS, NER), F1/EM (QA), mAP@20 (Mewsli-X,
    LAReQA); the overall score is the mean of the four category scores, each the mean of its tasks,
    with QA tasks scored (F1 + EM) / 2 as in XTREME. No scoring script for XTREME-R is published; this
    rule reproduces the Avg column of the paper's Table 3 from its per-task numbers (mBERT 54.1,
    XLM-R Large 65.3, mT5-XXL 64.6), which a mean over the ten tasks or F1-only QA does not;
  * languages, from the data scripts of google-research/xtreme: UD-POS v2.7 and PAN-X in
    `scripts/download_data.sh` (38 and 48 languages), XCOPA `scripts/train_xcopa.sh` (11, no
    English test set), XQuAD `download_data.sh` (11), Tatoeba `utils_preprocess.py`
    `tatoeba_preprocess` (41), Mewsli-X google-research `mel/mewsli-x.md` (11), LAReQA the XQuAD-R
    files of google-research-datasets/lareqa (11). (Every xtreme `download_xquad` fetches 11 XQuAD
    languages; Romanian, added to XQuAD later, is not among them.) Whether XTREME-R's own averages
    include English is not stated in those scripts; English is included wherever a task has English
    test data, as XTREME's `evaluate.py` does. Their union is the 50 XTREME-R languages listed in
    `mewsli-x.md`.

Task names are this project's card names (XTREME's `bucc2018` is card `bucc`, WikiANN-NER is `panx`).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

CLASSIFICATION, STRUCTURED, QA, RETRIEVAL = (
    "classification",
    "structured_prediction",
    "question_answering",
    "retrieval",
)
QA_METRICS = ("f1", "exact_match")


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
    overall: Literal["tasks", "categories"]  # what the overall score is the mean of

    def task(self, name: str) -> BenchmarkTask:
        return next(t for t in self.tasks if t.name == name)

    @property
    def categories(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for t in self.tasks:
            groups.setdefault(t.category, []).append(t.name)
        return groups


def _langs(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_XNLI = _langs("ar bg de el en es fr hi ru sw th tr ur vi zh")
_XQUAD = _langs("ar de el en es hi ru th tr vi zh")
_MLQA = _langs("ar de en es hi vi zh")
_TYDIQA = _langs("ar bn en fi id ko ru sw te")
_UDPOS = _langs(
    "af ar bg de el en es et eu fa fi fr he hi hu id it ja kk ko mr nl pt ru ta te th tl tr ur vi yo zh"
)
_PANX = _langs(
    "af ar bg bn de el en es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr ms my nl pt ru sw ta te th "
    "tl tr ur vi yo zh"
)
_TATOEBA = _langs(
    "af ar bg bn de el es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr nl pt ru sw ta te th tl tr ur "
    "vi zh"
)

XTREME = Benchmark(
    "xtreme",
    (
        BenchmarkTask("xnli", CLASSIFICATION, ("accuracy",), _XNLI),
        BenchmarkTask("pawsx", CLASSIFICATION, ("accuracy",), _langs("de en es fr ja ko zh")),
        BenchmarkTask("udpos", STRUCTURED, ("f1",), _UDPOS),
        BenchmarkTask("panx", STRUCTURED, ("f1",), _PANX),
        BenchmarkTask("xquad", QA, QA_METRICS, _XQUAD),
        BenchmarkTask("mlqa", QA, QA_METRICS, _MLQA),
        BenchmarkTask("tydiqa", QA, QA_METRICS, _TYDIQA, split="dev"),
        BenchmarkTask("bucc", RETRIEVAL, ("f1",), _langs("de fr ru zh")),
        BenchmarkTask("tatoeba", RETRIEVAL, ("accuracy",), _TATOEBA),
    ),
    overall="tasks",
)

XTREME_R = Benchmark(
    "xtreme-r",
    (
        BenchmarkTask("xnli", CLASSIFICATION, ("accuracy",), _XNLI),
        BenchmarkTask("xcopa", CLASSIFICATION, ("accuracy",), _langs("et ht id it qu sw ta th tr vi zh")),
        BenchmarkTask("udpos", STRUCTURED, ("f1",), tuple(sorted(_UDPOS + _langs("lt pl ro uk wo")))),
        BenchmarkTask("panx", STRUCTURED, ("f1",), tuple(sorted(_PANX + _langs("az gu lt pa pl qu ro uk")))),
        BenchmarkTask("xquad", QA, QA_METRICS, _XQUAD),
        BenchmarkTask("mlqa", QA, QA_METRICS, _MLQA),
        BenchmarkTask("tydiqa", QA, QA_METRICS, _TYDIQA, split="dev"),
        BenchmarkTask(
            "tatoeba", RETRIEVAL, ("accuracy",), tuple(sorted(_TATOEBA + _langs("az lt pl ro uk")))
        ),
        BenchmarkTask("mewsli-x", RETRIEVAL, ("map@20",), _langs("ar de en es fa ja pl ro ta tr uk")),
        BenchmarkTask("lareqa", RETRIEVAL, ("map@20",), _XQUAD),
    ),
    overall="categories",
)

BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in (XTREME, XTREME_R)}


def get_benchmark(benchmark: str | Benchmark) -> Benchmark:
    if isinstance(benchmark, Benchmark):
        return benchmark
    if benchmark not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {benchmark!r} (known: {', '.join(BENCHMARKS)})")
    return BENCHMARKS[benchmark]


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
    score of every task with at least one complete language, and say so by their name."""

    benchmark: str
    tasks: dict[str, TaskScore]
    overall: float | None
    categories: dict[str, float]
    partial_overall: float | None
    partial_categories: dict[str, float]
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
) -> tuple[float | None, dict[str, float]]:
    """Category means and the overall mean (of tasks or of categories, as the benchmark defines it).
    Not partial: a category needs all its tasks and the overall every task; partial: whatever is there."""
    present = any if partial else all
    categories = {
        name: statistics.fmean(task_values[t] for t in tasks if t in task_values)
        for name, tasks in benchmark.categories.items()
        if present(t in task_values for t in tasks)
    }
    if not task_values or (not partial and len(task_values) < len(benchmark.tasks)):
        return None, categories
    values = categories.values() if benchmark.overall == "categories" else task_values.values()
    return statistics.fmean(values), categories


def benchmark_scores(values: Mapping[str, LanguageValues], benchmark: str | Benchmark) -> BenchmarkScores:
    """Per-task averages, category scores and the overall score from {task: {lang: value}}, where a
    value is a number for single-metric tasks or {metric: value} (QA needs `f1` and `exact_match`)."""
    bench = get_benchmark(benchmark)
    tasks = {t.name: task_score(t, values.get(t.name, {})) for t in bench.tasks}
    complete = {n: s.score for n, s in tasks.items() if s.score is not None}
    present = {n: s.partial_score for n, s in tasks.items() if s.partial_score is not None}
    overall, categories = _aggregate(bench, complete, partial=False)
    partial_overall, partial_categories = _aggregate(bench, present, partial=True)
    return BenchmarkScores(
        benchmark=bench.name,
        tasks=tasks,
        overall=overall,
        categories=categories,
        partial_overall=partial_overall,
        partial_categories=partial_categories,
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


_SHORT = {CLASSIFICATION: "class.", STRUCTURED: "struct.", QA: "qa", RETRIEVAL: "retr."}


def _cell(value: float | None, partial: float | None) -> str:
    if value is not None:
        return f"{value:.1f}"
    return f"{partial:.1f}*" if partial is not None else "-"


def format_scores(summary: Mapping[str, list[dict[str, Any]]]) -> str:
    """One table per benchmark: systems down, task scores, category scores and overall across."""
    blocks = []
    for bench in BENCHMARKS.values():
        entries = [e for e in summary.get("overall", []) if e["benchmark"] == bench.name]
        if not entries:
            continue
        header = ["system", *(t.name for t in bench.tasks), *(_SHORT[c] for c in bench.categories), "overall"]
        body = []
        for e in entries:
            name = "/".join(str(e[k]) for k in ("arm", "seed") if e.get(k) is not None)
            tasks = e["tasks"]
            cells = [_cell(tasks[t.name]["score"], tasks[t.name]["partial_score"]) for t in bench.tasks]
            cells += [_cell(e["categories"].get(c), e["partial_categories"].get(c)) for c in bench.categories]
            body.append([name, *cells, _cell(e["overall"], e["partial_overall"])])
        widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
        lines = [f"{bench.name} ({'mean of tasks' if bench.overall == 'tasks' else 'mean of categories'})"]
        for r in [header, *body]:
            lines.append(
                "  ".join(
                    v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(r, widths, strict=True))
                )
            )
        blocks.append("\n".join(lines))
    if not blocks:
        return ""
    note = "* partial: averaged over the languages/tasks present only (see the missing lists in the summary)"
    return "\n\n".join([*blocks, note])


# --- cross-check with task cards -------------------------------------------------------------------


class _Entry(Protocol):
    languages: list[str]
    split: str


class _Card(Protocol):
    name: str
    benchmarks: Mapping[str, _Entry]


def check_cards(cards: Iterable[_Card], *, require_entries: bool = False) -> list[str]:
    """Where the cards' `benchmarks` entries disagree with the definitions above (and, with
    `require_entries`, which benchmark tasks have a card without an entry)."""
    problems: list[str] = []
    by_name = {c.name: c for c in cards}
    for card in by_name.values():
        for bench_name, entry in card.benchmarks.items():
            if bench_name not in BENCHMARKS:
                problems.append(f"{card.name}: benchmarks.{bench_name} is not a known benchmark")
                continue
            bench = BENCHMARKS[bench_name]
            if card.name not in {t.name for t in bench.tasks}:
                problems.append(f"{card.name}: {bench_name} has no task {card.name!r}")
                continue
            task = bench.task(card.name)
            extra = sorted(set(entry.languages) - set(task.languages))
            absent = sorted(set(task.languages) - set(entry.languages))
            if extra or absent:
                problems.append(
                    f"{card.name}: benchmarks.{bench_name}.languages differ "
                    f"(not in {bench_name}: {extra or 'none'}; missing: {absent or 'none'})"
                )
            if entry.split != task.split:
                problems.append(
                    f"{card.name}: benchmarks.{bench_name}.split is {entry.split!r}, not {task.split!r}"
                )
    if require_entries:
        for bench in BENCHMARKS.values():
            for task in bench.tasks:
                if task.name in by_name and bench.name not in by_name[task.name].benchmarks:
                    problems.append(f"{task.name}: card has no benchmarks.{bench.name} entry")
    return problems
