"""Benchmarks: scripts run by hand (never by the tests); results in docs/benchmarks.md."""
