"""The file codecs: one module per benchmark file format, holding its reader and, where there is
one, its writer; `CODECS` registers them under the names task cards use.

A reader turns one benchmark file (or a set of aligned files) into example dataclasses. A task card
names its codec in `reader:`; `read` looks it up and passes the card's files as keyword arguments
(`path` for single-file readers; `source`/`target` for Tatoeba; `source`/`target`/`gold` for BUCC;
`snli`/`mnli`/`anli_r1..3` for ANLI+; `path`/`train` for CCG supertags) together with the card's
reader options. A writer is a reader's inverse: `write` turns the rows of a Hugging Face hub split
(`HubRows`) into the files the reader reads, for `xstilts data pull`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xstilts.data.codecs._files import require_file
from xstilts.data.codecs.ccg import read_ccg_supertags
from xstilts.data.codecs.conllu import read_conllu, write_conllu
from xstilts.data.codecs.glue_tsv import read_glue_tsv, write_glue_tsv
from xstilts.data.codecs.hellaswag import read_hellaswag_jsonl, write_hellaswag_jsonl
from xstilts.data.codecs.hub_rows import HubRows
from xstilts.data.codecs.lareqa import read_lareqa
from xstilts.data.codecs.mewsli_x import read_mewsli_x
from xstilts.data.codecs.multiple_choice_files import (
    read_commonsenseqa_jsonl,
    read_copa_jsonl,
    read_cosmosqa_csv,
    read_siqa_jsonl,
    write_commonsenseqa_jsonl,
    write_copa_jsonl,
    write_cosmosqa_csv,
    write_siqa_jsonl,
)
from xstilts.data.codecs.nli_jsonl import read_anli_jsonl, read_anli_plus, read_snli_jsonl
from xstilts.data.codecs.parallel_text import read_bucc, read_tatoeba, write_tatoeba
from xstilts.data.codecs.plain_text import read_plain_text
from xstilts.data.codecs.squad_json import read_squad_json, write_squad_json
from xstilts.data.codecs.xtreme_tsv import (
    read_tsv_pairs,
    read_tsv_tagging,
    write_tsv_pairs,
    write_tsv_tagging,
)
from xstilts.errors import ConfigError, DataFormatError


@dataclass(frozen=True)
class Codec:
    """One file format: its reader, and its writer where `data pull` can write the format."""

    read: Callable[..., Any]
    # (rows, files, **reader options) -> examples written, in files that `read` reads.
    write: Callable[..., int] | None = None
    # The reader's parameters that take files; every other parameter is an option.
    files: frozenset[str] = frozenset({"path"})
    # Why there is no writer, said to the user instead of a bare "unsupported".
    no_writer: str = ""


# A codec without `write` has no writer. BUCC's says why. For the others no built-in card names a
# hub source: LAReQA's hub copy lacks the sentence breaks, Mewsli-X and CCGbank are not on the hub,
# an ANLI+ split would need several hub datasets, and the plain-text card reads the Tatoeba task's files.
CODECS: dict[str, Codec] = {
    "xtreme_tsv_pairs": Codec(read_tsv_pairs, write_tsv_pairs),
    "xtreme_tsv_tagging": Codec(read_tsv_tagging, write_tsv_tagging),
    "conllu": Codec(read_conllu, write_conllu),
    "squad_json": Codec(read_squad_json, write_squad_json),
    "copa_jsonl": Codec(read_copa_jsonl, write_copa_jsonl),
    "siqa_jsonl": Codec(read_siqa_jsonl, write_siqa_jsonl, files=frozenset({"path", "labels"})),
    "commonsenseqa_jsonl": Codec(read_commonsenseqa_jsonl, write_commonsenseqa_jsonl),
    "cosmosqa_csv": Codec(read_cosmosqa_csv, write_cosmosqa_csv),
    "tatoeba": Codec(read_tatoeba, write_tatoeba, files=frozenset({"source", "target"})),
    "bucc": Codec(
        read_bucc,
        files=frozenset({"source", "target", "gold"}),
        no_writer="the hub's BUCC configs hold only the gold pairs, not the corpora to mine from",
    ),
    # XTREME-R retrieval pools: XQuAD-R sentences (one file per language), Mewsli-X mentions/entities.
    "lareqa": Codec(read_lareqa),
    "mewsli_x": Codec(read_mewsli_x, files=frozenset({"mentions", "entities"})),
    # Intermediate tasks (GLUE tsv, NLI jsonl, HellaSwag, CCGbank supertags).
    "glue_tsv": Codec(read_glue_tsv, write_glue_tsv),
    "snli_jsonl": Codec(read_snli_jsonl),
    "anli_jsonl": Codec(read_anli_jsonl),
    "anli_plus": Codec(read_anli_plus, files=frozenset({"snli", "mnli", "anli_r1", "anli_r2", "anli_r3"})),
    "hellaswag_jsonl": Codec(read_hellaswag_jsonl, write_hellaswag_jsonl),
    # dev/test name the training file too: the supertag inventory is computed from it.
    "ccg_supertags": Codec(read_ccg_supertags, files=frozenset({"path", "train"})),
    # Unlabelled text, one sentence or paragraph a line (masked-language-model tasks).
    "plain_text": Codec(read_plain_text),
}


def read(reader_name: str, files: dict[str, Path], **options: Any) -> Any:
    """Run the named codec's reader on `files` (keyword name -> path) with `options`."""
    codec = CODECS.get(reader_name)
    if codec is None:
        raise ConfigError(f"reader {reader_name!r}", f"unknown reader; known readers: {', '.join(CODECS)}")
    parameters = inspect.signature(codec.read).parameters
    file_parameters = codec.files
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
    return codec.read(**paths, **options)


def write(reader_name: str, rows: HubRows, files: Mapping[str, Path], options: Mapping[str, Any]) -> int:
    """Write `rows` to `files` in the format the named codec reads; the number of examples written."""
    codec = CODECS.get(reader_name)
    if codec is None or codec.write is None:
        writers = ", ".join(name for name, known in CODECS.items() if known.write is not None)
        why = (codec and codec.no_writer) or f"no writer is registered for it (writers: {writers})"
        raise DataFormatError(rows.name, None, f"cannot write files for the reader {reader_name!r}: {why}")
    return codec.write(rows, files, **options)


__all__ = ["CODECS", "Codec", "HubRows", "read", "write"]
