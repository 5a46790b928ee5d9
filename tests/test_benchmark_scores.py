"""Benchmark aggregation: per-task language averages, XTREME / XTREME-R overall scores, missing data.

Expected values are worked out by hand in the comments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from xstilts.config.registry import BUILTIN_CARDS, TaskRegistry
from xstilts.errors import ConfigError
from xstilts.metrics.benchmark import (
    benchmark_scores,
    benchmarks_from_cards,
    builtin_benchmarks,
    scores,
    task_score,
)
from xstilts.metrics.benchmark_text import TASK_MEAN, format_scores, overall_method

BENCHMARKS = builtin_benchmarks()
XTREME, XTREME_R = BENCHMARKS["xtreme"], BENCHMARKS["xtreme-r"]

# google-research/xtreme evaluate.py TASK2LANGS, in its own order (card `bucc` is its `bucc2018`).
XTREME_TASK2LANGS = {
    "pawsx": "de,en,es,fr,ja,ko,zh",
    "xnli": "ar,bg,de,el,en,es,fr,hi,ru,sw,th,tr,ur,vi,zh",
    "panx": "ar,he,vi,id,jv,ms,tl,eu,ml,ta,te,af,nl,en,de,el,bn,hi,mr,ur,fa,fr,it,pt,es,bg,ru,ja,ka,ko,th,sw,"
    "yo,my,zh,kk,tr,et,fi,hu",
    "udpos": "af,ar,bg,de,el,en,es,et,eu,fa,fi,fr,he,hi,hu,id,it,ja,kk,ko,mr,nl,pt,ru,ta,te,th,tl,tr,ur,"
    "vi,yo,zh",
    "bucc": "de,fr,ru,zh",
    "tatoeba": "ar,he,vi,id,jv,tl,eu,ml,ta,te,af,nl,de,el,bn,hi,mr,ur,fa,fr,it,pt,es,bg,ru,ja,ka,ko,th,sw,"
    "zh,kk,tr,et,fi,hu",
    "xquad": "en,es,de,el,ru,tr,ar,vi,th,zh,hi",
    "mlqa": "en,es,de,ar,hi,vi,zh",
    "tydiqa": "en,ar,bn,fi,id,ko,ru,sw,te",
}
# The 40 XTREME languages (xtreme README) and the 50 XTREME-R ones (google-research mel/mewsli-x.md).
XTREME_LANGUAGES = set(
    "af ar bg bn de el en es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr ms my nl pt ru sw ta te th "
    "tl tr ur vi yo zh".split()
)
XTREME_R_LANGUAGES = XTREME_LANGUAGES | set("az gu ht lt pa pl qu ro uk wo".split())

# One value per task for every language; QA as (F1, EM).
XTREME_VALUES = {"xnli": 80.0, "pawsx": 90.0, "udpos": 70.0, "panx": 60.0, "bucc": 50.0, "tatoeba": 40.0}
XTREME_R_VALUES = {"xnli": 80.0, "xcopa": 60.0, "udpos": 70.0, "panx": 60.0, "tatoeba": 40.0}
XTREME_R_VALUES |= {"mewsli-x": 30.0, "lareqa": 20.0}
QA_VALUES = {"xquad": (80.0, 60.0), "mlqa": (70.0, 50.0), "tydiqa": (60.0, 40.0)}


def _full(benchmark: str, per_task: dict[str, float]) -> dict[str, dict[str, Any]]:
    values: dict[str, dict[str, Any]] = {}
    for task in BENCHMARKS[benchmark].tasks:
        if task.name in QA_VALUES:
            f1, em = QA_VALUES[task.name]
            values[task.name] = {lang: {"f1": f1, "exact_match": em} for lang in task.languages}
        else:
            values[task.name] = {lang: per_task[task.name] for lang in task.languages}
    return values


# --- definitions ----------------------------------------------------------------------------------


def test_xtreme_languages_are_the_reference_task2langs() -> None:
    assert {t.name: set(t.languages) for t in XTREME.tasks} == {
        task: set(langs.split(",")) for task, langs in XTREME_TASK2LANGS.items()
    }
    assert set().union(*(t.languages for t in XTREME.tasks)) == XTREME_LANGUAGES


def test_xtreme_r_languages_cover_exactly_its_50() -> None:
    assert set().union(*(t.languages for t in XTREME_R.tasks)) == XTREME_R_LANGUAGES
    sizes = {t.name: len(t.languages) for t in XTREME_R.tasks}
    assert sizes == {
        "xnli": 15,
        "xcopa": 11,
        "udpos": 38,
        "panx": 48,
        # 12 with Romanian: xtreme's evaluate.py --xtreme_version xtreme-r (commit c1eda7f) scores it
        "xquad": 12,
        "mlqa": 7,
        "tydiqa": 9,
        "tatoeba": 41,
        "mewsli-x": 11,
        "lareqa": 11,
    }


def test_english_is_averaged_wherever_a_task_has_english_test_data() -> None:
    without_english = {
        (b.name, t.name) for b in BENCHMARKS.values() for t in b.tasks if "en" not in t.languages
    }
    # BUCC and Tatoeba pair every language with English; XCOPA has no English test set.
    assert without_english == {("xtreme", "bucc"), ("xtreme", "tatoeba"), ("xtreme-r", "tatoeba")} | {
        ("xtreme-r", "xcopa")
    }


def test_categories_and_metrics() -> None:
    assert XTREME.categories == {
        "classification": ["xnli", "pawsx"],
        "structured_prediction": ["udpos", "panx"],
        "question_answering": ["xquad", "mlqa", "tydiqa"],
        "retrieval": ["bucc", "tatoeba"],
    }
    assert XTREME_R.categories["retrieval"] == ["tatoeba", "mewsli-x", "lareqa"]
    assert XTREME_R.categories["classification"] == ["xnli", "xcopa"]
    assert XTREME_R.task("mewsli-x").metrics == ("map@20",)
    assert XTREME.task("tydiqa").split == "dev"  # XTREME scores TyDiQA-GoldP on its dev set
    assert (XTREME.overall, XTREME_R.overall) == ("tasks", "categories")


# --- per-task averages ----------------------------------------------------------------------------


def test_task_average_is_the_plain_mean_over_languages() -> None:
    pawsx = XTREME.task("pawsx")
    values = dict(zip(pawsx.languages, [91.0, 95.0, 89.0, 90.0, 80.0, 78.0, 83.0], strict=True))
    # (91 + 95 + 89 + 90 + 80 + 78 + 83) / 7 = 606 / 7
    result = task_score(pawsx, values)
    assert result.complete
    assert result.score == pytest.approx(606 / 7)
    assert result.averages == {"accuracy": pytest.approx(606 / 7)}


def test_qa_task_score_is_the_mean_of_average_f1_and_average_exact_match() -> None:
    mlqa = XTREME.task("mlqa")
    values = {lang: {"f1": 70.0, "exact_match": 50.0} for lang in mlqa.languages}
    values["en"] = {"f1": 84.0, "exact_match": 71.0}
    # avg F1 = (6 * 70 + 84) / 7 = 72, avg EM = (6 * 50 + 71) / 7 = 53; score = (72 + 53) / 2 = 62.5
    result = task_score(mlqa, values)
    assert result.averages == {"f1": pytest.approx(72.0), "exact_match": pytest.approx(53.0)}
    assert result.score == pytest.approx(62.5)


def test_qa_needs_both_metrics_not_one_number() -> None:
    with pytest.raises(ValueError, match="xquad .*f1 and exact_match"):
        task_score(XTREME.task("xquad"), {"en": 80.0})


def test_a_missing_language_leaves_only_a_partial_average() -> None:
    xnli = XTREME.task("xnli")
    values = {lang: 70.0 for lang in xnli.languages if lang != "sw"} | {"en": 84.0, "fy": 10.0}
    result = task_score(xnli, values)
    # sw missing: no score; partial over the 14 present: (13 * 70 + 84) / 14 = 71
    assert not result.complete
    assert result.score is None and result.averages == {}
    assert result.partial_score == pytest.approx(71.0)
    assert result.missing == ("sw",)
    assert result.ignored == ("fy",)  # not an XNLI language: reported, not averaged


def test_a_missing_metric_is_named_with_its_language() -> None:
    values = {lang: {"f1": 60.0, "exact_match": 40.0} for lang in XTREME.task("tydiqa").languages}
    values["ko"] = {"f1": 55.0}
    result = task_score(XTREME.task("tydiqa"), values)
    assert result.missing == ("ko:exact_match",)
    # partial over the 8 complete languages: (60 + 40) / 2
    assert result.partial_score == pytest.approx(50.0)


# --- overall scores -------------------------------------------------------------------------------


def test_xtreme_overall_is_the_mean_of_the_nine_task_scores() -> None:
    result = benchmark_scores(_full("xtreme", XTREME_VALUES), "xtreme")
    # task scores: 80, 90, 70, 60, QA (80+60)/2=70, (70+50)/2=60, (60+40)/2=50, 50, 40 -> 570 / 9
    assert result.complete
    assert result.overall == pytest.approx(570 / 9)
    assert result.partial_overall == pytest.approx(570 / 9)
    assert result.categories == {
        "classification": pytest.approx(85.0),
        "structured_prediction": pytest.approx(65.0),
        "question_answering": pytest.approx(60.0),
        "retrieval": pytest.approx(45.0),
    }
    assert result.missing == {}
    # the mean of the four categories would be 63.75: XTREME does not average categories
    assert result.overall != pytest.approx(63.75)


def test_xtreme_r_overall_is_the_mean_of_the_four_category_scores() -> None:
    result = benchmark_scores(_full("xtreme-r", XTREME_R_VALUES), "xtreme-r")
    # classification (80+60)/2 = 70, structured (70+60)/2 = 65, QA (70+60+50)/3 = 60,
    # retrieval (40+30+20)/3 = 30 -> (70+65+60+30)/4 = 56.25 (a mean of the 10 tasks would be 54.0)
    assert result.categories == {
        "classification": pytest.approx(70.0),
        "structured_prediction": pytest.approx(65.0),
        "question_answering": pytest.approx(60.0),
        "retrieval": pytest.approx(30.0),
    }
    assert result.overall == pytest.approx(56.25)


@pytest.mark.parametrize(
    ("tasks", "average"),
    [
        # Ruder et al. 2021, Table 3: XNLI, XCOPA, UD-POS, NER, XQuAD, MLQA, TyDiQA (F1, EM),
        # Mewsli-X, LAReQA, Tatoeba, and the paper's Avg
        ((66.5, 56.1, 70.9, 62.7, (65.1, 50.4), (61.3, 44.1), (58.4, 43.7), 38.6, 21.6, 43.3), 54.1),
        ((79.2, 69.2, 75.0, 64.4, (77.2, 61.6), (72.7, 54.2), (64.3, 45.8), 45.7, 40.7, 77.3), 65.3),
        ((84.8, 74.9, 71.5, 68.8, (81.5, 66.6), (75.6, 57.3), (80.1, 65.7), 41.7, 24.7, 45.7), 64.6),
    ],
    ids=["mBERT", "XLM-R Large", "mT5-XXL"],
)
def test_xtreme_r_rule_reproduces_the_papers_average(tasks: tuple[Any, ...], average: float) -> None:
    names = ["xnli", "xcopa", "udpos", "panx", "xquad", "mlqa", "tydiqa", "mewsli-x", "lareqa", "tatoeba"]
    values: dict[str, dict[str, Any]] = {}
    for name, value in zip(names, tasks, strict=True):
        langs = XTREME_R.task(name).languages
        if isinstance(value, tuple):
            values[name] = {lang: {"f1": value[0], "exact_match": value[1]} for lang in langs}
        else:
            values[name] = {lang: value for lang in langs}
    assert round(benchmark_scores(values, "xtreme-r").overall or 0.0, 1) == average


def test_a_missing_language_stops_the_overall_score_and_is_reported() -> None:
    values = _full("xtreme", XTREME_VALUES)
    del values["udpos"]["yo"]
    del values["bucc"]
    result = benchmark_scores(values, "xtreme")
    assert result.overall is None
    assert result.missing["udpos"] == ("yo",)
    assert result.missing["bucc"] == ("de", "fr", "ru", "zh")
    assert "structured_prediction" not in result.categories  # udpos incomplete
    assert "retrieval" not in result.categories
    assert result.categories["classification"] == pytest.approx(85.0)
    # partial: udpos over 32 languages is still 70, bucc absent -> (570 - 50) / 8 = 65
    assert result.partial_overall == pytest.approx(65.0)
    assert result.partial_categories["retrieval"] == pytest.approx(40.0)  # tatoeba alone


def test_an_empty_input_has_no_score_at_all() -> None:
    result = benchmark_scores({"copa": {"en": 70.0}}, "xtreme-r")
    assert result.overall is None and result.partial_overall is None
    assert result.partial_categories == {}
    assert result.ignored_tasks == ("copa",)
    assert set(result.missing) == {t.name for t in XTREME_R.tasks}


def test_unknown_benchmark() -> None:
    with pytest.raises(ValueError, match="unknown benchmark 'xglue'"):
        benchmark_scores({}, "xglue")


# --- results rows ---------------------------------------------------------------------------------


def _rows(
    task: str,
    values: dict[str, float],
    *,
    arm: str = "nli",
    phase: str = "target",
    run: str = "r1",
    split: str = "test",
    metric: str = "accuracy",
) -> list[dict[str, Any]]:
    fields = {"study": "s", "arm": arm, "seed": 1, "phase": phase, "run": run, "task": task, "split": split}
    return [{**fields, "language": lang, "metric": metric, "value": v} for lang, v in values.items()]


def test_rows_give_task_averages_per_evaluation_and_benchmark() -> None:
    rows = _rows("xnli", {lang: 70.0 for lang in XTREME.task("xnli").languages})
    rows += _rows("xnli", {"en": 90.0, "de": 80.0}, arm="none", run="r2")
    rows += _rows("copa", {"en": 60.0})  # not a benchmark task: ignored
    summary = scores(rows)
    averages = {(e["benchmark"], e["arm"]): e for e in summary["task_averages"]}
    assert set(averages) == {("xtreme", "nli"), ("xtreme", "none"), ("xtreme-r", "nli"), ("xtreme-r", "none")}
    assert averages[("xtreme", "nli")]["score"] == pytest.approx(70.0)
    assert averages[("xtreme", "nli")]["run"] == "r1"
    none = averages[("xtreme", "none")]
    assert none["score"] is None and none["partial_score"] == pytest.approx(85.0)
    assert len(none["missing"]) == 13


def test_rows_overall_prefers_the_benchmark_split_and_pre_target_retrieval() -> None:
    tatoeba = XTREME.task("tatoeba").languages
    rows = _rows("xnli", {"en": 80.0}, split="dev", run="t-dev")
    rows += _rows("xnli", {"en": 70.0}, run="t-test")  # the benchmark's split wins
    rows += _rows("tatoeba", {lang: 60.0 for lang in tatoeba}, phase="intermediate", run="i1")
    rows += _rows("tatoeba", {lang: 50.0 for lang in tatoeba}, phase="target", run="t-test")
    summary = scores(rows, ["xtreme"])
    (entry,) = summary["overall"]
    assert (entry["study"], entry["arm"], entry["seed"]) == ("s", "nli", 1)
    assert entry["sources"]["xnli"] == {"phase": "target", "run": "t-test", "split": "test"}
    assert entry["sources"]["tatoeba"] == {"phase": "intermediate", "run": "i1", "split": "test"}
    assert entry["tasks"]["tatoeba"]["score"] == pytest.approx(60.0)
    assert entry["overall"] is None  # seven tasks never ran
    assert "udpos" in entry["missing"]


def test_rows_with_two_equally_good_evaluations_are_ambiguous_not_averaged() -> None:
    rows = _rows("xnli", {"en": 80.0}, run="a") + _rows("xnli", {"en": 60.0}, run="b")
    (entry,) = scores(rows, ["xtreme"])["overall"]
    assert entry["missing"]["xnli"] == ["ambiguous: several evaluations"]
    assert [s["run"] for s in entry["ambiguous"]["xnli"]] == ["a", "b"]
    assert entry["tasks"]["xnli"]["partial_score"] is None


def test_rows_complete_benchmark_gives_the_overall_score() -> None:
    rows: list[dict[str, Any]] = []
    for task, per_lang in _full("xtreme", XTREME_VALUES).items():
        for lang, value in per_lang.items():
            metrics = value if isinstance(value, dict) else {XTREME.task(task).metrics[0]: value}
            split = XTREME.task(task).split
            for metric, v in metrics.items():
                rows += _rows(task, {lang: v}, metric=metric, split=split)
    (entry,) = scores(rows, ["xtreme"])["overall"]
    assert entry["overall"] == pytest.approx(570 / 9)
    text = format_scores({"overall": [entry]})
    assert "63.3" in text and "*" not in text.splitlines()[2]


def test_conflicting_rows_are_an_error() -> None:
    rows = _rows("xnli", {"en": 80.0}) + _rows("xnli", {"en": 81.0})
    with pytest.raises(ValueError, match="two values for accuracy of en"):
        scores(rows)


def test_format_scores_marks_partial_values() -> None:
    summary = scores(_rows("xnli", {"en": 80.0, "de": 70.0}), ["xtreme"])
    text = format_scores(summary)
    assert "75.0*" in text and "partial" in text
    assert format_scores({"overall": []}) == ""


# --- task cards -----------------------------------------------------------------------------------


NEW_CARD = """\
name: toy-nli
format: classification
reader: xtreme_tsv_pairs
labels: [entailment, neutral, contradiction]
metric: accuracy
languages: [en, de]
splits:
  test: {path: "toy/test-{lang}.tsv"}
benchmarks:
  xtreme-r:
    languages: [de, en]
    category: classification
    metrics: [accuracy]
    position: 3
"""


def test_a_new_benchmark_task_is_one_card(tmp_path: Path) -> None:
    (tmp_path / "cards").mkdir()
    (tmp_path / "cards" / "toy-nli.yaml").write_text(NEW_CARD)
    registry = TaskRegistry(tmp_path, (BUILTIN_CARDS, tmp_path / "cards"))
    xtreme_r = benchmarks_from_cards(registry.cards.values())["xtreme-r"]
    # position 3, before udpos (also 3) by name
    assert [t.name for t in xtreme_r.tasks][:4] == ["xnli", "xcopa", "toy-nli", "udpos"]
    assert xtreme_r.categories["classification"] == ["xnli", "xcopa", "toy-nli"]
    assert xtreme_r.task("toy-nli").languages == ("de", "en")
    result = benchmark_scores(_full("xtreme-r", XTREME_R_VALUES), xtreme_r)
    assert result.overall is None and result.missing == {"toy-nli": ("de", "en")}


def test_a_benchmark_entry_says_how_the_task_is_scored(tmp_path: Path) -> None:
    (tmp_path / "toy-nli.yaml").write_text(NEW_CARD.replace("    category: classification\n", ""))
    with pytest.raises(ConfigError, match="benchmarks.xtreme-r.category"):
        TaskRegistry(tmp_path, (tmp_path,))


# --- the two XTREME-R overall rules ---------------------------------------------------------------


def test_xquad_scores_12_languages_with_romanian_for_xtreme_r_and_11_for_xtreme() -> None:
    # xtreme evaluate.py XTREME_R_TASK2LANGS['xquad'] since commit c1eda7f; TASK2LANGS keeps 11
    assert set(XTREME_R.task("xquad").languages) == set(XTREME_TASK2LANGS["xquad"].split(",")) | {"ro"}
    assert "ro" not in XTREME.task("xquad").languages and len(XTREME.task("xquad").languages) == 11


def test_task_mean_is_evaluate_py_s_plain_mean_beside_the_category_mean() -> None:
    xtreme_r = benchmark_scores(_full("xtreme-r", XTREME_R_VALUES), "xtreme-r")
    # tasks 80, 60, 70, 60, QA 70, 60, 50, retrieval 40, 30, 20 (LAReQA counted) -> 540 / 10
    assert xtreme_r.task_mean == pytest.approx(54.0) and xtreme_r.overall == pytest.approx(56.25)
    assert xtreme_r.as_dict()["task_mean"] == pytest.approx(54.0)
    xtreme = benchmark_scores(_full("xtreme", XTREME_VALUES), "xtreme")
    assert xtreme.task_mean == pytest.approx(xtreme.overall or 0.0)  # one rule for XTREME
    # partial: three tasks in two categories
    values = {
        name: {lang: value for lang in XTREME_R.task(name).languages}
        for name, value in {"xnli": 80.0, "xcopa": 60.0, "udpos": 50.0}.items()
    }
    partial = benchmark_scores(values, "xtreme-r")
    assert partial.task_mean is None and partial.overall is None
    # categories (80 + 60) / 2 = 70 and 50 -> 60; tasks (80 + 60 + 50) / 3
    assert partial.partial_overall == pytest.approx(60.0)
    assert partial.partial_task_mean == pytest.approx(190 / 3)


def test_results_text_shows_both_numbers_and_names_the_rules_sources() -> None:
    rows: list[dict[str, Any]] = []
    for task, per_lang in _full("xtreme-r", XTREME_R_VALUES).items():
        bench_task = XTREME_R.task(task)
        for lang, value in per_lang.items():
            metrics = value if isinstance(value, dict) else {bench_task.metrics[0]: value}
            for metric, v in metrics.items():
                rows += _rows(task, {lang: v}, metric=metric, split=bench_task.split)
    (entry,) = scores(rows, ["xtreme-r"])["overall"]
    assert (entry["overall"], entry["task_mean"]) == (pytest.approx(56.25), pytest.approx(54.0))
    lines = format_scores({"overall": [entry]}).splitlines()
    assert lines[0] == "xtreme-r (mean of categories)"
    assert lines[1].endswith(f"overall  {TASK_MEAN}")
    assert lines[2].split()[-2:] == ["56.2", "54.0"]  # 56.25 rounds half to even
    method = lines[3]
    assert method == overall_method(XTREME_R)
    for named in ("Ruder et al. 2021", "as recalled", "evaluate.py", "c1eda7f", "LAReQA", TASK_MEAN):
        assert named in method, named


def test_the_method_text_says_each_benchmark_s_rule() -> None:
    assert "mean of the 9 task scores" in overall_method(XTREME) and "all_task" in overall_method(XTREME)
    text = overall_method(XTREME_R)
    assert "mean of 4 category scores" in text
    assert "retrieval (tatoeba, mewsli-x, lareqa)" in text
    assert "plain mean of the task scores" in text
