"""Energy and latency of an MVM on the twin (SPEC §4).

Per input pulse: the WLs in use switch (``C_wl V_wl^2`` each), the input
lines with a non-zero bit charge to ``v_ref +- v_read`` and back
(``C_line v_read^2``: the array's own energy, ``C_par var(V_in)``,
independent of the conductances, SPEC §4), and the output lines settle. Per sample-and-integrate cycle and per active neuron: sampling and
integration. Per conversion: ``k + 1`` comparisons and ``k`` Vdecr steps.
Stochastic neurons pay 121 fJ per neuron per LFSR step. A running core also
burns static power for as long as the MVM lasts.
"""

from __future__ import annotations

from .params import CircuitParams

COMPONENTS = ("wl", "input_lines", "output_lines", "sample_integrate", "convert", "lfsr", "static")
LFSR_STEPS = 8


def segment_latency_s(n_bits: int, out_bits: int, p: CircuitParams) -> float:
    """Time of one input segment: its pulses and cycles, then one conversion (s)."""
    cycles = 2**n_bits - 1
    return n_bits * p.t_wl_s + cycles * (p.t_sample_s + p.t_integ_s) + out_bits * p.t_compare_s


def segment_energy(n_vec, nonzero_bits, n_bits, out_bits, n_out, wl_on, n_lines_in, v_read,
                   v_out_sq_sum, stochastic, p: CircuitParams) -> dict:
    """Energy (J) of one input segment of one core over a batch, by component.

    Parameters
    ----------
    n_vec : int
        Vectors in the batch.
    nonzero_bits : int
        Non-zero input bits (logical inputs x planes) over the batch.
    n_bits, out_bits : int
        Input planes of the segment; output bits of its conversion.
    n_out : int
        Converting neurons.
    wl_on : int
        WLs pulsed per input pulse.
    n_lines_in : int
        Physical lines per logical input.
    v_read : float
    v_out_sq_sum : float
        Sum of squared output-line swings over outputs, pulses and vectors (V^2).
    stochastic : bool
    """
    cycles = 2**n_bits - 1
    k = out_bits - 1
    e = dict.fromkeys(COMPONENTS, 0.0)
    e["wl"] = n_vec * n_bits * wl_on * p.c_wl_f * p.v_wl_mvm_v**2
    e["input_lines"] = float(nonzero_bits) * n_lines_in * p.c_line_f * v_read**2
    e["output_lines"] = p.c_line_f * float(v_out_sq_sum)
    e["sample_integrate"] = n_vec * cycles * n_out * (p.e_sample_j + p.e_integ_j)
    e["convert"] = n_vec * n_out * ((k + 1) * p.e_compare_j + max(k, 0) * p.e_decr_j)
    if stochastic:
        e["lfsr"] = n_vec * n_out * LFSR_STEPS * p.e_lfsr_j
    return e
