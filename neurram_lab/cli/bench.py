"""``neurram bench ...``: the speed benchmarks, found in the source checkout.

The benchmarks (``benchmarks/`` beside the package in the checkout) are kept
out of the installed package. From a checkout (``pip install -e .``) the CLI
imports them by file path as the ``benchmarks`` package, so ``neurram bench
program`` works as ``python -m benchmarks.bench_program`` would from the
checkout. ``NEURRAM_BENCHMARKS=/path/to/benchmarks`` points elsewhere; where
there is no such folder (a wheel install), ``neurram bench`` says so.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

from ..errors import InputError

# The benchmark modules with a ``neurram bench`` command, in --help order.
BENCH_MODULES = ["bench_program", "hil_write_verify", "mvm", "bench_deploy"]

MISSING = ("the benchmarks are not installed: they live in the source checkout's benchmarks/ folder. "
           "Run `neurram bench ...` from a checkout installed with `pip install -e .`, set "
           "NEURRAM_BENCHMARKS=/path/to/checkout/benchmarks, or run `python -m benchmarks.bench_program` "
           "in the checkout")


def benchmarks_dir() -> Path | None:
    """The ``benchmarks/`` folder of the checkout (or ``$NEURRAM_BENCHMARKS``), None where there is none."""
    env = os.environ.get("NEURRAM_BENCHMARKS")
    d = Path(env) if env else Path(__file__).resolve().parents[2] / "benchmarks"
    return d if (d / "__init__.py").is_file() else None


def bench_modules() -> list:
    """The benchmark command modules, imported from the checkout; [] where it has none."""
    d = benchmarks_dir()
    if d is None:
        return []
    pkg = sys.modules.get("benchmarks")
    if pkg is None:
        spec = importlib.util.spec_from_file_location("benchmarks", d / "__init__.py",
                                                      submodule_search_locations=[str(d)])
        pkg = importlib.util.module_from_spec(spec)
        sys.modules["benchmarks"] = pkg
        spec.loader.exec_module(pkg)
    elif Path(getattr(pkg, "__file__", "") or "").resolve().parent != d.resolve():
        return []  # another package named ``benchmarks`` is loaded: not ours
    return [importlib.import_module(f"benchmarks.{name}") for name in BENCH_MODULES]


class Missing:
    """The ``neurram bench`` front where the checkout's benchmarks are absent: explains where they are."""

    COMMAND = (None, "bench")
    HELP = "speed benchmarks (from a source checkout only)"
    DESCRIPTION = MISSING

    @staticmethod
    def add_arguments(parser) -> None:
        parser.add_argument("benchmark", nargs="*", help="the benchmark and its options")

    @staticmethod
    def main(args, ctx) -> dict:
        raise InputError(MISSING)
