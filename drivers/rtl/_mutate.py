"""Single-constant changes of the driver's tables (:mod:`drivers.neurram_top`), each shown to fail the RTL check.

A wrong entry in ``neurram_top.py`` reaches the driver and the emulator alike (both read the same module), so
``hil://`` agrees with the driver and every other test passes. :func:`mutated` makes such an entry in this
process, for the driver and ``hil://``, while the RTL side's board model (:mod:`drivers.rtl._board_side`,
the carrier board's wiring, which the HDL cannot decide) keeps a pristine copy of the module; the authors'
Verilog, the truth, has no table to change. :func:`check_mutation` runs a few operations under one change
and returns the check's summary: a change is caught when it has mismatches.

Two ways: on an open pair (:func:`check_mutation` with ``pair``: the change made after the open, for
constants the driver and the emulator look up at each call; cheap, the CI test), or on a pair opened
under the change (``pair=None``: every constant, the open included, as a wrong file would be; ~30 s each,
``benchmarks/bench_rtl_check.py``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys

from .. import neurram_top as nt
from . import _board_side


def _bad_dac_word(cmd: int, channel: int, code: int) -> int:
    """The daisy-chain word with its channel field one bit low ([18:15] instead of [19:16])."""
    return ((cmd & 0xF) << 20) | ((channel & 0xF) << 15) | (code & 0xFFFF)


# name -> (attribute of neurram_top, wrong value, what it is); each changes one entry the driver uses
MUTATIONS = {
    # (0x29 -> 0x21 would not do: after an auto-ranged read 0x21 holds resistance_read's last start code,
    # the same value, as the RTL shows)
    "endpoint": ("WO_AR_TIMING", 0x22, "auto-ranged timing read from wire-out 0x22 instead of 0x2B"),
    # (bit 3 would not do here: it is the DAC FIFO's empty flag, which the emulator models on its own, so the
    # read waits for it to clear and hangs on hil:// too, where the other tests see it)
    "status_bit": ("ST_AR_VALID", 1 << 6, "auto-range valid polled on 0x20 bit 6 instead of bit 2"),
    "dac_channel": ("dac_word", _bad_dac_word, "DAC word channel field at [18:15] instead of [19:16]"),
    "formula": ("ADC_VREF_V", 2.0, "ADC code formula with a 2.0 V reference instead of 2.048 V"),
    "trigger_bit": ("T_DAC_PUSH", 0, "DAC word push sent on trigger 0x40 bit 0 instead of bit 1"),
    "pulse_extra": ("PULSE_EXTRA_TICKS", nt.PULSE_EXTRA_TICKS + 1, "pulse width register off by one tick"),
    "mvm_status_bit": ("NS_BATCH_IDLE", 1 << 4, "batched MVM done polled on 0x28 bit 4 (matmul idle) instead of bit 9"),
    # the LFSR path (drivers/_lfsr_host.py): the chains' set pin is ~0x0A[0] (neurram_top.v:404), 0x0B is the
    # write mux (:601), so the preset reaches the pins only on 0x0A
    "lfsr_set_wire": ("WI_LFSR", 0x0B, "LFSR preset sent on wire-in 0x0B bit 0 instead of 0x0A bit 0"),
    # trigger 0x44 bit 5 starts lfsr_control.v's pulse (neurram_top.v:614); bit 6 is not wired
    "lfsr_pulse_bit": ("T_LFSR_PULSE", 6, "LFSR pulse sent on trigger 0x44 bit 6 instead of bit 5"),
}
# looked up at each call by the driver and the emulator: checkable on an already open pair
CALL_TIME = ("endpoint", "status_bit", "dac_channel", "formula", "pulse_extra", "mvm_status_bit", "lfsr_set_wire")


_PRISTINE_NAME = "neurram_lab.drivers._neurram_top_pristine"


def _pristine():
    """A second, unchanged copy of :mod:`drivers.neurram_top` (its own globals), loaded once."""
    mod = sys.modules.get(_PRISTINE_NAME)
    if mod is None:
        spec = importlib.util.spec_from_file_location(_PRISTINE_NAME, nt.__file__)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[_PRISTINE_NAME] = mod  # dataclasses look their module up while it executes
        spec.loader.exec_module(mod)
    return mod


@contextlib.contextmanager
def mutated(name: str):
    """Within the block, ``neurram_top`` has mutation ``name`` for the driver and hil://, not for the RTL's
    board model."""
    attr, value, _what = MUTATIONS[name]
    saved = getattr(nt, attr)
    _board_side.nt = _pristine()
    setattr(nt, attr, value)
    try:
        yield
    finally:
        setattr(nt, attr, saved)
        _board_side.nt = nt


def ops_for(name: str, core: int, cells) -> list[tuple]:
    """The few operations mutation ``name`` is tried on, on formed ``cells`` of ``core``: the ones that use
    the changed entry (a rail move for the DAC word, a SET pulse for the width, an auto-ranged read else)."""
    if name == "dac_channel":
        return [("rails", {"v_cell_read": 0.25}), ("rails", {"v_cell_read": 0.3})]
    if name == "pulse_extra":
        return [("set", core, cells[:1])]
    if name == "mvm_status_bit":
        return [("mvm", core, cells, 1, 1, 2, "forward", 0, False, None)]
    if name == "lfsr_set_wire":
        return [("lfsr_preset",), ("lfsr_read", core, 1)]
    if name == "lfsr_pulse_bit":
        from ._scenario import LFSR_MVM_CI

        return [("stochastic_mvm", core, cells) + LFSR_MVM_CI[0]]
    return [("read", core, cells[:1])]


def check_mutation(name: str, ops, hdl=None, top: str = "neurram_top", seed: int = 0, pair=None,
                   poll_timeout_s: float = 20.0) -> dict:
    """The differential check of ``ops`` under mutation ``name`` (:data:`MUTATIONS`); its summary.

    With ``pair`` (from :func:`drivers.rtl.diff.open_pair`, already open) only :data:`CALL_TIME` changes;
    without, a pair is opened under the change and closed after. A status wait the RTL never ends fails
    after ``poll_timeout_s`` wall seconds.
    """
    from neurram_lab.errors import InputError, NeuRRAMError

    from . import diff

    if pair is not None and name not in CALL_TIME:
        raise InputError(f"mutation {name!r} is made before the open: give pair=None")
    with mutated(name):
        own = pair is None
        if own:
            try:
                pair = diff.open_pair(hdl, top, seed, poll_timeout_s=poll_timeout_s)
            except NeuRRAMError as exc:  # the open itself failed under the change: caught
                return {"mutation": name, "mismatches": 1, "mismatch_list": [f"open: {type(exc).__name__}: {exc}"]}
        saved = [(b, b.poll_timeout_s) for b in (pair[0], pair[2])]
        for b, _ in saved:
            b.poll_timeout_s = poll_timeout_s
        try:
            res = diff.check(hdl, top, seed=seed, pair=pair, ops=ops)
        finally:
            for b, t in saved:
                b.poll_timeout_s = t
            if own:
                pair[0].close()
                pair[2].close()
    res["mutation"] = name
    return res
