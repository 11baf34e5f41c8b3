"""Speed benchmarks of the twin and the driver stack (``neurram bench ...``); not part of the test suite."""
