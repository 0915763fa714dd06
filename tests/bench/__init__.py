"""Smoke tests of the benchmarks under bench/: they run and print their figures."""
