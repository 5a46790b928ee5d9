"""Options several commands share."""

from __future__ import annotations

import argparse
from pathlib import Path


def common(p: argparse.ArgumentParser) -> None:
    """The options every command that reads data or loads models takes."""
    p.add_argument("--data-dir", type=Path, help="root of the data (XTREME download/ layout)")
    p.add_argument(
        "--cache-dir",
        type=Path,
        help="models and features cache (default $XSTILTS_CACHE or ~/.cache/xstilts)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
