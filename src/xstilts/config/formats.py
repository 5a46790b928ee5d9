"""The task formats' registry: each format's module (in `xstilts.formats`) and what the rest of
xstilts may know of it.

Everything outside `formats/` asks `format_info(card.format)` what a format is (does it train a
head? is it scored by retrieval? does it read long QA contexts?) instead of branching on its name,
and `get_format(name)` for its code. This module imports no torch: the study schema, the planner
and the report read the traits; the format's own module (torch, transformers) is imported only
when its code is asked for.

A new format is its module in `xstilts/formats/` plus one line in FORMATS.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Literal

from xstilts.errors import ConfigError

Level = Literal["sentence", "structured"]


@dataclass(frozen=True)
class FormatInfo:
    name: str
    module: str  # the module that holds the format's code
    attribute: str  # its singleton in that module
    # Fine-tuned with a head (intermediate or target phase); False: scored by retrieval over hidden
    # states, with nothing to train.
    trains: bool
    # Sentence-level (classification, retrieval) or structured prediction (tags, spans): how the
    # report groups targets, after the paper's split of XTREME's tasks.
    level: Level
    # Reads a question and a long context in overlapping windows: the QA feature settings apply
    # (`qa_max_length`, `doc_stride`, `max_query_length`, `max_answer_length`).
    windows: bool = False
    # Bumped when the format's scoring changes in a way that makes earlier cached scores wrong: it
    # is part of the name a retrieval evaluation's scores are cached under.
    scoring_version: int = 1

    @property
    def retrieval(self) -> bool:
        return not self.trains


FORMATS: dict[str, FormatInfo] = {
    info.name: info
    for info in (
        FormatInfo("classification", "xstilts.formats.classification", "CLASSIFICATION", True, "sentence"),
        FormatInfo("multiple_choice", "xstilts.formats.multiple_choice", "MULTIPLE_CHOICE", True, "sentence"),
        FormatInfo("span_qa", "xstilts.formats.span_qa", "SPAN_QA", True, "structured", windows=True),
        FormatInfo("tagging", "xstilts.formats.tagging", "TAGGING", True, "structured"),
        FormatInfo(
            "retrieval", "xstilts.formats.retrieval", "RETRIEVAL", False, "sentence", scoring_version=2
        ),
        FormatInfo("masked_lm", "xstilts.formats.masked_lm", "MASKED_LM", True, "sentence"),
    )
}


def format_info(name: str) -> FormatInfo:
    try:
        return FORMATS[name]
    except KeyError:
        raise ConfigError("format", f"unknown format {name!r} (known: {', '.join(FORMATS)})") from None


def get_format(name: str) -> Any:
    """The format's code. Imported on first use, so that its heavy imports are paid only then."""
    info = format_info(name)
    return getattr(importlib.import_module(info.module), info.attribute)
