"""Reports on a study's results: `xstilts report DIR` (DIR/report/index.html, or Markdown).

study_file study.json read through the study schema: the arms, the baseline
scaling   the scaling variables the arms vary (volume, tasks, mix)
sections  the store's rows per evaluated task: score tables (arms x languages), robustness
evidence  what the bootstrap resamples: per-example scores when stored, else seed-level scores
compare   differences from the baseline (intervals, paired tests) and scaling curves
summary   XTREME / XTREME-R scores, the intermediate x target heat map, structured vs sentence
build     all of it for every study of a store -> `model.Report`
layout    the report as headed text tables and figures (`blocks`; `findings` first), which `html` and
          `markdown` render
figures   PNG + SVG (matplotlib, Agg); site: the report folder, written all or nothing
stats     statistics for comparing arms (bootstrap intervals, paired tests, robustness)
"""
