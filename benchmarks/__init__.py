"""Speed benchmarks, kept apart from the tests; run through ``neurram bench ...``."""
