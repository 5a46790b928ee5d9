"""Metrics computed the way each benchmark's reference evaluation computes them.

Every value is a percentage (0-100) returned as a plain float. The submodules are imported
directly (`from xstilts.metrics.squad import squad_scores`) so that using one metric does not
pay for the heavy imports of another (faiss, seqeval).
"""
