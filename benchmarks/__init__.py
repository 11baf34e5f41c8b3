"""Speed benchmarks, run with ``neurram bench ...``; kept out of the test suite."""
