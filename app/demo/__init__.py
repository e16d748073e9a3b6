"""Demo municipality built from real reference data."""
