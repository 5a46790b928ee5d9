"""The configuration core: study schema, data selections, training and feature settings, model
sources, task cards and benchmark definitions. Imports no torch, transformers, datasets, faiss,
matplotlib or ray (a test checks it), so planning, listing tasks and reading results start fast."""
