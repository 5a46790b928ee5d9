"""Statistics for comparing arms: bootstrap intervals over test examples and seeds, paired tests,
language averages, robustness summaries and scaling-curve bands. Pure numpy/scipy on per-example
values scored by the metric recipes of `xstilts.results.recipes`."""
