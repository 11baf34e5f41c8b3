"""The differential check: the same FrontPanel call sequences on ``hil://`` (the emulator) and ``rtl://``
(the authors' Verilog), compared call by call and pin effect by pin effect.

The driver (:class:`~drivers.fpga_board.FpgaBoard`, unchanged) runs each scenario on both boards through a
:class:`Recorder` that keeps every FrontPanel call with its arguments and answer, and every effect that
reached the pins (each DAC channel's code after each update, each program pulse: polarity, cells,
width in ns, amplitude and gate volts). A status wait is a run of ``UpdateWireOuts`` + ``GetWireOutValue``
on one endpoint: the RTL takes cycles where the emulator answers at once, so each run is collapsed to its
last poll (the number of polls may differ, never the values after them). Everything else must be equal;
a mismatch names the call (index, name, arguments), the field, and both values.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from neurram_lab.errors import NeuRRAMError

from ._board_side import UNCONVERTED_TOPS

_CALLS = ("OpenBySerial", "ConfigureFPGA", "IsFrontPanelEnabled", "SetWireInValue", "UpdateWireIns",
          "UpdateWireOuts", "GetWireOutValue", "ActivateTriggerIn", "WriteToPipeIn", "ReadFromPipeOut", "Close",
          "GetSerialNumber", "IsOpen", "GetDeviceCount", "GetDeviceListSerial", "GetDeviceID")


class Recorder:
    """An ``okCFrontPanel`` handle that records every call (and the pin effects after it) of the one it wraps."""

    def __init__(self, dev, effects_fn):
        self._dev = dev
        self._effects_fn = effects_fn
        self.calls: list[list] = []  # [op, args, result, effects]

    def __getattr__(self, name):
        if name not in _CALLS:
            raise AttributeError(name)
        fn = getattr(self._dev, name)

        def call(*args):
            res = kept = fn(*args)
            shown = args
            if name == "ReadFromPipeOut":  # the words read are compared, the caller gets the count
                shown, kept = (args[0], len(args[1])), (res, bytes(args[1]))
            elif name == "WriteToPipeIn":
                shown = (args[0], bytes(args[1]))
            elif name in ("OpenBySerial", "GetSerialNumber", "GetDeviceListSerial", "GetDeviceID"):
                shown, kept = ("<board>",) if args else (), (res if isinstance(res, int) else "<board>")
            self.calls.append([name, shown, kept, self._effects_fn()])
            return res

        return call


def hil_effects(emu):
    """Effects function of an emulated bitstream: its DAC log and program pulses, as the pins would show them."""
    if getattr(emu, "plane_log", None) is None:
        emu.plane_log = []  # drivers.hil._mvm_fsm logs each MVM run's sampled input planes there
    if getattr(emu, "lfsr_log", None) is None:
        emu.lfsr_log = []  # and each LFSR preset, shift and pulse
    state = {"dac": len(emu.dac_log), "pulse": emu.last_pulse, "planes": len(emu.plane_log),
             "lfsr": len(emu.lfsr_log)}

    def effects():
        out = [("dac",) + tuple(e) for e in emu.dac_log[state["dac"]:]]
        state["dac"] = len(emu.dac_log)
        out += emu.lfsr_log[state["lfsr"]:]
        state["lfsr"] = len(emu.lfsr_log)
        for core, forward, pulses, planes in emu.plane_log[state["planes"]:]:
            for vec in planes:
                for p, plane in zip(pulses, vec):
                    out.append(("input_plane", core, "forward" if forward else "backward", int(p),
                                np.asarray(plane, np.int8).tobytes()))
        state["planes"] = len(emu.plane_log)
        p = emu.last_pulse
        if p is not None and p is not state["pulse"]:
            kind, cells, v, width_s, g = p
            out.append(("pulse", kind, tuple(cells), round(width_s * 1e9, 2), float(v), float(g)))
            state["pulse"] = p
        return out

    return effects


def rtl_effects(ok):
    """Effects function of an :class:`~drivers.rtl.okmodule.RtlOk`: the pins as its board side decoded them."""
    state = {"n": len(ok.chip.effects)}

    def effects():
        eff = ok.chip.effects
        out = list(eff[state["n"]:])
        state["n"] = len(eff)
        return out

    return effects


def collapse(calls):
    """The calls with every run of status polls on one endpoint reduced to its last poll (effects kept)."""
    out = []
    i, n = 0, len(calls)
    while i < n:
        c = calls[i]
        if c[0] == "UpdateWireOuts" and i + 1 < n and calls[i + 1][0] == "GetWireOutValue":
            ep = calls[i + 1][1][0]
            j = i
            eff = []
            while (j + 1 < n and calls[j][0] == "UpdateWireOuts" and calls[j + 1][0] == "GetWireOutValue"
                   and calls[j + 1][1][0] == ep):
                eff += calls[j][3] + calls[j + 1][3]
                j += 2
            last_u, last_g = calls[j - 2], calls[j - 1]
            out.append([last_u[0], last_u[1], last_u[2], []])
            out.append([last_g[0], last_g[1], last_g[2], eff])
            i = j
            continue
        out.append(c)
        i += 1
    return out


def _show(op, args):
    a = ", ".join(f"0x{x:02X}" if isinstance(x, int) and i == 0 and op != "OpenBySerial" else
                  (f"{len(x)} bytes" if isinstance(x, bytes) else repr(x)) for i, x in enumerate(args))
    return f"{op}({a})"


@dataclass
class DiffResult:
    calls_compared: int = 0
    fields_compared: int = 0
    mismatches: list = field(default_factory=list)
    hil_calls: int = 0
    rtl_calls: int = 0

    @property
    def ok(self) -> bool:
        return not self.mismatches


# what an op of MASKED_OPS (the driver's MVM sequence on the voltage-mode top) leaves out of the comparison:
# the 0xA2 readout words (their values are the chip's conversion, which neither side models on that top), the
# samples only rtl:// records there, and the input planes: that top runs matmul_unsigned_helper on the 100 MHz
# clock (neurram_top_voltage_mode.v:117) against the 25 MHz SPI controllers (:118), so its wait for the SPI
# shift (matmul_unsigned_helper.v:218-230: a 4-clock trigger, then until spi_idle) sees spi_idle before the
# slower controller has left idle (neurram_spi_control.v:137-161, registered on its own clock) and the neurons
# sample the chains before or during the shift (RTL: the first burst all zeros, the second half a plane);
# hil:// samples after it, as on neurram_top (docs/board_protocol.md). Every call, status word, DAC code and
# pulse is still compared.
MASKED_RESULTS = frozenset({("ReadFromPipeOut", 0xA2)})
MASKED_EFFECTS = frozenset({"unconverted_sample", "input_plane"})
MASKED_OPS = frozenset({"mvm_codes_masked"})


def _masked(calls):
    """The calls with every :data:`MASKED_RESULTS` result replaced by its length and every
    :data:`MASKED_EFFECTS` effect left out."""
    out = []
    for name, args, res, eff in calls:
        if (name, args[0] if args else None) in MASKED_RESULTS:
            res = ("<masked>", len(res[1]) if isinstance(res, tuple) else None)
        out.append([name, args, res, [e for e in eff if e[0] not in MASKED_EFFECTS]])
    return out


def compare(hil_calls, rtl_calls, label: str = "", result: DiffResult | None = None, max_shown: int = 50,
            mask: bool = False):
    """Compare two recorded call streams (after :func:`collapse`); add to ``result``. ``mask``: with the
    readout words and the unconverted samples left out (:func:`_masked`)."""
    r = result or DiffResult()
    a, b = collapse(hil_calls), collapse(rtl_calls)
    if mask:
        a, b = _masked(a), _masked(b)
    r.hil_calls += len(hil_calls)
    r.rtl_calls += len(rtl_calls)
    pre = f"{label}: " if label else ""

    def miss(msg):
        if len(r.mismatches) < max_shown:
            r.mismatches.append(pre + msg)
        else:
            r.mismatches.append(None)

    for i, (x, y) in enumerate(zip(a, b)):
        r.calls_compared += 1
        for name, u, v in (("call", x[0], y[0]), ("arguments", x[1], y[1]), ("result", x[2], y[2])):
            r.fields_compared += 1
            if u != v:
                miss(f"call {i} {_show(x[0], x[1])}: {name} hil={_fmt(u)} rtl={_fmt(v)}")
                return r  # the sequences diverge from here on
    if len(a) != len(b):
        r.fields_compared += 1
        k = min(len(a), len(b))
        extra = a[k] if len(a) > k else b[k]
        miss(f"call {k} {_show(extra[0], extra[1])}: only on {'hil' if len(a) > k else 'rtl'} "
             f"(hil {len(a)} calls, rtl {len(b)} after collapsing polls)")
    # two streams, each in order: the input planes (rtl:// learns a burst's planes at its conversion, the
    # readout's first compare, hil:// at the bit-serial cycles: an LFSR pulse between them is seen in
    # another order) and every other effect
    # the planes core by core (rtl:// converts a batch vector by vector, every core of a vector together;
    # hil:// a run core row by core row), each core's in order
    for planes in (True, False):
        ea = [(i, e) for i, c in enumerate(a) for e in c[3] if (e[0] == "input_plane") == planes]
        eb = [(i, e) for i, c in enumerate(b) for e in c[3] if (e[0] == "input_plane") == planes]
        if planes:
            ea.sort(key=lambda t: t[1][1])
            eb.sort(key=lambda t: t[1][1])
        for k, ((i, u), (_j, v)) in enumerate(zip(ea, eb)):
            r.fields_compared += max(len(u), len(v))
            if u != v:
                fld = next((f for f, p, q in zip(_EFFECT_FIELDS.get(u[0], ()), u, v) if p != q), "effect")
                miss(f"effect {k} after call {i} {_show(a[i][0], a[i][1])}: {u[0]} {fld} hil={_short(u)} "
                     f"rtl={_short(v)}")
                return r
        if len(ea) != len(eb):
            r.fields_compared += 1
            miss(f"pin effects{' (input planes)' if planes else ''}: hil {len(ea)}, rtl {len(eb)}; first unmatched "
                 f"{_short((ea[len(eb)] if len(ea) > len(eb) else eb[len(ea)])[1])}")
            return r
    return r


def _short(effect):
    """An effect for a message: byte fields as their length and first bytes."""
    return tuple(f"<{len(x)} bytes {x[:8].hex()}...>" if isinstance(x, bytes) else x for x in effect)


_EFFECT_FIELDS = {"dac": ("effect", "dac", "channel", "code"),
                  "input_plane": ("effect", "core", "direction", "pulses", "plane"),
                  "pulse": ("effect", "polarity", "cells", "width_ns", "amplitude_v", "gate_v"),
                  "unconverted_sample": ("effect", "top", "pulses", "pins"),
                  "lfsr_preset": ("effect",), "lfsr_shift": ("effect", "core", "clocks"),
                  "lfsr_pulse": ("effect", "cores", "sample_ns", "integrations", "inference_mode")}


def _fmt(v):
    if isinstance(v, int) and not isinstance(v, bool):
        return f"0x{v:X}"
    if isinstance(v, tuple) and len(v) == 2 and isinstance(v[1], bytes):
        return f"{v[0]} / {v[1][:16].hex()}..."
    return repr(v)


# --------------------------------------------------------------------------- scenarios
# tops whose MVM / neuron-test samples only the chip can convert (voltage mode: the line's settled voltage,
# not the integrated charge both models compute); rtl:// logs their samples as unconverted
NO_MVM_TOPS = UNCONVERTED_TOPS


def scenario_ops(n_ops: int, seed: int, n_cells: int = 64, full: bool = True, top: str = "neurram_top"):
    """The CI-size plan (:func:`drivers.rtl._scenario.ci_plan`: cells, rails, a 16-vector MVM, the neuron
    test) and ``n_ops`` seeded operations after it, without cells whose reads would range for hours
    (:func:`drivers.rtl._scenario.bounded_ops`); ``full`` adds the MVM variety
    (:func:`drivers.rtl._scenario.mvm_ops`: 1 / 4 / 8 input bits, 1-8 output bits, both directions), the
    LFSR path again with a second stochastic MVM (:func:`drivers.rtl._scenario.lfsr_ops`) and the multi-row
    MVMs the CI plan does not run (:data:`drivers.rtl._scenario.ROWS_MVMS`: a run over three clock groups).
    For a top in :data:`NO_MVM_TOPS` the MVMs (stochastic and multi-row ones too) and the neuron test are left
    out (the SPI round trips and the LFSR preset and state reads stay): its neuron controller
    (``neuron_control_voltage_mode.v``) samples the settled line voltage with the word lines on, an analog
    result neither the emulator nor the board model computes (``rtl://`` records such samples as
    ``unconverted_sample``; docs/board_protocol.md); two MVMs run there through the driver's sequence with
    the codes and input planes masked (:data:`MASKED_OPS`). There the first LFSR shift never ends (its
    ``lfsr_control`` has no ``shift_cycle``, :data:`drivers.hil._mvm_fsm.LFSR_SHIFT_UNENDING_TOPS`): the
    state reads are refused on both with the same CapabilityError, nothing sent
    (:func:`drivers._lfsr_host.check_readout`)."""
    from ._scenario import LFSR_MVMS, ROWS_MVM_CI, ROWS_MVMS, bounded_ops, lfsr_ops, mvm_ops, mvm_rows_ops

    ops = bounded_ops(seed, n_cells, n_ops)
    if full:
        core, cells = next((op[1], op[2]) for op in ops if op[0] == "form")
        ops = (ops + mvm_ops(core, cells) + lfsr_ops(core, cells, LFSR_MVMS[1:])
               + mvm_rows_ops(cells, ROWS_MVMS[len(ROWS_MVM_CI):], form=False))
    if top in NO_MVM_TOPS:
        ops = [op for op in ops if op[0] not in ("mvm", "mvm_rows", "neuron_test", "stochastic_mvm")]
        core, cells = next((op[1], op[2][:8]) for op in ops if op[0] == "form")
        # the driver's MVM sequence past FpgaBoard's refusal, codes and planes masked (MASKED_OPS)
        ops += [("mvm_codes_masked", core, cells, 2, 1, 2, "forward", 0, False, None),
                ("mvm_codes_masked", core, cells, 1, 4, 3, "backward", 1, True, None)]
    return ops


def run_op(board, op):
    """Run one scenario operation on ``board`` (:func:`drivers.rtl._scenario.run_op`)."""
    from ._scenario import run_op as _run

    return _run(board, op)


def check_params():
    """The twin of both boards: the defaults with the MVM conversion's noise off (comparator, sampling,
    supply wobble). The RTL converts a batch vector by vector (``matmul_dac2adc.v``: each vector's cycles,
    then its readout) where ``hil://`` converts it in one twin call; with noise the two would draw
    differently, with it off the codes are the same function of the same charges, so the comparison
    sees the logic, not the draws. Reads and pulses keep their noise (one twin call each on both)."""
    from neurram_lab.sim_backend.params import TwinParams

    p = TwinParams()
    c = p.circuit
    c.comparator_noise_v = 0.0
    c.cycle_noise_v = 0.0
    c.temperature_k = 0.0
    c.supply_noise_ohm = 0.0
    return p


def open_pair(hdl, top: str, seed: int, **board_opts):
    """(hil board, its recorder, rtl board, its recorder), both on twins of ``seed`` (``board_opts`` to both
    :class:`~drivers.fpga_board.FpgaBoard`, e.g. ``poll_timeout_s``)."""
    from ..hil import connect as hil_connect
    from ..hil import make_emulated_board
    from . import connect as rtl_connect
    from . import make_rtl_ok

    params = check_params()
    ok_h, emu = make_emulated_board(seed, params=params, bitstream=top)
    rec_h = {}
    orig_h = ok_h.okCFrontPanel
    ok_h.okCFrontPanel = lambda: rec_h.setdefault("r", Recorder(orig_h(), hil_effects(emu)))
    ok_r = make_rtl_ok(hdl, top, seed, params=check_params())
    rec_r = {}
    orig_r = ok_r.okCFrontPanel
    ok_r.okCFrontPanel = lambda: rec_r.setdefault("r", Recorder(orig_r(), rtl_effects(ok_r)))
    hb = hil_connect(ok_h, **board_opts)
    try:
        rb = rtl_connect(ok_r, **board_opts)
    except BaseException:
        hb.close()
        raise
    return hb, rec_h["r"], rb, rec_r["r"]


def mirror_check(rb, label: str, res: DiffResult) -> None:
    """The driver's own record of every DAC code it set against the codes the RTL's DAC pins carried there.

    hil:// and rtl:// decode the daisy chain each their own way, so a wrong word or channel in the driver
    lands on the same wrong channel on both and the call-by-call comparison sees nothing; this does."""
    pins = rb.rtl.chip.dac_code
    for (dac, ch), code in sorted(rb.dac_codes.items()):
        res.fields_compared += 1
        got = pins.get((dac, ch), 0)
        if got != code:
            res.mismatches.append(f"{label}: DAC {dac} channel {ch}: the driver set code 0x{code:04X}, "
                                  f"the RTL's pins carry 0x{got:04X}")
            return


def _run_both(hb, rb, fn):
    """Run ``fn(board)`` on both; (result or the typed error's text) of each."""
    out = []
    for b in (hb, rb):
        try:
            out.append(("ok", fn(b)))
        except NeuRRAMError as exc:
            out.append(("error", f"{type(exc).__name__}: {exc}"))
    return out


def check(hdl, top: str = "neurram_top", n_ops: int = 8, seed: int = 0, progress=None, pair=None,
          n_cells: int = 64, ops=None) -> dict:
    """Run the differential check; a JSON-able summary (``mismatches`` empty when hil:// equals rtl://).

    ``ops`` replaces the plan (:func:`scenario_ops`) by a list of operations; ``progress(i, n)`` after each.
    """
    t0 = time.perf_counter()
    hb, rh, rb, rr = pair or open_pair(hdl, top, seed)
    res = DiffResult()
    ops = scenario_ops(n_ops, seed, n_cells) if ops is None else list(ops)
    try:
        ha, hb_n = getattr(rh, "compared", 0), getattr(rr, "compared", 0)  # a pair checked before: only what is new
        label0 = "open" if ha == 0 else "before this check"
        compare(rh.calls[ha:], rr.calls[hb_n:], label0, res)
        mirror_check(rb, label0, res)
        if progress is not None:
            progress(0, len(ops))
        for i, op in enumerate(ops):
            na, nb = len(rh.calls), len(rr.calls)
            outs = _run_both(hb, rb, lambda b, op=op: run_op(b, op))
            label = f"op {i} {op[0]}" + (f" {op[1]}" if op[0] in ("error", "manual_range") else "")
            masked = op[0] in MASKED_OPS
            compare(rh.calls[na:], rr.calls[nb:], label, res, mask=masked)
            res.fields_compared += 1
            if masked:  # the codes are the chip's: only whether it ran, and their shape
                outs = [(k, np.shape(v) if k == "ok" else v) for k, v in outs]
            if outs[0] != outs[1]:
                res.mismatches.append(f"{label}: outcome hil={outs[0]!r} rtl={outs[1]!r}")
            mirror_check(rb, label, res)
            if progress is not None:
                progress(i + 1, len(ops))
        sim = rb.rtl.sim
        cycles, sim_wall = sim.cycles, sim.wall_s
    finally:
        rh.compared, rr.compared = len(rh.calls), len(rr.calls)
        if pair is None:
            hb.close()
            rb.close()
    wall = time.perf_counter() - t0
    shown = [m for m in res.mismatches if m is not None]
    kinds = sorted({op[0] for op in ops})
    return {"top": top, "seed": seed, "ops": len(ops), "op_kinds": kinds, "calls_compared": res.calls_compared,
            "fields_compared": res.fields_compared, "mismatches": len(res.mismatches), "mismatch_list": shown,
            "hil_calls": res.hil_calls, "rtl_calls": res.rtl_calls, "simulated_cycles": cycles,
            "wall_s": round(wall, 2), "cycles_per_s": round(cycles / sim_wall, 1) if sim_wall else None}
