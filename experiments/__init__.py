"""Lab scripts: characterisation and model benchmarks, each a function with a CLI front.

Each experiment logs to one HDF5 run file and draws PNG figures next to it.
"""

from . import demo

__all__ = ["demo"]
