"""What executing a node needs besides the node: data read and featurised (cached), models loaded,
the device, and where progress goes."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xstilts.config.features import FeatureSettings
from xstilts.config.formats import get_format
from xstilts.config.registry import TaskRegistry
from xstilts.config.selection import DataSelection, subset_indices, take
from xstilts.config.study import CheckpointConfig
from xstilts.data.feature_cache import cached_features, subset_features
from xstilts.formats.base import Feature
from xstilts.models.sources import LoadedModel, load_model
from xstilts.plan.retention import Keep
from xstilts.training.loop import pick_device


@dataclass
class LanguageData:
    lang: str
    examples: list[Any]
    features: list[Feature]


class Workspace:
    def __init__(
        self,
        out_dir: Path,
        registry: TaskRegistry,
        cache_dir: Path | None,
        device: str = "auto",
        progress: bool = True,
        checkpoint: CheckpointConfig | None = None,
        keep: Keep = "reused",
    ) -> None:
        self.out_dir = Path(out_dir)
        self.registry = registry
        self.cache_dir = cache_dir
        self.device = pick_device(device)
        self.progress = progress
        self.checkpoint = checkpoint or CheckpointConfig()
        self.keep = keep  # checkpoint retention (plan/retention.py)

    def note(self, message: str) -> None:
        """One line on stderr about what a study does now (which runs it trains, which it reuses);
        `--quiet` silences these with the progress bars."""
        if self.progress:
            print(f"xstilts: {message}", file=sys.stderr, flush=True)

    def data(
        self, selection: DataSelection, lang: str, tokenizer: Any, settings: FeatureSettings
    ) -> LanguageData:
        """The selected examples of one language and their features (the file's features are
        cached whole, then subset, so every selection of a file shares them)."""
        card = self.registry.card(selection.task)
        fmt = get_format(card.format)
        all_examples = self.registry.load(selection.task, selection.split, lang)
        size = selection.size_for(lang, len(all_examples))
        keep = subset_indices(len(all_examples), size, selection.offset, selection.seed)
        files = self.registry.files(selection.task, selection.split, lang)
        features = cached_features(fmt, card, files, all_examples, tokenizer, settings, self.cache_dir)
        return LanguageData(lang, take(all_examples, keep), subset_features(features, keep))

    def training_data(
        self, selection: DataSelection, languages: tuple[str, ...], tokenizer: Any, settings: FeatureSettings
    ) -> tuple[list[Any], list[Feature]]:
        """All selected languages of one task concatenated (mixed-language training data)."""
        examples: list[Any] = []
        features: list[Feature] = []
        for lang in languages:
            part = self.data(selection, lang, tokenizer, settings)
            features.extend({**f, "example_index": f["example_index"] + len(examples)} for f in part.features)
            examples.extend(part.examples)
        return examples, features

    def load(self, spec: str) -> LoadedModel:
        loaded = load_model(spec, self.cache_dir)
        loaded.encoder.to(self.device)
        return loaded
