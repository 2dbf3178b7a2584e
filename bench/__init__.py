"""Benchmarks for trailkeeper: ``python -m bench --help`` (see docs/benchmarks.md)."""
