"""Reports on a study's results: statistics (`xstilts.report.stats`) for comparing arms."""
