"""A plan's budget before anything runs: device-hours, disk and peak training memory per phase run.

Worked out from the model's shape (plan/model_shape.py), the plan's example counts, sampled token
lengths (data/lengths.py), the batch and length settings, the retention policy (plan/retention.py)
and a throughput figure (`xstilts calibrate`, or `plan --tokens-per-second`). No torch.

- Time. Tokens processed are padded tokens: each selection's sampled feature lengths, batched as
  the loop batches them (grouped by length in windows of 50 batches for training, sorted for
  evaluation) and capped at max_length. Compute per token scales with the padded length s as
  2 N + 2 L s h (N: parameters outside the embeddings, L layers, h hidden; Kaplan et al. 2020,
  "Scaling Laws for Neural Language Models", table 1), so a throughput measured at one length
  serves others. Each optimiser step adds its fixed cost (clipping, AdamW over every parameter).
- Disk. A run's weights: the encoder in float32 safetensors (what the loop saves) plus the
  tokenizer files, kept or deleted by the retention policy; its evaluations' scores and
  per-example Parquet files, always kept.
- Memory. Weights (float32) + gradients + AdamW's two moments for the trained parameters, the bf16
  copies autocast caches, and activations: L b s (34 h + 5 a s) bytes in 16-bit (Korthikanti et
  al. 2022, "Reducing Activation Recomputation in Large Transformer Models", section 4.1), twice
  that in float32, times ACTIVATION_FACTOR measured on this loop (docs/benchmarks.md).
- Parameter-efficient and checkpointed phases (`method: lora`, `gradient_checkpointing`). A LoRA
  run trains and stores only its adapter and heads: optimiser state for those alone, no weight
  gradients in the backward pass (its compute per token falls from 6 N to 4 N), a run directory of
  a few megabytes. Gradient checkpointing keeps each layer's input instead of its activations and
  runs each layer's forward twice (+2 N).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from xstilts.config.features import FeatureSettings
from xstilts.config.training import TrainConfig
from xstilts.plan.counts import dev_evaluations
from xstilts.plan.graph import PhaseNode, Plan, Selected
from xstilts.plan.model_shape import ModelShape
from xstilts.plan.retention import keeps_weights, parents

GROUP_WINDOW = 50  # batches per length-sorted window (training/batching.py)
ZERO_SHOT_BATCH = 64  # what zero-shot evaluation and retrieval predict with
# Measured (docs/benchmarks.md, estimate check): with the counts below, the activation term needs no
# correction on this loop (mE5-small, batch 16, up to 128 tokens: estimate / measured 0.99-1.00).
ACTIVATION_FACTOR = 1.0
# What a CPU run holds besides its tensors: the tokenizer, the examples and features, the runtime's
# buffers; measured as the constant gap between estimate and peak resident memory, the same on
# random:tiny (383 MB) and mE5-small (397, 398 MB). A GPU's figure is torch's allocation alone: the
# CUDA context (about 0.5 GB) comes on top.
CPU_PROCESS_BYTES = 390_000_000
# Bytes of one evaluated example in `evals/` (scores JSON + per-example Parquet): an upper figure
# (an 80-example XNLI evaluation here wrote 2.6 kB, 33 bytes an example; Parquet compresses larger
# files better); and the small files of every run (config.json, metrics.json, DONE).
RESULT_BYTES_PER_EXAMPLE = 40
RUN_FILES_BYTES = 8_000
# A task head's weights, at most: a hidden x hidden layer and an output layer of up to 20 labels
# (classification; tagging, QA and multiple-choice heads are smaller). Left out of a full run's
# figures (under 0.1% of the encoder); a LoRA run's adapter is no larger than its heads.
HEAD_EXTRA_OUTPUTS = 21
# peft's adapter_config.json beside a LoRA run's adapter weights.
ADAPTER_CONFIG_BYTES = 1_000


@dataclass(frozen=True)
class LengthSample:
    """Feature lengths (tokens, as featurised) of a selection's sampled examples; `measured` False:
    no data or tokenizer, every feature taken as max_length long."""

    lengths: tuple[int, ...]
    features_per_example: float = 1.0
    measured: bool = True
    rows_per_feature: float = 1.0  # sequences per feature: a multiple-choice feature has one per choice


# (task, split, languages, settings) -> the sample; data/lengths.py:TokenLengths.sample.
LengthSource = Callable[[str, str, Sequence[str], FeatureSettings], LengthSample]


@dataclass(frozen=True)
class Throughput:
    """Padded tokens per second on one device: training (forward and backward) and evaluation, the
    fixed cost of an optimiser step, the padded length they were measured at (None: given by hand,
    applied at every length), and the seconds a run takes to load the model and tokenizer."""

    train_tokens_per_second: float
    eval_tokens_per_second: float
    step_seconds: float = 0.0
    length: int | None = None
    load_seconds: float = 0.0
    source: str = ""

    @classmethod
    def given(cls, tokens_per_second: float) -> Throughput:
        # Evaluation is a forward pass: a third of a training step's compute (forward + backward).
        return cls(tokens_per_second, 3 * tokens_per_second, source="--tokens-per-second")


# One figure for every run (given by hand), one per precision (calibrated), or none.
Throughputs = Throughput | dict[str, Throughput] | None


@dataclass(frozen=True)
class Estimate:
    device_hours: float | None  # None: no throughput figure
    disk_bytes: int  # left on disk once the study is over (after retention)
    written_bytes: int  # written in all, weights that retention deletes included
    peak_memory_bytes: int
    training_hours: float | None = None  # of device_hours, the training loop's (dev passes included)

    def as_json(self) -> dict[str, Any]:
        hours = None if self.device_hours is None else round(self.device_hours, 4)
        return {
            "device_hours": hours,
            "disk_bytes": self.disk_bytes,
            "written_bytes": self.written_bytes,
            "peak_memory_bytes": self.peak_memory_bytes,
        }


@dataclass
class Budget:
    runs: dict[str, Estimate]  # by run id
    total: Estimate  # hours and bytes written of the runs to run; disk kept by all; largest peak
    device: str
    keep: str  # the retention policy the disk figures assume
    notes: list[str] = field(default_factory=list)


def flops_per_token(shape: ModelShape, length: float) -> float:
    """Forward compute per token at a padded length (Kaplan et al. 2020)."""
    return 2 * shape.non_embedding_parameters() + 2 * shape.layers * length * shape.hidden


def head_parameters(shape: ModelShape) -> int:
    return shape.hidden * (shape.hidden + HEAD_EXTRA_OUTPUTS)


def adapter_parameters(shape: ModelShape, config: TrainConfig) -> int:
    """The weights a phase's LoRA adapter adds to the encoder (0 for full fine-tuning)."""
    if config.method != "lora":
        return 0
    return shape.lora_parameters(config.lora.target_modules, config.lora.r)


def trained_parameters(shape: ModelShape, config: TrainConfig, tasks: int) -> int:
    """What the optimiser updates: a LoRA phase's adapter and heads, or the encoder (less frozen
    word embeddings) for full fine-tuning, whose heads are left out (see HEAD_EXTRA_OUTPUTS)."""
    if config.method == "lora":
        return adapter_parameters(shape, config) + tasks * head_parameters(shape)
    frozen = shape.word_embedding_parameters if config.freeze_word_embeddings else 0
    return shape.parameter_count() - frozen


def compute_factor(config: TrainConfig) -> float:
    """A training token's compute against full fine-tuning's (the calibrated figure): forward 2 N,
    backward 4 N of which half is weight gradients, which frozen weights (LoRA) do not need;
    gradient checkpointing runs the forward once more."""
    flops = 4.0 if config.method == "lora" else 6.0
    if config.gradient_checkpointing:
        flops += 2.0
    return flops / 6.0


def padded_mean(lengths: Sequence[int], batch: int, population: int, window: int | None) -> float:
    """Mean padded length per feature when `population` features like `lengths` are batched by
    `batch`, each batch padded to its longest: sorted inside windows of `window` features (None:
    all, as evaluation sorts), or in random order (`window` 0). The sample stands for the
    population: a batch covers batch / window of a window's lengths, so the sample is cut in
    chunks covering the same share."""
    if not lengths:
        return 0.0
    ordered = list(lengths)
    random.Random(0).shuffle(ordered)
    if window == 0:
        chunks = [ordered[i : i + batch] for i in range(0, len(ordered), batch)]
        return sum(max(c) * len(c) for c in chunks) / len(ordered)
    span = min(population, window) if window else population
    k = len(ordered)
    if k >= span:  # the sample holds whole windows: batch it as the loop does
        windows = [sorted(ordered[i : i + span]) for i in range(0, k, span)]
        chunk = batch
    else:
        windows, chunk = [sorted(ordered)], max(1, round(batch * k / max(span, 1)))
    padded = 0
    for part in windows:
        for i in range(0, len(part), chunk):
            piece = part[i : i + chunk]
            padded += max(piece) * len(piece)
    return padded / k


def resolved_precision(config: TrainConfig | None, device: str) -> str:
    precision = config.precision if config is not None else "auto"
    if precision == "auto":
        return "bf16" if device == "cuda" else "fp32"
    return precision


class _Estimator:
    def __init__(
        self, plan: Plan, shape: ModelShape, lengths: LengthSource, throughput: Throughputs, device: str
    ) -> None:
        self.plan, self.shape, self.lengths = plan, shape, lengths
        self.throughputs, self.device = throughput, device
        self.throughput: Throughput | None = None  # the node's, set by `estimate`
        self.uncalibrated: set[str] = set()  # precisions without a throughput figure
        self.rows = 1.0  # set by `training`
        self.assumed: set[str] = set()  # selections without sampled lengths (max_length taken)
        self.parent_ids = parents(plan)

    def sample(self, data: Selected, settings: FeatureSettings) -> LengthSample:
        found = self.lengths(data.task, data.selection.split, data.languages, settings)
        if not found.measured:
            self.assumed.add(f"{data.task}/{data.selection.split}")
        return found

    def seconds(self, tokens: float, length: float, train: bool) -> float:
        assert self.throughput is not None
        rate = self.throughput.train_tokens_per_second if train else self.throughput.eval_tokens_per_second
        scale = 1.0
        if self.throughput.length is not None:
            scale = flops_per_token(self.shape, length) / flops_per_token(self.shape, self.throughput.length)
        return tokens * scale / rate

    def evaluation_seconds(
        self, data: Selected, settings: FeatureSettings, batch: int, times: int = 1
    ) -> float:
        found = self.sample(data, settings)
        features = (data.examples or 0) * found.features_per_example * times
        padded = padded_mean(found.lengths, batch, max(1, round(features)), None)
        return self.seconds(features * found.rows_per_feature * padded, padded, train=False)

    def training(self, node: PhaseNode) -> tuple[float, int]:
        """Seconds of the training loop (dev passes included) and the longest batch's length."""
        config = node.training
        assert config is not None
        total = sum(d.examples or 0 for d in node.train)
        seconds, longest = 0.0, 0
        self.rows = 1.0  # the most sequences one feature of this run holds (multiple choice)
        for data in node.train:
            found = self.sample(data, node.features[data.task])
            share = (node.train_cost or 0) * (data.examples or 0) / max(1, total)
            features = share * found.features_per_example
            window = GROUP_WINDOW * config.batch_size if config.group_by_length else 0
            padded = padded_mean(found.lengths, config.batch_size, max(1, round(features)), window)
            longest = max(longest, max(found.lengths))
            self.rows = max(self.rows, found.rows_per_feature)
            if self.throughput is not None:
                tokens = features * found.rows_per_feature * padded
                seconds += compute_factor(config) * self.seconds(tokens, padded, train=True)
        if self.throughput is not None:
            steps = math.ceil((node.train_cost or 0) / (config.batch_size * config.grad_accumulation))
            # An optimiser step's fixed cost (clipping, AdamW) scales with what it updates.
            updated = trained_parameters(self.shape, config, self.tasks(node)) / self.shape.parameter_count()
            seconds += steps * self.throughput.step_seconds * min(1.0, updated)
            if node.dev is not None:
                passes = dev_evaluations(node.train_examples, config)
                seconds += self.evaluation_seconds(
                    node.dev, node.features[node.dev.task], config.eval_batch_size, passes
                )
        return seconds, longest

    @staticmethod
    def tasks(node: PhaseNode) -> int:
        return len({data.task for data in node.train})

    def memory(self, node: PhaseNode, longest: int) -> int:
        """Peak bytes while the run trains (or, for the pretrained model, evaluates)."""
        shape, params = self.shape, self.shape.parameter_count()
        precision = resolved_precision(node.training, self.device)
        cast_copy = 2 * shape.non_embedding_parameters() if precision == "bf16" else 0
        lengths = [self.sample(e.data, e.settings).lengths for e in node.evaluations]
        eval_length = max((max(found) for found in lengths), default=0)
        element = 2 if precision == "bf16" else 4
        # Inference keeps one layer's activations at a time: hidden states, attention scores.
        inference = ZERO_SHOT_BATCH * eval_length * (8 * shape.hidden + shape.heads * eval_length) * element
        evaluating = 4 * params + cast_copy + inference
        if self.device == "cpu":
            evaluating += CPU_PROCESS_BYTES
        config = node.training
        if config is None:
            return evaluating
        trained = trained_parameters(shape, config, self.tasks(node))
        adapter = adapter_parameters(shape, config)
        # Weights (a LoRA phase's adapter on top), then gradients and AdamW's two moments of what trains.
        states = 4 * (params + adapter) + 4 * trained + 8 * trained + cast_copy
        if self.device == "cpu":
            states += CPU_PROCESS_BYTES
            if node.dev is not None:  # the best weights so far, copied to host memory
                states += 4 * (trained if config.method == "lora" else params)
        sequences = config.batch_size * self.rows
        per_layer = sequences * longest * (34 * shape.hidden + 5 * shape.heads * longest)
        if config.gradient_checkpointing:
            # Each layer's input is kept; one layer's activations at a time are rebuilt for its backward.
            kept = shape.layers * sequences * longest * shape.hidden * element
            activations = kept + ACTIVATION_FACTOR * per_layer * element / 2
        else:
            activations = ACTIVATION_FACTOR * shape.layers * per_layer * element / 2
        return max(evaluating, round(states + activations))

    def disk(self, node: PhaseNode) -> tuple[int, int]:
        """Bytes the run leaves on disk under the study's retention policy, and bytes it writes."""
        examples = sum(e.data.examples or 0 for e in node.evaluations)
        results = RUN_FILES_BYTES + RESULT_BYTES_PER_EXAMPLE * examples
        if node.phase == "pretrained":
            return results, results
        config = node.training
        if config is not None and config.method == "lora":  # the adapter and heads, no encoder
            weights = 4 * trained_parameters(self.shape, config, self.tasks(node)) + ADAPTER_CONFIG_BYTES
        else:
            weights = 4 * self.shape.parameter_count() + self.shape.tokenizer_bytes
        keep = self.plan.study.checkpoints.keep
        kept = weights if keeps_weights(node, keep, node.id in self.parent_ids) else 0
        return results + kept, results + weights

    def estimate(self, node: PhaseNode) -> Estimate:
        precision = resolved_precision(node.training, self.device)
        if isinstance(self.throughputs, dict):
            self.throughput = self.throughputs.get(precision)
            if self.throughput is None and self.throughputs and not node.done:
                self.uncalibrated.add(precision)
        else:
            self.throughput = self.throughputs
        seconds, longest = self.training(node) if node.training is not None else (0.0, 0)
        training = seconds
        if self.throughput is not None:
            if node.training is not None or node.evaluations:
                seconds += self.throughput.load_seconds  # the run loads its model once
            for evaluation in node.evaluations:
                seconds += self.evaluation_seconds(evaluation.data, evaluation.settings, ZERO_SHOT_BATCH)
        kept, written = self.disk(node)
        if self.throughput is None:
            return Estimate(None, kept, written, self.memory(node, longest))
        return Estimate(seconds / 3600, kept, written, self.memory(node, longest), training / 3600)


def estimate_plan(
    plan: Plan, shape: ModelShape, lengths: LengthSource, throughput: Throughputs, device: str
) -> Budget:
    """Every run's estimate, and the study's: hours and bytes written of the runs still to run,
    bytes on disk at the end (every run), the largest peak memory."""
    estimator = _Estimator(plan, shape, lengths, throughput, device)
    runs = {node.id: estimator.estimate(node) for node in plan.nodes}
    todo = [runs[node.id] for node in plan.nodes if not node.done] or list(runs.values())
    known = all(e.device_hours is not None for e in todo)
    hours = sum(e.device_hours or 0.0 for e in todo) if known else None
    total = Estimate(
        hours,
        sum(e.disk_bytes for e in runs.values()),
        sum(e.written_bytes for e in todo),
        max(e.peak_memory_bytes for e in todo),
    )
    notes = []
    if estimator.uncalibrated:
        notes.append(f"no throughput figure for precision {', '.join(sorted(estimator.uncalibrated))}")
    if estimator.assumed:
        notes.append(
            "token lengths not sampled (data not present): every feature counted at max_length, one "
            "sequence each (an upper bound, except that a multiple-choice task reads one per choice) "
            f"for: {', '.join(sorted(estimator.assumed))}"
        )
    return Budget(runs, total, device, plan.study.checkpoints.keep, notes)


def wall_hours(plan: Plan, budget: Budget, workers: int) -> float | None:
    """Hours until the study is done on `workers` devices (`run --executor ray` over a cluster of
    that many GPUs): the pretrained model's unit first, then the units of arm x seed side by side,
    longest first, each on the device that frees up first (a run two units share is counted in the
    first). None without a throughput figure. Loading data and waiting on shared runs' locks are
    not counted: a lower bound of the real schedule, and the figure to compare with hours / workers."""
    first, *units = plan.units()
    counted: set[str] = set()

    def hours(unit: list[Any]) -> float | None:
        total = 0.0
        for step in unit:
            if step.node.id in counted or step.node.done:
                continue
            counted.add(step.node.id)
            found = budget.runs[step.node.id].device_hours
            if found is None:
                return None
            total += found
        return total

    start = hours(first)
    lengths = [hours(unit) for unit in units]
    if start is None or any(h is None for h in lengths):
        return None
    free = [start] * max(1, workers)
    for length in sorted((h or 0.0 for h in lengths), reverse=True):
        free.sort()
        free[0] += length
    return max(free)
