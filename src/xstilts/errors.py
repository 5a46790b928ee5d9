"""User-facing errors. The CLI prints any of these as one line and exits with code 2."""

from __future__ import annotations

from pathlib import Path


class XstiltsError(Exception):
    """A problem with the user's input (data, study file, model, task): not a bug in xstilts."""


class DataFormatError(XstiltsError):
    """A data file does not have the format its reader expects."""

    def __init__(self, path: str | Path, line: int | None, problem: str) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")


class ConfigError(XstiltsError):
    """A study file, task card or option is invalid; `where` names the key path or file."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        super().__init__(f"{where}: {problem}")
