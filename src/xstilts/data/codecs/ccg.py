"""CCG supertags from CCGbank (Hockenmaier & Steedman 2007, LDC2005T13): one tag per word.

Two input forms, told apart by the file's first line:

* CCGbank's own AUTO files, concatenated (`cat data/AUTO/00/*.auto > wsj00.auto`): per sentence
  a header `ID=wsj_0001.1 PARSER=GOLD NUMPARSE=1`, then the derivation on one line, whose leaves
  read `(<L N/N NNP NNP Pierre N_73/N_73>)`: category, POS, original POS, word, predicate-argument
  category. The words and leaf categories, in order, are the sentence and its supertags.
* The C&C / EasyCCG `.stagged` form: one sentence per line, `word|POS|supertag` tokens separated
  by spaces; lines of `#` comments (C&C writes a few at the top) are skipped.

Tags are category *ranks*, not category strings: a task card must list its labels, and the
category inventory of CCGbank can only be known from the (licensed) data. So the inventory is
computed from the training file, as the supertagging literature does (Clark & Curran 2007: the
425 categories seen at least 10 times in sections 02-21): categories seen at least `min_count`
times there, most frequent first (ties by category), at most `max_categories` of them. A word's
tag is the rank of its category in that list (`"0"` for the most frequent) and `other_label` for
any other category. The dev and test splits name the training file as their `train` file, so all
splits share one inventory. Scores are token accuracy, the usual supertagging metric.

PTB bracket tokens (`-LRB-`, `-RCB-`, ...) become the brackets themselves: a multilingual
encoder has seen `(` in pretraining, not `-LRB-`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from xstilts.data.codecs._files import no_records, numbered_lines, require_file
from xstilts.data.examples import TaggingExample
from xstilts.errors import ConfigError, DataFormatError

_LEAF = re.compile(r"\(<L (\S+) (\S+) (\S+) (\S+) (\S+)>\)")
_PTB_BRACKETS = {"-LRB-": "(", "-RRB-": ")", "-LCB-": "{", "-RCB-": "}", "-LSB-": "[", "-RSB-": "]"}

Sentence = tuple[str, tuple[str, ...], tuple[str, ...]]  # id, words, categories


def read_ccg_supertags(
    path: Path,
    train: Path | None = None,
    max_categories: int = 425,
    min_count: int = 10,
    other_label: str = "other",
) -> list[TaggingExample]:
    """Sentences of `path` with category-rank tags; the inventory comes from `train` (or `path`)."""
    path = require_file(path)
    if isinstance(max_categories, bool) or not isinstance(max_categories, int) or max_categories < 1:
        raise ConfigError(
            "reader option max_categories", f"must be a positive integer, got {max_categories!r}"
        )
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise ConfigError("reader option min_count", f"must be a positive integer, got {min_count!r}")
    sentences = _read_sentences(path)
    train_path = require_file(train) if train is not None else path
    same_file = train_path.resolve() == path.resolve()
    inventory = category_inventory(
        sentences if same_file else _read_sentences(train_path), max_categories, min_count
    )
    rank = {category: str(i) for i, category in enumerate(inventory)}
    if other_label in rank.values():
        raise ConfigError("reader option other_label", f"{other_label!r} is also a category rank")
    return [
        TaggingExample(sentence_id, words, tuple(rank.get(category, other_label) for category in categories))
        for sentence_id, words, categories in sentences
    ]


def category_inventory(sentences: list[Sentence], max_categories: int, min_count: int) -> list[str]:
    """Categories seen at least `min_count` times, most frequent first (ties by name), at most
    `max_categories` of them."""
    counts = Counter(category for _, _, categories in sentences for category in categories)
    frequent = sorted((c for c, n in counts.items() if n >= min_count), key=lambda c: (-counts[c], c))
    return frequent[:max_categories]


def _read_sentences(path: Path) -> list[Sentence]:
    lines = [(line, text) for line, text in numbered_lines(path) if text.strip()]
    if not lines:
        raise no_records(path, "sentences")
    first = lines[0][1].lstrip()
    sentences = list(_auto(path, lines) if first.startswith(("ID=", "(<")) else _stagged(path, lines))
    if not sentences:
        raise no_records(path, "sentences")
    return sentences


def _auto(path: Path, lines: list[tuple[int, str]]) -> Iterator[Sentence]:
    """CCGbank AUTO: `ID=...` header lines, each followed by its derivation line."""
    seen: dict[str, int] = {}
    header: tuple[int, str] | None = None
    for line, text in lines:
        text = text.strip()
        if text.startswith("ID="):
            if header is not None:
                raise DataFormatError(path, header[0], f"sentence {header[1]} has no derivation line")
            sentence_id = text.split()[0][len("ID=") :]
            if not sentence_id:
                raise DataFormatError(path, line, "empty sentence ID")
            if sentence_id in seen:
                raise DataFormatError(
                    path, line, f"duplicate ID {sentence_id} (first at line {seen[sentence_id]})"
                )
            seen[sentence_id] = line
            header = (line, sentence_id)
            continue
        if header is None:
            raise DataFormatError(path, line, "expected an `ID=...` header line before a derivation")
        if not text.startswith("(<"):
            raise DataFormatError(
                path, line, f"expected a derivation `(<T ...` or `(<L ...`, found {text[:40]!r}"
            )
        leaves = _LEAF.findall(text)
        if not leaves:
            raise DataFormatError(
                path, line, "the derivation has no `(<L category POS POS word category>)` leaves"
            )
        words = tuple(_PTB_BRACKETS.get(leaf[3], leaf[3]) for leaf in leaves)
        yield header[1], words, tuple(leaf[0] for leaf in leaves)
        header = None
    if header is not None:
        raise DataFormatError(path, header[0], f"sentence {header[1]} has no derivation line")


def _stagged(path: Path, lines: list[tuple[int, str]]) -> Iterator[Sentence]:
    """`word|POS|supertag` tokens, one sentence per line; `#` comment lines skipped."""
    for line, text in lines:
        tokens = text.split()
        # A comment line starts with `#` and its first token has no `|`; a sentence that starts
        # with the word `#` reads `#|#|N/N`.
        if tokens[0].startswith("#") and "|" not in tokens[0]:
            continue
        words: list[str] = []
        categories: list[str] = []
        for position, token in enumerate(tokens, 1):
            # Split from the right: a word may hold `|`, a POS tag or category never does.
            parts = token.rsplit("|", 2)
            if len(parts) != 3 or not all(parts):
                raise DataFormatError(path, line, f"token {position} {token!r} is not word|POS|supertag")
            words.append(_PTB_BRACKETS.get(parts[0], parts[0]))
            categories.append(parts[2])
        yield f"{path.stem}-{line}", tuple(words), tuple(categories)
