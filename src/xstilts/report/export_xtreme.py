"""`xstilts report DIR --export xtreme --to FOLDER`: one arm's predictions in XTREME's submission layout.

The layout is the one google-research/xtreme's README ("Leaderboard Submission") asks for and its
evaluate.py reads: FOLDER/<task>/test-<lang>.<ext>, <lang> the 2-letter code, ext `json` for the QA
tasks and `tsv` for the others, one file per language of TASK2LANGS (it opens every one of them):

  xnli, pawsx        one predicted label per line, in the test file's order (read_label)
  udpos, panx        one tag per line for each token, a blank line after each sentence (read_tag)
  xquad, mlqa,       a JSON object {question id: answer text} (read_squad: SQuAD v1.1 evaluation);
  tydiqa             TyDiQA-GoldP is scored on its dev set, in test-<lang>.json all the same
  bucc2018           the mined pairs, `<lang id>\\t<en id>` per line (bucc_f1 compares sets)
  tatoeba            per English sentence, in the order of XTREME's `<lang>-en.en` (the English
                     file sorted by its stripped text: utils_preprocess.py), the 0-based line of the
                     retrieved sentence in the other language's file (evaluate_retrieval.py)

Predictions come from the per-example files the results store points to (`prediction`: the label,
the tag list, the answer text, the retrieved candidate id `tgt-<line>`, or BUCC's mined target ids).
Those hold the evaluated examples in file order, so the order is the split's only when the whole
split was evaluated: a subset (study.json's `size` / `offset` / `fraction`, or fewer rows than the
card's published count) is refused as a leaderboard export unless `allow_subset`. Evaluations of
another split than the one XTREME scores are written as <split>-<lang>.<ext> and are never a
submission. Retrieval tasks use the arm's encoder after its intermediate phase, else after its
(latest) target phase, else, for an arm without an intermediate phase, the pretrained model.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xstilts
from xstilts.errors import ConfigError, XstiltsError
from xstilts.files import atomic_write_bytes
from xstilts.pipeline.results import current_rows
from xstilts.pipeline.store import read_examples_file
from xstilts.report.build import open_store
from xstilts.report.design import PRETRAINED, STUDY_FILE

# xstilts task -> evaluate.py's folder (its TASK2LANGS keys).
FOLDERS = {t: t for t in ("xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "tatoeba")}
FOLDERS["bucc"] = "bucc2018"
QA = ("xquad", "mlqa", "tydiqa")
PHASES = ("intermediate", "target", PRETRAINED)  # whose encoder a retrieval task is exported from
MANIFEST = "xstilts-export.json"  # evaluate.py reads task folders only, so this file does no harm
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

    def pattern(self) -> str:
        ext = "json" if self.task in QA else "tsv"
        return f"{FOLDERS[self.task]}/{'test' if self.leaderboard else self.split}-<lang>.{ext}"


@dataclass
class Export:
    study: str
    arm: str
    seed: int | None
    destination: Path
    tasks: list[TaskExport]
    skipped: dict[str, str]  # task -> why it is not exported

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
            if not t.leaderboard:
                line += f"; NOT a leaderboard submission (XTREME scores {t.task} on another split)"
            elif t.missing:
                more = f" and {len(t.missing) - 8} more" if len(t.missing) > 8 else ""
                line += f"; evaluate.py also needs {' '.join(t.missing[:8])}{more}"
            lines.append(line)
        lines += [f"  not exported: {task}: {why}" for task, why in self.skipped.items()]
        if not any(t.leaderboard for t in self.tasks):
            lines.append("NOT a leaderboard submission: no task was evaluated on the split XTREME scores")
        elif any(t.subset or t.missing or not t.leaderboard for t in self.tasks):
            lines.append("partial: evaluate.py scores only complete test-<lang> files of every language")
        return "\n".join(lines)


def export_xtreme(
    out_dir: Path,
    destination: Path,
    *,
    study: str | None = None,
    arm: str | None = None,
    seed: int | None = None,
    allow_subset: bool = False,
    data_dir: Path | None = None,
) -> Export:
    """Write `arm`'s (and `seed`'s) predictions under `destination`, all or nothing."""
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
    files: dict[str, bytes] = {}
    tasks, skipped = [], {}
    for task, pointers in found.items():
        phase = next(ph for ph in PHASES if any(p["phase"] == ph for p in pointers))
        if phase == PRETRAINED and arm != PRETRAINED and not baseline:
            skipped[task] = f"evaluated only on the pretrained model, which is not arm {arm}'s encoder"
        elif task not in FOLDERS:
            skipped[task] = "not one of the nine tasks XTREME's evaluate.py scores"
        else:
            splits: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for p in pointers:
                if p["phase"] == phase:
                    splits[p["split"]].append(p)
            for split, chosen in splits.items():
                done = _export_split(registry, design, task, split, chosen, files)
                if isinstance(done, str):
                    skipped[task] = done
                else:
                    tasks.append(done)
    if not tasks:
        why = "; ".join(f"{t}: {w}" for t, w in skipped.items()) or "no per-example files for it in the store"
        raise ConfigError(f"--export xtreme --arm {arm}", f"nothing to export ({why})")
    blocked = [f"{t.task} {t.split} ({'; '.join(t.subset)})" for t in tasks if t.leaderboard and t.subset]
    if blocked and not allow_subset:
        raise ConfigError(
            "--export xtreme",
            f"not the whole split, so not a leaderboard submission: {', '.join(blocked)}; "
            "--allow-subset exports it anyway",
        )
    export = Export(name, arm, seed, destination, tasks, skipped)
    manifest = {"study": name, "arm": arm, "seed": seed, "xstilts": xstilts.__version__}
    manifest |= {"tasks": [{**vars(t), "files": t.pattern()} for t in tasks], "not_exported": skipped}
    files[MANIFEST] = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
    _write_folder(destination, files)
    return export


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


def _export_split(
    registry, design, task: str, split: str, chosen: list[dict[str, Any]], files: dict[str, bytes]
):
    """One task and split: its files added to `files`, or why it cannot be exported (files untouched)."""
    card = registry.card(task)
    bench = card.benchmarks.get("xtreme")
    leaderboard = bench is not None and split == bench.split
    done = TaskExport(task, split, chosen[0]["phase"], chosen[0]["run"], leaderboard, {}, {}, [])
    written: dict[str, bytes] = {}
    read: dict[str, Any] = {}  # one file holds every language of an evaluation
    for p in chosen:
        lang = p["language"]
        if p["path"] not in read:
            read[p["path"]] = read_examples_file(Path(p["path"])).languages
        columns = read[p["path"]].get(lang)
        if columns is None or "prediction" not in columns:
            return f"{p['path']} holds no predictions for {lang}"
        path = f"{FOLDERS[task]}/{'test' if leaderboard else split}-{lang}.{'json' if task in QA else 'tsv'}"
        if path in files or path in written:
            raise XstiltsError(f"{task}: two evaluations would both be written to {path}")
        english = _english(registry, split, lang) if task == "tatoeba" else None
        written[path] = _content(task, columns, english, path)
        done.counts[lang] = len(columns["id"])
        why = _subset(design, card, task, split, p["phase"], lang, done.counts[lang])
        if why:
            done.subset.setdefault(why, []).append(lang)
    done.missing = [g for g in bench.languages if g not in done.counts] if leaderboard else []
    files.update(written)
    return done


def _subset(design, card, task: str, split: str, phase: str, lang: str, count: int) -> str | None:
    """Why the evaluation of `lang` is (or may be) not the whole split; None when it is."""
    published = card.splits[split].examples.get(lang) if split in card.splits else None
    if published is not None:  # every example there, in file order whatever the selection said
        return None if count == published else f"{count} of the {published} examples the split has"
    if design is None:
        return "no study.json of this study, so whether the whole split was evaluated is unknown"
    if phase == "target":
        chosen = [t["evaluate"] for t in design.get("targets", []) if t["task"] == task]
        chosen = [s for s in chosen if s.get("split") == split]
    else:
        chosen = [r for r in design.get("retrieval", []) if r["task"] == task and r.get("split") == split]
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
        return (json.dumps(answers, ensure_ascii=False, indent=1) + "\n").encode()
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
    destination.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(dir=destination.parent, prefix=f".{destination.name}-building-"))
    aside: Path | None = None
    try:
        for relative, data in files.items():
            atomic_write_bytes(building / relative, data)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(building, 0o777 & ~mask)  # mkdtemp's folder is private; give mkdir()'s permissions
        if destination.exists():
            aside = Path(tempfile.mkdtemp(dir=destination.parent, prefix=f".{destination.name}-old-"))
            os.replace(destination, aside / destination.name)
        os.replace(building, destination)
    except BaseException:
        if aside is not None and not destination.exists():
            os.replace(aside / destination.name, destination)
        shutil.rmtree(building, ignore_errors=True)
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
        raise
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)
