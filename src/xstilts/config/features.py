"""How examples become features: the study's `features:` options and one task's resolved settings.

Two things, two names: `FeatureOptions` is what a study file says (a QA length beside the length
of everything else); `FeatureSettings` is what one task's features are made with, after the
options are applied to its format. The settings are part of a run's identity and of the feature
cache's key (they change the features).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from xstilts.config.formats import format_info


@dataclasses.dataclass(frozen=True)
class FeatureSettings:
    """Featurisation knobs of one task; part of a run's identity (they change the features)."""

    max_length: int = 128
    doc_stride: int = 128  # span QA: tokens of overlap budget between windows of a long context
    max_query_length: int = 64  # span QA: questions are cut to this many tokens
    max_answer_length: int = 30  # span QA decoding: longest answer span in tokens
    n_best: int = 20  # span QA decoding: start/end candidates considered

    def identity(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class FeatureOptions(BaseModel):
    """The study's `features:` key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_length: int = Field(128, ge=8)
    qa_max_length: int = Field(384, ge=16)
    doc_stride: int = Field(128, ge=0)
    max_query_length: int = Field(64, ge=1)
    max_answer_length: int = Field(30, ge=1)

    def settings(self, fmt: str) -> FeatureSettings:
        """The settings of a task of format `fmt`: formats that read long contexts in windows (QA)
        get `qa_max_length`."""
        length = self.qa_max_length if format_info(fmt).windows else self.max_length
        return FeatureSettings(
            max_length=length,
            doc_stride=self.doc_stride,
            max_query_length=self.max_query_length,
            max_answer_length=self.max_answer_length,
        )

    def check_windows(self) -> str | None:
        """What is wrong with the QA window settings, if anything."""
        # `<s> question </s></s> context </s>`: up to 4 special tokens around the two segments.
        room = self.qa_max_length - self.max_query_length - 4
        if self.doc_stride >= room:
            return (
                f"{self.doc_stride} must be smaller than qa_max_length - max_query_length - 4 = {room} "
                "(the context tokens of a QA window)"
            )
        return None
