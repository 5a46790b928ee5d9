"""The encoder a phase starts from, and the encoder a finished run holds, whatever the method.

A full fine-tuning run stores its whole encoder (`checkpoint/encoder/`), loaded as a `path:`
source. A LoRA run stores only its adapter, so its encoder is rebuilt: the encoder its phase
started from (its parent's, the same way), plus its adapter. A phase that starts from a LoRA
parent either merges the parent's adapters into the weights (`merge: true`) or keeps them as
frozen adapters under its own (`merge: false`, stacking).

peft is imported only where a LoRA phase is involved: full fine-tuning never needs it.
"""

from __future__ import annotations

from xstilts.engine.workspace import Workspace
from xstilts.models.sources import LoadedModel
from xstilts.plan.graph import PhaseNode


def trains_adapter(node: PhaseNode) -> bool:
    return node.training is not None and node.training.method == "lora"


def starting_encoder(ws: Workspace, node: PhaseNode) -> LoadedModel:
    """The encoder `node`'s training starts from, with a fresh trainable adapter for a LoRA phase."""
    loaded = _parent_encoder(ws, node)
    if trains_adapter(node):
        from xstilts.training.adapters import add_adapter

        assert node.training is not None
        loaded.encoder = add_adapter(loaded.encoder, node.training.lora, node.phase).to(ws.device)
    return loaded


def run_encoder(ws: Workspace, node: PhaseNode) -> LoadedModel:
    """The encoder `node`'s finished run holds (its adapters frozen, for evaluation or a child)."""
    if not trains_adapter(node):
        return ws.load(node.encoder)
    from xstilts.training.adapters import load_adapter

    loaded = _parent_encoder(ws, node)
    loaded.encoder = load_adapter(loaded.encoder, node.run.checkpoint, node.phase).to(ws.device)
    return loaded


def _parent_encoder(ws: Workspace, node: PhaseNode) -> LoadedModel:
    parent = node.parent
    if parent is None or not trains_adapter(parent):
        return ws.load(node.model)  # the study's model, or a full run's saved encoder
    loaded = run_encoder(ws, parent)
    assert node.training is not None
    if node.training.merge:
        from xstilts.training.adapters import merged

        loaded.encoder = merged(loaded.encoder)
    return loaded
