"""Results: the store, per-example files, metric recipes and tables."""
