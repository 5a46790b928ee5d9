"""The ranking methods, run on a study's plan through the run cache.

    semb     cosine of the mean sentence embeddings of the intermediate and target training data under
             the pretrained encoder (Poth et al. 2021's SEmb): no training.
    overlap  vocabulary and language overlap of the same data (overlap.py): no model.
    logme    LogME of the target's training labels on each intermediate run's encoder (logme.py): the
             intermediate runs, no target run.
    proxy    a short fine-tuning on the target from each intermediate run (candidates.proxy_node),
             scored on the target's dev data: the intermediate runs plus a fraction of each target run.

Every piece of work is cached under `OUT/ranking/<method>/<hash>.json` with the seconds it took, so a
second `rank` recomputes nothing and still reports what each method cost. Intermediate and proxy runs
are runs of the run cache (`engine.training.ensure_run`): reused when they exist, and a run trained
here is the one `xstilts run` reuses.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import xstilts
from xstilts.config.formats import get_format
from xstilts.engine.evaluation import evaluate
from xstilts.engine.training import ensure_run
from xstilts.engine.workspace import Workspace
from xstilts.errors import XstiltsError
from xstilts.files import read_json, write_json
from xstilts.plan.counts import ExampleCounter
from xstilts.plan.graph import PhaseNode
from xstilts.plan.identity import short_hash
from xstilts.plan.retention import delete_weights, weights_deleted
from xstilts.ranking.candidates import Candidates, Case, dev_evaluation, proxy_node
from xstilts.ranking.features import logme_rows, sample, sentence_embeddings
from xstilts.ranking.file import MethodRanking, TargetScores
from xstilts.ranking.logme import logme
from xstilts.ranking.overlap import overlap, token_counts

NEEDS = {
    "semb": "the pretrained encoder",
    "overlap": "the tokenizer",
    "logme": "the intermediate runs",
    "proxy": "the intermediate runs, then short target runs",
}
_VERSION = 1  # bump when a method's computation changes: cached pieces are then done again


class Ranker:
    def __init__(
        self,
        ws: Workspace,
        found: Candidates,
        examples: int = 500,
        max_rows: int = 8000,
        fraction: float = 0.1,
    ) -> None:
        self.ws, self.found = ws, found
        self.examples, self.max_rows, self.fraction = examples, max_rows, fraction
        self.root = Path(ws.out_dir) / "ranking"
        self.model = found.plan.study.model
        self._pretrained: Any = None
        self._spent: dict[str, float] = {}  # seconds of each cached piece used by the current method

    def _cached(
        self, method: str, key: dict[str, Any], compute: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        key = {**key, "method": method, "version": _VERSION, "code": xstilts.__version__}
        path = self.root / method / f"{short_hash(key)}.json"
        if path.is_file():
            found = read_json(path)
        else:
            started = time.perf_counter()
            value = compute()
            seconds = value.pop("recorded_seconds", 0.0) + time.perf_counter() - started
            found = {"key": key, "value": value, "seconds": seconds}
            write_json(path, found)
        self._spent[path.name] = found["seconds"]
        return found["value"]

    def _data_key(self, node: PhaseNode) -> dict[str, Any]:
        return {
            "data": [data.selection.identity() for data in node.train],
            "versions": {t: c.version for t, c in node.cards.items()},
            "features": {t: s.identity() for t, s in node.features.items()},
            "examples": self.examples,
        }

    def _features(self, node: PhaseNode, tokenizer: Any) -> list[tuple[Any, list[dict[str, Any]]]]:
        """Each training selection's format and its sampled features."""
        found = []
        for data in node.train:
            card = node.cards[data.task]
            _, features = self.ws.training_data(
                data.selection, data.languages, tokenizer, node.features[data.task]
            )
            found.append((get_format(card.format), sample(features, self.examples)))
        return found

    def _needs_weights(self, node: PhaseNode, method: str) -> None:
        """logme and proxy load an intermediate run's encoder: refuse, in one line, one whose weights
        checkpoint retention deleted (`checkpoints: keep none` once its targets were done)."""
        if node.done and weights_deleted(node.run):
            raise XstiltsError(
                f"{node.run.path}: its weights were deleted (checkpoints: keep) and rank --methods "
                f"{method} loads them; delete that directory for rank to train the run again, or rank "
                "with semb and overlap, which need no intermediate run"
            )

    def _pretrained_model(self) -> Any:
        if self._pretrained is None:
            self._pretrained = self.ws.load(self.model)
        return self._pretrained

    # -- the methods: each returns {arm: {seed: score}} and components for one target ----------

    def semb(self, case: Case) -> tuple[dict[str, dict[int, float]], dict[str, dict[str, float]]]:
        def embedding(node: PhaseNode) -> list[float]:
            def compute() -> dict[str, Any]:
                loaded = self._pretrained_model()
                rows = [
                    sentence_embeddings(
                        loaded.encoder, fmt, feats, loaded.tokenizer.pad_token_id, self.ws.device
                    )
                    for fmt, feats in self._features(node, loaded.tokenizer)
                ]
                return {"mean": np.concatenate(rows).mean(axis=0).tolist()}

            return self._cached("semb", {**self._data_key(node), "model": self.model}, compute)["mean"]

        target = np.array(embedding(case.any_node()))
        scores: dict[str, dict[int, float]] = {}
        for (arm, seed), node in self.found.intermediate.items():
            vector = np.array(embedding(node))
            cosine = float(vector @ target / (np.linalg.norm(vector) * np.linalg.norm(target)))
            scores.setdefault(arm, {})[seed] = cosine
        return scores, {}

    def overlap(self, case: Case) -> tuple[dict[str, dict[int, float]], dict[str, dict[str, float]]]:
        def counts(node: PhaseNode) -> dict[int, int]:
            def compute() -> dict[str, Any]:
                tokenizer = self._pretrained_model().tokenizer
                special = set(tokenizer.all_special_ids)
                total: dict[int, int] = {}
                for _, feats in self._features(node, tokenizer):
                    rows = [row for f in feats for row in _token_rows(f["input_ids"])]
                    for token, n in token_counts(rows, special).items():
                        total[token] = total.get(token, 0) + n
                return {"counts": {str(k): v for k, v in total.items()}}

            raw = self._cached("overlap", {**self._data_key(node), "model": self.model}, compute)["counts"]
            return {int(k): v for k, v in raw.items()}

        target = counts(case.any_node())
        scores: dict[str, dict[int, float]] = {}
        components: dict[str, dict[str, float]] = {}
        for (arm, seed), node in self.found.intermediate.items():
            languages = {lang for data in node.train for lang in data.languages}
            found = overlap(counts(node), target, languages, case.languages)
            scores.setdefault(arm, {})[seed] = found.score
            components[arm] = {"vocabulary": found.vocabulary, "languages": found.languages}
        return scores, components

    def logme(self, case: Case) -> tuple[dict[str, dict[int, float]], dict[str, dict[str, float]]]:
        target = case.any_node()
        scores: dict[str, dict[int, float]] = {}
        for (arm, seed), node in self.found.intermediate.items():

            def compute(node: PhaseNode = node) -> dict[str, Any]:
                self._needs_weights(node, "logme")
                model, tokenizer = ensure_run(self.ws, node).get()  # done: this only loads its encoder
                rows, labels = [], []
                for fmt, feats in self._features(target, tokenizer):
                    x, y = logme_rows(
                        model.encoder, fmt, feats, tokenizer.pad_token_id, self.ws.device, self.max_rows
                    )
                    rows.append(x)
                    labels.append(y)
                return {"score": logme(np.concatenate(rows), np.concatenate(labels))}

            key = {**self._data_key(target), "run": node.id, "max_rows": self.max_rows}
            if not node.done:
                ensure_run(self.ws, node)  # its training is the prerequisite, not logme's own cost
            scores.setdefault(arm, {})[seed] = self._cached("logme", key, compute)["score"]
        return scores, {}

    def proxy(self, case: Case) -> tuple[dict[str, dict[int, float]], dict[str, dict[str, float]]]:
        counter = ExampleCounter(self.ws.registry)
        scores: dict[str, dict[int, float]] = {}
        for (arm, seed), node in self.found.intermediate.items():
            if (arm, seed) not in case.nodes:
                continue
            short = proxy_node(case.nodes[(arm, seed)], self.fraction)
            evaluation = dev_evaluation(
                case, short, self.ws.registry, self.found.plan.study.features, counter
            )
            if not node.done:
                ensure_run(self.ws, node)  # the prerequisite, not the proxy's own cost

            def compute(
                short: PhaseNode = short, evaluation: Any = evaluation, node: PhaseNode = node
            ) -> dict[str, Any]:
                if not short.done:
                    self._needs_weights(node, "proxy")
                # A proxy run trained before (its cached score lost) is charged its recorded training.
                earlier = recorded_seconds(short) or 0.0
                phase = ensure_run(self.ws, short)
                scored = evaluate(self.ws, phase, evaluation)
                phase.release()
                if self.ws.keep != "all":  # nothing trains on a proxy run: its score is all rank needs
                    delete_weights(
                        short.run, f"checkpoints: keep {self.ws.keep}: a proxy run, its score is stored"
                    )
                metric = next(iter(get_format(evaluation.card.format).recipes(evaluation.card)))
                value = statistics.fmean(s[metric] for s in scored.values())
                return {"score": value, "metric": metric, "recorded_seconds": earlier}

            key = {"run": short.id, "evaluation": evaluation.name}
            scores.setdefault(arm, {})[seed] = self._cached("proxy", key, compute)["score"]
        return scores, {}

    def run(self, method: str) -> MethodRanking:
        self._spent = {}
        compute = getattr(self, method)
        ranking = MethodRanking(method, NEEDS[method], 0.0, 0.0)
        for case in self.found.cases:
            by_seed, components = compute(case)
            ranking.targets[case.key] = TargetScores(
                case.title,
                case.task,
                case.split,
                scores={arm: statistics.fmean(s.values()) for arm, s in by_seed.items()},
                by_seed={arm: {str(k): v for k, v in s.items()} for arm, s in by_seed.items()},
                components=components,
            )
        ranking.seconds = sum(self._spent.values())
        if method in ("logme", "proxy"):
            ranking.prerequisite_seconds = sum(
                recorded_seconds(node) or 0.0 for node in self.found.intermediate.values()
            )
        return ranking


def _token_rows(input_ids: Any) -> list[list[int]]:
    """A feature's token rows: one, or one per choice (multiple choice)."""
    return [list(r) for r in input_ids] if input_ids and isinstance(input_ids[0], list) else [list(input_ids)]


def recorded_seconds(node: PhaseNode) -> float | None:
    """The training seconds a finished run recorded in its metrics.json."""
    path = node.run.path / "metrics.json"
    if not node.done or not path.is_file():
        return None
    seconds = read_json(path).get("seconds")
    return float(seconds) if isinstance(seconds, int | float) and math.isfinite(seconds) else None
