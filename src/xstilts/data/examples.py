"""One small frozen dataclass per task format: what a reader returns and a format consumes.

Labels are optional everywhere: unlabelled data (e.g. test sets) still featurises and predicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ClassificationExample:
    """A sentence (text_b is None) or a sentence pair, with a string label."""

    id: str
    text_a: str
    text_b: str | None = None
    label: str | None = None


@dataclass(frozen=True)
class MultipleChoiceExample:
    """A context (and question) with N candidate answers; label is the index of the right one."""

    id: str
    context: str
    question: str
    choices: tuple[str, ...]
    label: int | None = None


@dataclass(frozen=True)
class Answer:
    text: str
    start: int  # character offset into the context


@dataclass(frozen=True)
class QAExample:
    """SQuAD-style extractive QA. No answers and is_impossible=True means unanswerable (v2)."""

    id: str
    question: str
    context: str
    answers: tuple[Answer, ...] = ()
    is_impossible: bool = False


@dataclass(frozen=True)
class TaggingExample:
    """One sentence as words with one tag per word (tags None when unlabelled)."""

    id: str
    tokens: tuple[str, ...]
    tags: tuple[str, ...] | None = None


@dataclass(frozen=True)
class RetrievalCorpus:
    """Queries and candidates to match by nearest neighbour, with the gold candidate ids per query.

    Tatoeba: query i is aligned with candidate i. BUCC: gold pairs from the gold file, and most
    sentences have no partner. LAReQA: each question's gold set is its answer sentence in every
    language.
    """

    query_ids: tuple[str, ...]
    queries: tuple[str, ...]
    candidate_ids: tuple[str, ...]
    candidates: tuple[str, ...]
    gold: dict[str, frozenset[str]] = field(default_factory=dict)

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
        return RetrievalCorpus(query_ids, self.queries[:n], candidate_ids, candidates, gold)


Example = ClassificationExample | MultipleChoiceExample | QAExample | TaggingExample
