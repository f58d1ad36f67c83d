"""Benchmarks of the portal against a bare Flask baseline (`make bench`); never timed tests."""
