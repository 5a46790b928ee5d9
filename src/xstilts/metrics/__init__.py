"""Metrics computed the way each benchmark's reference evaluation computes them.

Each metric is computed per example first (records: a question's F1, a sentence's chunk counts, a
query's average precision) and scored by its recipe over those records (`xstilts.results.recipes`),
the same computation the results store and the report's statistics use. Every score is a
percentage (0-100) returned as a plain float. The submodules are imported directly
(`from xstilts.metrics.squad import squad_scores`) so that using one metric does not pay for the
heavy imports of another (faiss, seqeval).
"""
