"""Benchmarks: each module prints medians and ratios measured in one run (no assertions)."""
