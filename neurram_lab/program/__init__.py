"""Tier 2, programming: write-verify, iterative programming, dead-cell scans, weight matrices.

- :mod:`.writeverify`: :func:`write_verify` (with its compiled round update,
  ``_writeverify_numba``) and :func:`form_cells`;
- :mod:`.programming`: :func:`iterative_program`, :func:`scan_dead_cells`,
  :func:`program_weights` (one matrix) and :func:`program_matrices` (several in one pass), checkpointing into a run file;
- :mod:`.weights`: :class:`MatrixPlacement`, :class:`ProgrammedMatrix`, weight <-> conductance.
"""

from .programming import (
    PROGRAM_TABLES,
    DeadCellScan,
    IterativeResult,
    iterative_program,
    program_matrices,
    program_weights,
    relaxation_spread_s,
    scan_dead_cells,
)
from .weights import MatrixPlacement, ProgrammedMatrix, conductance_to_weights, weights_to_conductance
from .writeverify import ProgramResult, WriteVerifyConfig, form_cells, write_verify

__all__ = [
    "WriteVerifyConfig", "ProgramResult", "write_verify", "form_cells",
    "PROGRAM_TABLES", "DeadCellScan", "IterativeResult", "iterative_program", "program_matrices",
    "program_weights", "relaxation_spread_s", "scan_dead_cells",
    "MatrixPlacement", "ProgrammedMatrix", "weights_to_conductance", "conductance_to_weights",
]
