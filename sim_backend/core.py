"""One core's MVM circuit: TNSA wiring, the settled array map per direction, its neurons.

TNSA (SPEC §1): the neuron of corelet (i, j) sits on bit line ``16 i + j``
and source line ``16 j + i``. Corelet (i, j) spans rows ``16 i ..`` and
columns ``16 j ..``, so BL ``r``'s neuron (and driver) sits at column
``16 (r % 16) + 8`` along that BL, SL ``c``'s at row ``16 (c % 16) + 8``
along that SL. Neurons are numbered by their BL: neuron ``n`` serves BL ``n``
and SL ``16 (n % 16) + n // 16``.

Directions (SPEC §3), the "drive layer" being the lines with drivers:

- ``forward`` (BL -> SL): drive rows, sense columns; differential inputs on
  row pairs (+x on ``2l``, -x on ``2l + 1``); only the WLs of driven rows on.
- ``backward`` (SL -> BL): drive columns (single-ended), sense rows; every WL on.
- ``recurrent_bl`` (BL -> BL): drive input rows, sense output rows through
  the floating SLs; WLs of input and output rows on.
- ``recurrent_sl`` (SL -> SL): drive input columns, sense output columns
  through the floating BLs; every WL on.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from neurram_lab.board.limits import N_ROWS
from neurram_lab.errors import InputError

from .array import settle_map, weighted_mean_map
from .neuron import LFSRPair
from .params import CircuitParams

N_LINES = N_ROWS  # bit lines and source lines alike (256 x 256 cells)
CORELET = 16


def bl_neuron_col(rows) -> np.ndarray:
    """Column position of the neuron (driver and tap) of each BL."""
    return CORELET * (np.asarray(rows) % CORELET) + CORELET // 2


def sl_neuron_row(cols) -> np.ndarray:
    """Row position of the neuron of each SL."""
    return CORELET * (np.asarray(cols) % CORELET) + CORELET // 2


def sl_neuron(cols) -> np.ndarray:
    """Neuron index (its BL) serving each SL."""
    c = np.asarray(cols)
    return CORELET * (c % CORELET) + c // CORELET


class ArrayMap:
    """The settled array of one core for one line configuration.

    Attributes
    ----------
    m : ndarray (n_out, n_in)
        Output-line voltage per volt of logical input (relative to v_ref),
        capacitive coupling included.
    neurons : ndarray (n_out,)
        Neuron index converting each output line.
    load_s : ndarray (n_in,)
        Conductance hanging on each logical input's driven line(s) (S):
        what the supply sees.
    wl_on : int
        Word lines pulsed per input pulse.
    n_lines_in : int
        Physical lines driven per logical input (2 for differential rows).
    factor_s : float
        Wall time the solve took (s).
    """

    def __init__(self, m, neurons, load_s, wl_on, n_lines_in, factor_s):
        self.m = m
        self.neurons = neurons
        self.load_s = load_s
        self.wl_on = wl_on
        self.n_lines_in = n_lines_in
        self.factor_s = factor_s
        self.abs_row_sum = np.abs(m).sum(axis=1)
        self.m32 = np.ascontiguousarray(m, np.float32)
        self.load32 = np.asarray(load_s, np.float32)  # the supply current's float32 product takes it every call
        self._factor_reported = False

    def take_factor_time(self) -> float:
        """The solve time, once: the first MVM that uses this map pays it."""
        if self._factor_reported:
            return 0.0
        self._factor_reported = True
        return self.factor_s


def network(direction: str, g, in_lines, out_lines, differential: bool):
    """Describe the resistive network of a request: the arguments of :func:`settle_map`.

    ``g`` (256, 256) is the core's conductance (S), rows x columns. Returns a
    dict with the settle_map keywords plus ``neurons``, ``load_s``, ``wl_on``,
    ``n_lines_in``, ``sense_lines``.
    """
    inl = np.asarray(in_lines, np.int64)
    outl = np.asarray(out_lines, np.int64)
    n_in = inl.size
    if direction == "forward":
        rows = np.stack([2 * inl, 2 * inl + 1], axis=1).ravel() if differential else inl
        mix = np.zeros((rows.size, n_in))
        if differential:
            mix[0::2][np.arange(n_in), np.arange(n_in)] = 1.0
            mix[1::2][np.arange(n_in), np.arange(n_in)] = -1.0
        else:
            mix[np.arange(n_in), np.arange(n_in)] = 1.0
        gg = g[rows, :]
        return dict(g_s=gg, driven=np.ones(rows.size, bool), drive_pos=bl_neuron_col(rows), chain_pos=rows, mix=mix,
                    sense_taps=np.stack([outl, sl_neuron_row(outl)], 1), drive_taps=np.zeros((0, 2), np.int64),
                    neurons=sl_neuron(outl), load_s=(gg.sum(axis=1) @ np.abs(mix)), wl_on=rows.size,
                    n_lines_in=2 if differential else 1, sense_lines=outl)
    if direction == "backward":
        cols = np.arange(N_LINES)
        mix, driven = _drive_all_lines(inl)
        gg = g.T
        return dict(g_s=gg, driven=driven, drive_pos=sl_neuron_row(cols), chain_pos=cols, mix=mix,
                    sense_taps=np.stack([outl, bl_neuron_col(outl)], 1), drive_taps=np.zeros((0, 2), np.int64),
                    neurons=outl.copy(), load_s=gg[inl].sum(axis=1), wl_on=N_LINES, n_lines_in=1,
                    sense_lines=outl)
    if np.intersect1d(inl, outl).size:
        raise InputError(f"recurrent MVM needs distinct input and output lines, both have {np.intersect1d(inl, outl)[:4]}")
    if direction == "recurrent_bl":
        rows = np.unique(np.concatenate([inl, outl]))
        pos = {int(r): k for k, r in enumerate(rows)}
        a_in = np.array([pos[int(r)] for r in inl])
        a_out = np.array([pos[int(r)] for r in outl])
        mix = np.zeros((rows.size, n_in))
        mix[a_in, np.arange(n_in)] = 1.0
        driven = np.zeros(rows.size, bool)
        driven[a_in] = True
        gg = g[rows, :]
        return dict(g_s=gg, driven=driven, drive_pos=bl_neuron_col(rows), chain_pos=rows, mix=mix,
                    sense_taps=np.zeros((0, 2), np.int64), drive_taps=np.stack([a_out, bl_neuron_col(outl)], 1),
                    neurons=outl.copy(), load_s=gg[a_in].sum(axis=1), wl_on=rows.size, n_lines_in=1,
                    sense_lines=None)
    # recurrent_sl
    cols = np.arange(N_LINES)
    mix, driven = _drive_all_lines(inl)
    gg = g.T
    return dict(g_s=gg, driven=driven, drive_pos=sl_neuron_row(cols), chain_pos=cols, mix=mix,
                sense_taps=np.zeros((0, 2), np.int64), drive_taps=np.stack([outl, sl_neuron_row(outl)], 1),
                neurons=sl_neuron(outl), load_s=gg[inl].sum(axis=1), wl_on=N_LINES, n_lines_in=1,
                sense_lines=None)


class CoreCircuit:
    """The MVM circuit of one core: cached array maps and the neurons' fixed pattern.

    Parameters
    ----------
    core : int
    seed : int
        Die seed: offsets, core gain and the LFSR state derive from (seed, core).
    params : CircuitParams
    """

    CACHE = 16

    def __init__(self, core: int, seed: int, params: CircuitParams):
        self.core = core
        self.p = params
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x4E0, int(core)]))
        self.offset_v = params.comparator_offset_sigma_v * rng.standard_normal(N_LINES)
        self.offset32 = self.offset_v.astype(np.float32)
        self.gain = 1.0 + params.core_gain_sigma_rel * rng.standard_normal()
        self.lfsr = LFSRPair(rng.integers(0, 256, 64, dtype=np.uint8))
        self._maps: OrderedDict = OrderedDict()

    def array_map(self, g, g_id, direction, in_lines, out_lines, differential) -> ArrayMap:
        """The settled map for this configuration; recomputed only when ``g_id`` changed."""
        key = (g_id, direction, np.asarray(in_lines).tobytes(), np.asarray(out_lines).tobytes(), bool(differential))
        hit = self._maps.get(key)
        if hit is not None:
            self._maps.move_to_end(key)
            return hit
        import time

        t0 = time.perf_counter()
        net = network(direction, g, in_lines, out_lines, differential)
        p = self.p
        if p.ideal_settling and net["sense_lines"] is not None:
            drv = net["driven"]
            m = weighted_mean_map(net["g_s"][drv], net["mix"][drv], net["sense_lines"])
        else:
            gd = np.where(net["driven"], 1.0 / p.r_driver_ohm if p.r_driver_ohm > 0 else np.inf, 0.0)
            if p.ideal_settling:
                gd = np.where(net["driven"], np.inf, 0.0)
            m = settle_map(net["g_s"], gd, net["drive_pos"], net["chain_pos"], N_LINES, net["mix"],
                           net["sense_taps"], net["drive_taps"], 0.0 if p.ideal_settling else p.r_wire_ohm,
                           p.g_leak_s, int(p.wire_cells_per_node))
        # capacitive coupling: every output line follows the mean swing of the switching input lines
        m = m + p.coupling_frac * net["mix"].sum(axis=0)[None, :] / N_LINES
        amap = ArrayMap(m, net["neurons"], net["load_s"], net["wl_on"], net["n_lines_in"], time.perf_counter() - t0)
        self._maps[key] = amap
        while len(self._maps) > self.CACHE:
            self._maps.popitem(last=False)
        return amap

    def forget(self) -> None:
        """Drop every cached map (the cells changed)."""
        self._maps.clear()


def _drive_all_lines(inl: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Input mixing (N_LINES x n_in, line i carries input j) and driven mask when every WL is on."""
    mix = np.zeros((N_LINES, inl.size))
    mix[inl, np.arange(inl.size)] = 1.0
    driven = np.zeros(N_LINES, bool)
    driven[inl] = True
    return mix, driven
