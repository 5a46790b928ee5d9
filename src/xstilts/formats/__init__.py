"""The six task formats. `get_format(name)` is the only place that maps a card to its code."""

from __future__ import annotations

from typing import Any

from xstilts.errors import ConfigError


def get_format(name: str) -> Any:
    # Imported lazily so that a format's heavy imports are paid only when it is used.
    if name == "classification":
        from xstilts.formats.classification import CLASSIFICATION

        return CLASSIFICATION
    if name == "multiple_choice":
        from xstilts.formats.multiple_choice import MULTIPLE_CHOICE

        return MULTIPLE_CHOICE
    if name == "span_qa":
        from xstilts.formats.span_qa import SPAN_QA

        return SPAN_QA
    if name == "tagging":
        from xstilts.formats.tagging import TAGGING

        return TAGGING
    if name == "retrieval":
        from xstilts.formats.retrieval import RETRIEVAL

        return RETRIEVAL
    if name == "masked_lm":
        from xstilts.formats.masked_lm import MASKED_LM

        return MASKED_LM
    raise ConfigError("format", f"unknown format {name!r}")
