"""Writing the report folder: index.html and every figure (PNG and SVG) beside it, all or nothing.

The folder is built under a temporary name beside its destination and renamed into place
(`xstilts.files.replace_folder`), so a reader never sees a page whose figures are missing or from
another build, and a failed build leaves the previous report as it was.
"""

from __future__ import annotations

from pathlib import Path

from xstilts.errors import ConfigError
from xstilts.files import replace_folder
from xstilts.report.figures import write_figures
from xstilts.report.html import report_html
from xstilts.report.model import Report

REPORT_DIR = "report"
INDEX = "index.html"


def write_site(report: Report, destination: Path) -> Path:
    """Write the report folder at `destination` (replacing one there); returns its index.html."""
    destination = Path(destination)
    if destination.exists() and not destination.is_dir():
        raise ConfigError(str(destination), "exists and is not a directory")

    def fill(folder: Path) -> None:
        for study in report.studies:
            write_figures(study, folder, report.confidence)
        (folder / INDEX).write_text(report_html(report), encoding="utf-8")

    replace_folder(destination, fill)
    return destination / INDEX
