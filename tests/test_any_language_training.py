"""Any task in any language as training data, alone or mixed, on the real files in ../shared/data."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from xstilts.config.features import FeatureOptions, FeatureSettings
from xstilts.config.formats import get_format
from xstilts.config.registry import TaskRegistry
from xstilts.config.selection import DataSelection
from xstilts.config.training import TrainConfig
from xstilts.engine.workspace import Workspace
from xstilts.training.loop import TrainingTask, train
from xstilts.training.task_model import TaskModel

SELECTIONS = [
    DataSelection(task="panx", split="train", languages=["de", "es"], size=30),  # NER in German/Spanish
    DataSelection(task="tydiqa", split="train", languages=["ko", "sw"], size=10),  # QA in Korean/Swahili
    DataSelection(task="xnli", split="dev", languages=["es", "de"], size=25),  # XNLI dev as NLI data
    DataSelection(task="xcopa", split="dev", languages=["et", "ht"]),  # multilingual reasoning data
]


@pytest.fixture(scope="module")
def workspace(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    registry = TaskRegistry(shared_data)
    return Workspace(tmp_path_factory.mktemp("ws"), registry, None, "cpu", False)


FEATURES = FeatureOptions(max_length=64)


def settings(workspace: Workspace, task: str) -> FeatureSettings:
    return FEATURES.settings(workspace.registry.card(task).format)


@pytest.mark.slow
@pytest.mark.parametrize("selection", SELECTIONS, ids=[s.task for s in SELECTIONS])
def test_selected_languages_are_mixed_in(selection: DataSelection, workspace: Workspace, tiny) -> None:
    task_settings = settings(workspace, selection.task)
    languages = tuple(selection.languages)
    examples, features = workspace.training_data(selection, languages, tiny.tokenizer, task_settings)
    per_language = [workspace.data(selection, lang, tiny.tokenizer, task_settings) for lang in languages]
    sizes = [len(part.examples) for part in per_language]
    if selection.size is not None:
        assert sizes == [selection.size] * len(selection.languages)
    else:  # the whole split of each language (XCOPA validation: 100 each)
        assert sizes == [100, 100]
    assert len(examples) == sum(sizes)
    # the languages really differ: the first language's examples come first, then the second's
    assert examples[: sizes[0]] == per_language[0].examples
    assert examples[sizes[0] :] == per_language[1].examples
    assert per_language[0].examples != per_language[1].examples
    assert {f["example_index"] for f in features} == set(range(len(examples)))


@pytest.mark.slow
def test_subsets_are_nested_and_repeatable(workspace: Workspace, tiny) -> None:
    def ids(size: int, seed: int = 0) -> list[str]:
        selection = DataSelection(task="panx", split="train", languages=["de"], size=size, seed=seed)
        data = workspace.data(selection, "de", tiny.tokenizer, settings(workspace, "panx"))
        return [e.id for e in data.examples]

    small, large = ids(50), ids(100)
    assert set(small) < set(large) and len(set(large)) == 100
    assert ids(50) == small  # the same seed picks the same rows
    assert ids(50, seed=1) != small


@pytest.mark.slow
def test_multi_task_training_over_every_format_in_several_languages(workspace: Workspace, tiny) -> None:
    """The paper's multi-task arm mixes formats: one head each, batches drawn by the sampler."""
    loaded_encoder = copy.deepcopy(tiny.encoder)
    tasks, heads = [], {}
    for selection in SELECTIONS:
        card = workspace.registry.card(selection.task)
        fmt = get_format(card.format)
        task_settings = settings(workspace, selection.task)
        languages = tuple(selection.languages)
        _, features = workspace.training_data(selection, languages, tiny.tokenizer, task_settings)
        tasks.append(TrainingTask(card, fmt, features, task_settings))
        heads[card.name] = fmt.build_head(card, loaded_encoder.config.hidden_size)
    model = TaskModel(loaded_encoder, heads)
    config = TrainConfig(
        learning_rate=1e-3,
        batch_size=4,
        max_steps=12,
        patience=None,
        freeze_word_embeddings=True,
        sampler="uniform",
    )
    result = train(model, tasks, config, tiny.tokenizer.pad_token_id, seed=0, progress=False)
    assert result.steps == 12
    assert set(result.examples_per_task) == {"panx", "tydiqa", "xnli", "xcopa"}
