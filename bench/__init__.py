"""Benchmarks: ml4t against its peers, side by side in one run (never timed assertions in tests)."""
