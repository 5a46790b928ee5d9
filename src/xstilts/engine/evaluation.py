"""Scoring a phase run's model: zero-shot evaluation of a target head, or retrieval.

Evaluations are cached per run: the scores in `evals/<name>.json` (the name is planned, see
`xstilts.plan.graph.Evaluation`), and beside them the per-example scores that statistics over
examples need in `evals/<name>.examples.parquet` (see `xstilts.results.example_files.write_examples_file`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from xstilts.config.formats import get_format
from xstilts.config.study import Retrieval
from xstilts.engine.phase_model import PhaseModel
from xstilts.engine.workspace import Workspace
from xstilts.files import read_json, write_json
from xstilts.plan.graph import Evaluation
from xstilts.plan.retention import weights_deleted
from xstilts.results.example_files import examples_path, write_examples_file
from xstilts.training.loop import evaluate as evaluate_examples
from xstilts.training.task_model import TaskModel


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


def evaluate(ws: Workspace, phase: PhaseModel, evaluation: Evaluation) -> EvalScores:
    """The evaluation's scores, {lang: {metric: value}}, from the run's cache or computed now."""
    path = phase.run.eval_path(evaluation.name)
    cached = _cached(path)
    if cached is not None:
        return cached
    try:
        if evaluation.retrieval is not None:
            return _evaluate_retrieval(ws, phase, evaluation, evaluation.retrieval, path)
        return _evaluate_target(ws, phase, evaluation, path)
    except Exception:
        # A second process on this output may have stored this very evaluation and then deleted
        # the run's weights (checkpoints: keep deletes them only once every planned evaluation is
        # stored) while this one was loading them: the stored scores are the ones it would compute.
        if weights_deleted(phase.run) and (cached := _cached(path)) is not None:
            return cached
        raise


def _evaluate_target(ws: Workspace, phase: PhaseModel, evaluation: Evaluation, path: Path) -> EvalScores:
    """Zero-shot scores of a target run's head in every selected language, with the per-example
    scores of each language written beside them (`EvalScores.examples_file`)."""
    task = evaluation.task
    model, tokenizer = phase.get()
    if task not in model.heads:  # trained on another task's data (XQuAD on SQuAD): its head
        model = TaskModel(model.encoder, {task: model.heads[phase.node.tasks[0]]})
    card, settings = evaluation.card, evaluation.settings
    fmt = get_format(card.format)
    scores, examples = {}, {}
    for lang in evaluation.data.languages:
        data = ws.data(evaluation.data.selection, lang, tokenizer, settings)
        predictions, scores[lang] = evaluate_examples(
            model,
            card,
            fmt,
            data.examples,
            data.features,
            settings,
            tokenizer.pad_token_id,
            progress=ws.progress,
            description=f"{task} {lang}",
            lang=lang,
        )
        examples[lang] = fmt.records(data.examples, predictions, card, lang)
    info = {"run": phase.run.id, "task": task, "split": evaluation.split, "format": card.format}
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


def _evaluate_retrieval(
    ws: Workspace, phase: PhaseModel, evaluation: Evaluation, spec: Retrieval, path: Path
) -> EvalScores:
    """Retrieval scores of a phase's encoder, {lang: {metric: value}}, scored as the benchmark does,
    with the per-query scores of each language written beside them (`EvalScores.examples_file`).

    BUCC test: the mining threshold is chosen on dev and applied to test (recorded as `threshold`);
    BUCC dev (the only split some mirrors have): tuned on dev itself and flagged
    `threshold_tuned_on_scored_data`. LAReQA / Mewsli-X: one pool of every language of the split,
    scored per query language. See `RetrievalFormat.evaluate_split`.
    """
    card = evaluation.card
    languages = list(evaluation.data.languages)
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
