"""The demo study and its data, shipped inside the package so `xstilts demo` needs nothing else."""

from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent
OWN_DATA_STUDY = DEMO_DIR / "study.yaml"
XTREME_STUDY = DEMO_DIR / "study-xtreme.yaml"
