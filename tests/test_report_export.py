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
from xstilts.data.examples import Answer, ClassificationExample, QAExample, TaggingExample
from xstilts.formats import get_format
from xstilts.formats.retrieval import RetrievalFormat
from xstilts.pipeline.store import STORE_NAME, ResultsStore, metrics_from_examples, write_examples_file
from xstilts.report.export_xtreme import MANIFEST
from xstilts.tasks.registry import TaskRegistry

XNLI_TEST = 5010  # the xnli card's published test size per language
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
    return get_format("classification").example_scores(examples, predictions, card)


def panx_columns(card, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    examples, predictions = [], []
    for i in range(40):
        n = 0 if i == 7 else int(rng.integers(1, 9))  # one empty sentence: still a sentence of its own
        tags = tuple(str(rng.choice(card.labels)) for _ in range(n))
        examples.append(TaggingExample(f"s{i}", tuple(f"w{j}" for j in range(n)), tags))
        predictions.append([t if rng.random() < 0.8 else "O" for t in tags])
    return get_format("tagging").example_scores(examples, predictions, card)


def xquad_columns(card, seed: int) -> dict[str, np.ndarray]:
    context = 'Der "Rhein" fließt durch Köln und Düsseldorf.'
    examples = [
        QAExample(f"q{seed}-{i}", "Wo?", context, (Answer("Köln", context.index("Köln")),)) for i in range(5)
    ]
    predictions = ["Köln", 'der "Rhein"', "", "Köln und Düsseldorf", "Köln"]
    return get_format("span_qa").example_scores(examples, predictions, card, "de")


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

    _, columns = RetrievalFormat._tatoeba(corpus, registry.card("tatoeba"), embed)
    return columns


def make_study(out: Path, data: Path, xnli_rows: int = XNLI_TEST, xnli_split: str = "test") -> Path:
    """Arms none (seed 1) and nli (seeds 1, 2); targets xnli, panx and xquad; Tatoeba after the
    pretrained model and after nli's intermediate phase; BUCC and XCOPA after nli's."""
    (data / "xtreme" / "tatoeba").mkdir(parents=True, exist_ok=True)
    (data / "xtreme/tatoeba/tatoeba.deu-eng.eng").write_text("\n".join(ENGLISH) + "\n", encoding="utf-8")
    (data / "xtreme/tatoeba/tatoeba.deu-eng.deu").write_text("\n".join(GERMAN) + "\n", encoding="utf-8")
    registry = TaskRegistry(data)
    xnli_eval = {"split": xnli_split, **({"size": xnli_rows} if xnli_rows != XNLI_TEST else {})}
    study = {
        "name": "exp",
        "data_dir": str(data),
        "task_dirs": [],
        "builtin_tasks": True,
        "seeds": [1, 2],
        "arms": [
            {"name": "none", "intermediate": []},
            {"name": "nli", "intermediate": [{"task": "xnli", "split": "dev", "languages": ["en"]}]},
        ],
        "targets": [
            {"task": "xnli", "evaluate": xnli_eval},
            {"task": "panx", "evaluate": {"split": "test", "offset": 0}},
            {"task": "xquad", "evaluate": {"split": "test"}},
        ],
        "retrieval": [{"task": "tatoeba", "split": "test", "size": None}, {"task": "bucc", "split": "test"}],
    }
    out.mkdir(parents=True)
    (out / "study.json").write_text(json.dumps(study), encoding="utf-8")
    rows: list[dict[str, Any]] = []

    def add(arm: str, phase: str, seed: int | None, task: str, split: str, languages: dict) -> None:
        run = f"{phase}-{arm}-{seed}" if phase != "target" else f"target-{arm}-{seed}-{task}"
        file = out / "runs" / run / "evals" / f"{task}-{split}.examples.parquet"
        card = registry.card(task)
        recipe = get_format(card.format).example_metrics(card) if card.format != "retrieval" else None
        recipe = recipe or ({"accuracy": ("mean", "correct")} if task != "bucc" else {})
        write_examples_file(file, languages, recipe)
        for lang, columns in languages.items():
            metric, value = next(iter(metrics_from_examples(columns, recipe).items()), ("f1", 0.0))
            row = {"study": "exp", "arm": arm, "run": run, "phase": phase, "seed": seed, "task": task}
            rows.append({**row, "task_version": 1, "language": lang, "split": split, "metric": metric})
            rows[-1].update(value=value, examples_file=str(file))

    pretrained = tatoeba_columns(registry, [(0, 3), (8, 9), (10, 11)])  # 5 of 12 right; nli: 9 and 7
    add("pretrained", "pretrained", None, "tatoeba", "test", {"de": pretrained})
    for arm, seed in (("none", 1), ("nli", 1), ("nli", 2)):
        xnli = registry.card("xnli")
        langs = {lang: xnli_columns(xnli, xnli_rows, seed * 10 + i) for i, lang in enumerate(("de", "en"))}
        add(arm, "target", seed, "xnli", xnli_split, langs)
        add(arm, "target", seed, "panx", "test", {"de": panx_columns(registry.card("panx"), seed)})
        add(arm, "target", seed, "xquad", "test", {"de": xquad_columns(registry.card("xquad"), seed)})
        if arm == "nli":
            swaps = [(1, 2), (5, 6)] if seed == 2 else [(1, 2)]
            add(arm, "intermediate", seed, "tatoeba", "test", {"de": tatoeba_columns(registry, swaps)})
            bucc = {
                "id": np.array(["de-1", "de-2", "de-3"], dtype=object),
                "pairs_correct": np.array([1, 0, 0], dtype=np.int32),
                "pairs_predicted": np.array([1, 1, 0], dtype=np.int32),
                "pairs_gold": np.array([1, 1, 1], dtype=np.int32),
                "prediction": np.array(["en-7", "en-9", ""], dtype=object),
            }
            add(arm, "intermediate", seed, "bucc", "test", {"de": bucc})
            xcopa = {"id": np.array(["c1"], dtype=object), "correct": np.array([1], dtype=np.int8)}
            add(arm, "intermediate", seed, "xcopa", "test", {"et": {**xcopa, "prediction": np.array([0])}})
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


def test_leaderboard_files_read_back_as_evaluate_py_reads_them(
    study_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    to = tmp_path / "submission"
    assert export(study_dir, to, "--arm", "nli", "--run-seed", "2") == 0
    out = capsys.readouterr().out
    assert "NOT a leaderboard" not in out and "SUBSET" not in out
    assert "evaluate.py also needs ar bg el" in out  # xnli: only de and en were evaluated
    assert "not exported: xcopa: not one of the nine tasks" in out
    assert sorted(p.relative_to(to).as_posix() for p in to.rglob("*") if p.is_file()) == [
        "bucc2018/test-de.tsv",
        "panx/test-de.tsv",
        "tatoeba/test-de.tsv",
        "xnli/test-de.tsv",
        "xnli/test-en.tsv",
        "xquad/test-de.json",
        MANIFEST,
    ]
    for lang in ("de", "en"):
        columns = stored(study_dir, "nli", 2, "xnli", lang)
        predicted = read_label(to / f"xnli/test-{lang}.tsv")
        assert len(predicted) == XNLI_TEST and predicted == list(columns["prediction"])
        gold = [("entailment", "neutral", "contradiction")[i % 3] for i in range(XNLI_TEST)]  # as made
        assert accuracy(gold, predicted) == pytest.approx(100.0 * columns["correct"].mean())
    panx = stored(study_dir, "nli", 2, "panx", "de")
    sentences = read_tag(to / "panx/test-de.tsv")
    assert len(sentences) == 40 and sentences[7] == []
    assert sentences == [list(p) for p in panx["prediction"]]
    xquad = stored(study_dir, "nli", 2, "xquad", "de")
    answers = read_squad(to / "xquad/test-de.json")
    assert list(answers) == list(xquad["id"]) and list(answers.values())[1] == 'der "Rhein"'
    # Tatoeba: the intermediate phase's (seed 2: lines 1-2 and 5-6 swapped), in XTREME's sorted order.
    tatoeba = stored(study_dir, "nli", 2, "tatoeba", "de", phase="intermediate")
    lines = read_label(to / "tatoeba/test-de.tsv")
    assert len(lines) == len(ENGLISH) and all(line.isdigit() for line in lines)
    assert accuracy(tatoeba_gold(ENGLISH), lines) == pytest.approx(100.0 * tatoeba["correct"].mean())
    assert accuracy(tatoeba_gold(ENGLISH), lines) == pytest.approx(100.0 * 7 / 12)
    assert read_label(to / "bucc2018/test-de.tsv") == ["de-1\ten-7", "de-2\ten-9"]
    manifest = json.loads((to / MANIFEST).read_text())
    assert (manifest["arm"], manifest["seed"]) == ("nli", 2)
    assert {t["task"]: t["phase"] for t in manifest["tasks"]}["tatoeba"] == "intermediate"


def test_a_baseline_arm_retrieves_with_the_pretrained_model(
    study_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    to = tmp_path / "none"
    assert export(study_dir, to, "--arm", "none") == 0  # its only seed
    assert "tatoeba test (pretrained)" in capsys.readouterr().out
    pretrained = stored(study_dir, "pretrained", None, "tatoeba", "de", phase="pretrained")
    lines = read_label(to / "tatoeba/test-de.tsv")
    assert accuracy(tatoeba_gold(ENGLISH), lines) == pytest.approx(100.0 * pretrained["correct"].mean())
    assert accuracy(tatoeba_gold(ENGLISH), lines) == pytest.approx(100.0 * 5 / 12)
    assert not (to / "bucc2018").exists()  # only nli's intermediate phase mined BUCC


def test_another_split_is_exported_under_its_name_and_said_not_to_be_a_submission(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = make_study(tmp_path / "out", tmp_path / "data", xnli_rows=30, xnli_split="dev")
    to = tmp_path / "dev"
    assert export(out, to, "--arm", "nli", "--run-seed", "1") == 0
    text = capsys.readouterr().out
    assert "xnli dev (target): 2 languages, 30 examples each -> xnli/dev-<lang>.tsv" in text
    assert "SUBSET in de en: size 30" in text and "NOT a leaderboard submission (XTREME scores xnli" in text
    assert read_label(to / "xnli/dev-de.tsv") == list(stored(out, "nli", 1, "xnli", "de")["prediction"])
    assert not (to / "xnli/test-de.tsv").exists()


def test_a_test_subset_is_refused_unless_allowed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = make_study(tmp_path / "out", tmp_path / "data", xnli_rows=100)
    to = tmp_path / "partial"
    assert export(out, to, "--arm", "nli", "--run-seed", "1") == 2
    error = one_error(capsys)
    assert "xnli test (100 of the 5010 examples the split has)" in error and "--allow-subset" in error
    assert not to.exists()  # nothing written
    assert export(out, to, "--arm", "nli", "--run-seed", "1", "--allow-subset") == 0
    text = capsys.readouterr().out
    assert "SUBSET in de en: 100 of the 5010" in text and text.rstrip().endswith("files of every language")
    assert len(read_label(to / "xnli/test-en.tsv")) == 100


def test_exporting_again_replaces_the_earlier_export_only(
    study_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    to = tmp_path / "again"
    assert export(study_dir, to, "--arm", "nli", "--run-seed", "1") == 0
    (to / "stale").mkdir()
    (to / "stale/test-de.tsv").write_text("old\n")
    assert export(study_dir, to, "--arm", "none") == 0
    assert not (to / "stale").exists() and not (to / "bucc2018").exists()
    assert json.loads((to / MANIFEST).read_text())["arm"] == "none"
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    capsys.readouterr()
    assert export(study_dir, foreign, "--arm", "none") == 2
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
    with pytest.raises(SystemExit) as exited:  # argparse's own usage line
        main(["report", str(study_dir), "--export", "squad", "--to", str(to)])
    assert exited.value.code == 2
    assert not to.exists()
