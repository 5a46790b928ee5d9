"""`xstilts report DIR --export xtreme --to FOLDER`: one arm's predictions in XTREME's submission layout.

The layout is the one google-research/xtreme's README ("Leaderboard Submission") asks for and its
evaluate.py reads: FOLDER/<task>/test-<lang>.<ext>, <lang> the 2-letter code, ext `json` for the QA
tasks and `tsv` for the others:

  xnli, pawsx        one predicted label per line, in the test file's order (read_label)
  udpos, panx        one tag per line for each token, a blank line after each sentence (read_tag)
  xquad, mlqa,       a JSON object {question id: answer text} (read_squad: SQuAD v1.1 evaluation),
  tydiqa             ASCII-escaped (evaluate.py opens it in the locale's encoding); TyDiQA-GoldP is
                     scored on its dev set, in test-<lang>.json all the same
  bucc2018           the mined pairs, `<lang id>\\t<en id>` per line (bucc_f1 compares sets)
  tatoeba            per English sentence, in the order of XTREME's `<lang>-en.en` (the English
                     file sorted by its stripped text: utils_preprocess.py), the 0-based line of the
                     retrieved sentence in the other language's file (evaluate_retrieval.py)

evaluate.py scores every one of those nine folders it finds, opening test-<lang> for EVERY language
of the task in its TASK2LANGS without checking that the file exists: one missing language crashes
the whole evaluation. So a task folder of the export holds the whole test set of every benchmark
language of the task, or is not written. What cannot be scored (languages missing, a subset of the
split, another split than the one XTREME scores, a BUCC threshold tuned on the pairs it scores
where XTREME picks it on dev) makes the export refuse, naming it, unless `partial`: then it is
written under FOLDER/not-scored/<task>/, a folder evaluate.py does not read (it looks only for its
nine task names). `allow_subset` keeps a (possible) subset in its task folder instead. The
manifest FOLDER/xstilts-export.json (what was exported from which runs, and the lines of every file)
is a file, not a task folder: evaluate.py ignores it too. The summary says whether the folder is a
complete submission (all nine tasks) and which tasks are absent.

Predictions come from the per-example files the results store points to (`prediction`: the label,
the tag list, the answer text, the retrieved candidate id `tgt-<line>`, or BUCC's mined target ids).
Those hold the evaluated examples in file order, so the order is the split's only when the whole
split was evaluated: a subset is one with fewer rows than the card's published count or, where the
card publishes none (udpos, panx, ...), one that study.json's `size` / `offset` / `fraction` narrowed.
Retrieval tasks use the arm's encoder after its intermediate phase, else after its (latest) target
phase, else, for an arm without an intermediate phase, the pretrained model.

XTREME-R's tasks (xcopa, lareqa, mewsli-x) are not exported: there is no confirmed XTREME-R
submission layout to write them in.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xstilts
from xstilts.errors import ConfigError, XstiltsError
from xstilts.files import atomic_write_bytes, replace_folder
from xstilts.pipeline.results import current_rows
from xstilts.report.build import open_store
from xstilts.report.design import PRETRAINED, STUDY_FILE
from xstilts.results.example_files import read_examples_file

# xstilts task -> evaluate.py's folder (its TASK2LANGS keys): the nine tasks of a full submission.
FOLDERS = {t: t for t in ("xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa")}
FOLDERS |= {"bucc": "bucc2018", "tatoeba": "tatoeba"}
QA = ("xquad", "mlqa", "tydiqa")
PHASES = ("intermediate", "target", PRETRAINED)  # whose encoder a retrieval task is exported from
MANIFEST = "xstilts-export.json"  # evaluate.py reads task folders only, so this file does no harm
XTREME_R = ("xcopa", "lareqa", "mewsli-x")  # XTREME-R's own tasks: no confirmed submission layout
# Beside the task folders; evaluate.py only opens folders named like its tasks, so it ignores this one.
NOT_SCORED = "not-scored"
# formats/retrieval.py's TUNED_ON_SCORED, recorded in the store as a metric row of the evaluation
# (not imported: that module loads torch).
TUNED_ON_SCORED = "threshold_tuned_on_scored_data"
SUBSETTING = ("size", "offset", "fraction", "sizes", "mix")
WHOLE = {"offset": 0, "fraction": 1}  # values of those that still select every example


@dataclass
class TaskExport:
    task: str
    split: str
    phase: str
    run: str
    leaderboard: bool  # the split XTREME scores: written under evaluate.py's file names
    counts: dict[str, int]  # language -> predictions (examples, sentences, questions, queries)
    subset: dict[str, list[str]]  # why (some of) the evaluation is not the whole split -> languages
    missing: list[str]  # XTREME languages of the task without predictions here
    tuned: list[str]  # languages whose BUCC threshold was tuned on the very pairs it scores
    unscored: list[str]  # why it is not in the submission (then it is under not-scored/); [] if it is

    def path(self, lang: str) -> str:
        folder = f"{NOT_SCORED}/{FOLDERS[self.task]}" if self.unscored else FOLDERS[self.task]
        ext = "json" if self.task in QA else "tsv"
        return f"{folder}/{'test' if self.leaderboard else self.split}-{lang}.{ext}"

    def pattern(self) -> str:
        return self.path("<lang>")


@dataclass
class Export:
    study: str
    arm: str
    seed: int | None
    destination: Path
    tasks: list[TaskExport]
    skipped: dict[str, str]  # task -> why it is not exported

    def absent(self) -> list[str]:
        """evaluate.py's task folders the submission lacks (it then gives no overall score)."""
        scored = {FOLDERS[t.task] for t in self.tasks if not t.unscored}
        return [folder for folder in FOLDERS.values() if folder not in scored]

    def complete(self) -> bool:
        """All nine tasks, each the whole test set of every language: what evaluate.py averages."""
        return not self.absent() and not any(t.subset for t in self.tasks if not t.unscored)

    def describe(self) -> str:
        seed = "" if self.seed is None else f", seed {self.seed}"
        lines = [f"study {self.study}, arm {self.arm}{seed} -> {self.destination} (XTREME layout)"]
        for t in self.tasks:
            sizes = sorted(set(t.counts.values()))
            each = str(sizes[0]) if len(sizes) == 1 else f"{sizes[0]}-{sizes[-1]}"
            langs = f"{len(t.counts)} language{'s' if len(t.counts) > 1 else ''}"
            line = f"  {t.task} {t.split} ({t.phase}): {langs}, {each} examples each -> {t.pattern()}"
            for why, langs in t.subset.items():
                line += f"; SUBSET in {' '.join(langs)}: {why}"
            if t.unscored:
                line += f"; NOT SCORED: {'; '.join(t.unscored)}"
            lines.append(line)
        lines += [f"  not exported: {task}: {why}" for task, why in self.skipped.items()]
        absent, subsets = self.absent(), [t.task for t in self.tasks if t.subset and not t.unscored]
        if self.complete():
            lines.append("complete XTREME submission: all nine tasks, every language's whole test set")
        else:
            verdict = "NOT a complete XTREME submission"
            if len(absent) == len(FOLDERS):
                verdict += ": no task folder evaluate.py scores"
            elif absent:
                verdict += f": absent tasks {' '.join(absent)}"
            if subsets:
                verdict += (
                    f"; subsets in {' '.join(subsets)} (evaluate.py compares with the whole test files)"
                )
            lines.append(verdict)
        if any(t.unscored for t in self.tasks):
            lines.append(f"{NOT_SCORED}/ holds what cannot be scored; evaluate.py ignores it")
        lines.append(f"{MANIFEST}: what was exported, from which runs; evaluate.py ignores it")
        return "\n".join(lines)


def export_xtreme(
    out_dir: Path,
    destination: Path,
    *,
    study: str | None = None,
    arm: str | None = None,
    seed: int | None = None,
    allow_subset: bool = False,
    partial: bool = False,
    data_dir: Path | None = None,
) -> Export:
    """Write `arm`'s (and `seed`'s) predictions under `destination`, all or nothing. What cannot be
    scored as a submission task is refused, or with `partial` written under not-scored/."""
    from xstilts.tasks.registry import BUILTIN_CARDS, TaskRegistry

    out_dir, destination = Path(out_dir), Path(destination)
    store = open_store(out_dir)
    names = store.studies()
    if study is None and len(names) != 1:
        raise ConfigError(
            "--study", f"the store holds {', '.join(names) or 'no study'}: name the one to export"
        )
    name = study or names[0]
    if name not in names:
        raise ConfigError(f"--study {name}", f"no such study in {store.path} (it has {', '.join(names)})")
    rows, _ = current_rows(store.rows(study=name))
    arm, seed = _arm_and_seed(rows, name, arm, seed)
    design = _design(out_dir, name)
    card_dirs = [BUILTIN_CARDS] if design is None or design.get("builtin_tasks", True) else []
    card_dirs += [Path(d) for d in (design or {}).get("task_dirs") or []]
    registry = TaskRegistry(Path(data_dir or (design or {}).get("data_dir") or "."), card_dirs)
    # Only the run each evaluation last recorded (a study edited under its name keeps older runs).
    current = {(r["arm"], r["phase"], r["seed"], r["task"], r["split"], r["run"]) for r in rows}
    key = ("arm", "phase", "seed", "task", "split", "run")
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for who in dict.fromkeys([arm, PRETRAINED]):
        for p in store.example_files(name, arm=who):
            if tuple(p[k] for k in key) in current and (p["seed"] == seed or who == PRETRAINED):
                found[p["task"]].append(p)
    # An arm without an intermediate phase encodes with the pretrained model until its target phase.
    baseline = design is not None and any(
        a["name"] == arm and not a.get("intermediate") for a in design["arms"]
    )
    # The BUCC evaluations whose threshold was tuned on the pairs they score (a flag row in the store).
    tuned = {(*(r[k] for k in key), r["language"]) for r in rows if r["metric"] == TUNED_ON_SCORED}
    exported: list[tuple[TaskExport, dict[str, bytes]]] = []
    skipped: dict[str, str] = {}
    for task, pointers in found.items():
        phase = next(ph for ph in PHASES if any(p["phase"] == ph for p in pointers))
        if phase == PRETRAINED and arm != PRETRAINED and not baseline:
            skipped[task] = f"evaluated only on the pretrained model, which is not arm {arm}'s encoder"
        elif task in XTREME_R:
            skipped[task] = "an XTREME-R task: there is no confirmed XTREME-R submission layout to write"
        elif task not in FOLDERS:
            skipped[task] = "not one of the nine tasks XTREME's evaluate.py scores"
        else:
            splits: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for p in pointers:
                if p["phase"] == phase:
                    splits[p["split"]].append(p)
            for split, chosen in splits.items():
                done = _export_split(registry, design, task, split, chosen, tuned)
                if isinstance(done, str):
                    skipped[task] = done
                else:
                    exported.append(done)
    if not exported:
        why = "; ".join(f"{t}: {w}" for t, w in skipped.items()) or "no per-example files for it in the store"
        raise ConfigError(f"--export xtreme --arm {arm}", f"nothing to export ({why})")
    tasks = [t for t, _ in exported]
    for t in tasks:
        t.unscored = _unscored(t, allow_subset)
    blocked = [f"{t.task} {t.split} ({'; '.join(t.unscored)})" for t in tasks if t.unscored]
    if blocked and not partial:
        # A missing language crashes evaluate.py's whole run, the rest would be scored wrong: refuse.
        hint = "; --allow-subset keeps a subset as it is" if any(t.subset for t in tasks) else ""
        raise ConfigError(
            "--export xtreme",
            f"cannot be scored as a leaderboard submission: {', '.join(blocked)}; "
            f"--partial writes these under {NOT_SCORED}/ instead{hint}",
        )
    files: dict[str, bytes] = {}
    for t, contents in exported:
        for lang, data in contents.items():
            path = t.path(lang)
            if path in files:
                raise XstiltsError(f"{t.task}: two evaluations would both be written to {path}")
            files[path] = data
    export = Export(name, arm, seed, destination, tasks, skipped)
    manifest = {"study": name, "arm": arm, "seed": seed, "xstilts": xstilts.__version__}
    manifest |= {"complete": export.complete(), "absent": export.absent()}
    manifest |= {"tasks": [{**vars(t), "files": t.pattern()} for t in tasks], "not_exported": skipped}
    # Lines per file: for udpos and panx (no published counts on their cards) the one check left
    # against the gold test files, whose lines a tag file must match one for one.
    manifest["lines"] = {path: data.count(b"\n") for path, data in sorted(files.items())}
    files[MANIFEST] = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
    _write_folder(destination, files)
    return export


def _unscored(t: TaskExport, allow_subset: bool) -> list[str]:
    """Why `t` cannot be one of the submission's task folders; [] when it can. evaluate.py opens
    test-<lang> of every language of a task folder it finds, so only whole, complete test sets go there."""
    if not t.leaderboard:
        return [f"{t.split} is not the split XTREME scores"]
    why = []
    if t.missing:
        why.append(f"no predictions for {' '.join(t.missing)}")
    if t.subset and not allow_subset:
        why += [f"not the whole split in {' '.join(langs)}: {what}" for what, langs in t.subset.items()]
    if t.tuned:
        why.append(f"threshold tuned on the pairs it scores in {' '.join(t.tuned)} (XTREME tunes on dev)")
    return why


def _arm_and_seed(rows: list[dict[str, Any]], study: str, arm: str | None, seed: int | None):
    arms = list(dict.fromkeys(r["arm"] for r in rows))
    trained = [a for a in arms if a != PRETRAINED]
    if arm is None:
        if len(trained) != 1:
            raise ConfigError("--arm", f"name the arm to export (study {study} has {', '.join(arms)})")
        arm = trained[0]
    if arm not in arms:
        raise ConfigError(f"--arm {arm}", f"no such arm in study {study} (it has {', '.join(arms)})")
    seeds = sorted({r["seed"] for r in rows if r["arm"] == arm and r["seed"] is not None})
    if arm == PRETRAINED:
        if seed is not None:
            raise ConfigError(f"--run-seed {seed}", "the pretrained model is not trained with a seed")
        return arm, None
    if seed is None and len(seeds) == 1:
        return arm, seeds[0]
    if seed not in seeds:
        where, which = (
            ("--run-seed", "name the seed") if seed is None else (f"--run-seed {seed}", "no such seed")
        )
        raise ConfigError(where, f"{which} (arm {arm} has seeds {', '.join(map(str, seeds))})")
    return arm, seed


def _design(out_dir: Path, study: str) -> dict[str, Any] | None:
    """study.json as a dict when it describes `study` (it is the study that last ran in OUT)."""
    path = out_dir / STUDY_FILE
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(str(path), f"not a resolved study file ({err})") from None
    return raw if isinstance(raw, dict) and raw.get("name") == study else None


def _export_split(registry, design, task: str, split: str, chosen: list[dict[str, Any]], tuned: set[tuple]):
    """One task and split: what was evaluated and each language's file content, or why it cannot be
    exported. Where the files go is decided once every language is known (`TaskExport.path`)."""
    card = registry.card(task)
    bench = card.benchmarks.get("xtreme")
    leaderboard = bench is not None and split == bench.split
    done = TaskExport(task, split, chosen[0]["phase"], chosen[0]["run"], leaderboard, {}, {}, [], [], [])
    contents: dict[str, bytes] = {}
    read: dict[str, Any] = {}  # one file holds every language of an evaluation
    for p in chosen:
        lang = p["language"]
        if p["path"] not in read:
            read[p["path"]] = read_examples_file(Path(p["path"])).languages
        columns = read[p["path"]].get(lang)
        if columns is None or "prediction" not in columns:
            return f"{p['path']} holds no predictions for {lang}"
        if lang in contents:
            raise XstiltsError(f"{task} {split}: two evaluations of {lang} to export")
        english = _english(registry, split, lang) if task == "tatoeba" else None
        contents[lang] = _content(task, columns, english, f"{p['path']} ({lang})")
        done.counts[lang] = len(columns["id"])
        why = _subset(design, card, task, split, lang, done.counts[lang])
        if why:
            done.subset.setdefault(why, []).append(lang)
        if (*(p[k] for k in ("arm", "phase", "seed", "task", "split", "run")), lang) in tuned:
            done.tuned.append(lang)
    done.missing = [g for g in bench.languages if g not in done.counts] if leaderboard else []
    return done, contents


def _subset(design, card, task: str, split: str, lang: str, count: int) -> str | None:
    """Why the evaluation of `lang` is (or may be) not the whole split; None when it is."""
    published = card.splits[split].examples.get(lang) if split in card.splits else None
    if published is not None:  # every example there, in file order whatever the selection said
        return None if count == published else f"{count} of the {published} examples the split has"
    # No published count (udpos, panx, ...): only the study's own selection tells.
    if design is None:
        return "no study.json of this study, so whether the whole split was evaluated is unknown"
    # A retrieval task is chosen in study.json's `retrieval` whichever phase's encoder it ran after;
    # every other task in `targets`.
    if card.format == "retrieval":
        chosen = [r for r in design.get("retrieval", []) if r["task"] == task and r.get("split") == split]
    else:
        chosen = [t["evaluate"] for t in design.get("targets", []) if t["task"] == task]
        chosen = [s for s in chosen if s.get("split") == split]
    if not chosen:
        return "study.json names no such evaluation, so whether it was the whole split is unknown"
    parts = [
        f"{k} {s[k]}" for s in chosen for k in SUBSETTING if s.get(k) is not None and s[k] != WHOLE.get(k)
    ]
    return ", ".join(dict.fromkeys(parts)) or None


def _english(registry, split: str, lang: str) -> dict[str, str]:
    """Tatoeba's English sentences by query id: XTREME's query order is theirs, sorted."""
    try:
        corpus = registry.load("tatoeba", split, lang)
    except XstiltsError as err:
        raise XstiltsError(
            f"{err} (Tatoeba's export orders its English sentences as XTREME does: --data-dir names the data)"
        ) from None
    return dict(zip(corpus.query_ids, corpus.queries, strict=True))


def _content(task: str, columns: dict[str, Any], english: dict[str, str] | None, where: str) -> bytes:
    ids, predictions = [str(i) for i in columns["id"]], columns["prediction"]
    if task in QA:
        answers = dict(zip(ids, (str(p) for p in predictions), strict=True))
        if len(answers) != len(ids):
            raise XstiltsError(f"{where}: repeated question ids; one JSON object cannot hold both answers")
        # ASCII escapes: evaluate.py opens the file in the locale's encoding, not necessarily UTF-8.
        return (json.dumps(answers, ensure_ascii=True, indent=1) + "\n").encode()
    if task in ("udpos", "panx"):
        return "".join("".join(f"{tag}\n" for tag in tags) + "\n" for tags in predictions).encode()
    if task == "bucc":
        return "".join(
            f"{i}\t{t}\n" for i, p in zip(ids, predictions, strict=True) for t in str(p).split()
        ).encode()
    if task == "tatoeba":
        assert english is not None
        missing = [i for i in ids if i not in english]
        if missing:
            raise XstiltsError(f"{where}: query {missing[0]} is not in tatoeba's data as read now")
        # Stable, as utils_preprocess.py's sorted() is: equal sentences keep their file order.
        order = sorted(range(len(ids)), key=lambda row: english[ids[row]].strip())
        lines = []
        for row in order:
            retrieved = str(predictions[row])
            if not retrieved.startswith("tgt-") or not retrieved[4:].isdigit():
                raise XstiltsError(f"{where}: prediction {retrieved!r} is not a line of the candidate file")
            lines.append(f"{int(retrieved[4:]) - 1}\n")
        return "".join(lines).encode()
    return "".join(f"{p}\n" for p in predictions).encode()


def _write_folder(destination: Path, files: dict[str, bytes]) -> None:
    """Build the folder beside `destination`, then swap it in: never half an export, never a mix with
    an older one. A folder that is neither empty nor an earlier export is left alone."""
    if destination.exists():
        if not destination.is_dir():
            raise ConfigError(f"--to {destination}", "exists and is not a directory")
        if any(destination.iterdir()) and not (destination / MANIFEST).is_file():
            raise ConfigError(f"--to {destination}", f"not empty and not an xstilts export (no {MANIFEST})")

    def fill(folder: Path) -> None:
        for relative, data in files.items():
            atomic_write_bytes(folder / relative, data)

    replace_folder(destination, fill)
