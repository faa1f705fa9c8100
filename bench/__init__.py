"""Benchmarks and the chaos run: outside the product, not part of `make test`."""
