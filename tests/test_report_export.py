"""`xstilts report DIR --export xtreme`: a store with per-example files made by the real formats (XNLI
labels, PAN-X tag sequences, XQuAD answers, Tatoeba candidate ids, BUCC mined pairs), exported and read
back the way google-research/xtreme's evaluate.py reads a submission, and bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from xstilts.cli import main
from xstilts.config.formats import get_format
from xstilts.config.registry import TaskRegistry
from xstilts.data.examples import Answer, ClassificationExample, QAExample, TaggingExample
from xstilts.export.xtreme_layout import FOLDERS, MANIFEST, NOT_SCORED, Export, TaskExport
from xstilts.formats.retrieval_benchmarks import TUNED_ON_SCORED as RETRIEVAL_FLAG
from xstilts.formats.retrieval_benchmarks import score_tatoeba
from xstilts.metrics.retrieval import TUNED_ON_SCORED
from xstilts.results import recipes
from xstilts.results.example_files import write_examples_file
from xstilts.results.store import STORE_NAME, ResultsStore

XNLI_TEST = 5010  # the xnli card's published test size per language
# evaluate.py's TASK2LANGS: it opens test-<lang> of each of these in every task folder it finds.
TASK2LANGS = {
    "pawsx": "de,en,es,fr,ja,ko,zh".split(","),
    "xnli": "ar,bg,de,el,en,es,fr,hi,ru,sw,th,tr,ur,vi,zh".split(","),
    "panx": "ar,he,vi,id,jv,ms,tl,eu,ml,ta,te,af,nl,en,de,el,bn,hi,mr,ur,fa,fr,it,pt,es,bg,ru,ja,ka,ko,th,"
    "sw,yo,my,zh,kk,tr,et,fi,hu".split(","),
    "udpos": "af,ar,bg,de,el,en,es,et,eu,fa,fi,fr,he,hi,hu,id,it,ja,kk,ko,mr,nl,pt,ru,ta,te,th,tl,tr,ur,vi,"
    "yo,zh".split(","),
    "bucc2018": "de,fr,ru,zh".split(","),
    "tatoeba": "ar,he,vi,id,jv,tl,eu,ml,ta,te,af,nl,de,el,bn,hi,mr,ur,fa,fr,it,pt,es,bg,ru,ja,ka,ko,th,sw,"
    "zh,kk,tr,et,fi,hu".split(","),
    "xquad": "en,es,de,el,ru,tr,ar,vi,th,zh,hi".split(","),
    "mlqa": "en,es,de,ar,hi,vi,zh".split(","),
    "tydiqa": "en,ar,bn,fi,id,ko,ru,sw,te".split(","),
}
# Tatoeba's English side in LASER's order: not sorted, one line with a leading space (XTREME sorts the
# stripped text) and one sentence twice (the sort must keep file order among equals, as sorted() does).
ENGLISH = ["The cat sleeps.", "A dog barks.", " Zebras run.", "Birds fly.", "A dog barks.", "Cows moo."]
ENGLISH += ["It rains.", "Fish swim.", "Bees buzz.", "Owls hoot.", "Ants work.", "Wolves howl."]
GERMAN = [f"Satz {i}." for i in range(len(ENGLISH))]


# --- evaluate.py's readers and metric (google-research/xtreme evaluate.py) --------------------------


def read_label(path: Path) -> list[str]:
    with open(path) as f:
        return [line.strip() for line in f]


def read_tag(path: Path) -> list[list[str]]:
    labels, example = [], []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                example.append(line)
            else:
                labels.append(example)
                example = []
    if example:
        labels.append(example)
    return labels


def read_squad(path: Path) -> dict[str, str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return data["data"] if "data" in data else data


def accuracy(labels: list[str], predictions: list[str]) -> float:
    return 100.0 * sum(p == g for p, g in zip(predictions, labels, strict=True)) / len(predictions)


def tatoeba_gold(english: list[str]) -> list[str]:
    """XTREME's hidden labels: utils_preprocess.py writes <lang>-en.en sorted by stripped text, so line
    k's answer is the original line (= the aligned <lang> line) of the k-th sorted sentence."""
    return [
        str(i)
        for _, i in sorted(
            zip([e.strip() for e in english], range(len(english)), strict=True), key=lambda x: x[0]
        )
    ]


# --- a store --------------------------------------------------------------------------------------


def xnli_columns(card, rows: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = card.labels
    examples = [ClassificationExample(f"test-{i + 1}", "a", "b", labels[i % 3]) for i in range(rows)]
    predictions = [ex.label if rng.random() < 0.7 else labels[rng.integers(3)] for ex in examples]
    return get_format("classification").records(examples, predictions, card)


def panx_columns(card, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    examples, predictions = [], []
    for i in range(40):
        n = 0 if i == 7 else int(rng.integers(1, 9))  # one empty sentence: still a sentence of its own
        tags = tuple(str(rng.choice(card.labels)) for _ in range(n))
        examples.append(TaggingExample(f"s{i}", tuple(f"w{j}" for j in range(n)), tags))
        predictions.append([t if rng.random() < 0.8 else "O" for t in tags])
    return get_format("tagging").records(examples, predictions, card)


def xquad_columns(card, seed: int) -> dict[str, np.ndarray]:
    context = 'Der "Rhein" fließt durch Köln und Düsseldorf.'
    examples = [
        QAExample(f"q{seed}-{i}", "Wo?", context, (Answer("Köln", context.index("Köln")),)) for i in range(5)
    ]
    predictions = ["Köln", 'der "Rhein"', "", "Köln und Düsseldorf", "Köln"]
    return get_format("span_qa").records(examples, predictions, card, "de")


def tatoeba_columns(registry: TaskRegistry, swaps: list[tuple[int, int]]) -> dict[str, np.ndarray]:
    """The real Tatoeba scorer on the data files, with embeddings that retrieve line i's translation
    except where `swaps` exchange two German lines' meanings."""
    meaning = {text: ENGLISH.index(text) for text in ENGLISH}  # a repeated sentence: its first line
    german = list(range(len(GERMAN)))
    for a, b in swaps:
        german[a], german[b] = german[b], german[a]
    meaning.update({text: german[i] for i, text in enumerate(GERMAN)})
    corpus = registry.load("tatoeba", "test", "de")

    def embed(sentences):
        return np.eye(len(ENGLISH), dtype=np.float32)[[meaning[s] for s in sentences]]

    return score_tatoeba(corpus, embed, registry.card("tatoeba").name).records


def bucc_columns(lang: str) -> dict[str, np.ndarray]:
    return {
        "id": np.array([f"{lang}-1", f"{lang}-2", f"{lang}-3"], dtype=object),
        "pairs_correct": np.array([1, 0, 0], dtype=np.int32),
        "pairs_predicted": np.array([1, 1, 0], dtype=np.int32),
        "pairs_gold": np.array([1, 1, 1], dtype=np.int32),
        "prediction": np.array(["en-7", "en-9", ""], dtype=object),
    }


def make_study(
    out: Path,
    data: Path,
    xnli_rows: int = XNLI_TEST,
    xnli_split: str = "test",
    targets: tuple[str, ...] = ("xnli", "panx", "xquad"),
    retrieval: tuple[str, ...] = ("tatoeba", "bucc", "xcopa"),
    retrieval_phase: str = "intermediate",
    bucc_tuned: bool = False,
) -> Path:
    """Arms none (seed 1) and nli (seeds 1, 2); targets xnli (all 15 languages: complete), panx and
    xquad (de only: incomplete); Tatoeba (de only) after the pretrained model and after nli's
    intermediate phase (or `retrieval_phase`); BUCC (all 4 languages) and XCOPA after nli's."""
    (data / "xtreme" / "tatoeba").mkdir(parents=True, exist_ok=True)
    (data / "xtreme/tatoeba/tatoeba.deu-eng.eng").write_text("\n".join(ENGLISH) + "\n", encoding="utf-8")
    (data / "xtreme/tatoeba/tatoeba.deu-eng.deu").write_text("\n".join(GERMAN) + "\n", encoding="utf-8")
    registry = TaskRegistry(data)
    xnli_eval = {"split": xnli_split, **({"size": xnli_rows} if xnli_rows != XNLI_TEST else {})}
    evaluate = {
        "xnli": xnli_eval,
        "panx": {"split": "test", "offset": 0},
        "xquad": {"split": "test"},
    }
    specs = {"tatoeba": {"split": "test", "size": None}, "bucc": {"split": "test"}}
    study = {
        "name": "exp",
        "model": "bundled:me5-small",
        "data_dir": str(data),
        "task_dirs": [],
        "builtin_tasks": True,
        "seeds": [1, 2],
        "arms": [
            {"name": "none", "intermediate": []},
            {"name": "nli", "intermediate": [{"task": "xnli", "split": "dev", "languages": ["en"]}]},
        ],
        "targets": [{"task": t, "evaluate": evaluate[t]} for t in targets],
        "retrieval": [{"task": t, **specs[t], "after": [retrieval_phase]} for t in retrieval if t in specs],
    }
    out.mkdir(parents=True)
    (out / "study.json").write_text(json.dumps(study), encoding="utf-8")
    rows: list[dict[str, Any]] = []

    def add(arm: str, phase: str, seed: int | None, task: str, split: str, languages: dict) -> None:
        run = f"{phase}-{arm}-{seed}" if phase != "target" else f"target-{arm}-{seed}-{task}"
        file = out / "runs" / run / "evals" / f"{task}-{split}.examples.parquet"
        card = registry.card(task)
        recipe = get_format(card.format).recipes(card) if card.format != "retrieval" else None
        recipe = recipe or ({"accuracy": ("mean", "correct")} if task != "bucc" else {})
        write_examples_file(file, languages, recipe)
        for lang, columns in languages.items():
            metric, value = next(iter(recipes.scores(columns, recipe).items()), ("f1", 0.0))
            row = {"study": "exp", "arm": arm, "run": run, "phase": phase, "seed": seed, "task": task}
            rows.append({**row, "task_version": 1, "language": lang, "split": split, "metric": metric})
            rows[-1].update(value=value, examples_file=str(file))
            if task == "bucc" and bucc_tuned:  # as the runner records score_bucc's flag: a row of its own
                rows.append({**rows[-1], "metric": TUNED_ON_SCORED, "value": 1.0})

    if "tatoeba" in retrieval:
        pretrained = tatoeba_columns(registry, [(0, 3), (8, 9), (10, 11)])  # 5 of 12 right; nli: 9 and 7
        add("pretrained", "pretrained", None, "tatoeba", "test", {"de": pretrained})
    for arm, seed in (("none", 1), ("nli", 1), ("nli", 2)):
        if "xnli" in targets:
            xnli = registry.card("xnli")
            langs = {
                lang: xnli_columns(xnli, xnli_rows, seed * 100 + i)
                for i, lang in enumerate(TASK2LANGS["xnli"])
            }
            add(arm, "target", seed, "xnli", xnli_split, langs)
        if "panx" in targets:
            add(arm, "target", seed, "panx", "test", {"de": panx_columns(registry.card("panx"), seed)})
        if "xquad" in targets:
            add(arm, "target", seed, "xquad", "test", {"de": xquad_columns(registry.card("xquad"), seed)})
        if arm == "nli":
            if "tatoeba" in retrieval:
                swaps = [(1, 2), (5, 6)] if seed == 2 else [(1, 2)]
                add(arm, retrieval_phase, seed, "tatoeba", "test", {"de": tatoeba_columns(registry, swaps)})
            if "bucc" in retrieval:
                bucc = {lang: bucc_columns(lang) for lang in TASK2LANGS["bucc2018"]}
                add(arm, retrieval_phase, seed, "bucc", "test", bucc)
            if "xcopa" in retrieval:
                xcopa = {"id": np.array(["c1"], dtype=object), "correct": np.array([1], dtype=np.int8)}
                xcopa["prediction"] = np.array([0])
                add(arm, retrieval_phase, seed, "xcopa", "test", {"et": xcopa})
    ResultsStore(out / STORE_NAME).record(rows)
    return out


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("export")
    return make_study(root / "out", root / "data")


def stored(out: Path, arm: str, seed: int | None, task: str, lang: str, phase: str = "target") -> dict:
    (found,) = [
        e
        for e in ResultsStore(out / STORE_NAME).examples(
            "exp", arm=arm, task=task, phase=phase, language=lang
        )
        if e.seed == seed
    ]
    return found.columns


def export(out: Path, to: Path, *options: str) -> int:
    return main(["report", str(out), "--export", "xtreme", "--to", str(to), *options])


def one_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("xstilts: error: "), err
    return err[0]


# --- exports ---------------------------------------------------------------------------------------


def files_under(to: Path) -> list[str]:
    return sorted(p.relative_to(to).as_posix() for p in to.rglob("*") if p.is_file())


def test_the_cards_benchmark_languages_are_evaluate_py_s() -> None:
    """A task folder is complete when it has every language the card lists for XTREME: those must be
    the languages evaluate.py opens."""
    registry = TaskRegistry(Path("."))
    for task, folder in FOLDERS.items():
        assert set(registry.card(task).benchmarks["xtreme"].languages) == set(TASK2LANGS[folder]), task
    assert TUNED_ON_SCORED == RETRIEVAL_FLAG


def test_incomplete_tasks_are_refused_without_partial(
    study_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    to = tmp_path / "submission"
    assert export(study_dir, to, "--arm", "nli", "--run-seed", "2") == 2
    error = one_error(capsys)
    # evaluate.py would open panx/test-ar.tsv and crash: every missing language is named.
    panx = " ".join(sorted(set(TASK2LANGS["panx"]) - {"de"}))
    assert f"panx test (no predictions for {panx})" in error
    assert "xquad test (no predictions for ar el en es hi ru th tr vi zh)" in error
    assert "tatoeba test (no predictions for af ar" in error and "--partial" in error
    assert "xnli" not in error and "bucc" not in error  # complete: nothing to say about them
    assert not to.exists()  # nothing written


def test_partial_export_reads_back_as_evaluate_py_reads_it(
    study_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    to = tmp_path / "submission"
    assert export(study_dir, to, "--arm", "nli", "--run-seed", "2", "--partial") == 0
    out = capsys.readouterr().out
    assert "SUBSET" not in out
    assert "panx test (target): 1 language, 40 examples each -> not-scored/panx/test-<lang>.tsv" in out
    assert "not exported: xcopa: an XTREME-R task" in out
    assert (
        "NOT a complete XTREME submission: absent tasks pawsx udpos panx xquad mlqa tydiqa tatoeba\n" in out
    )
    assert f"{NOT_SCORED}/ holds what cannot be scored; evaluate.py ignores it" in out
    assert f"{MANIFEST}: what was exported, from which runs; evaluate.py ignores it" in out
    # Only complete tasks in evaluate.py's folders; the rest beside them, where it does not look.
    assert files_under(to) == sorted(
        [f"xnli/test-{lang}.tsv" for lang in TASK2LANGS["xnli"]]
        + [f"bucc2018/test-{lang}.tsv" for lang in TASK2LANGS["bucc2018"]]
        + [f"{NOT_SCORED}/panx/test-de.tsv", f"{NOT_SCORED}/tatoeba/test-de.tsv"]
        + [f"{NOT_SCORED}/xquad/test-de.json", MANIFEST]
    )
    for lang in ("de", "en"):
        columns = stored(study_dir, "nli", 2, "xnli", lang)
        predicted = read_label(to / f"xnli/test-{lang}.tsv")
        assert len(predicted) == XNLI_TEST and predicted == list(columns["prediction"])
        gold = [("entailment", "neutral", "contradiction")[i % 3] for i in range(XNLI_TEST)]  # as made
        assert accuracy(gold, predicted) == pytest.approx(100.0 * columns["correct"].mean())
    panx = stored(study_dir, "nli", 2, "panx", "de")
    sentences = read_tag(to / NOT_SCORED / "panx/test-de.tsv")
    assert len(sentences) == 40 and sentences[7] == []
    assert sentences == [list(p) for p in panx["prediction"]]
    xquad = stored(study_dir, "nli", 2, "xquad", "de")
    raw = (to / NOT_SCORED / "xquad/test-de.json").read_bytes()
    assert raw.isascii()  # evaluate.py opens it in the locale's encoding: Köln is escaped
    answers = json.loads(raw.decode("ascii"))
    assert list(answers) == list(xquad["id"]) and list(answers.values())[1] == 'der "Rhein"'
    assert list(answers.values())[0] == "Köln"
    # Tatoeba: the intermediate phase's (seed 2: lines 1-2 and 5-6 swapped), in XTREME's sorted order.
    tatoeba = stored(study_dir, "nli", 2, "tatoeba", "de", phase="intermediate")
    lines = read_label(to / NOT_SCORED / "tatoeba/test-de.tsv")
    assert len(lines) == len(ENGLISH) and all(line.isdigit() for line in lines)
    assert accuracy(tatoeba_gold(ENGLISH), lines) == pytest.approx(100.0 * tatoeba["correct"].mean())
    assert accuracy(tatoeba_gold(ENGLISH), lines) == pytest.approx(100.0 * 7 / 12)
    assert read_label(to / "bucc2018/test-fr.tsv") == ["fr-1\ten-7", "fr-2\ten-9"]
    manifest = json.loads((to / MANIFEST).read_text())
    assert (manifest["arm"], manifest["seed"], manifest["complete"]) == ("nli", 2, False)
    assert manifest["absent"] == ["pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "tatoeba"]
    assert {t["task"]: t["phase"] for t in manifest["tasks"]}["tatoeba"] == "intermediate"
    # Lines per file: a tag file has one per token and one after each sentence.
    tokens = sum(len(tags) for tags in panx["prediction"])
    assert manifest["lines"][f"{NOT_SCORED}/panx/test-de.tsv"] == tokens + 40
    assert manifest["lines"]["xnli/test-ar.tsv"] == XNLI_TEST and MANIFEST not in manifest["lines"]


def test_a_baseline_arm_retrieves_with_the_pretrained_model(
    study_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    to = tmp_path / "none"
    assert export(study_dir, to, "--arm", "none", "--partial") == 0  # its only seed
    assert "tatoeba test (pretrained)" in capsys.readouterr().out
    pretrained = stored(study_dir, "pretrained", None, "tatoeba", "de", phase="pretrained")
    lines = read_label(to / NOT_SCORED / "tatoeba/test-de.tsv")
    assert accuracy(tatoeba_gold(ENGLISH), lines) == pytest.approx(100.0 * pretrained["correct"].mean())
    assert accuracy(tatoeba_gold(ENGLISH), lines) == pytest.approx(100.0 * 5 / 12)
    assert not (to / "bucc2018").exists()  # only nli's intermediate phase mined BUCC


def test_retrieval_after_the_target_phase_is_whole_and_scored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Its selection is study.json's `retrieval` entry, not a target's `evaluate`.
    out = make_study(
        tmp_path / "out", tmp_path / "data", targets=("xnli",), retrieval=("bucc",), retrieval_phase="target"
    )
    to = tmp_path / "after-target"
    assert export(out, to, "--arm", "nli", "--run-seed", "1") == 0
    text = capsys.readouterr().out
    assert "bucc test (target): 4 languages, 3 examples each -> bucc2018/test-<lang>.tsv\n" in text
    assert "SUBSET" not in text and NOT_SCORED not in text
    assert files_under(to) == sorted(
        [f"xnli/test-{lang}.tsv" for lang in TASK2LANGS["xnli"]]
        + [f"bucc2018/test-{lang}.tsv" for lang in TASK2LANGS["bucc2018"]]
        + [MANIFEST]
    )


def test_a_bucc_threshold_tuned_on_the_scored_pairs_is_not_a_submission(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = make_study(tmp_path / "out", tmp_path / "data", targets=(), retrieval=("bucc",), bucc_tuned=True)
    to = tmp_path / "tuned"
    assert export(out, to, "--arm", "nli", "--run-seed", "1") == 2
    error = one_error(capsys)
    assert "bucc test (threshold tuned on the pairs it scores in de fr ru zh (XTREME tunes on dev))" in error
    assert not to.exists()
    assert export(out, to, "--arm", "nli", "--run-seed", "1", "--partial") == 0
    assert "NOT a complete XTREME submission: no task folder evaluate.py scores" in capsys.readouterr().out
    assert files_under(to) == sorted(
        [f"{NOT_SCORED}/bucc2018/test-{g}.tsv" for g in TASK2LANGS["bucc2018"]] + [MANIFEST]
    )


def test_another_split_is_not_scored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = make_study(
        tmp_path / "out", tmp_path / "data", xnli_rows=30, xnli_split="dev", targets=("xnli",), retrieval=()
    )
    to = tmp_path / "dev"
    assert export(out, to, "--arm", "nli", "--run-seed", "1") == 2
    assert "xnli dev (dev is not the split XTREME scores)" in one_error(capsys)
    assert not to.exists()
    assert export(out, to, "--arm", "nli", "--run-seed", "1", "--partial") == 0
    text = capsys.readouterr().out
    assert "xnli dev (target): 15 languages, 30 examples each -> not-scored/xnli/dev-<lang>.tsv" in text
    assert "SUBSET in ar bg" in text and "NOT SCORED: dev is not the split XTREME scores" in text
    assert "NOT a complete XTREME submission: no task folder evaluate.py scores" in text
    assert read_label(to / NOT_SCORED / "xnli/dev-de.tsv") == list(
        stored(out, "nli", 1, "xnli", "de")["prediction"]
    )
    assert not (to / "xnli").exists()  # no task folder evaluate.py would open


def test_a_test_subset_is_refused_unless_allowed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = make_study(tmp_path / "out", tmp_path / "data", xnli_rows=100, targets=("xnli",), retrieval=())
    to = tmp_path / "partial"
    assert export(out, to, "--arm", "nli", "--run-seed", "1") == 2
    error = one_error(capsys)
    assert (
        "xnli test (not the whole split in ar bg" in error
        and "100 of the 5010 examples the split has" in error
    )
    assert "--allow-subset" in error
    assert not to.exists()  # nothing written
    assert export(out, to, "--arm", "nli", "--run-seed", "1", "--partial") == 0
    assert "NOT SCORED: not the whole split" in capsys.readouterr().out
    assert len(read_label(to / NOT_SCORED / "xnli/test-en.tsv")) == 100
    assert export(out, to, "--arm", "nli", "--run-seed", "1", "--allow-subset") == 0
    text = capsys.readouterr().out
    assert "SUBSET in ar bg" in text and "100 of the 5010" in text
    assert "subsets in xnli (evaluate.py compares with the whole test files)" in text
    assert len(read_label(to / "xnli/test-en.tsv")) == 100


def test_the_summary_says_whether_the_submission_is_complete(tmp_path: Path) -> None:
    def task(name: str, unscored: list[str] | None = None) -> TaskExport:
        counts = dict.fromkeys(TASK2LANGS[FOLDERS[name]], 10)
        return TaskExport(name, "test", "target", "r", True, counts, {}, [], [], unscored or [])

    tasks = [task(name) for name in FOLDERS]
    full = Export("exp", "nli", 1, tmp_path, tasks, {})
    assert full.complete() and full.absent() == []
    assert "\ncomplete XTREME submission: all nine tasks" in full.describe()
    tasks[2] = task("udpos", ["no predictions for yo"])
    short = Export("exp", "nli", 1, tmp_path, tasks, {})
    assert not short.complete() and short.absent() == ["udpos"]
    assert "\nNOT a complete XTREME submission: absent tasks udpos\n" in short.describe()


def test_exporting_again_replaces_the_earlier_export_only(
    study_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    to = tmp_path / "again"
    assert export(study_dir, to, "--arm", "nli", "--run-seed", "1", "--partial") == 0
    (to / "stale").mkdir()
    (to / "stale/test-de.tsv").write_text("old\n")
    assert export(study_dir, to, "--arm", "none", "--partial") == 0
    assert not (to / "stale").exists() and not (to / "bucc2018").exists()
    assert json.loads((to / MANIFEST).read_text())["arm"] == "none"
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    capsys.readouterr()
    assert export(study_dir, foreign, "--arm", "none", "--partial") == 2
    assert "not empty and not an xstilts export" in one_error(capsys)
    assert (foreign / "notes.txt").read_text() == "keep me" and len(list(foreign.iterdir())) == 1


def test_bad_input_exits_2_with_one_line(
    study_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    to = tmp_path / "x"
    cases = [
        (["--arm", "nobody"], "--arm nobody: no such arm in study exp"),
        ([], "--arm: name the arm to export"),
        (["--arm", "nli"], "--run-seed: name the seed (arm nli has seeds 1, 2)"),
        (["--arm", "nli", "--run-seed", "7"], "--run-seed 7: no such seed (arm nli has seeds 1, 2)"),
        (["--arm", "pretrained", "--run-seed", "1"], "not trained with a seed"),
        (["--arm", "none", "--study", "other"], "--study other: no such study"),
    ]
    for options, message in cases:
        assert export(study_dir, to, *options) == 2, options
        assert message in one_error(capsys), options
    assert main(["report", str(study_dir), "--export", "xtreme"]) == 2
    assert "give --to FOLDER" in one_error(capsys)
    assert main(["report", str(study_dir), "--to", str(to)]) == 2
    assert "--to: only with --export xtreme" in one_error(capsys)
    assert main(["report", str(study_dir), "--partial"]) == 2
    assert "--partial: only with --export xtreme" in one_error(capsys)
    with pytest.raises(SystemExit) as exited:  # argparse's own usage line
        main(["report", str(study_dir), "--export", "squad", "--to", str(to)])
    assert exited.value.code == 2
    assert not to.exists()
