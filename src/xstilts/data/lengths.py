"""Token lengths of a task's examples, sampled cheaply for the plan's budget (no torch).

Up to `SAMPLE` evenly spaced examples of a file are tokenised with the model's fast tokenizer
(the `tokenizers` library, which needs no torch) and kept as the lengths of their parts: one
sequence of two segments per classification example, one per choice of a multiple-choice example,
question and context of a QA example (cut into windows as featurising does), the sub-word count of
a tagged sentence or a text (cut into windows of `max_length`), each query and candidate of a
retrieval corpus. The parts are cached per file in `<cache>/lengths/` (keyed by the files' size and
time and the tokenizer), and turned into feature lengths for given settings on demand, so a changed
`max_length` needs no new tokenising.

The featurisers (formats/) are the truth; this mirrors their length rules closely enough for a
budget (special tokens: 2 around one segment, 4 around two, as XLM-R writes them).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xstilts.config.features import FeatureSettings
from xstilts.config.model_source import default_cache_dir, split_spec
from xstilts.config.registry import TaskRegistry
from xstilts.data.examples import (
    ClassificationExample,
    MultipleChoiceExample,
    QAExample,
    RetrievalCorpus,
    TaggingExample,
    TextExample,
)
from xstilts.errors import ConfigError
from xstilts.files import read_json, write_json
from xstilts.plan.estimate import LengthSample
from xstilts.plan.model_shape import _hf_cache_dir

SAMPLE = 1000  # examples tokenised per file: enough for a mean within a few per cent
VERSION = 2  # bump when the parts below change meaning: older cache files are then ignored

# A part: (kind, first, second, rows). pair: one sequence of one or two segments, truncated at
# max_length; chunk: one token stream cut into windows of max_length; window: question and context,
# the context cut into overlapping windows (span QA). rows: sequences the model reads for each of
# its features (a multiple-choice feature is one row per choice, padded to the longest).
Part = tuple[str, int, int, int]


def tokenizer_file(spec: str, cache_dir: Path | None = None) -> tuple[Path | None, str]:
    """The fast tokenizer file of a model source, and what it is. Sources whose tokenizer is not on
    this machine are measured with XLM-R's (the vocabulary of every built-in model and XLM-R's
    family); None when not even that is installed."""
    scheme, rest = split_spec(spec)
    directory: Path | None = None
    if scheme == "path":
        directory = Path(rest).expanduser()
    elif scheme == "hf":
        directory = _hf_cache_dir(rest.split("@")[0])
    if directory is not None and (directory / "tokenizer.json").is_file():
        return directory / "tokenizer.json", f"{spec}'s tokenizer"
    from xstilts.models.presets import xlmr_tokenizer_json

    try:
        path = xlmr_tokenizer_json("token lengths")
    except ConfigError:
        return None, "no tokenizer installed"
    note = "XLM-R's tokenizer" + ("" if scheme in ("random", "bundled") else f" (standing in for {spec}'s)")
    return path, note


def _sample_indices(n: int, k: int) -> list[int]:
    return sorted({(i * n) // k for i in range(k)}) if n > k else list(range(n))


class TokenLengths:
    """Sampled token lengths per (task, split, language), cached; `sample` is what `plan` asks."""

    def __init__(
        self,
        registry: TaskRegistry,
        tokenizer: Path | None,
        cache_dir: Path | None = None,
        sample: int = SAMPLE,
    ) -> None:
        self.registry = registry
        self.tokenizer_path = tokenizer
        self.cache_dir = (cache_dir or default_cache_dir()) / "lengths"
        self.size = sample
        self._tokenizer: Any = None
        self._parts: dict[tuple[str, str, str], tuple[list[Part], float] | None] = {}

    @property
    def tokenizer(self) -> Any:
        """The fast tokenizer, loaded on first use (a warm cache needs none)."""
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            self._tokenizer = Tokenizer.from_file(str(self.tokenizer_path))
        return self._tokenizer

    def _encode(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def _encode_words(self, sentences: Sequence[Sequence[str]]) -> list[int]:
        words = [list(sentence) for sentence in sentences]
        encoded = self.tokenizer.encode_batch(words, is_pretokenized=True, add_special_tokens=False)
        return [len(e.ids) for e in encoded]

    def _measure(self, loaded: Any) -> tuple[list[Part], float]:
        """The parts of the sampled examples, and how many counted examples they stand for (a
        retrieval corpus counts its queries but encodes queries and candidates alike)."""
        if isinstance(loaded, RetrievalCorpus):
            texts = [*loaded.queries, *loaded.candidates]
            chosen = [texts[i] for i in _sample_indices(len(texts), self.size)]
            parts = [("pair", n, 0, 1) for n in self._encode(chosen)]
            return parts, len(parts) * len(loaded.queries) / max(1, len(texts))
        examples = [loaded[i] for i in _sample_indices(len(loaded), self.size)]
        if not examples:
            return [], 0.0
        first, count = examples[0], float(len(examples))
        parts: list[Part] = []
        if isinstance(first, ClassificationExample):
            a = self._encode([e.text_a for e in examples])
            b = self._encode([e.text_b or "" for e in examples])
            return [("pair", x, y, 1) for x, y in zip(a, b, strict=True)], count
        if isinstance(first, MultipleChoiceExample):
            contexts = self._encode([e.context for e in examples])
            for example, context in zip(examples, contexts, strict=True):
                answers = self._encode([f"{example.question} {choice}" for choice in example.choices])
                parts.append(("pair", context, max(answers, default=0), len(answers)))
            return parts, count
        if isinstance(first, QAExample):
            questions = self._encode([e.question for e in examples])
            contexts = self._encode([e.context for e in examples])
            return [("window", q, c, 1) for q, c in zip(questions, contexts, strict=True)], count
        if isinstance(first, TaggingExample):
            return [("chunk", n, 0, 1) for n in self._encode_words([e.tokens for e in examples])], count
        if isinstance(first, TextExample):
            return [("chunk", n, 0, 1) for n in self._encode([e.text for e in examples])], count
        raise TypeError(f"no length rule for {type(first).__name__}")

    def _key(self, files: dict[str, Path]) -> str:
        stats = [
            [name, str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns]
            for name, p in sorted(files.items())
        ]
        tokenizer = self.tokenizer_path
        detail = [VERSION, self.size, stats, str(tokenizer), tokenizer.stat().st_size if tokenizer else None]
        return hashlib.sha256(json.dumps(detail).encode()).hexdigest()[:24]

    def parts(self, task: str, split: str, lang: str, loaded: Any = None) -> tuple[list[Part], float] | None:
        """The sampled parts of one file (cached), or None when its data is not present. `loaded`:
        the file's examples when the caller has them already (see `SamplingRegistry`)."""
        key = (task, split, lang)
        if key in self._parts:
            return self._parts[key]
        files = self.registry.files(task, split, lang)
        if self.tokenizer_path is None or not all(p.is_file() for p in files.values()):
            self._parts[key] = None
            return None
        path = self.cache_dir / f"{task}-{split}-{lang}-{self._key(files)}.json"
        if path.is_file():
            saved = read_json(path)
            found: tuple[list[Part], float] = ([tuple(p) for p in saved["parts"]], saved["examples"])  # type: ignore[misc]
        else:
            found = self._measure(self.registry.load(task, split, lang) if loaded is None else loaded)
            write_json(path, {"version": VERSION, "parts": [list(p) for p in found[0]], "examples": found[1]})
        self._parts[key] = found
        return found

    def sample(
        self, task: str, split: str, languages: Sequence[str], settings: FeatureSettings
    ) -> LengthSample:
        """Feature lengths of a selection's sampled examples (its languages pooled, each language's
        sample counted alike), or max_length for every feature when no language's data is present
        (then the plan's hours are an upper bound)."""
        lengths: list[int] = []
        per_example: list[float] = []
        rows: list[int] = []
        for lang in languages:
            found = self.parts(task, split, lang)
            if found is None or not found[0]:
                continue
            parts, examples = found
            features = [n for part in parts for n in feature_lengths(part, settings)]
            lengths.extend(features)
            rows.extend(part[3] for part in parts)
            per_example.append(len(features) / max(examples, 1e-9))
        if not lengths:
            return LengthSample((settings.max_length,), 1.0, measured=False)
        mean = sum(per_example) / len(per_example)
        return LengthSample(tuple(lengths), mean, measured=True, rows_per_feature=sum(rows) / len(rows))


def feature_lengths(part: Part, settings: FeatureSettings) -> list[int]:
    """The tokens of each feature one part becomes, as the featurisers cut it."""
    kind, first, second, _ = part
    limit = settings.max_length
    if kind == "pair":
        return [min(limit, first + second + (4 if second else 2))]
    if kind == "chunk":
        room = max(1, limit - 2)
        windows = max(1, math.ceil(first / room))
        return [limit] * (windows - 1) + [first - room * (windows - 1) + 2]
    question = min(first, settings.max_query_length)
    room = max(1, limit - question - 4)
    step = max(1, room - settings.doc_stride)
    windows = 1 if second <= room else 1 + math.ceil((second - room) / step)
    last = second - step * (windows - 1) if windows > 1 else second
    return [limit] * (windows - 1) + [question + last + 4]


class SamplingRegistry:
    """A registry whose `load` also samples the loaded file's token lengths: planning reads every
    file once to count its examples, and the budget then needs no second read."""

    def __init__(self, registry: TaskRegistry, lengths: TokenLengths) -> None:
        self._registry, self._lengths = registry, lengths

    def __getattr__(self, name: str) -> Any:
        return getattr(self._registry, name)

    def load(self, name: str, split: str, lang: str) -> Any:
        loaded = self._registry.load(name, split, lang)
        self._lengths.parts(name, split, lang, loaded)
        return loaded
