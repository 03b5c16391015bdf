"""Benchmarks: scripts that print figures against a floor measured in the same run."""
