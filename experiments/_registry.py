"""Experiment modules by the name their run records carry (for ``neurram replay``).

Every module listed in ``neurram_lab.cli.COMMAND_MODULES`` (and in
``EXTRA_MODULES``) that defines ``EXPERIMENT`` and ``run`` is an experiment;
nothing needs registering besides the CLI entry every experiment has anyway.
"""

from __future__ import annotations

import importlib

from neurram_lab.errors import InputError

# Experiments without a CLI command of their own.
EXTRA_MODULES: list[str] = []


def experiment_modules() -> dict:
    """``{EXPERIMENT name: module}`` of every experiment module."""
    from neurram_lab.cli import COMMAND_MODULES

    out = {}
    for name in list(COMMAND_MODULES) + EXTRA_MODULES:
        mod = importlib.import_module(name)
        exp = getattr(mod, "EXPERIMENT", None)
        if isinstance(exp, str) and callable(getattr(mod, "run", None)):
            out[exp] = mod
    return out


def find_experiment(name: str):
    """The module of experiment ``name``.

    Raises
    ------
    InputError
        No experiment module has that name (the message lists the known ones).
    """
    mods = experiment_modules()
    if name not in mods:
        raise InputError(f"no experiment module named {name!r}; known experiments: {sorted(mods)}")
    return mods[name]
