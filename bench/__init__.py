"""Benchmarks (`make bench`): figures for design choices, never assertions in tests."""
