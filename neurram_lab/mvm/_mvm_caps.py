"""Tier 2 MVMs within a board's capabilities: choose output bits, refuse early, split what the board cannot.

:func:`plan_mvm` checks an MVM configuration against the board's
:class:`~neurram_lab.board.capabilities.BoardCapabilities` before anything is sent,
and picks the output bits when the caller left them open. :func:`board_mvm`
runs one :class:`~neurram_lab.board.contract.MVMRequest` the way the board can:

- more cores than ``max_parallel_cores``: one request per group of cores;
- two-phase inputs on a board without ``two_phase``: the host runs the MSB
  and LSB segments as two single-phase requests and combines their codes
  as the firmware would (``code_hi * 2**L + code_lo * 2**(k_hi - k_lo)``,
  :func:`~neurram_lab.board.contract.input_segments`), so the codes mean the same;
  the MSB segment converts at ``output_bits + 2`` bits, which the board must have.

Directions and activations have no host-side equivalent (a backward MVM
needs the transposed matrix on the array): a board without them refuses up front.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..validate import boolean, choice, integer, optional_integer
from ..board.capabilities import ACTIVATIONS, MVM_DIRECTIONS
from ..board.capabilities import BoardCapabilities, capabilities_of
from ..errors import CapabilityError


def _segments(input_bits, output_bits, signed, two_phase):
    from ..board.contract import input_segments

    return input_segments(input_bits, output_bits, signed, two_phase)


def host_split(caps: BoardCapabilities, input_bits: int, signed: bool, two_phase: bool) -> bool:
    """Whether a two-phase MVM runs as two single-phase requests (the board lacks ``two_phase``)."""
    m = input_bits - 1 if signed else input_bits
    return bool(two_phase) and not caps.two_phase and m >= 4


def plan_mvm(board, input_bits: int, output_bits: int | None = None, direction: str = "forward",
             two_phase: bool = False, activation: str = "none", signed: bool = True, preferred_bits: int = 6,
             caps: BoardCapabilities | None = None) -> int:
    """Check an MVM configuration against the board's capabilities; returns the output bits to use.

    Parameters
    ----------
    board : Board
    input_bits : int
    output_bits : int or None
        Asked for explicitly (refused when the board cannot convert it), or
        None: ``preferred_bits`` brought into the board's range.
    direction, two_phase, activation, signed
        As in :class:`~neurram_lab.board.contract.MVMRequest`.
    preferred_bits : int
        The output bits wanted when ``output_bits`` is None.

    Raises
    ------
    CapabilityError
        Naming the capability, the value and the board's limit.
    """
    caps = capabilities_of(board) if caps is None else caps
    input_bits = integer("input_bits", input_bits, 1, 8)
    output_bits = optional_integer("output_bits", output_bits, 1, 10)
    direction = choice("direction", direction, MVM_DIRECTIONS)
    activation = choice("activation", activation, ACTIVATIONS)
    two_phase, signed = boolean("two_phase", two_phase), boolean("signed", signed)
    caps.check_direction(direction)
    caps.check_activation(activation)
    caps.check_bits("input_bits", input_bits)
    lo, hi = caps.output_bits
    split = host_split(caps, int(input_bits), signed, two_phase)
    if split and activation in ("sigmoid", "tanh", "stochastic"):
        caps.check_two_phase(True)  # the chip needs one phase for these; the host cannot combine them
    if output_bits is None:
        out = caps.pick_output_bits(None, preferred_bits)
        if split:  # the MSB segment converts at out + 2 bits: keep it on the board
            out = max(lo, min(out, hi - 2)) if hi < 10 else out
    else:
        out = caps.check_bits("output_bits", output_bits)
    if split:
        for _, _, k_bits, _ in _segments(int(input_bits), out, signed, True):
            if not lo <= k_bits <= hi:
                raise CapabilityError("output_bits", k_bits, (lo, hi),
                                      f"a two-phase MVM at {out} output bits converts one phase at {k_bits} bits, "
                                      "split on the host because the board has no two-phase mode")
    return int(out)


def board_mvm(board, req, caps: BoardCapabilities | None = None) -> np.ndarray:
    """``board.mvm(req)`` within the board's capabilities (see module doc); codes int16 (n_cores, batch, n_out)."""
    caps = capabilities_of(board) if caps is None else caps
    n = caps.max_parallel_cores
    if len(req.cores) > n:
        x = np.asarray(req.inputs)
        parts = [board_mvm(board, dataclasses.replace(req, cores=tuple(req.cores[i : i + n]), inputs=x[i : i + n]), caps)
                 for i in range(0, len(req.cores), n)]
        return np.concatenate(parts, axis=0)
    if not host_split(caps, int(req.input_bits), bool(req.signed_inputs), bool(req.two_phase)):
        if req.two_phase and not caps.two_phase:  # too few bits to split: one phase anyway
            req = dataclasses.replace(req, two_phase=False)
        return board.mvm(req)
    x = np.asarray(req.inputs).astype(np.int16, copy=False)
    mag = np.abs(x)
    sgn = np.sign(x).astype(np.int16) if req.signed_inputs else None
    codes = None
    for shift, n_bits, k_bits, mult in _segments(int(req.input_bits), int(req.output_bits), bool(req.signed_inputs), True):
        seg = (mag >> shift) & (2**n_bits - 1)
        if sgn is not None:
            seg = seg * sgn
        part = board.mvm(dataclasses.replace(req, inputs=seg.astype(np.int16), two_phase=False,
                                             input_bits=n_bits + 1 if req.signed_inputs else n_bits,
                                             output_bits=k_bits, activation="none"))
        part = part.astype(np.int16) * np.int16(mult)
        codes = part if codes is None else codes + part
    if req.activation == "relu":
        np.maximum(codes, 0, out=codes)
    return codes
