"""Readers turn one benchmark file (or a set of aligned files) into example dataclasses.

A task card names its reader; `read` looks it up and passes the card's files as keyword arguments
(`path` for single-file readers; `source`/`target` for Tatoeba; `source`/`target`/`gold` for BUCC;
`snli`/`mnli`/`anli_r1..3` for ANLI+; `path`/`train` for CCG supertags)
together with the card's reader options.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xstilts.data.readers._files import require_file
from xstilts.data.readers.ccg import read_ccg_supertags
from xstilts.data.readers.conllu import read_conllu
from xstilts.data.readers.glue_tsv import read_glue_tsv
from xstilts.data.readers.hellaswag import read_hellaswag_jsonl
from xstilts.data.readers.lareqa import read_lareqa
from xstilts.data.readers.mewsli_x import read_mewsli_x
from xstilts.data.readers.multiple_choice_files import (
    read_commonsenseqa_jsonl,
    read_copa_jsonl,
    read_cosmosqa_csv,
    read_siqa_jsonl,
)
from xstilts.data.readers.nli_jsonl import read_anli_jsonl, read_anli_plus, read_snli_jsonl
from xstilts.data.readers.parallel_text import read_bucc, read_tatoeba
from xstilts.data.readers.plain_text import read_plain_text
from xstilts.data.readers.squad_json import read_squad_json
from xstilts.data.readers.xtreme_tsv import read_tsv_pairs, read_tsv_tagging
from xstilts.errors import ConfigError

READERS: dict[str, Callable[..., Any]] = {
    "xtreme_tsv_pairs": read_tsv_pairs,
    "xtreme_tsv_tagging": read_tsv_tagging,
    "conllu": read_conllu,
    "squad_json": read_squad_json,
    "copa_jsonl": read_copa_jsonl,
    "siqa_jsonl": read_siqa_jsonl,
    "commonsenseqa_jsonl": read_commonsenseqa_jsonl,
    "cosmosqa_csv": read_cosmosqa_csv,
    "tatoeba": read_tatoeba,
    "bucc": read_bucc,
    # XTREME-R retrieval pools: XQuAD-R sentences (one file per language), Mewsli-X mentions/entities.
    "lareqa": read_lareqa,
    "mewsli_x": read_mewsli_x,
    # Intermediate tasks (GLUE tsv, NLI jsonl, HellaSwag, CCGbank supertags).
    "glue_tsv": read_glue_tsv,
    "snli_jsonl": read_snli_jsonl,
    "anli_jsonl": read_anli_jsonl,
    "anli_plus": read_anli_plus,
    "hellaswag_jsonl": read_hellaswag_jsonl,
    "ccg_supertags": read_ccg_supertags,
    # Unlabelled text, one sentence or paragraph a line (masked-language-model tasks).
    "plain_text": read_plain_text,
}

# Readers whose parameters of these names take files; every other parameter is an option.
_FILE_PARAMETERS = {
    "siqa_jsonl": {"path", "labels"},
    "tatoeba": {"source", "target"},
    "bucc": {"source", "target", "gold"},
    "mewsli_x": {"mentions", "entities"},
    "anli_plus": {"snli", "mnli", "anli_r1", "anli_r2", "anli_r3"},
    # dev/test name the training file too: the supertag inventory is computed from it.
    "ccg_supertags": {"path", "train"},
}


def read(reader_name: str, files: dict[str, Path], **options: Any) -> Any:
    """Run the named reader on `files` (keyword name -> path) with `options`."""
    reader = READERS.get(reader_name)
    if reader is None:
        raise ConfigError(f"reader {reader_name!r}", f"unknown reader; known readers: {', '.join(READERS)}")
    parameters = inspect.signature(reader).parameters
    file_parameters = _FILE_PARAMETERS.get(reader_name, {"path"})
    for name in files:
        if name not in file_parameters:
            raise ConfigError(
                f"reader {reader_name}",
                f"takes no file {name!r} (its files: {', '.join(sorted(file_parameters))})",
            )
    for name in options:
        if name not in parameters or name in file_parameters:
            known = sorted(set(parameters) - file_parameters)
            raise ConfigError(
                f"reader {reader_name}", f"has no option {name!r} (its options: {', '.join(known) or 'none'})"
            )
    missing = [
        name
        for name in file_parameters
        if name not in files and parameters[name].default is inspect.Parameter.empty
    ]
    if missing:
        raise ConfigError(f"reader {reader_name}", f"needs the file(s) {', '.join(missing)}")
    # Check every file before reading any, so a missing second file fails fast.
    paths = {name: require_file(path) for name, path in files.items()}
    return reader(**paths, **options)


__all__ = ["READERS", "read"]
