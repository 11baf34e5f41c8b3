"""Every knowledge of older run-file formats, in one place: what a run file from before is read as today.

Readers call these as they read (the journal's decoder, the experiment
registry), so the rest of the code sees only current names:

- :func:`class_path`: a class named in a journal by its Python path (every file
  written before type tags, :mod:`._type_tags`) -> its current ``module:qualname``,
  through the modules that moved (:data:`MOVED_MODULES`) and the top-level
  packages that moved under ``neurram_lab`` (:data:`OLD_TOP_PACKAGES`);
- :func:`experiment_name`: an experiment's old name -> its current one
  (:data:`OLD_EXPERIMENT_NAMES`);
- :data:`LEGACY_SETTLE_S`: the write-verify settle of deploy runs recorded
  before the paper's protocol (their parameters name ``relax_s``).
"""

from __future__ import annotations

# Modules that moved when neurram_lab got its tier folders: run files written before name the old ones.
MOVED_MODULES: dict[str, str] = {
    "neurram_lab.board": "neurram_lab.board.contract",
    "neurram_lab.capabilities": "neurram_lab.board.capabilities",
    "neurram_lab.limits": "neurram_lab.board.limits",
    "neurram_lab.registry": "neurram_lab.board.registry",
    "neurram_lab.writeverify": "neurram_lab.program.writeverify",
    "neurram_lab.programming": "neurram_lab.program.programming",
    "neurram_lab.weights": "neurram_lab.program.weights",
    "neurram_lab.mvm": "neurram_lab.mvm.mvm",
    "neurram_lab.calibration": "neurram_lab.mvm.calibration",
    "neurram_lab.recurrent": "neurram_lab.mvm.recurrent",
    "neurram_lab.runlog": "neurram_lab.runlog.runlog",
    "neurram_lab.journal": "neurram_lab.runlog.journal",
    "neurram_lab.journal_board": "neurram_lab.runlog.journal_board",
    "neurram_lab.replay": "neurram_lab.runlog.replay",
}
# Top-level packages of files written before they moved under neurram_lab (issue 21).
OLD_TOP_PACKAGES = ("drivers", "sim_backend")

# An experiment's name (its module's ``EXPERIMENT``, stored in the run record and starting its run
# file's name) is its CLI command's words joined by "-": run files written before that rule carry these.
OLD_EXPERIMENT_NAMES: dict[str, str] = {
    "write-verify": "characterize-write-verify",
    "relaxation": "characterize-relaxation",
    "characterize_mvm": "characterize-mvm",
    "characterize_energy": "characterize-energy",
}

LEGACY_SETTLE_S = 1.0  # write-verify settle of deploy runs recorded before the paper's protocol (they name relax_s)


def class_path(path: str) -> str:
    """The current ``module:qualname`` of a class a journal names by ``path`` (``module:qualname``)."""
    mod_name, _, qual = str(path).partition(":")
    mod_name = MOVED_MODULES.get(mod_name, mod_name)
    if mod_name.split(".")[0] in OLD_TOP_PACKAGES:
        mod_name = "neurram_lab." + mod_name
    return f"{mod_name}:{qual}"


def experiment_name(name: str) -> str:
    """The current name of experiment ``name`` (an old run file's name mapped through ``OLD_EXPERIMENT_NAMES``)."""
    return OLD_EXPERIMENT_NAMES.get(name, name)


def board_capabilities(record: dict):
    """The :class:`~neurram_lab.board.capabilities.BoardCapabilities` a run's board declared (its start
    snapshot); the full set for runs recorded before boards declared capabilities."""
    from ..board.capabilities import BoardCapabilities

    caps = (record or {}).get("board", {}).get("capabilities")
    return BoardCapabilities.from_dict(caps) if caps else BoardCapabilities()


def recorded_without(op: str, next_op: str | None) -> bool:
    """Whether a replay's ``op`` was a call the recording board did not have (its journal goes on with
    ``next_op``): runs recorded before boards had ``rail_range_v`` read their rail ranges from the safety
    limits, without a board call."""
    return op == "rail_range_v" and next_op != "rail_range_v"
