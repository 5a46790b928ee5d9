"""`xstilts report DIR --export xtreme --to FOLDER`: one arm's predictions in XTREME's submission layout
(`xtreme_layout` says what that is), and what of them can be a leaderboard submission.

evaluate.py scores every one of the nine task folders it finds, opening test-<lang> for EVERY
language of the task in its TASK2LANGS without checking that the file exists: one missing language
crashes the whole evaluation. So a task folder of the export holds the whole test set of every
benchmark language of the task, or is not written. What cannot be scored (languages missing, a
subset of the split, another split than the one XTREME scores, a BUCC threshold tuned on the pairs
it scores where XTREME picks it on dev) makes the export refuse, naming it, unless `partial`: then
it is written under FOLDER/not-scored/<task>/. `allow_subset` keeps a (possible) subset in its task
folder instead.

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
from pathlib import Path
from typing import Any

import xstilts
from xstilts.config.cards import TaskCard
from xstilts.config.formats import format_info
from xstilts.config.registry import BUILTIN_CARDS, TaskRegistry
from xstilts.config.selection import DataSelection
from xstilts.config.study import Retrieval, Study
from xstilts.errors import ConfigError, XstiltsError
from xstilts.export.xtreme_layout import (
    FOLDERS,
    MANIFEST,
    NOT_SCORED,
    Export,
    TaskExport,
    file_content,
    write_folder,
)
from xstilts.metrics.retrieval import TUNED_ON_SCORED
from xstilts.report.build import open_store
from xstilts.report.study_file import PRETRAINED, load_study_json
from xstilts.results.example_files import read_examples_file
from xstilts.results.tables import current_rows

PHASES = ("intermediate", "target", PRETRAINED)  # whose encoder a retrieval task is exported from
XTREME_R = ("xcopa", "lareqa", "mewsli-x")  # XTREME-R's own tasks: no confirmed submission layout
SUBSETTING = ("size", "offset", "fraction", "sizes", "mix")
WHOLE = {"offset": 0, "fraction": 1}  # values of those that still select every example


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
    resolved = load_study_json(out_dir)
    if resolved is not None and resolved.name != name:
        resolved = None  # study.json describes the study that last ran in OUT, not this one
    card_dirs = [BUILTIN_CARDS] if resolved is None or resolved.builtin_tasks else []
    card_dirs += resolved.task_dirs if resolved else []
    registry = TaskRegistry(Path(data_dir or (resolved.data_dir if resolved else None) or "."), card_dirs)
    # Only the run each evaluation last recorded (a study edited under its name keeps older runs).
    current = {(r["arm"], r["phase"], r["seed"], r["task"], r["split"], r["run"]) for r in rows}
    key = ("arm", "phase", "seed", "task", "split", "run")
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for who in dict.fromkeys([arm, PRETRAINED]):
        for p in store.example_files(name, arm=who):
            if tuple(p[k] for k in key) in current and (p["seed"] == seed or who == PRETRAINED):
                found[p["task"]].append(p)
    # An arm without an intermediate phase encodes with the pretrained model until its target phase.
    baseline = resolved is not None and any(a.name == arm and a.is_baseline for a in resolved.arms)
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
                done = _export_split(registry, resolved, task, split, chosen, tuned)
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
    write_folder(destination, files)
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


def _arm_and_seed(
    rows: list[dict[str, Any]], study: str, arm: str | None, seed: int | None
) -> tuple[str, int | None]:
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


def _export_split(
    registry: TaskRegistry,
    resolved: Study | None,
    task: str,
    split: str,
    chosen: list[dict[str, Any]],
    tuned: set[tuple[Any, ...]],
) -> tuple[TaskExport, dict[str, bytes]] | str:
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
        contents[lang] = file_content(task, columns, english, f"{p['path']} ({lang})")
        done.counts[lang] = len(columns["id"])
        why = _subset(resolved, card, task, split, lang, done.counts[lang])
        if why:
            done.subset.setdefault(why, []).append(lang)
        if (*(p[k] for k in ("arm", "phase", "seed", "task", "split", "run")), lang) in tuned:
            done.tuned.append(lang)
    done.missing = [g for g in bench.languages if g not in done.counts] if leaderboard else []
    return done, contents


def _subset(
    resolved: Study | None, card: TaskCard, task: str, split: str, lang: str, count: int
) -> str | None:
    """Why the evaluation of `lang` is (or may be) not the whole split; None when it is."""
    published = card.splits[split].examples.get(lang) if split in card.splits else None
    if published is not None:  # every example there, in file order whatever the selection said
        return None if count == published else f"{count} of the {published} examples the split has"
    # No published count (udpos, panx, ...): only the study's own selection tells.
    if resolved is None:
        return "no study.json of this study, so whether the whole split was evaluated is unknown"
    # A retrieval task is chosen in study.json's `retrieval` whichever phase's encoder it ran after;
    # every other task in `targets`.
    chosen: list[Retrieval | DataSelection]
    if format_info(card.format).retrieval:
        chosen = [r for r in resolved.retrieval if r.task == task and r.split == split]
    else:
        chosen = [t.evaluate for t in resolved.targets if t.task == task and t.evaluate.split == split]
    if not chosen:
        return "study.json names no such evaluation, so whether it was the whole split is unknown"
    given = [s.model_dump() for s in chosen]
    parts = [
        f"{k} {s[k]}" for s in given for k in SUBSETTING if s.get(k) is not None and s[k] != WHOLE.get(k)
    ]
    return ", ".join(dict.fromkeys(parts)) or None


def _english(registry: TaskRegistry, split: str, lang: str) -> dict[str, str]:
    """Tatoeba's English sentences by query id: XTREME's query order is theirs, sorted."""
    try:
        corpus = registry.load("tatoeba", split, lang)
    except XstiltsError as err:
        raise XstiltsError(
            f"{err} (Tatoeba's export orders its English sentences as XTREME does: --data-dir names the data)"
        ) from None
    return dict(zip(corpus.query_ids, corpus.queries, strict=True))
