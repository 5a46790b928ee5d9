"""NLI releases in JSON lines: SNLI / MultiNLI, ANLI, and ANLI+ (all of them at once).

SNLI 1.0 and MultiNLI 1.0 (`snli_1.0_train.jsonl`, `multinli_1.0_train.jsonl`) share one schema:
`sentence1` (premise), `sentence2` (hypothesis), `gold_label`. A `gold_label` of `-` means the
annotators reached no consensus; those pairs have no gold label and are left out, as every
published use of SNLI/MNLI does (and as GLUE's MNLI files already are).

ANLI 1.0 (`anli_v1.0/R{1,2,3}/{train,dev,test}.jsonl`): `uid`, `context` (premise), `hypothesis`,
`label` as `e`/`n`/`c`. The Hugging Face export (`facebook/anli`) names the premise `premise`;
both are read. Labels become the words entailment/neutral/contradiction, the label set shared
with SNLI, MNLI and XNLI.
"""

from __future__ import annotations

import logging
from pathlib import Path

from xstilts.data.codecs._files import IdRegistry, jsonl_records, no_records, require_file, string_field
from xstilts.data.codecs.glue_tsv import read_glue_tsv
from xstilts.data.examples import ClassificationExample
from xstilts.errors import ConfigError, DataFormatError

log = logging.getLogger(__name__)

NLI_LABELS = ("entailment", "neutral", "contradiction")
NO_CONSENSUS = "-"
_ANLI_LABELS = {"e": "entailment", "n": "neutral", "c": "contradiction"}


def read_snli_jsonl(path: Path) -> list[ClassificationExample]:
    """SNLI / MultiNLI jsonl; ids `<file stem>-<line>`; `-` (no consensus) pairs are left out."""
    path = require_file(path)
    examples: list[ClassificationExample] = []
    no_consensus = 0
    for line, record in jsonl_records(path):
        premise, hypothesis, label = (
            string_field(path, line, record, key) for key in ("sentence1", "sentence2", "gold_label")
        )
        if label == NO_CONSENSUS:
            no_consensus += 1
            continue
        if label not in NLI_LABELS:
            raise DataFormatError(
                path, line, f"gold_label {label!r} is not one of {', '.join(NLI_LABELS)} or {NO_CONSENSUS}"
            )
        examples.append(ClassificationExample(f"{path.stem}-{line}", premise, hypothesis, label))
    if no_consensus:
        log.info("%s: left out %d pairs without a consensus label (-)", path, no_consensus)
    if not examples:
        raise no_records(path, "labelled pairs")
    return examples


def read_anli_jsonl(path: Path) -> list[ClassificationExample]:
    """ANLI jsonl (official or HF export); ids are the file's `uid`s, checked for repeats."""
    path = require_file(path)
    examples: list[ClassificationExample] = []
    ids = IdRegistry(path)
    for line, record in jsonl_records(path):
        premise_key = "context" if "context" in record else "premise"
        premise = string_field(path, line, record, premise_key)
        hypothesis = string_field(path, line, record, "hypothesis")
        raw_label = record.get("label")
        # The HF export stores the class index (0 entailment, 1 neutral, 2 contradiction).
        if isinstance(raw_label, int) and not isinstance(raw_label, bool) and 0 <= raw_label < 3:
            label = NLI_LABELS[raw_label]
        elif isinstance(raw_label, str) and raw_label in _ANLI_LABELS:
            label = _ANLI_LABELS[raw_label]
        else:
            raise DataFormatError(path, line, f"label {raw_label!r} is not one of e, n, c")
        examples.append(ClassificationExample(ids.add(line, record.get("uid")), premise, hypothesis, label))
    if not examples:
        raise no_records(path, "records")
    return examples


def read_anli_plus(
    snli: Path | None = None,
    mnli: Path | None = None,
    anli_r1: Path | None = None,
    anli_r2: Path | None = None,
    anli_r3: Path | None = None,
) -> list[ClassificationExample]:
    """ANLI+ (Phang et al. 2020; Nie et al. 2020): SNLI + MNLI + ANLI rounds 1-3, one task.

    Each file is read by its own reader and the examples are concatenated in the order of the
    arguments. `mnli` may be GLUE's `train.tsv` (the file the mnli card reads, so it is downloaded
    once) or MultiNLI's own `multinli_1.0_train.jsonl`. Ids become `<source>:<id>` (e.g.
    `anli_r2:<uid>`), since per-file ids such as `train-12` repeat across the sources. Any subset
    of the sources may be given, so the same reader serves ANLI-only or SNLI+MNLI cards.
    """
    sources = {"snli": snli, "mnli": mnli, "anli_r1": anli_r1, "anli_r2": anli_r2, "anli_r3": anli_r3}
    given = {name: require_file(path) for name, path in sources.items() if path is not None}
    if not given:
        raise ConfigError("reader anli_plus", f"needs at least one of the files {', '.join(sources)}")
    combined: list[ClassificationExample] = []
    for name, path in given.items():
        if name == "snli":
            examples = read_snli_jsonl(path)
        elif name == "mnli":
            examples = (
                read_snli_jsonl(path)
                if path.suffix == ".jsonl"
                else read_glue_tsv(path, label_column="gold_label", labels=NLI_LABELS, skip_labels=["-"])
            )
        else:
            examples = read_anli_jsonl(path)
        combined += [
            ClassificationExample(f"{name}:{ex.id}", ex.text_a, ex.text_b, ex.label) for ex in examples
        ]
    return combined
