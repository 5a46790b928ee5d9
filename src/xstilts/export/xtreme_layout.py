"""XTREME's submission layout: where each task's predictions go, what the files hold, and writing them.

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

evaluate.py scores every one of those nine folders it finds. What cannot be scored is written under
FOLDER/not-scored/<task>/, a folder evaluate.py does not read (it looks only for its nine task
names), and the manifest FOLDER/xstilts-export.json (what was exported from which runs, and the
lines of every file) is a file, not a task folder: evaluate.py ignores it too. The summary says
whether the folder is a complete submission (all nine tasks) and which tasks are absent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xstilts.errors import ConfigError, XstiltsError
from xstilts.files import atomic_write_bytes, replace_folder

# xstilts task -> evaluate.py's folder (its TASK2LANGS keys): the nine tasks of a full submission.
FOLDERS = {t: t for t in ("xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa")}
FOLDERS |= {"bucc": "bucc2018", "tatoeba": "tatoeba"}
QA = ("xquad", "mlqa", "tydiqa")
MANIFEST = "xstilts-export.json"  # evaluate.py reads task folders only, so this file does no harm
# Beside the task folders; evaluate.py only opens folders named like its tasks, so it ignores this one.
NOT_SCORED = "not-scored"


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


def file_content(task: str, columns: dict[str, Any], english: dict[str, str] | None, where: str) -> bytes:
    """One language's file of `task` from its per-example columns (`english`: Tatoeba's English
    sentences by query id, whose sorted order is XTREME's query order; `where` names the source)."""
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


def write_folder(destination: Path, files: dict[str, bytes]) -> None:
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
