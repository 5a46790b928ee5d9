"""How long reading a tokenised-feature cache entry takes: Arrow (cache version 2) against the
pickle of version 1, on real data of each format.

    PYTHONPATH=src .venv/bin/python bench/feature_cache_read.py [--data ../shared/data] [--repeats 7]

For each task it featurises one file with XLM-R's tokenizer (random:tiny carries it), writes the
entry with `cached_features`, then prints the median wall time of `read_features` (what every
run that finds the entry does) and of `pickle.loads` of the same features (what version 1 did),
and both sizes. Pickle appears here only to measure the old format; xstilts never loads one.
Run it on an otherwise idle machine: figures taken beside other work are not comparable.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import tempfile
import time
from pathlib import Path

from xstilts.config.features import FeatureSettings
from xstilts.config.formats import get_format
from xstilts.config.registry import TaskRegistry
from xstilts.data.feature_cache import cached_features, read_features
from xstilts.models.sources import load_model

# (task, split, language, settings): one per format that featurises, with a sizeable file.
TASKS = [
    ("xnli", "dev", "en", FeatureSettings()),
    ("panx", "train", "en", FeatureSettings()),
    ("tydiqa", "train", "en", FeatureSettings(max_length=384)),
    ("xquad", "test", "de", FeatureSettings(max_length=384)),
    ("copa", "train", "en", FeatureSettings()),
    ("mlm-tatoeba", "train", "de", FeatureSettings()),
]


def median_seconds(action, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    registry = TaskRegistry(args.data)
    with tempfile.TemporaryDirectory() as scratch:
        cache = Path(scratch)
        tokenizer = load_model("random:tiny", cache).tokenizer
        header = ("task", "features", "arrow MB", "arrow ms", "pickle MB", "pickle ms")
        print(f"{header[0]:<12} {header[1]:>8} {header[2]:>9} {header[3]:>9} {header[4]:>10} {header[5]:>10}")
        for task, split, lang, settings in TASKS:
            card = registry.card(task)
            fmt = get_format(card.format)
            examples = registry.load(task, split, lang)
            files = registry.files(task, split, lang)
            features = fmt.featurize(examples, tokenizer, card, settings)
            cached_features(fmt, card, files, examples, tokenizer, settings, cache)
            (entry,) = (cache / "features").glob(f"{card.name}-*.arrow")
            pickled = pickle.dumps(features, protocol=pickle.HIGHEST_PROTOCOL)
            arrow_s = median_seconds(lambda e=entry: read_features(e), args.repeats)
            pickle_s = median_seconds(lambda p=pickled: pickle.loads(p), args.repeats)
            print(
                f"{task:<12} {len(features):>8} {entry.stat().st_size / 1e6:>9.1f} {arrow_s * 1e3:>9.0f} "
                f"{len(pickled) / 1e6:>10.1f} {pickle_s * 1e3:>10.0f}"
            )


if __name__ == "__main__":
    main()
