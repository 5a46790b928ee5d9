"""Are the report's 95% intervals 95%, and does its test reject 5% under the null? By simulation.

    .venv/bin/python bench/report_calibration.py [--datasets 300] [--resamples 1000]

Each data set is 0/1 correctness of an arm and a baseline on the same test examples, from a latent
model with a known answer: example i is right for seed s of an arm when

    z_i + u_s + e_si > threshold - gain

z_i the example's easiness (shared by every arm and seed: hard examples are hard for all), u_s the
seed's effect (sd `seed_sd`; drawn anew for every seed of every arm), e_si the seed's own noise on
the example (sd 0.5). The true difference of expected accuracies follows from the normal model.
For each setting it prints how often the interval of `xstilts.stats` holds the true
difference (coverage) and how often p < 0.05 when the true difference is 0 (rejection), over
`--datasets` data sets; the binomial standard error of a 95% coverage over 300 data sets is 1.3
points. Three more settings score entity F1 from summed (true positive, predicted, gold) counts, a
metric that is not a mean of per-example values. No model is trained.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from scipy.stats import norm

from xstilts.results.recipes import F1_FROM_COUNTS
from xstilts.stats.estimates import language_average, paired_difference

THRESHOLD = norm.ppf(0.4)  # a baseline about 60% right
EXAMPLE_NOISE = 0.5


def expected_accuracy(gain: float, seed_sd: float) -> float:
    return float(norm.sf((THRESHOLD - gain) / np.sqrt(1 + seed_sd**2 + EXAMPLE_NOISE**2)))


def correctness(
    rng: np.random.Generator, z: np.ndarray, seeds: int, gain: float, seed_sd: float
) -> np.ndarray:
    u = rng.normal(0, seed_sd, size=(seeds, 1))
    e = rng.normal(0, EXAMPLE_NOISE, size=(seeds, z.size))
    return (z + u + e > THRESHOLD - gain).astype(np.float64)


def entity_counts(rng: np.random.Generator, gold: np.ndarray, z: np.ndarray, seeds: int, seed_sd: float):
    """(true positives, predicted, gold) per sentence, NER-like: each gold entity found with a
    probability that rises with the sentence's easiness z and the seed's effect; spurious entities
    Poisson(0.3)."""
    u = rng.normal(0, seed_sd, size=(seeds, 1))
    found = 1 / (1 + np.exp(-(0.8 + z + u + rng.normal(0, 0.7, size=(seeds, gold.size)))))
    tp = rng.binomial(np.broadcast_to(gold, (seeds, gold.size)), found)
    spurious = rng.poisson(0.3, size=(seeds, gold.size))
    return np.stack([tp, tp + spurious, np.broadcast_to(gold, (seeds, gold.size))], axis=-1).astype(
        np.float64
    )


def simulate_f1(name: str, seed_sd: float, n: int, args: argparse.Namespace) -> str:
    """Entity F1 from summed counts, 3 vs 3 seeds of the same system (the null): rejection only (the
    true F1 difference, 0, is what coverage would check)."""
    rng = np.random.default_rng(7)
    covered = rejected = 0
    widths = []
    start = time.process_time()
    for k in range(args.datasets):
        gold, z = rng.poisson(1.5, n), rng.normal(0, 1, n)[None, :]
        arm, base = entity_counts(rng, gold, z, 3, seed_sd), entity_counts(rng, gold, z, 3, seed_sd)
        result = paired_difference(arm, base, F1_FROM_COUNTS, n_resamples=args.resamples, seed=k)
        covered += result.low <= 0 <= result.high
        rejected += result.p_value < 0.05
        widths.append(result.width)
    cpu = time.process_time() - start
    return (
        f"| {name} | +0 | {covered / args.datasets:.3f} | {rejected / args.datasets:.3f} | "
        f"{np.mean(widths):.3f} | {cpu:.0f} |"
    )


def simulate(
    name: str,
    gain: float,
    seed_sd: float,
    seeds: tuple[int, int],
    n: int,
    languages: int,
    args: argparse.Namespace,
) -> str:
    truth = expected_accuracy(gain, seed_sd) - expected_accuracy(0.0, seed_sd)
    rng = np.random.default_rng(12345)
    covered = rejected = 0
    widths = []
    start = time.process_time()
    for k in range(args.datasets):
        if languages:
            arm, base = {}, {}
            # A seed is one model in every language: its effect is shared by the languages.
            u_arm = rng.normal(0, seed_sd, size=(seeds[0], 1))
            u_base = rng.normal(0, seed_sd, size=(seeds[1], 1))
            for lang in range(languages):
                z = rng.normal(size=n)
                noise = (rng.normal(0, EXAMPLE_NOISE, size=(s, n)) for s in seeds)
                arm[str(lang)] = (z + u_arm + next(noise) > THRESHOLD - gain).astype(np.float64)
                base[str(lang)] = (z + u_base + next(noise) > THRESHOLD).astype(np.float64)
            result = language_average(arm, base, n_resamples=args.resamples, seed=k)
        else:
            z = rng.normal(size=n)
            arm = correctness(rng, z, seeds[0], gain, seed_sd)
            base = correctness(rng, z, seeds[1], 0.0, seed_sd)
            result = paired_difference(arm, base, n_resamples=args.resamples, seed=k)
        covered += result.low <= truth <= result.high
        rejected += result.p_value < 0.05
        widths.append(result.width)
    cpu = time.process_time() - start
    rejection = f"{rejected / args.datasets:.3f}" if gain == 0 else f"({rejected / args.datasets:.3f} power)"
    return (
        f"| {name} | {truth:+.3f} | {covered / args.datasets:.3f} | {rejection} | "
        f"{np.mean(widths):.3f} | {cpu:.0f} |"
    )


SETTINGS = [
    # name, gain, seed sd, (arm seeds, baseline seeds), examples, languages
    ("1 vs 1 seed, 500 examples, null", 0.0, 0.0, (1, 1), 500, 0),
    ("1 vs 1 seed, 500 examples, gain 0.2", 0.2, 0.0, (1, 1), 500, 0),
    ("1 vs 1 seed, 100 examples, null", 0.0, 0.0, (1, 1), 100, 0),
    ("3 vs 3 seeds, no seed effect, null", 0.0, 0.0, (3, 3), 500, 0),
    ("3 vs 3 seeds, seed sd 0.1, null", 0.0, 0.1, (3, 3), 500, 0),
    ("3 vs 3 seeds, seed sd 0.1, gain 0.2", 0.2, 0.1, (3, 3), 500, 0),
    ("3 vs 3 seeds, seed sd 0.25, null", 0.0, 0.25, (3, 3), 500, 0),
    ("5 vs 5 seeds, seed sd 0.1, null", 0.0, 0.1, (5, 5), 500, 0),
    ("3 vs 1 seed (baseline's seed variance borrowed), sd 0.1, null", 0.0, 0.1, (3, 1), 500, 0),
    ("3 languages x 300, 1 vs 1 seed, null", 0.0, 0.0, (1, 1), 300, 3),
    ("3 languages x 300, 3 vs 3 seeds, sd 0.1, null", 0.0, 0.1, (3, 3), 300, 3),
]


F1_SETTINGS = [
    ("entity F1 (counts), 3 vs 3 seeds, 300 sentences, no seed effect, null", 0.0, 300),
    ("entity F1 (counts), 3 vs 3 seeds, 300 sentences, seed sd 0.3, null", 0.3, 300),
    ("entity F1 (counts), 3 vs 3 seeds, 60 sentences, seed sd 0.3, null", 0.3, 60),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=int, default=300)
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args(argv)
    print(
        f"{args.datasets} data sets per setting, {args.resamples} resamples each; 95% intervals, test at 0.05"
    )
    print("| setting | true difference | coverage | rejection under the null | mean width | CPU s |")
    print("|---|---:|---:|---:|---:|---:|")
    for setting in SETTINGS:
        print(simulate(*setting, args), flush=True)
    for name, seed_sd, n in F1_SETTINGS:
        print(simulate_f1(name, seed_sd, n, args), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
