"""One small frozen dataclass per task format: what a reader returns and a format consumes.

Labels are optional everywhere: unlabelled data (e.g. test sets) still featurises and predicts.
Each example says which of its labels a card's label set does not hold, so that `data check` and
`data pull` check labels without knowing the formats.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import ClassVar


class BaseExample:
    """What every example tells the label check; by default it has no labels to check."""

    # Labels are indices into the example's own choices, not names from the card's label set.
    LABELS_ARE_CHOICE_INDICES: ClassVar[bool] = False

    def labels_outside(self, label_set: Collection[str]) -> list[str]:
        """The example's labels that are not allowed, given the card's `labels` as `label_set`."""
        return []


@dataclass(frozen=True)
class ClassificationExample(BaseExample):
    """A sentence (text_b is None) or a sentence pair, with a string label."""

    id: str
    text_a: str
    text_b: str | None = None
    label: str | None = None

    def labels_outside(self, label_set: Collection[str]) -> list[str]:
        """The label if `label_set` does not hold it; an empty set (a card without labels) allows any."""
        if not label_set or self.label is None or self.label in label_set:
            return []
        return [self.label]


@dataclass(frozen=True)
class MultipleChoiceExample(BaseExample):
    """A context (and question) with N candidate answers; label is the index of the right one."""

    LABELS_ARE_CHOICE_INDICES: ClassVar[bool] = True

    id: str
    context: str
    question: str
    choices: tuple[str, ...]
    label: int | None = None

    def labels_outside(self, label_set: Collection[str]) -> list[str]:
        """The label (as text) if it is no index of a choice; the card's label set does not apply."""
        if self.label is None or 0 <= self.label < len(self.choices):
            return []
        return [str(self.label)]


@dataclass(frozen=True)
class Answer:
    text: str
    start: int  # character offset into the context


@dataclass(frozen=True)
class QAExample(BaseExample):
    """SQuAD-style extractive QA. No answers and is_impossible=True means unanswerable (v2)."""

    id: str
    question: str
    context: str
    answers: tuple[Answer, ...] = ()
    is_impossible: bool = False


@dataclass(frozen=True)
class TaggingExample(BaseExample):
    """One sentence as words with one tag per word (tags None when unlabelled)."""

    id: str
    tokens: tuple[str, ...]
    tags: tuple[str, ...] | None = None

    def labels_outside(self, label_set: Collection[str]) -> list[str]:
        """The tags `label_set` does not hold, in sentence order; an empty set allows any tag."""
        if not label_set:
            return []
        return [tag for tag in self.tags or () if tag not in label_set]


@dataclass(frozen=True)
class TextExample(BaseExample):
    """Unlabelled text (a sentence or paragraph) for masked-language-model training."""

    id: str
    text: str


@dataclass(frozen=True)
class RetrievalCorpus:
    """Queries and candidates to match by nearest neighbour, with the gold candidate ids per query.

    Tatoeba: query i is aligned with candidate i. BUCC: gold pairs from the gold file, and most
    sentences have no partner. LAReQA: each question's gold set is its answer sentence in every
    language (see `pool_languages`). Mewsli-X: each mention's gold set is its one entity.

    Multilingual pools (LAReQA, Mewsli-X) name the language of every query and candidate, so that
    one pool can be scored per query language; single-pair corpora (Tatoeba, BUCC) leave them empty.
    """

    query_ids: tuple[str, ...]
    queries: tuple[str, ...]
    candidate_ids: tuple[str, ...]
    candidates: tuple[str, ...]
    gold: dict[str, frozenset[str]] = field(default_factory=dict)
    # One language code per query / candidate, or empty when the corpus is not a multilingual pool.
    query_languages: tuple[str, ...] = ()
    candidate_languages: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.queries)

    def head(self, n: int) -> RetrievalCorpus:
        """The first n queries with their gold candidates. Where candidates are aligned with
        queries (Tatoeba), the first n candidates too; otherwise every candidate stays."""
        if n >= len(self.queries):
            return self
        aligned = len(self.candidates) == len(self.queries)
        query_ids = self.query_ids[:n]
        candidate_ids = self.candidate_ids[:n] if aligned else self.candidate_ids
        kept = set(candidate_ids)
        gold = {
            q: frozenset(c for c in self.gold.get(q, ()) if c in kept) for q in query_ids if q in self.gold
        }
        candidates = self.candidates[:n] if aligned else self.candidates
        candidate_languages = self.candidate_languages[:n] if aligned else self.candidate_languages
        return RetrievalCorpus(
            query_ids,
            self.queries[:n],
            candidate_ids,
            candidates,
            gold,
            self.query_languages[:n],
            candidate_languages,
        )

    def query_rows(self, lang: str) -> list[int]:
        """Row numbers of the queries in language `lang` (a multilingual pool), in corpus order."""
        if not self.query_languages:
            raise ValueError("this retrieval corpus names no query languages")
        return [row for row, query_lang in enumerate(self.query_languages) if query_lang == lang]


def pool_languages(parts: Mapping[str, RetrievalCorpus]) -> RetrievalCorpus:
    """One multilingual pool from each language's corpus (LAReQA), or the one corpus every language
    already shares (Mewsli-X: one mentions file and one entity set serve all languages).

    Parts of one language each are one parallel question set asked in every language (XQuAD-R): a
    query id found in several parts is the same question, and its relevant candidates are its gold
    candidates in every part, its own language included (LAReQA's `xling_id`, see XTREME-R
    `utils_lareqa.load_data`). Ids become `<lang>:<id>` so that the languages cannot collide.
    """
    if not parts:
        raise ValueError("pool_languages: no corpora to pool")
    multilingual = [corpus for corpus in parts.values() if corpus.query_languages]
    if multilingual:
        first = multilingual[0]
        if len(multilingual) != len(parts) or any(c is not first and c != first for c in multilingual):
            raise ValueError(
                "pool_languages: the corpora are not one shared multilingual pool; "
                "pool either one corpus per language or the same multilingual corpus for every language"
            )
        return first
    gold_by_question: dict[str, set[str]] = {}
    for lang, corpus in parts.items():
        for query, golds in corpus.gold.items():
            gold_by_question.setdefault(query, set()).update(f"{lang}:{c}" for c in golds)
    query_ids: list[str] = []
    queries: list[str] = []
    query_languages: list[str] = []
    candidate_ids: list[str] = []
    candidates: list[str] = []
    candidate_languages: list[str] = []
    gold: dict[str, frozenset[str]] = {}
    for lang, corpus in parts.items():
        for query_id, query in zip(corpus.query_ids, corpus.queries, strict=True):
            pooled_id = f"{lang}:{query_id}"
            query_ids.append(pooled_id)
            queries.append(query)
            query_languages.append(lang)
            if query_id in gold_by_question:
                gold[pooled_id] = frozenset(gold_by_question[query_id])
        candidate_ids.extend(f"{lang}:{c}" for c in corpus.candidate_ids)
        candidates.extend(corpus.candidates)
        candidate_languages.extend([lang] * len(corpus.candidates))
    return RetrievalCorpus(
        tuple(query_ids),
        tuple(queries),
        tuple(candidate_ids),
        tuple(candidates),
        gold,
        tuple(query_languages),
        tuple(candidate_languages),
    )


Example = ClassificationExample | MultipleChoiceExample | QAExample | TaggingExample | TextExample
