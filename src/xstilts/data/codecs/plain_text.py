"""Plain UTF-8 text, one sentence or paragraph per line: the data of masked-language-model tasks.

Any one-sentence-per-line corpus fits: the Tatoeba sides, CC-100 or Wikipedia dumps cut into
lines, a monolingual side of a bitext. Blank (or whitespace-only) lines separate documents in
such dumps and carry nothing to predict, so they are skipped; `\\r\\n` line ends are stripped.
Example ids are `line-<n>` with the 1-based line number in the file, so that an id leads back
to its line.
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path

from xstilts.data.codecs._files import no_records, numbered_lines, require_file
from xstilts.data.examples import TextExample
from xstilts.errors import ConfigError


def read_plain_text(path: Path, max_lines: int | None = None) -> list[TextExample]:
    """One example per non-blank line of `path`.

    `max_lines` reads only the first that many lines of the file (blank ones included): a task
    card over a multi-gigabyte dump caps what is read, and so what is tokenised and cached,
    since every selection of a task is taken from the whole of what its reader returns.
    """
    if max_lines is not None and (isinstance(max_lines, bool) or not isinstance(max_lines, int)):
        raise ConfigError("reader option max_lines", f"must be a whole number, got {max_lines!r}")
    if max_lines is not None and max_lines < 1:
        raise ConfigError("reader option max_lines", f"must be at least 1, got {max_lines}")
    path = require_file(path)
    examples: list[TextExample] = []
    # A NUL byte (a gzip dump not unpacked, a model file) is refused by the line reader, with its
    # line; islice stops before the line after `max_lines` is even read.
    for line, text in islice(numbered_lines(path), max_lines):
        if text.strip():
            examples.append(TextExample(f"line-{line}", text))
    if not examples:
        raise no_records(path, "non-blank lines")
    return examples
