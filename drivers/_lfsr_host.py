"""The chip's LFSR block through the authors' bitstream (``lfsr_control.v``): the host side.

What the host sends (re-implemented from the HDL and the authors' ``lfsr_control.py``, not copied):

- preset: ``0x0A`` bit 0 high, then low (the chip's active-low ``lfsrhorz_set_b``);
- read: ``0x10`` with the shift count in ``[20:12]`` (the sample time stays in
  ``[11:4]``, the LFSR pulse width in ``[3:0]``), trigger ``0x44`` bit 4, then
  64 bytes from pipe ``0xA1``: two 256-bit registers (words 0-7 and 8-15,
  little-endian) into which ``lfsr_control.v`` shifted the chip's two
  ``lfsr_out`` bits at bit 255 on every ``lfsr_clk``. After 256 clocks bit
  ``i`` of register ``k`` is the bit chain ``k`` gave at clock ``i``.

The LFSR pulse (trigger ``0x44`` bit 5): noise injected at the neurons
(``lfsr_control.v:172-330, 378-413`` on the 25 MHz SPI clock,
``neurram_top.v:118,613-637``). Each pulse raises ``ext_inf`` (PREP1), turns
inference off (PREP2, ``inf_mode_off`` gates ``inference_mode``,
``neurram_top.v:376``), raises the chip's ``lfsrpulse`` pin (PREP3) and
``lfsr_mode`` (PREP4; ``lfsr_mode = 0x05[2] | lfsr_mode_on``,
``neurram_top.v:378``, so 0x05 bit 2 need not be set and must not be, since it
would turn inference mode off for the MVM), closes the neurons' sampling
switch for ``0x10[3:0] + 1`` clocks (``lfsr_neuron_on`` into ``sw_in_sample``,
``neurram_top.v:392``), then triggers one integration of the neuron FSM
(``integ_trig`` into ``neuron_integ_trig``, ``neurram_top.v:665``) and waits
for its ``sw_integ`` to rise and fall (TRIG_INTEG1/2). The neuron FSM's
integration continues with ``0x09[21:14]`` more sample-and-integrate cycles of
its own (``neuron_control.v:1319-1330``; the count comes from 0x09 while the
bit-serial FSM is idle, ``neurram_top.v:666``), and goes on to compare when
``0x09`` bit 0 (run all) is set: a stochastic MVM therefore holds 0x09's
pulse count at 0 and run-all low while it pulses.

The MVM with noise, as this driver sends it (:func:`drivers._mvm_host.run_mvm`,
``activation="stochastic"``): per vector, trigger 0x45 bit 7 (one bit-serial
MVM, no readout; ``matmul_unsigned_helper``, ``neurram_top.v:881-903``), poll
0x28 bit 4; ``pulses`` LFSR pulses (each trigger 0x44 bit 5, poll 0x28 bit 0);
then the multi-level readout (0x45 bit 5, poll 0x28 bit 3, pipe 0xA2). The
authors' ``matmul_01`` runs the same first half (0x45 bit 7, poll 0x28 bit 4,
``matmul.py:268-276``) and ends with a binary compare instead.

Levels: the authors' host drives the two LFSR levels on DAC 0 channels 5
(VPLFSR) and 6 (VNLFSR) (``neuron_control.py:23-26``, ``lfsr_control.py:27-32``)
with module defaults 1.0 V and 0.8 V around VREF 0.9 V (``dac_control.py:13-16``).
How many pulses, which levels and which pulse width the paper's RBM used is in
no published host code (their ``rbm_chip_inference.ipynb`` is not in the
stored copy). They are therefore lab parameters (:class:`NoiseInjection`): the
defaults below are a starting point, not the chip's calibration, and
:func:`calibrate_noise` picks the pulse count (and, below one pulse, the
amplitude) that gives a wanted rms in output codes, measured on a zero-input
MVM.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from neurram_lab.errors import CapabilityError, InputError, LimitError

from . import neurram_top as nt

N_CHAIN_BITS = 256
LFSR_BYTES = 64  # 16 pipe words
MAX_SHIFT = nt.DEBUG_LFSR_SHIFT_CYCLES.mask >> nt.DEBUG_LFSR_SHIFT_CYCLES.lsb  # 0x10[20:12]: 511
MAX_PULSE_WIDTH = nt.DEBUG_LFSR_PULSE_WIDTH.mask  # 0x10[3:0]: 15


def lfsr_word(shift_cycles: int, pulse_width: int = 0, t_sample: int = 2) -> int:
    """0x10: LFSR shift count [20:12], sample time [11:4], LFSR pulse width [3:0] (80 ns clocks)."""
    for name, v, hi in (("shift_cycles", shift_cycles, MAX_SHIFT), ("pulse_width", pulse_width, MAX_PULSE_WIDTH),
                        ("t_sample", t_sample, 0xFF)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not (name != "shift_cycles" or v >= 1) \
                or not 0 <= int(v) <= hi:
            lo = 1 if name == "shift_cycles" else 0
            raise InputError(f"{name} must be an integer in {lo}..{hi} (0x10 field), got {v!r}")
    return (nt.DEBUG_LFSR_SHIFT_CYCLES.put(shift_cycles) | nt.DEBUG_T_SAMPLE.put(t_sample)
            | nt.DEBUG_LFSR_PULSE_WIDTH.put(pulse_width))


def decode_state(data) -> np.ndarray:
    """(2, 256) uint8 bits of the 64 bytes of pipe 0xA1: register ``k``'s bit ``i`` at ``[k, i]``."""
    raw = bytes(data)
    if len(raw) != LFSR_BYTES:
        raise InputError(f"pipe 0xA1 gives {LFSR_BYTES} bytes per LFSR read, got {len(raw)}")
    return np.unpackbits(np.frombuffer(raw, np.uint8), bitorder="little").reshape(2, N_CHAIN_BITS)


def preset(board) -> None:
    """Preset the chips' LFSR chains: 0x0A bit 0 high, then low."""
    link = board.link
    for v in (1, 0):
        if board.stage_wire_in(nt.WI_LFSR, v):
            link.update_wire_ins()


def check_readout(board) -> None:
    """CapabilityError, nothing sent, when ``board``'s top level cannot give its LFSR state (see read_bits)."""
    bs = getattr(board, "bitstream", None)
    why = getattr(bs, "lfsr_readout_unavailable", "")
    if why:
        raise CapabilityError("lfsr_readout", bs.name, nt.LFSR_READOUT_BITSTREAMS,
                              f"the LFSR state readout (0x44 bit 4, pipe 0xA1) does not work on {bs.name}: {why}")


def read_bits(board, core: int, reads: int = 1) -> np.ndarray:
    """``reads`` LFSR reads of 256 clocks from ``core`` (enabled first): (reads, 2, 256) uint8.

    Each read clocks the chains 256 times, so successive reads give new bits.

    Raises
    ------
    CapabilityError
        On a top level whose LFSR state cannot be read (``Bitstream.lfsr_readout_unavailable``: the SAR and
        voltage-mode tops leave ``lfsr_control``'s ``shift_cycle`` unconnected, so the shift never ends and
        0xA1 stays empty); nothing is sent.
    """
    from ._mvm_host import enable_cores

    check_readout(board)
    if isinstance(reads, bool) or not isinstance(reads, (int, np.integer)) or not 1 <= int(reads) <= 1 << 20:
        raise InputError(f"reads must be an integer in 1..{1 << 20}, got {reads!r}")
    word = lfsr_word(N_CHAIN_BITS)
    enable_cores(board, [int(core)])
    link = board.link
    if board.stage_wire_in(nt.WI_DEBUG, word):
        link.update_wire_ins()
    out = np.empty((int(reads), 2, N_CHAIN_BITS), np.uint8)
    for k in range(int(reads)):
        link.trigger(nt.TI_SPI, nt.T_LFSR_SHIFT)
        out[k] = decode_state(link.pipe_out(nt.PO_LFSR, LFSR_BYTES))
    return out


# ------------------------------------------------------------------ the LFSR pulse
DAC_VPLFSR, DAC_VNLFSR = (0, 5), (0, 6)  # neuron_control.py:23-26
MAX_PULSES = 255


@dataclass(frozen=True)
class NoiseInjection:
    """How a stochastic MVM injects LFSR noise at the neurons (a lab setting, see the module notes).

    Attributes
    ----------
    amplitude_v : float
        VPLFSR - v_ref = v_ref - VNLFSR (V): the two levels a neuron samples,
        chosen by its LFSR bit. Default 0.1 V: the authors' module defaults
        (1.0 / 0.8 V around 0.9 V, ``dac_control.py:13-16``).
    pulses : int
        LFSR pulses per vector, 1..255. Default 1: the least injection the
        sequence allows; not a published level.
    pulse_width : int
        ``0x10[3:0]``: the sampling switch stays closed ``pulse_width + 1``
        clocks of 40 ns (``lfsr_control.v:390-392``). Default 2.
    """

    amplitude_v: float = 0.1
    pulses: int = 1
    pulse_width: int = 2

    def __post_init__(self):
        a = self.amplitude_v
        if isinstance(a, bool) or not isinstance(a, (int, float, np.floating, np.integer)) or not np.isfinite(a) \
                or not 0.0 < float(a) <= 1.0:
            raise InputError(f"LFSR amplitude_v must be a number in (0, 1] V (VPLFSR - v_ref), got {a!r}")
        for name, v, lo, hi in (("pulses", self.pulses, 1, MAX_PULSES), ("pulse_width", self.pulse_width, 0,
                                                                          MAX_PULSE_WIDTH)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= int(v) <= hi:
                raise InputError(f"LFSR {name} must be an integer in {lo}..{hi}, got {v!r}")


DEFAULT_INJECTION = NoiseInjection()


def injection(board) -> NoiseInjection:
    """The board's current :class:`NoiseInjection` (the default until the lab sets or calibrates one)."""
    return getattr(board, "lfsr_injection", None) or DEFAULT_INJECTION


def set_injection(board, amplitude_v=None, pulses=None, pulse_width=None) -> NoiseInjection:
    """Set the board's noise injection (fields left None keep their value); the levels are checked
    against the DAC range at the present v_ref before they are kept (LimitError)."""
    cur = injection(board)
    kw = {k: v for k, v in (("amplitude_v", amplitude_v), ("pulses", pulses), ("pulse_width", pulse_width))
          if v is not None}
    new = replace(cur, **kw)
    injection_dac_plan(board.rails_v, new, board.limits)
    board.lfsr_injection = new
    return new


def injection_dac_plan(rails: dict, inj: NoiseInjection, limits) -> dict:
    """DAC voltages (V) of VPLFSR / VNLFSR: ``v_ref +- amplitude_v``, each checked (LimitError naming the node)
    against the DAC's range and against ``limits``' range for ``v_ref``: the two levels are references the
    neurons sample beside v_ref, so they stay in the window the limits allow the reference (checked at each
    MVM, so limits lowered after the level was set hold)."""
    v_ref = float(rails["v_ref"])
    plan = {DAC_VPLFSR: v_ref + float(inj.amplitude_v), DAC_VNLFSR: v_ref - float(inj.amplitude_v)}
    what = {dc: f"{nt.NODES[dc]} voltage (v_ref {v_ref:.3f} V +- LFSR amplitude {inj.amplitude_v:.3f} V)"
            for dc in plan}
    for (dac, ch), v in plan.items():  # the DAC's range first, then the limits'
        nt.dac_code(v, dac, what[(dac, ch)])
    lo, hi = limits.rails_v["v_ref"]
    for dc, v in plan.items():
        if not lo <= v <= hi:
            raise LimitError(nt.NODES[dc], round(v, 6), (lo, hi), f"{what[dc]}: outside the limits' v_ref range")
    return plan


def pulse(board, n: int) -> None:
    """``n`` LFSR pulses: trigger 0x44 bit 5, then poll 0x28 bit 0 (the neuron FSM's integration done).

    The bitstream has no LFSR-busy status bit: the poll relies on the pulse reaching the neuron FSM's
    integration (PREP1-4 and at most 16 clocks of 40 ns, under 1 us) before the next USB transaction
    (hundreds of us); the integration then holds 0x28 bit 0 low for ``t_opamp`` 80 ns clocks."""
    link = board.link
    for _ in range(int(n)):
        link.trigger(nt.TI_SPI, nt.T_LFSR_PULSE)
        board.poll_wire_out(nt.WO_NEURON_STATUS, nt.NS_NEURON_IDLE, "LFSR pulse integrated (0x28 bit 0)", clear=False)


def zero_input_request(core: int, output_bits: int, vectors: int, direction: str = "backward"):
    """A stochastic MVM that drives no input line (every input 0): its codes are the injected noise
    (plus the neurons' offsets), whatever the weights."""
    from neurram_lab.board import MVMRequest

    n_in = 16
    return MVMRequest(cores=(int(core),), inputs=np.zeros((1, int(vectors), n_in), np.int16),
                      input_lines=np.arange(n_in), output_lines=np.arange(N_CHAIN_BITS), direction=direction,
                      input_bits=2, output_bits=int(output_bits), signed_inputs=True, differential=False,
                      two_phase=False, activation="stochastic", parallel=False)


def measure_noise(board, core: int, output_bits: int, vectors: int = 64, direction: str = "backward") -> dict:
    """rms (over vectors, averaged over neurons) and mean of the codes of a zero-input stochastic MVM,
    and the same of a plain one (the neurons' own noise), in output codes."""
    vectors = _count("vectors", vectors, 2, 255)
    noisy = np.asarray(board.mvm(zero_input_request(core, output_bits, vectors, direction)), np.float64)[0]
    plain_req = zero_input_request(core, output_bits, vectors, direction)
    plain = np.asarray(board.mvm(replace(plain_req, activation="none")), np.float64)[0]
    return {"rms_codes": float(np.sqrt(np.mean(noisy.var(axis=0)))),
            "mean_codes": float(np.mean(noisy - plain.mean(axis=0))),
            "plain_rms_codes": float(np.sqrt(np.mean(plain.var(axis=0))))}


def calibrate_noise(board, core: int, target_rms_codes: float, output_bits: int, vectors: int = 64,
                    max_pulses: int = MAX_PULSES, direction: str = "backward") -> dict:
    """Pick the LFSR injection that gives ``target_rms_codes`` on ``core``, measured, and keep it on the board.

    Measures one pulse at the present amplitude; n independent pulses add in
    quadrature, so ``n = (target / rms_1)**2`` pulses (rounded, at most
    ``max_pulses``); where one pulse is already too much the amplitude is
    scaled down instead. Re-measures at the choice. Returns the injection's
    fields with ``rms_codes`` measured and ``target_rms_codes``.
    """
    t = target_rms_codes
    if isinstance(t, bool) or not isinstance(t, (int, float, np.floating, np.integer)) or not np.isfinite(t) \
            or not 0 < float(t) <= 64:
        raise InputError(f"target_rms_codes must be a number in (0, 64] output codes, got {t!r}")
    max_pulses = _count("max_pulses", max_pulses, 1, MAX_PULSES)
    set_injection(board, pulses=1)
    one = measure_noise(board, core, output_bits, vectors, direction)["rms_codes"]
    if one <= 0:
        raise LimitError("one-pulse LFSR noise rms (codes)", one, "> 0",
                         f"core {core} at amplitude {injection(board).amplitude_v} V: check VPLFSR / VNLFSR")
    n = int(round((float(t) / one) ** 2))
    if n < 1:
        set_injection(board, amplitude_v=max(injection(board).amplitude_v * float(t) / one, 1e-3))
    elif n > max_pulses:
        raise LimitError("LFSR pulses", n, (1, max_pulses), f"target rms {float(t):.2f} codes at amplitude "
                         f"{injection(board).amplitude_v} V (one pulse: {one:.2f} codes)")
    else:
        set_injection(board, pulses=n)
    got = measure_noise(board, core, output_bits, vectors, direction)
    inj = injection(board)
    return {"amplitude_v": inj.amplitude_v, "pulses": inj.pulses, "pulse_width": inj.pulse_width,
            "rms_codes": got["rms_codes"], "mean_codes": got["mean_codes"], "one_pulse_rms_codes": one,
            "target_rms_codes": float(t)}


def scale_noise(board, factor: float, min_pulses: int = 1) -> NoiseInjection:
    """Scale the injected noise's rms by ``factor`` and keep the result on the board.

    Independent pulses add in quadrature, so the rms goes as
    ``amplitude_v * sqrt(pulses)``: the pulse count becomes the least (at
    least ``min_pulses``) at which the amplitude need not grow, and the
    amplitude makes up the rest exactly. LimitError past 255 pulses.
    """
    f = factor
    if isinstance(f, bool) or not isinstance(f, (int, float, np.floating, np.integer)) or not np.isfinite(f) \
            or not 1e-3 <= float(f) <= 1e3:
        raise InputError(f"noise scale factor must be a number in [0.001, 1000], got {f!r}")
    min_pulses = _count("min_pulses", min_pulses, 1, MAX_PULSES)
    cur = injection(board)
    power = cur.pulses * float(f) ** 2  # pulses at the present amplitude
    n = max(min_pulses, int(np.ceil(power - 1e-9)))
    if n > MAX_PULSES:
        raise LimitError("LFSR pulses", n, (1, MAX_PULSES), f"scaling the noise by {float(f):.3g} at "
                         f"{cur.amplitude_v} V")
    amp = cur.amplitude_v * float(np.sqrt(power / n))
    return set_injection(board, amplitude_v=float(amp), pulses=n)


def _count(name, v, lo, hi) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= int(v) <= hi:
        raise InputError(f"{name} must be an integer in {lo}..{hi}, got {v!r}")
    return int(v)
