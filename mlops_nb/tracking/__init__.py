"""Recording training runs and what they were made from (data fingerprints, notebook context)."""
