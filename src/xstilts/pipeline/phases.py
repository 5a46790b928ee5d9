"""The phases of a study: train (intermediate or target), evaluate zero-shot, score retrieval.

A phase run is reused when its directory is complete; evaluations are cached per run: the scores in
`evals/<name>.json`, and beside them the per-example scores that statistics over examples need in
`evals/<name>.examples.parquet` (see `xstilts.results.example_files.write_examples_file`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from xstilts.data.selection import DataSelection
from xstilts.formats import get_format
from xstilts.pipeline.runs import RunDir, canonical_json, read_json, write_json
from xstilts.pipeline.study import FeatureConfig, Retrieval, Target
from xstilts.pipeline.workspace import Workspace
from xstilts.results.example_files import examples_path, write_examples_file
from xstilts.tasks.registry import TaskRegistry
from xstilts.training.config import TrainConfig
from xstilts.training.loop import TrainingTask, evaluate, train
from xstilts.training.resume import TrainingCheckpoint
from xstilts.training.task_model import TaskModel, load_heads, save_checkpoint


class PhaseModel:
    """A run's model for evaluation: the one just trained, or loaded from its checkpoint on demand."""

    def __init__(
        self,
        ws: Workspace,
        run: RunDir,
        spec: str,
        tasks: Sequence[str] = (),
        model: TaskModel | None = None,
        tokenizer: Any = None,
    ) -> None:
        self.ws, self.run, self.spec, self.tasks = ws, run, spec, list(tasks)
        self._model, self._tokenizer = model, tokenizer

    def get(self) -> tuple[TaskModel, Any]:
        if self._model is None:
            loaded = self.ws.load(self.spec)
            heads = {}
            for name in self.tasks:
                card = self.ws.registry.card(name)
                heads[name] = get_format(card.format).build_head(card, loaded.encoder.config.hidden_size)
            if heads:
                load_heads(self.run.checkpoint, heads)
            self._model = TaskModel(loaded.encoder, heads).to(self.ws.device).eval()
            self._tokenizer = loaded.tokenizer
        return self._model, self._tokenizer

    @property
    def key(self) -> str:
        """What a child phase records as its parent: the run id, or the model source if pretrained."""
        return self.run.id if self.run.kind != "pretrained" else self.spec

    def release(self) -> None:
        self._model = self._tokenizer = None


def pretrained(ws: Workspace, spec: str) -> PhaseModel:
    run = RunDir(ws.out_dir, "pretrained", {"model": spec})
    run.ensure_exists()
    return PhaseModel(ws, run, spec)


def _task_identity(registry: TaskRegistry, selection: DataSelection) -> dict[str, Any]:
    return {**selection.identity(), "version": registry.card(selection.task).version}


def phase_identity(
    registry: TaskRegistry,
    features: FeatureConfig,
    parent_key: str,
    selections: Sequence[DataSelection],
    dev: DataSelection | None,
    config: TrainConfig,
    seed: int,
) -> dict[str, Any]:
    """Everything that determines a trained phase's output; its hash is the run's id.

    `parent_key` is the parent run's id, or the model source for a phase on the pretrained model.
    The planner computes the same identity without training anything.
    """
    return {
        "parent": parent_key,
        "tasks": [_task_identity(registry, s) for s in selections],
        "dev": _task_identity(registry, dev) if dev else None,
        "train": config.model_dump(),
        "features": {
            s.task: dataclasses.asdict(features.settings(registry.card(s.task).format)) for s in selections
        },
        "seed": seed,
    }


def train_phase(
    ws: Workspace,
    kind: str,
    parent: PhaseModel,
    selections: Sequence[DataSelection],
    dev: DataSelection | None,
    config: TrainConfig,
    seed: int,
) -> PhaseModel:
    """Fine-tune the parent's encoder with fresh heads on the selected tasks (several: multi-task)."""
    identity = phase_identity(ws.registry, ws.feature_config, parent.key, selections, dev, config, seed)
    run = RunDir(ws.out_dir, kind, identity)
    tasks = list(dict.fromkeys(s.task for s in selections))
    spec = f"path:{run.checkpoint / 'encoder'}"
    if run.done:
        ws.note(f"reuse {run.path.name}")
        return PhaseModel(ws, run, spec, tasks)
    with run.lock():
        if run.done:  # another process trained it while this one waited for the lock
            ws.note(f"reuse {run.path.name} (trained by another process meanwhile)")
            return PhaseModel(ws, run, spec, tasks)
        resuming = (run.resume_dir / "train-state.pt").is_file()
        ws.note(f"train {run.path.name}" + (" (resuming from its saved state)" if resuming else ""))
        return _train_and_commit(ws, run, kind, parent, selections, dev, config, seed, identity, tasks, spec)


def _train_and_commit(
    ws: Workspace,
    run: RunDir,
    kind: str,
    parent: PhaseModel,
    selections: Sequence[DataSelection],
    dev: DataSelection | None,
    config: TrainConfig,
    seed: int,
    identity: dict[str, Any],
    tasks: list[str],
    spec: str,
) -> PhaseModel:
    loaded = ws.load(parent.spec)
    training: dict[str, TrainingTask] = {}
    for sel in selections:  # selections of one task (e.g. two languages) train one head together
        card = ws.registry.card(sel.task)
        _, features = ws.training_data(sel, loaded.tokenizer)
        if sel.task in training:
            training[sel.task].features.extend(features)
        else:
            training[sel.task] = TrainingTask(card, get_format(card.format), features, ws.settings(sel.task))
    if dev is not None:
        dev_examples, dev_features = ws.training_data(dev, loaded.tokenizer)
        dev_task = training[dev.task]
        dev_task.dev_examples, dev_task.dev_features = dev_examples, dev_features
        dev_languages = ws.languages(dev)
        dev_task.dev_language = dev_languages[0] if len(dev_languages) == 1 else None
    torch.manual_seed(seed)  # fresh heads start from the run's seed
    heads = {
        name: t.format.build_head(t.card, loaded.encoder.config.hidden_size) for name, t in training.items()
    }
    model = TaskModel(loaded.encoder, heads).to(ws.device)
    state = TrainingCheckpoint(
        run.resume_dir / "train-state.pt", ws.checkpoint.every_steps, ws.checkpoint.every_seconds
    )
    result = train(
        model,
        list(training.values()),
        config,
        loaded.tokenizer.pad_token_id,
        seed,
        progress=ws.progress,
        checkpoint=state,
    )

    staging = run.staging()
    save_checkpoint(staging / "checkpoint", model, loaded.tokenizer)
    write_json(staging / "config.json", {"kind": kind, "id": run.id, "parent_spec": parent.spec, **identity})
    write_json(
        staging / "metrics.json",
        {
            "steps": result.steps,
            "best_step": result.best_step,
            "stopped_early": result.stopped_early,
            "examples_seen": result.examples_seen,
            "seconds": round(result.seconds, 2),
            "examples_per_second": round(result.examples_seen / max(result.seconds, 1e-9), 2),
            "history": result.history,
            "train_examples": {n: len(t.features) for n, t in training.items()},
            "trained_by": {"host": socket.gethostname(), "pid": os.getpid()},
            "examples_seen_per_task": result.examples_per_task,
        },
    )
    run.commit(staging)
    return PhaseModel(ws, run, spec, tasks, model.eval(), loaded.tokenizer)


def _eval_name(task: str, split: str, detail: Any) -> str:
    return f"{task}-{split}-{hashlib.sha256(canonical_json(detail).encode()).hexdigest()[:8]}"


class EvalScores(dict[str, dict[str, float]]):
    """{lang: {metric: value}} of one evaluation, and `examples_file`: its per-example scores.

    A dict, so callers that want only the numbers use it as before; the runner records the file
    with the rows (`xstilts.results.store.EXAMPLES_FILE_FIELD`) so a report finds it in the store.
    """

    def __init__(self, scores: Mapping[str, dict[str, float]], examples_file: Path) -> None:
        super().__init__(scores)
        self.examples_file = examples_file


def _cached(path: Path) -> EvalScores | None:
    """An evaluation done before, with its per-example file. One scored before that file existed
    is done again (its model is still there): statistics need the examples, and the numbers
    recorded then must match the examples recorded now."""
    examples_file = examples_path(path)
    if path.is_file() and examples_file.is_file():
        return EvalScores(read_json(path), examples_file)
    return None


def _write_evaluation(
    path: Path,
    scores: dict[str, dict[str, float]],
    examples: Mapping[str, Any],
    metrics: Mapping[str, Sequence[str]],
    **info: Any,
) -> EvalScores:
    # The examples first: the scores file is what marks an evaluation done (`_cached` wants both),
    # so a process killed in between leaves an evaluation that is simply done again.
    examples_file = examples_path(path)
    write_examples_file(examples_file, examples, metrics, **info)
    write_json(path, scores)
    return EvalScores(scores, examples_file)


def evaluate_target(ws: Workspace, phase: PhaseModel, target: Target) -> EvalScores:
    """Zero-shot scores of a target run's head in every selected language: {lang: {metric: value}},
    with the per-example scores of each language written beside them (`EvalScores.examples_file`)."""
    selection = target.evaluate.of(target.task)
    languages = ws.languages(selection)
    path = phase.run.eval_path(_eval_name(target.task, selection.split, [selection.identity(), languages]))
    cached = _cached(path)
    if cached is not None:
        return cached
    model, tokenizer = phase.get()
    if target.task not in model.heads:  # trained on another task's data (XQuAD on SQuAD): its head
        model = TaskModel(model.encoder, {target.task: model.heads[phase.tasks[0]]})
    card = ws.registry.card(target.task)
    fmt = get_format(card.format)
    scores, examples = {}, {}
    for lang in languages:
        data = ws.data(selection, lang, tokenizer)
        predictions, scores[lang] = evaluate(
            model,
            card,
            fmt,
            data.examples,
            data.features,
            ws.settings(target.task),
            tokenizer.pad_token_id,
            progress=ws.progress,
            description=f"{target.task} {lang}",
            lang=lang,
        )
        examples[lang] = fmt.records(data.examples, predictions, card, lang)
    info = {"run": phase.run.id, "task": target.task, "split": selection.split, "format": card.format}
    return _write_evaluation(path, scores, examples, fmt.recipes(card), **info)


def retrieval_layer(spec: Retrieval, card_layer: int | None, num_layers: int) -> int:
    """The study's layer, else the card's, else XTREME's choice scaled to the depth.

    Layers index `hidden_states`: 0 is the embedding output, i the output of transformer layer i.
    XTREME's `--specific_layer 7` of a 12-layer model reads hidden_states[8]; the paper's layer
    14 of XLM-R Large (24 layers) is hidden_states[15].
    """
    if spec.layer is not None:
        return spec.layer
    if card_layer is not None:
        return card_layer
    return (num_layers * 7) // 12 + 1


def evaluate_retrieval(ws: Workspace, phase: PhaseModel, spec: Retrieval) -> EvalScores:
    """Retrieval scores of a phase's encoder, {lang: {metric: value}}, scored as the benchmark does,
    with the per-query scores of each language written beside them (`EvalScores.examples_file`).

    BUCC test: the mining threshold is chosen on dev and applied to test (recorded as `threshold`);
    BUCC dev (the only split some mirrors have): tuned on dev itself and flagged
    `threshold_tuned_on_scored_data`. LAReQA / Mewsli-X: one pool of every language of the split,
    scored per query language. See `RetrievalFormat.evaluate_split`.
    """
    from xstilts.formats.retrieval import SCORING_VERSION

    card = ws.registry.card(spec.task)
    selection = DataSelection(task=spec.task, split=spec.split, languages=spec.languages, size=spec.size)
    languages = ws.languages(selection)
    detail = [spec.model_dump(), languages, card.version, SCORING_VERSION]
    path = phase.run.eval_path(_eval_name(spec.task, spec.split, detail))
    cached = _cached(path)
    if cached is not None:
        return cached
    model, tokenizer = phase.get()
    layer = retrieval_layer(spec, card.layer, model.encoder.config.num_hidden_layers)
    loaded: dict[tuple[Any, ...], Any] = {}

    def load(split: str, lang: str) -> Any:
        # Mewsli-X gives every language the same two files (one of them holds a million entities):
        # read each set of files once.
        key = tuple(sorted(ws.registry.files(spec.task, split, lang).items()))
        if key not in loaded:
            loaded[key] = ws.registry.load(spec.task, split, lang)
        return loaded[key]

    fmt = get_format(card.format)
    scored = fmt.evaluate_split(
        model.encoder,
        tokenizer,
        card,
        load,
        spec.split,
        languages,
        layer,
        size=spec.size,
        device=ws.device,
        progress=ws.progress,
    )
    scores = {lang: {**s.scores, "layer": float(layer)} for lang, s in scored.items()}
    examples = {lang: s.records for lang, s in scored.items()}
    info = {
        "run": phase.run.id,
        "task": spec.task,
        "split": spec.split,
        "format": card.format,
        "layer": layer,
    }
    return _write_evaluation(path, scores, examples, fmt.recipes(card), **info)
