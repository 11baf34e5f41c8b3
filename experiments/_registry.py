"""The experiment modules, by the name their run records carry.

The table below is the registry: the CLI builds its experiment commands from
it, ``neurram replay`` finds the module of a run's ``EXPERIMENT`` in it, and
``neurram sweep`` sweeps any of them (drawing its figure of merit, ``MERIT``). Each module defines ``EXPERIMENT`` and
``run`` (see :mod:`neurram_lab.experiments._common`) and its CLI front
(``COMMAND``, ``HELP``, ``add_arguments``, ``main``). Nothing here imports
the CLI.
"""

from __future__ import annotations

import importlib

from neurram_lab.errors import InputError

# Experiment modules with a CLI command, in the order ``neurram --help`` lists them.
EXPERIMENT_MODULES: list[str] = [
    "neurram_lab.experiments.demo",
    "neurram_lab.experiments.write_verify",
    "neurram_lab.experiments.relaxation",
    "neurram_lab.experiments.mvm_accuracy",
    "neurram_lab.experiments.mvm_energy",
    "neurram_lab.experiments.deploy_mnist_cnn",
    "neurram_lab.experiments.deploy_rbm_recovery",
    "neurram_lab.experiments.deploy_cifar10_resnet20",
    "neurram_lab.experiments.deploy_kws_lstm",
    "neurram_lab.experiments.deploy_train_small",
]

# Experiments without a CLI command of their own (tests add theirs here).
EXTRA_MODULES: list[str] = []

# Each experiment module declares its figure of merit, the summary figure a sweep draws by default
# (``neurram sweep``, :func:`figure_of_merit`), as ``MERIT = "figure"`` (``name[-1]``: the last entry of a
# list figure), or none (the sweep then draws the first numeric figure). A new experiment touches its own
# module and its line above, nothing else.

# Old experiment names (run files written before a name was its command's words joined by "-") are the
# migration module's knowledge (:data:`neurram_lab.runlog.migrate.OLD_EXPERIMENT_NAMES`, read there): they
# still replay and list under the new ones. It is imported on first use: importing neurram_lab.runlog loads
# h5py and pandas, which the registry (imported by `import neurram_lab.experiments`) must not
# (tests/test_import_light.py).


def canonical_name(name: str) -> str:
    """The current name of experiment ``name`` (an old run file's name, :func:`neurram_lab.runlog.migrate.experiment_name`)."""
    from neurram_lab.runlog.migrate import experiment_name
    return experiment_name(name)


def experiment_modules() -> dict:
    """``{EXPERIMENT name: module}`` of every experiment module."""
    out = {}
    for name in EXPERIMENT_MODULES + EXTRA_MODULES:
        mod = importlib.import_module(name)
        exp = getattr(mod, "EXPERIMENT", None)
        if isinstance(exp, str) and callable(getattr(mod, "run", None)):
            out[exp] = mod
    return out


def figure_of_merit(module) -> str | None:
    """The figure of merit an experiment module declares (its ``MERIT``), or None."""
    declared = getattr(module, "MERIT", None)
    return declared if isinstance(declared, str) and declared else None


def find_experiment(name: str):
    """The module of experiment ``name`` (an old name too, see :func:`canonical_name`).

    Raises
    ------
    InputError
        No experiment module has that name (the message lists the known ones).
    """
    mods = experiment_modules()
    if canonical_name(name) not in mods:
        raise InputError(f"no experiment module named {name!r}; known experiments: {sorted(mods)}")
    return mods[canonical_name(name)]
