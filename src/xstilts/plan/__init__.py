"""A study's plan: the graph of phase runs it needs, each with every input resolved, and their ids.

`build_plan` (graph.py) is the only place that walks a study's arms x seeds x targets: which run
is whose parent, what each trains on, what each evaluates. `xstilts plan` prints it and
`xstilts run` executes it (xstilts.engine); nothing downstream derives a node's inputs again.
Imports no torch.
"""
