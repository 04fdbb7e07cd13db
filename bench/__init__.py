"""Benchmarks of the engine against hand-written numpy (and peers): ``python -m bench <name> [args]``."""
