"""HellaSwag (Zellers et al. 2019) jsonl: `hellaswag_{train,val,test}.jsonl` or its HF export;
read into examples and written from hub rows (in the hub's own schema).

A record: `ind`, `activity_label`, `ctx_a`, `ctx_b`, `ctx` (= ctx_a + " " + ctx_b), `endings`
(4 strings), `label` (0-3; absent in the test file, `""` in the HF export's test split).

The example is built as the official BERT baseline builds it (`hellaswag_models/bert/run_bert.py`,
`_part_a` / `_part_bs`), which jiant, and so Phang et al., follow too: the context is `ctx_a`, and
each choice is `ctx_b` followed by one ending. `ctx_b` is the first words of the sentence the
endings complete, so it belongs with each ending, not with the context. When `ctx_b` is empty
(many WikiHow items) a choice is the ending alone; a record without `ctx_a` uses `ctx`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from xstilts.data.codecs._files import (
    IdRegistry,
    index_label,
    jsonl_records,
    no_records,
    require_file,
    string_field,
)
from xstilts.data.codecs.hub_rows import HubRows, write_jsonl
from xstilts.data.examples import MultipleChoiceExample
from xstilts.errors import DataFormatError


def read_hellaswag_jsonl(path: Path) -> list[MultipleChoiceExample]:
    """One 4-way multiple-choice example per record; ids are the records' `ind`."""
    path = require_file(path)
    examples: list[MultipleChoiceExample] = []
    ids = IdRegistry(path)
    for line, record in jsonl_records(path):
        context = string_field(path, line, record, "ctx_a" if "ctx_a" in record else "ctx")
        start = string_field(path, line, record, "ctx_b").strip() if "ctx_b" in record else ""
        endings = record.get("endings")
        if not isinstance(endings, list) or not all(isinstance(e, str) for e in endings):
            raise DataFormatError(path, line, "endings must be a list of strings")
        if len(endings) < 2:
            raise DataFormatError(path, line, f"expected at least 2 endings, found {len(endings)}")
        choices = tuple(f"{start} {ending}" if start else ending for ending in endings)
        raw_label = record.get("label")
        label = None if raw_label in (None, "") else index_label(path, line, raw_label, len(endings))
        examples.append(MultipleChoiceExample(ids.add(line, record.get("ind")), context, "", choices, label))
    if not examples:
        raise no_records(path, "records")
    return examples


def write_hellaswag_jsonl(rows: HubRows, files: Mapping[str, Path], **_: Any) -> int:
    """HellaSwag in the hub's own schema (`ctx_a`, `ctx_b`, `endings`, `label` "0".."3" or ""),
    which the reader reads as it is."""
    rows.pick(("endings",), "endings")
    rows.pick(("ctx_a", "ctx"), "context")
    return write_jsonl(files["path"], (dict(record) for record in rows.rows))
