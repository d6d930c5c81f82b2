"""Benchmarks of the media router, run through ``teleguide bench fanout|latency``."""
