"""Writing the report folder: index.html and every figure (PNG and SVG) beside it, all or nothing.

The folder is built under a temporary name beside its destination and renamed into place, so a
reader never sees a page whose figures are missing or from another build, and a failed build
leaves the previous report as it was. The old folder is moved aside first and removed after.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from xstilts.errors import ConfigError
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
    building = Path(tempfile.mkdtemp(dir=destination.parent, prefix=f".{destination.name}-building-"))
    aside: Path | None = None
    try:
        for study in report.studies:
            write_figures(study, building, report.confidence)
        (building / INDEX).write_text(report_html(report), encoding="utf-8")
        # mkdtemp makes the folder private (0700): give it the permissions mkdir() would.
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(building, 0o777 & ~mask)
        if destination.exists():
            aside = Path(tempfile.mkdtemp(dir=destination.parent, prefix=f".{destination.name}-old-"))
            os.replace(destination, aside / destination.name)
        os.replace(building, destination)
    except BaseException:
        if aside is not None and not destination.exists():
            os.replace(aside / destination.name, destination)  # the previous report, back in place
        shutil.rmtree(building, ignore_errors=True)
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
        raise
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)
    return destination / INDEX
