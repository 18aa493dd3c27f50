"""Writing what a run found: markdown reports, figures, the index of a folder, re-summaries from per-seed files."""
