"""`xstilts report`: the report model from a store of known numbers, its figures, the HTML page (also
rendered in headless Chromium) and the Markdown tables, and bad input."""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from xstilts.cli import main
from xstilts.report.blocks import FigureRef, Table, recorded
from xstilts.report.build import build_report
from xstilts.report.evidence import MIN_SEEDS
from xstilts.report.figures import heat_map_figure
from xstilts.report.html import table_html
from xstilts.report.layout import report_blocks
from xstilts.report.markdown import FIGURE_DIR, report_markdown
from xstilts.report.model import HeatMap, Section, StudyReport
from xstilts.report.scaling import scaling_specs
from xstilts.report.site import REPORT_DIR, write_site
from xstilts.report.study_file import describe_arm, load_study_json
from xstilts.results.example_files import write_examples_file
from xstilts.results.recipes import PERCENT
from xstilts.results.store import STORE_NAME, ResultsStore
from xstilts.stats.estimates import language_average

LANGS = ("en", "de", "zh")
ARMS = ("none", "nli-300", "nli-900")
N_PAWSX, N_UDPOS = 100, 100
# PAWS-X: examples right out of 100, per arm, seed and language. nli-300 gets exactly the baseline's
# examples right (a difference of 0 in every resample); nli-900 fifteen more in every language.
PAWSX = {
    ("none", 1): {"en": 80, "de": 70, "zh": 60},
    ("none", 2): {"en": 82, "de": 68, "zh": 60},
}
PAWSX[("nli-300", 1)], PAWSX[("nli-300", 2)] = PAWSX[("none", 1)], PAWSX[("none", 2)]
PAWSX[("nli-900", 1)] = {lang: n + 15 for lang, n in PAWSX[("none", 1)].items()}
PAWSX[("nli-900", 2)] = {lang: n + 15 for lang, n in PAWSX[("none", 2)].items()}
# UD-POS: true-positive chunks of 200 predicted and 200 gold (F1 = tp / 2 percent), the same every seed.
UDPOS = {
    "none": {"en": 160, "de": 120, "zh": 100},  # F1 80, 60, 50
    "nli-300": {"en": 140, "de": 100, "zh": 90},  # 70, 50, 45
    "nli-900": {"en": 150, "de": 110, "zh": 80},  # 75, 55, 40
}


def _study_json(out: Path, seeds: list[int]) -> None:
    arms = [{"name": "none", "intermediate": [], "training": {}}] + [
        {
            "name": f"nli-{size}",
            "intermediate": [{"task": "xnli", "split": "dev", "languages": ["en"], "size": size}],
            "training": {},
        }
        for size in (300, 900)
    ]
    study = {"name": "toy", "description": "NLI volume vs none", "model": "bundled:me5-small", "seeds": seeds}
    study |= {"arms": arms, "targets": [{"task": "pawsx"}, {"task": "udpos"}]}
    (out / "study.json").write_text(json.dumps(study), encoding="utf-8")


def _pawsx_columns(correct: int, reverse: bool) -> dict[str, np.ndarray]:
    ids = np.array([f"p{i}" for i in range(N_PAWSX)], dtype=object)
    right = (np.arange(N_PAWSX) < correct).astype(np.int8)
    order = np.arange(N_PAWSX)[::-1] if reverse else np.arange(N_PAWSX)
    return {"id": ids[order], "correct": right[order]}


def _udpos_columns(tp: int) -> dict[str, np.ndarray]:
    return {
        "id": np.array([f"s{i}" for i in range(N_UDPOS)], dtype=object),
        "chunks_correct": np.array(
            [2] * (tp // 2) + [tp % 2] + [0] * (N_UDPOS - tp // 2 - 1), dtype=np.int32
        ),
        "chunks_predicted": np.full(N_UDPOS, 2, dtype=np.int32),
        "chunks_gold": np.full(N_UDPOS, 2, dtype=np.int32),
    }


def make_store(out: Path, seeds: tuple[int, ...] = (1, 2), examples: bool = True) -> Path:
    """3 arms x len(seeds) seeds x 2 targets x 3 languages; per-example files when `examples`.

    nli-900's PAWS-X examples are written in reverse order: the report must align them by id."""
    out.mkdir(parents=True, exist_ok=True)
    _study_json(out, list(seeds))
    rows: list[dict[str, Any]] = []
    for arm in ARMS:
        for seed in seeds:
            base = {"study": "toy", "arm": arm, "phase": "target", "seed": seed, "task_version": 1}
            pawsx = PAWSX[(arm, 1 + (seed - 1) % 2)]
            run = f"target-{arm}-{seed}-pawsx"
            file = out / "runs" / run / "evals" / "pawsx.examples.parquet"
            if examples:
                columns = {lang: _pawsx_columns(pawsx[lang], arm == "nli-900") for lang in LANGS}
                write_examples_file(file, columns, {"accuracy": ("mean", "correct")})
            for lang in LANGS:
                row = {**base, "run": run, "task": "pawsx", "split": "test", "language": lang}
                rows.append({**row, "metric": "accuracy", "value": float(pawsx[lang])})
                if examples:
                    rows[-1]["examples_file"] = str(file)
            run = f"target-{arm}-{seed}-udpos"
            file = out / "runs" / run / "evals" / "udpos.examples.parquet"
            recipe = {"f1": ("f1", "chunks_correct", "chunks_predicted", "chunks_gold")}
            if examples:
                write_examples_file(file, {lang: _udpos_columns(UDPOS[arm][lang]) for lang in LANGS}, recipe)
            for lang in LANGS:
                row = {**base, "run": run, "task": "udpos", "split": "test", "language": lang}
                rows.append({**row, "metric": "f1", "value": UDPOS[arm][lang] / 2})
                if examples:
                    rows[-1]["examples_file"] = str(file)
    ResultsStore(out / STORE_NAME).record(rows)
    return out


def section(study: StudyReport, task: str) -> Section:
    return next(s for s in study.sections if s.task == task)


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_store(tmp_path_factory.mktemp("toy"))


@pytest.fixture(scope="module")
def report(study_dir: Path):
    return build_report(study_dir, resamples=400)


def test_tables_hold_the_stored_numbers(report) -> None:
    (study,) = report.studies
    assert study.baseline == "none"
    assert [a.name for a in study.arms] == list(ARMS) and study.arms[0].baseline
    assert study.arms[1].description == "xnli dev (en 300)"
    pawsx = section(study, "pawsx")
    assert pawsx.kind == "sentence" and section(study, "udpos").kind == "structured"
    (table,) = pawsx.tables
    assert table.metric == "accuracy" and table.languages == list(LANGS)
    none = table.rows[0]
    assert none.cells["en"].mean == 81.0 and none.cells["en"].std == pytest.approx(statistics.stdev([80, 82]))
    assert none.cells["zh"].std == 0.0 and none.cells["en"].seeds == 2
    # Each seed averages 70 over the languages: the average has no spread although each language has.
    assert none.average.mean == pytest.approx(70.0) and none.average.std == pytest.approx(0.0)
    assert table.rows[2].average.mean == pytest.approx(85.0)
    # The test-set sizes come from the per-example files (the store's rows do not hold them).
    assert pawsx.sizes == {lang: N_PAWSX for lang in LANGS}
    udpos = section(study, "udpos").tables[0]
    assert [r.average.mean for r in udpos.rows] == pytest.approx([190 / 3, 165 / 3, 170 / 3])


def test_differences_resample_examples_and_seeds(report, study_dir: Path) -> None:
    (study,) = report.studies
    deltas = {d.arm: d for d in section(study, "pawsx").deltas}
    same, more = deltas["nli-300"], deltas["nli-900"]
    assert same.level == more.level == "examples"
    # The baseline's examples right, seed for seed. On average over languages both seeds score 70:
    # no seed variance, every resample differs by exactly 0.
    assert (same.average.estimate, same.average.low, same.average.high) == (0.0, 0.0, 0.0)
    assert same.average.p_value == 1.0 and not same.average.significant
    # In en the seeds score 80 and 82 in both arms: a seed term for each arm, the interval is not 0.
    en = same.languages["en"]
    assert en.estimate == 0.0 and en.low < 0 < en.high and en.p_value > 0.5
    # In zh both seeds of both arms are the same examples: every resample differs by exactly 0.
    zh = same.languages["zh"]
    assert (zh.estimate, zh.low, zh.high, zh.mcnemar_p) == (0.0, 0.0, 0.0, 1.0)
    assert more.average.estimate == pytest.approx(15.0)
    assert 0 < more.average.low < 15 < more.average.high and more.average.p_value < 0.01
    assert more.average.significant
    for lang in LANGS:
        d = more.languages[lang]
        assert (
            d.estimate == pytest.approx(15.0) and d.low > 0 and d.mcnemar_p is not None and d.mcnemar_p < 1e-3
        )
    # The interval is stats.language_average's on the aligned examples (nli-900's came reversed).
    arm = {
        lang: np.stack([_pawsx_columns(PAWSX[("nli-900", s)][lang], False)["correct"] for s in (1, 2)])
        for lang in LANGS
    }
    base = {
        lang: np.stack([_pawsx_columns(PAWSX[("none", s)][lang], False)["correct"] for s in (1, 2)])
        for lang in LANGS
    }
    direct = language_average(arm, base, PERCENT, n_resamples=400, seed=1)
    assert abs(direct.low - more.average.low) < 2.5 and abs(direct.high - more.average.high) < 2.5
    udpos = {d.arm: d for d in section(study, "udpos").deltas}
    assert udpos["nli-300"].average.estimate == pytest.approx((-10 - 10 - 5) / 3)
    assert udpos["nli-900"].average.estimate == pytest.approx((-5 - 5 - 10) / 3)
    assert udpos["nli-900"].average.high < 0  # F1 from summed counts: the loss is clear


def test_robustness_worst_language_and_split(report) -> None:
    (study,) = report.studies
    robust = {r.arm: r for r in section(study, "pawsx").robustness}
    none = robust["none"]
    assert (none.worst_language, none.worst, none.best_language, none.best) == ("zh", 60.0, "en", 81.0)
    assert none.spread == 21.0 and none.seed_std == pytest.approx(0.0)
    assert none.language_seed_std == pytest.approx(statistics.fmean([2**0.5, 2**0.5, 0.0]))
    assert robust["nli-900"].worst == 75.0
    assert {r.arm: r.worst_language for r in section(study, "udpos").robustness}["nli-900"] == "zh"
    split = {r.arm: r for r in study.split}
    assert split["nli-900"].sentence_delta == pytest.approx(15.0)
    assert split["nli-900"].structured_delta == pytest.approx(-20 / 3)
    assert split["nli-900"].structured_tasks == split["nli-900"].sentence_tasks == 1
    assert split["none"].sentence_delta is None and split["none"].sentence_score == pytest.approx(70.0)


def test_heat_map_curves_and_benchmarks(report) -> None:
    (study,) = report.studies
    heat = study.heatmap
    assert heat.rows == ["nli-300 (xnli)", "nli-900 (xnli)"] and heat.columns == ["pawsx", "udpos"]
    assert heat.values[1] == pytest.approx([15.0, -20 / 3]) and heat.significant[1] == [True, True]
    assert heat.significant[0][0] is False
    volume = [c for c in study.curves if c.variable == "volume"]
    assert [c.section for c in volume] == ["pawsx (test)", "udpos (test)"]
    ((spec, points),) = volume[0].series
    assert [(p.x, p.arms) for p in points] == [(300.0, ("nli-300",)), (900.0, ("nli-900",))]
    assert points[1].estimate == pytest.approx(15.0) and points[1].low > 0
    assert not [c for c in study.curves if c.variable != "volume"]  # one task each, no mixtures
    xtreme = next(t for t in study.benchmarks if t.benchmark == "xtreme")
    assert xtreme.columns[:2] == ["pawsx", "udpos"] and xtreme.coverage["pawsx"] == "3/7 languages"
    none = dict(xtreme.rows)["none"]
    assert none[0].value == pytest.approx(70.0) and none[0].partial  # 3 of PAWS-X's 7 languages


def test_scaling_variables_come_from_the_study(tmp_path: Path) -> None:
    def xnli(**fields: Any) -> dict[str, Any]:
        return {"task": "xnli", "split": "dev", **fields}

    arms = [
        {"name": "none"},
        {"name": "en", "intermediate": [xnli(size=900, mix={"en": 1})]},
        {"name": "en2-es1", "intermediate": [xnli(size=900, mix={"en": 2, "es": 1})]},
        {"name": "es", "intermediate": [xnli(sizes={"es": 900})]},
        {"name": "half", "intermediate": [xnli(fraction=0.5, languages=["en"])]},
        {"name": "all", "intermediate": [xnli(fraction=1.0, languages=["en"])]},
        {"name": "two", "intermediate": [xnli(size=900, languages=["en"]), {"task": "siqa", "split": "dev"}]},
    ]
    study = {"name": "s", "model": "bundled:me5-small", "arms": arms, "targets": [{"task": "pawsx"}]}
    (tmp_path / "study.json").write_text(json.dumps(study), encoding="utf-8")
    design = load_study_json(tmp_path)
    assert design.baselines == ["none"] and describe_arm(design.arm("en2-es1")) == "xnli dev (en 600, es 300)"
    specs = {(s.variable, s.x_label): s for s in scaling_specs(design, [a["name"] for a in arms])}
    mix = specs[("mix", "en share of the intermediate examples (%)")]
    assert mix.points == ((0.0, ("es",)), (66.67, ("en2-es1",)), (100.0, ("en",)))
    assert specs[("volume", "fraction of the intermediate data")].points == (
        (0.5, ("half",)),
        (1.0, ("all",)),
    )
    tasks = specs[("tasks", "number of intermediate tasks")].points
    assert tasks == ((1.0, ("en", "en2-es1", "es", "half", "all")), (2.0, ("two",)))
    assert len(specs) == 3  # the 900-example arms differ in languages, not volume: no volume curve
    assert scaling_specs(design, ["none", "en"]) == []  # only arms with results count


def test_seed_level_fallback(tmp_path: Path) -> None:
    """No per-example files: intervals over seeds where there are enough, none below that."""
    two = build_report(make_store(tmp_path / "two", examples=False), resamples=200)
    more = {d.arm: d for d in section(two.studies[0], "pawsx").deltas}["nli-900"]
    assert more.level == "none" and more.average.estimate == pytest.approx(15.0)
    assert more.average.low is None and more.average.p_value is None
    seeds = tuple(range(1, MIN_SEEDS + 1))
    three = build_report(make_store(tmp_path / "three", seeds=seeds, examples=False), resamples=200)
    more = {d.arm: d for d in section(three.studies[0], "pawsx").deltas}["nli-900"]
    # en's seeds score 80, 82, 80 (and 95, 97, 95): a t-interval over seeds.
    en = more.languages["en"]
    assert more.level == "seeds" and en.low is not None and en.low <= en.estimate == 15.0 <= en.high
    # Every seed's language average is 70 (and 85): nothing varies, so no interval, only the difference.
    assert more.average.estimate == pytest.approx(15.0) and more.average.low is None
    assert "0 of 4 comparisons resample examples" in three.studies[0].statistics


# Tatoeba: right answers out of 100 queries on the pretrained encoder and after each arm's
# intermediate phase (the same in both seeds).
TATOEBA = {
    "pretrained": {"de": 40, "ru": 30},
    "nli-300": {"de": 40, "ru": 30},
    "nli-900": {"de": 50, "ru": 40},
}


def add_retrieval(out: Path) -> None:
    """Retrieval scored before and after the intermediate phase, as a study with `retrieval` records it."""
    rows = []
    for arm, right in TATOEBA.items():
        phase, seeds = ("pretrained", [None]) if arm == "pretrained" else ("intermediate", [1, 2])
        for seed in seeds:
            run = f"{phase}-{arm}-{seed}"
            file = out / "runs" / run / "evals" / "tatoeba.examples.parquet"
            columns = {lang: _pawsx_columns(n, reverse=False) for lang, n in right.items()}
            write_examples_file(file, columns, {"accuracy": ("mean", "correct")})
            rows += [
                {
                    "study": "toy",
                    "arm": arm,
                    "phase": phase,
                    "seed": seed,
                    "run": run,
                    "task": "tatoeba",
                    "task_version": 1,
                    "language": lang,
                    "split": "test",
                    "metric": "accuracy",
                    "value": float(n),
                    "examples_file": str(file),
                }
                for lang, n in right.items()
            ]
    ResultsStore(out / STORE_NAME).record(rows)


def test_retrieval_compares_with_the_pretrained_encoder(tmp_path: Path) -> None:
    out = make_store(tmp_path / "toy")
    add_retrieval(out)
    (study,) = build_report(out, resamples=200).studies
    tatoeba = section(study, "tatoeba")
    assert tatoeba.title == "tatoeba (test, after intermediate)" and tatoeba.kind == "sentence"
    none = tatoeba.tables[0].rows[0]
    # The baseline arm has no intermediate phase: its encoder is the pretrained one (one fixed model).
    assert (none.arm, none.note, none.cells["de"].mean, none.cells["de"].seeds) == (
        "none",
        "pretrained encoder",
        40.0,
        1,
    )
    deltas = {d.arm: d for d in tatoeba.deltas}
    assert deltas["nli-900"].level == "examples" and deltas["nli-900"].average.estimate == pytest.approx(10.0)
    assert deltas["nli-900"].average.significant
    same = deltas["nli-300"].average
    assert (same.estimate, same.low, same.high) == (0.0, 0.0, 0.0)  # nothing varies: not seeds, not examples
    assert study.heatmap.columns == ["pawsx", "udpos", "tatoeba"]
    split = {r.arm: r for r in study.split}["nli-900"]
    assert split.sentence_tasks == 2 and split.sentence_delta == pytest.approx((15.0 + 10.0) / 2)
    xtreme = next(t for t in study.benchmarks if t.benchmark == "xtreme")
    tatoeba_column = xtreme.columns.index("tatoeba")
    assert dict(xtreme.rows)["none"][tatoeba_column].value == pytest.approx(35.0)
    # A baseline with an intermediate phase keeps its own retrieval rows; the pretrained encoder is a row.
    (study,) = build_report(out, baseline="nli-300", resamples=100).studies
    tatoeba = section(study, "tatoeba")
    assert [r.arm for r in tatoeba.tables[0].rows] == ["nli-300", "pretrained", "nli-900"]
    deltas = {d.arm: d.average.estimate for d in tatoeba.deltas}
    assert deltas == pytest.approx({"pretrained": 0.0, "nli-900": 10.0})


def test_a_second_study_in_the_store_has_no_design(tmp_path: Path) -> None:
    out = make_store(tmp_path / "toy", examples=False)
    store = ResultsStore(out / STORE_NAME)
    store.record([{**r, "study": "other"} for r in store.rows(study="toy", task="pawsx")])
    toy, other = build_report(out, resamples=100).studies
    assert (toy.name, toy.baseline, other.name, other.baseline) == ("toy", "none", "other", None)
    assert any("No study.json" in note for note in other.notes) and not other.curves
    assert not section(other, "pawsx").deltas and other.heatmap is None
    assert section(other, "pawsx").tables[0].rows[0].cells["en"].mean == 81.0
    (other,) = build_report(out, study="other", baseline="nli-300", resamples=100).studies
    assert other.baseline == "nli-300" and [d.arm for d in section(other, "pawsx").deltas] == [
        "none",
        "nli-900",
    ]


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_site_figures_and_markdown(report, study_dir: Path, tmp_path: Path) -> None:
    index = write_site(report, tmp_path / "report")
    (study,) = report.studies
    stems = [study.heatmap.name, *(c.name for c in study.curves)]
    for stem in stems:
        assert (index.parent / f"{stem}.png").read_bytes().startswith(b"\x89PNG")
        assert b"<svg" in (index.parent / f"{stem}.svg").read_bytes()[:500]
    page = index.read_text(encoding="utf-8")
    assert not re.search(r"(src|href)=\"(https?:)?//", page) and "<script" not in page
    images = re.findall(r'<img src="([^"]+)"', page)
    assert sorted(images) == sorted(f"{stem}.png" for stem in stems)
    tables = [t for b in report_blocks(report) for t in b.tables]
    assert page.count("<table") == len(tables)
    ids = re.findall(r' id="([^"]+)"', page)
    links = re.findall(r'href="#([^"]+)"', page)
    assert len(ids) == len(set(ids)) and "toy-pawsx-test-target" in links and set(links) <= set(ids)
    # Deterministic: the same store gives the same bytes, figures included.
    again = write_site(build_report(study_dir, resamples=400), tmp_path / "report")
    assert _files(again.parent) == _files(index.parent)
    markdown = report_markdown(report)
    assert markdown.count("\n| arm |") == len([t for t in tables if t.header[0] == "arm"])
    assert "| none | 81.0±1.4 | 69.0±1.4 | 60.0±0.0 | 70.0±0.0 |" in markdown
    assert "| nli-900 | **+15.0 [" in markdown and re.search(
        r"\| nli-300 \| \+0\.0 \[-\d\.\d, \d\.\d\] \|", markdown
    )
    for t in tables:
        assert t.title.replace("*", "\\*") in markdown


def test_cli_writes_the_report_and_prints_markdown(
    study_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(study_dir), "--resamples", "100"]) == 0
    assert "3 figures" in capsys.readouterr().out and (study_dir / "report" / "index.html").is_file()
    assert (
        main(["report", str(study_dir), "--format", "md", "--resamples", "100", "--baseline", "nli-300"]) == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("# xstilts report") and "difference from nli-300" in out


def one_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("xstilts: error: "), err
    return err[0]


def test_bad_input_exits_2(study_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "no such directory" in one_error(capsys)
    assert main(["report", str(tmp_path)]) == 2
    assert "no results store" in one_error(capsys)
    assert main(["report", str(study_dir), "--baseline", "nobody"]) == 2
    assert "--baseline nobody" in one_error(capsys)
    assert main(["report", str(study_dir), "--study", "other"]) == 2
    assert "no such study" in one_error(capsys)
    broken = make_store(tmp_path / "broken", examples=False)
    (broken / "study.json").write_text("{", encoding="utf-8")
    assert main(["report", str(broken), "--format", "md"]) == 2
    assert "study.json" in one_error(capsys)
    assert not (tmp_path / "report").exists()


def test_findings_come_first_with_units(report) -> None:
    blocks = report_blocks(report)
    # The study's heading (arms table), then the findings: the answer before the detail.
    assert [b.anchor for b in blocks[:3]] == ["toy", "toy-findings", "toy-benchmarks"]
    findings = blocks[1]
    (table,) = findings.tables
    assert table.header == ["arm", "pawsx (test), accuracy", "udpos (test), f1", "seeds"]
    rows = {row[0]: row for row in table.rows}
    assert rows["baseline score (none)"][1:] == ["70.0±0.0", "63.3±0.0", "2"]
    # nli-900: +15 on PAWS-X in every resample, -6.7 on UD-POS: both bold, p and 2 seeds alongside.
    assert re.fullmatch(r"\+15\.0 \[\d+\.\d, \d+\.\d\] p[=<]0\.\d+", rows["nli-900"][1]), rows["nli-900"]
    assert rows["nli-900"][3] == "2" and {(2, 1), (2, 2)} <= table.strong
    assert rows["nli-300"][1].startswith("+0.0 [") and (1, 1) not in table.strong
    assert "0-100" in findings.paragraphs[0] and "1 gain and 2 losses of 4" in findings.paragraphs[0]
    # The heat map draws these numbers: it sits here, and no second table repeats them.
    assert [i.name for i in findings.items if isinstance(i, FigureRef)] == ["toy-heatmap"]
    assert not [b for b in blocks if b.anchor == "toy-heatmap"]
    bench = next(b for b in blocks if b.anchor == "toy-benchmarks")
    assert all(t.header[1].startswith("overall (") for t in bench.tables)  # overall beside the arm
    xtreme = next(t for t in report.studies[0].benchmarks if t.benchmark == "xtreme")
    overall = xtreme.columns.index("overall")
    assert bench.tables[0].rows[0][1] == f"{xtreme.rows[0][1][overall].value:.1f}*"
    scaling = next(b for b in blocks if b.anchor == "toy-scaling")
    captions = [i.caption for i in scaling.items if isinstance(i, FigureRef)]
    assert captions and all("(points)" in c and "95% band" in c for c in captions)
    method = next(b for b in blocks if b.anchor == "toy-method")
    assert any("not corrected for multiple comparisons" in p for p in method.paragraphs)
    assert re.search(r"Last number recorded \d{4}-\d\d-\d\d \d\d:\d\d UTC\.", blocks[0].paragraphs[-1])


def test_timestamps_to_the_minute_in_utc() -> None:
    assert recorded("2026-12-01T16:49:43.774085+00:00") == "2026-12-01 16:49 UTC"
    assert recorded("2026-12-01T18:49:59.999999+02:00") == "2026-12-01 16:49 UTC"
    assert recorded("2026-12-01T16:49:43") == "2026-12-01 16:49 UTC"  # no offset: the store's UTC
    assert recorded("yesterday") == "yesterday"


def test_wide_tables_split_cells_all_or_none() -> None:
    def table(columns: int) -> Table:
        header = ["arm", *(f"lang_{k}" for k in range(columns))]
        return Table("t", "t", header, [["a", *(["+4.1 [2.4, 6.3]"] * columns)]])

    narrow, wide = table_html(table(3)), table_html(table(12))
    assert "<br>" not in narrow and "+4.1 [2.4,\u00a06.3]" in narrow
    # Too wide for the page on one line: every two-part cell on two lines, the interval kept whole.
    assert wide.count("+4.1<br>[2.4,\u00a06.3]</td>") == 12
    assert '<th scope="col">lang_<wbr>0</th>' in wide and wide.startswith('<div class="wide">')


def test_heat_map_marks_like_the_tables_and_its_title_clears_the_colour_bar() -> None:
    heat = HeatMap("h", ["arm-a", "arm-b"], ["pawsx"], [[1.5], [-6.0]], [[False], [True]])
    fig = heat_map_figure(heat, confidence=0.9)
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)  # lays out (constrained) as saving does
    ax, bar = fig.axes
    cells = {t.get_text(): t.get_fontweight() for t in ax.texts}
    # Bold where the interval excludes 0 (the tables' mark); `*` means fewer seeds in the tables.
    assert cells == {"+1.5": "normal", "-6.0": "bold"}
    (title,) = [t for t in ax.get_children() if isinstance(t, Text) and "90% interval" in t.get_text()]
    label = bar.yaxis.label
    assert label.get_text() == "gain (points)"
    # One column: the narrowest figure, where the title used to run into the colour bar's label.
    assert not title.get_window_extent(renderer).overlaps(label.get_window_extent(renderer))
    assert not title.get_window_extent(renderer).overlaps(bar.get_window_extent(renderer))


def test_markdown_names_figures_only_once_drawn(report, tmp_path: Path) -> None:
    assert FIGURE_DIR == REPORT_DIR  # markdown.py does not import site.py (matplotlib)
    out = make_store(tmp_path / "fresh", examples=False)
    fresh = build_report(out, resamples=50)
    text = report_markdown(fresh)
    assert ".png" not in text and f"`xstilts report {out}` draws it" in text
    write_site(fresh, out / REPORT_DIR)
    text = report_markdown(fresh)
    assert "Figure `report/toy-heatmap.png` (and `.svg`)" in text and "draws it" not in text


# --- headless Chromium -----------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-logging=stderr",
    "--v=0",
    "--window-size=1400,1000",  # the width the page is laid out for
)
# Tells, once the page and its images have loaded, whether each image decoded (its width in pixels)
# and whether the page itself is wider than the window (a wide table must scroll in its own box).
_PROBE = (
    '<script>addEventListener("load", () => { document.body.setAttribute("data-images", '
    '[...document.images].map(i => i.complete ? i.naturalWidth : -1).join(" ")); '
    "const page = document.documentElement; "
    'document.body.setAttribute("data-overflow", page.scrollWidth - page.clientWidth); '
    "})</script>"
)
# A web page's console messages, as `--enable-logging=stderr --v=0` prints them (Chromium 156):
#   [pid:tid:MMDD/HHMMSS.micros:INFO:CONSOLE:1] "boom", source: file:///.../page.html (1)
# Every level (console.error, .warn, .log, an uncaught exception) is logged as INFO: Chromium keeps
# the level only for its own chrome:// pages. So no level can be told apart, and the report page,
# which has no script, must log nothing at all: any console line fails the test. Older Chromium
# wrote `CONSOLE(1)`; both forms match.
_CONSOLE = re.compile(r"[:\]]CONSOLE[(:]\d+|Uncaught")


def console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if _CONSOLE.search(line)]


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.images: list[str] = []
        self.body: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag == "img":
            self.images.append(dict(attrs)["src"] or "")
        if tag == "body":
            self.body = dict(attrs)


def _chromium(page: Path, profile: Path) -> tuple[str, str]:
    done = subprocess.run(
        [
            str(CHROMIUM),
            *_FLAGS,
            f"--user-data-dir={profile}",
            "--virtual-time-budget=20000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, done.stderr


@pytest.mark.slow
def test_page_renders_in_headless_chromium(report, tmp_path: Path) -> None:
    if not CHROMIUM.is_file():
        pytest.skip("/usr/bin/chromium is not installed (Debian: apt-get install -y chromium)")
    # The detector first, on what this Chromium prints: it must catch a console.error (and a
    # warning) and pass a quiet page, or the check on the report below proves nothing.
    noisy, quiet = tmp_path / "noisy.html", tmp_path / "quiet.html"
    noisy.write_text(
        '<!DOCTYPE html><html><body><p>x</p><script>console.error("boom-error"); '
        'console.warn("boom-warning")</script></body></html>',
        encoding="utf-8",
    )
    quiet.write_text("<!DOCTYPE html><html><body><p>x</p></body></html>", encoding="utf-8")
    caught = console_messages(_chromium(noisy, tmp_path / "profile")[1])
    assert any("boom-error" in line for line in caught) and any("boom-warning" in line for line in caught)
    assert console_messages(_chromium(quiet, tmp_path / "profile")[1]) == []
    assert console_messages('[1:1:1201/1.1:INFO:CONSOLE(12)] "Uncaught TypeError: x", source: f (12)')

    index = write_site(report, tmp_path / "report")
    dom, stderr = _chromium(index, tmp_path / "profile")
    assert console_messages(stderr) == []
    found = _Elements()
    found.feed(dom)
    tables = [t for b in report_blocks(report) for t in b.tables]
    assert found.tags.get("table") == len(tables) and found.tags.get("figure") == len(found.images) == 3
    assert "81.0±1.4" in dom and "pawsx (test): difference from none (accuracy)" in dom
    # The same page with a probe beside it (relative image paths unchanged): every figure decodes.
    # Also a table far wider than the window: it scrolls inside its own box, the page does not.
    wide = Table("wide", "wide", ["arm", *(f"column {k}" for k in range(40))], [["a", *["+12.3"] * 40]])
    probe = index.with_name("probe.html")
    probe.write_text(
        index.read_text(encoding="utf-8").replace("</body>", table_html(wide) + _PROBE + "</body>"),
        encoding="utf-8",
    )
    dom, stderr = _chromium(probe, tmp_path / "profile")
    assert console_messages(stderr) == []
    found = _Elements()
    found.feed(dom)
    widths = [int(w) for w in (found.body.get("data-images") or "").split()]
    assert len(widths) == 3 and all(w > 100 for w in widths), widths
    assert found.body.get("data-overflow") == "0", found.body
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)


def test_overall_scores_over_different_tasks_are_flagged() -> None:
    from xstilts.report.layout import coverage_notes
    from xstilts.report.model import BenchmarkCell, BenchmarkTable

    def table(nli_bucc: float | None) -> BenchmarkTable:
        rows = [
            ("none", [BenchmarkCell(70.0, False), BenchmarkCell(80.0, False), BenchmarkCell(75.0, True)]),
            ("nli", [BenchmarkCell(72.0, False), BenchmarkCell(nli_bucc, False), BenchmarkCell(72.0, True)]),
        ]
        return BenchmarkTable("xtreme", "mean of tasks", ["xnli", "bucc", "overall"], {}, rows)

    (note,) = coverage_notes(table(None))
    assert "nli lacks bucc" in note and "not comparable" in note
    assert coverage_notes(table(78.0)) == []


def test_a_study_still_running_names_its_planned_arms(tmp_path: Path) -> None:
    _study_json(tmp_path, [1])
    row = {"study": "toy", "arm": "nli-300", "phase": "target", "seed": 1, "task_version": 1, "run": "r"}
    ResultsStore(tmp_path / STORE_NAME).record(
        [{**row, "task": "pawsx", "split": "test", "language": "en", "metric": "accuracy", "value": 70.0}]
    )
    (study,) = build_report(tmp_path, resamples=50).studies
    assert study.baseline is None
    assert any("without results yet: none, nli-900" in n for n in study.notes)
    assert any("baseline arm none has no results yet" in n for n in study.notes)


def test_a_benchmark_task_scored_on_another_split_says_so(tmp_path: Path) -> None:
    # The demo scores PAWS-X on a dev subset: its XTREME column must not pass for the test score.
    _study_json(tmp_path, [1])
    rows = [
        {
            "study": "toy",
            "arm": arm,
            "phase": "target",
            "seed": 1,
            "task_version": 1,
            "run": f"r-{arm}",
            "task": "pawsx",
            "split": "dev",
            "language": lang,
            "metric": "accuracy",
            "value": value,
        }
        for arm, value in (("none", 60.0), ("nli-300", 62.0))
        for lang in ("en", "de")
    ]
    ResultsStore(tmp_path / STORE_NAME).record(rows)
    (study,) = build_report(tmp_path, resamples=50).studies
    xtreme = next(t for t in study.benchmarks if t.benchmark == "xtreme")
    assert xtreme.coverage["pawsx"] == "2/7 languages, on dev, not test"
