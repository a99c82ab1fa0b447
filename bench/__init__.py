"""Benchmarks of issue 7: `bench/run` (see __main__.py); results in RESULTS.md."""
