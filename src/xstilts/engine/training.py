"""Making sure a node's run exists: reuse it, wait for another process training it, or train it.

A run is trained in a staging directory and renamed into place when complete (plan/run_dir.py),
under a lock that two processes on one output directory share; a killed run resumes from the
training state it saved.
"""

from __future__ import annotations

import os
import socket

import torch

from xstilts.config.formats import get_format
from xstilts.engine.encoders import starting_encoder, trains_adapter
from xstilts.engine.phase_model import PhaseModel
from xstilts.engine.workspace import Workspace
from xstilts.files import write_json
from xstilts.plan.graph import PhaseNode
from xstilts.training.loop import TrainingTask, train
from xstilts.training.resume import STATE_FILE, TrainingCheckpoint
from xstilts.training.task_model import TaskModel, save_checkpoint, save_heads


def ensure_run(ws: Workspace, node: PhaseNode) -> PhaseModel:
    """The node's run, trained now if it is not on disk yet."""
    if node.phase == "pretrained":
        node.run.ensure_exists()
        return PhaseModel(ws, node)
    if node.run.done:
        ws.note(f"reuse {node.run.path.name}")
        return PhaseModel(ws, node)
    with node.run.lock():
        if node.run.done:  # another process trained it while this one waited for the lock
            ws.note(f"reuse {node.run.path.name} (trained by another process meanwhile)")
            return PhaseModel(ws, node)
        resuming = (node.run.resume_dir / STATE_FILE).is_file()
        ws.note(f"train {node.run.path.name}" + (" (resuming from its saved state)" if resuming else ""))
        return _train_and_commit(ws, node)


def _train_and_commit(ws: Workspace, node: PhaseNode) -> PhaseModel:
    """Fine-tune the parent's encoder (or a LoRA adapter on it) with fresh heads on the node's tasks
    (several: multi-task)."""
    assert node.training is not None and node.seed is not None
    run = node.run
    torch.manual_seed(node.seed)  # a fresh adapter starts from the run's seed
    loaded = starting_encoder(ws, node)
    training: dict[str, TrainingTask] = {}
    for data in node.train:  # selections of one task (e.g. two languages) train one head together
        card, settings = node.cards[data.task], node.features[data.task]
        _, features = ws.training_data(data.selection, data.languages, loaded.tokenizer, settings)
        if data.task in training:
            training[data.task].features.extend(features)
        else:
            training[data.task] = TrainingTask(card, get_format(card.format), features, settings)
    if node.dev is not None:
        dev = node.dev
        dev_examples, dev_features = ws.training_data(
            dev.selection, dev.languages, loaded.tokenizer, node.features[dev.task]
        )
        dev_task = training[dev.task]
        dev_task.dev_examples, dev_task.dev_features = dev_examples, dev_features
        dev_task.dev_language = dev.languages[0] if len(dev.languages) == 1 else None
    torch.manual_seed(node.seed)  # fresh heads start from the run's seed
    heads = {
        name: t.format.build_head(t.card, loaded.encoder.config.hidden_size) for name, t in training.items()
    }
    model = TaskModel(loaded.encoder, heads).to(ws.device)
    state = TrainingCheckpoint(
        run.resume_dir / STATE_FILE, ws.checkpoint.every_steps, ws.checkpoint.every_seconds
    )
    result = train(
        model,
        list(training.values()),
        node.training,
        loaded.tokenizer.pad_token_id,
        node.seed,
        progress=ws.progress,
        checkpoint=state,
    )

    staging = run.staging()
    if trains_adapter(node):  # the adapter and heads; the encoder is rebuilt from the parent's
        from xstilts.training.adapters import save_adapter

        save_adapter(model.encoder, staging / "checkpoint", node.phase)
        save_heads(staging / "checkpoint", model)
    else:
        save_checkpoint(staging / "checkpoint", model, loaded.tokenizer)
    config = {"kind": node.phase, "id": run.id, "parent_spec": node.model, **run.identity}
    write_json(staging / "config.json", config)
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
            # What trained (a LoRA run: its adapter and heads) out of the model's weights.
            "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
            "parameters": sum(p.numel() for p in model.parameters()),
        },
    )
    run.commit(staging)
    return PhaseModel(ws, node, model.eval(), loaded.tokenizer)
