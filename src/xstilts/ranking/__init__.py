"""Intermediate-task selection: rank a study's intermediate arms for each target before training them
all (`xstilts rank`), and score each method's ranking against the gains the study measured.

Torch-free: `logme` (LogME in numpy), `overlap`, `quality` (Spearman, NDCG@3, regret@k), `file`
(`OUT/rankings.json`), `candidates` (the plan nodes a method needs). With torch: `features`,
`methods`, `study` (run by `xstilts rank`).
"""
