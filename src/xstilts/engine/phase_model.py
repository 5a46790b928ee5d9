"""A phase run's model for evaluation: the one just trained, or loaded from its checkpoint on demand."""

from __future__ import annotations

from typing import Any

from xstilts.config.formats import get_format
from xstilts.engine.encoders import run_encoder
from xstilts.engine.workspace import Workspace
from xstilts.plan.graph import PhaseNode
from xstilts.plan.run_dir import RunDir
from xstilts.training.task_model import TaskModel, load_heads


class PhaseModel:
    def __init__(
        self, ws: Workspace, node: PhaseNode, model: TaskModel | None = None, tokenizer: Any = None
    ) -> None:
        self.ws, self.node = ws, node
        self._model, self._tokenizer = model, tokenizer

    @property
    def run(self) -> RunDir:
        return self.node.run

    def get(self) -> tuple[TaskModel, Any]:
        """The encoder with the run's trained heads (none for the pretrained model), in eval mode."""
        if self._model is None:
            loaded = run_encoder(self.ws, self.node)
            heads = {}
            for name in self.node.tasks:
                card = self.node.cards[name]
                heads[name] = get_format(card.format).build_head(card, loaded.encoder.config.hidden_size)
            if heads:
                load_heads(self.node.run.checkpoint, heads)
            self._model = TaskModel(loaded.encoder, heads).to(self.ws.device).eval()
            self._tokenizer = loaded.tokenizer
        return self._model, self._tokenizer

    def release(self) -> None:
        self._model = self._tokenizer = None
