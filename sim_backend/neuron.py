"""The voltage-mode neuron: sample, integrate with headroom, convert by binary search (SPEC §3).

One amplifier serves as integrator and comparator. Each cycle samples the
settled output line onto Csample and dumps the charge onto Cinteg, so the
integrator moves by ``(Csample/Cinteg) * v_line`` per cycle and clips at
``+-v_headroom``. Conversion first compares against v_ref (sign), then finds
``k`` magnitude bits by binary search, adding or subtracting
``Csample * Vdecr_b`` with Vdecr halving from MSB to LSB; a single DAC shared
by all neurons provides the levels, so its level errors are common to every
neuron of the die. Magnitude bits are inverted when the sign is 0, so the
output word read as two's complement is the code: ``code`` in
``[-2**k, 2**k - 1]``, value ``(code + 0.5) * lsb``.

All functions are vectorised over (..., neurons).
"""

from __future__ import annotations

import numpy as np

from .params import CircuitParams

K_BOLTZMANN = 1.380649e-23


def cs_over_ci(p: CircuitParams) -> float:
    """Charge-sharing ratio Csample / Cinteg (17 fF / 104 fF by default)."""
    return p.c_sample_f / p.c_integ_f


def lsb_v(v_decr_v: float, output_bits: int, p: CircuitParams) -> float:
    """Integrator voltage of one output LSB: ``(Cs/Ci) Vdecr / 2**(k-1)``, k magnitude bits.

    Full scale is ``(Cs/Ci) Vdecr (2 - 2**(1-k))`` whatever the bit count.
    With one output bit (sign only) the LSB is the full half-range.
    """
    k = int(output_bits) - 1
    return cs_over_ci(p) * float(v_decr_v) / 2.0 ** max(k - 1, 0) if k > 0 else cs_over_ci(p) * float(v_decr_v)


def sampling_noise_v(n_cycles, p: CircuitParams) -> np.ndarray:
    """RMS integrator noise after ``n_cycles`` independent cycles (V): kT/C of Csample
    carried onto Cinteg, plus the amplifier's own noise per cycle."""
    per = np.hypot(np.sqrt(K_BOLTZMANN * p.temperature_k / p.c_sample_f) * cs_over_ci(p), p.cycle_noise_v)
    return per * np.sqrt(np.asarray(n_cycles, np.float64))


def sar_thresholds(k: int, level_err: np.ndarray) -> np.ndarray:
    """Input (in ideal LSB) above which the binary search returns at least each magnitude code.

    ``level_err`` (k,) are the relative errors of the shared Vdecr levels,
    MSB first. Returns ``t`` of length ``2**k + 1`` with ``t[0] = -inf`` and
    ``t[2**k] = inf``; the search is monotone, so ``code = #(t[1:] <= x)``.
    """
    if k <= 0:
        return np.array([-np.inf, np.inf])
    w = 2.0 ** np.arange(k - 1, -1, -1) * (1.0 + np.asarray(level_err, np.float64)[:k])
    codes = np.arange(2**k)
    bits = (codes[:, None] >> np.arange(k - 1, -1, -1)[None, :]) & 1
    cand = bits @ w  # every sum of levels: where the search can change its answer
    res = cand.copy()
    got = np.zeros(2**k, np.int64)
    for b in range(k):
        take = res >= w[b] - 1e-12
        res = np.where(take, res - w[b], res)
        got = got * 2 + take
    t = np.full(2**k + 1, np.inf)
    t[0] = -np.inf
    order = np.argsort(got, kind="stable")
    suffix_min = np.minimum.accumulate(cand[order][::-1])[::-1]
    at = np.searchsorted(got[order], np.arange(1, 2**k), side="left")
    t[1 : 2**k] = suffix_min[at]  # got[order][-1] == 2**k - 1 reaches every m
    return t


def convert(v_int_v, offset_v, lsb, k: int, thresholds: np.ndarray, noise_v, rng) -> np.ndarray:
    """Sign plus ``k``-bit binary-search conversion of integrator voltages (relative to v_ref).

    ``offset_v`` (per neuron) and Gaussian noise of rms ``noise_v`` are
    input-referred; ``rng`` is a Generator or a source with ``normal(shape, scale)``
    (:class:`sim_backend._normal.FreshNormals`). Returns
    two's-complement codes (int16) in ``[-2**k, 2**k - 1]``.

    Sign first, then the magnitude ``M(|v|)`` by binary search, inverted when
    the sign is 0: the code is ``M`` or ``-1 - M``. The search is monotone, so
    ``M`` counts the thresholds below ``|v|``; with exact DAC levels they are
    the integers and the code is simply ``floor(v / lsb)``. The shared DAC's
    level errors move the thresholds by up to ``dev``, so ``floor`` is exact
    except within ``dev`` of an integer, where the thresholds decide.
    ``v_int_v`` is overwritten when it is a float32 array.
    """
    v = v_int_v if isinstance(v_int_v, np.ndarray) and v_int_v.dtype == np.float32 else np.asarray(v_int_v, np.float32).copy()
    v += np.asarray(offset_v, np.float32)
    if noise_v > 0:
        if isinstance(rng, np.random.Generator):
            v += np.multiply(rng.standard_normal(v.shape, dtype=np.float32), np.float32(noise_v))
        else:
            v += rng.normal(v.shape, noise_v)
    if k <= 0:
        return -(v < 0).astype(np.int16)
    top = 2**k - 1
    if lsb != 1.0:
        v *= np.float32(1.0 / lsb)
    dev = threshold_dev(thresholds, k)
    if 0 < dev < NEAREST_DEV_MAX:
        return _convert_nearest(v, code_floors(thresholds, k), top)
    return _convert_general(v, thresholds, top, dev)


NEAREST_DEV_MAX = 0.45  # LSB: below this, each code is decided by the nearest integer's threshold


def threshold_dev(thresholds: np.ndarray, k: int) -> float:
    """Largest distance (LSB) of a conversion threshold from its ideal integer."""
    top = 2**k - 1
    return float(np.abs(thresholds[1:top + 1] - np.arange(1, top + 1)).max()) if top > 0 else 0.0


def _convert_nearest(v, floors, top) -> np.ndarray:
    """Codes when every threshold lies within 0.45 LSB of its integer.

    Only the threshold of the nearest integer ``n = round(v)`` can then fall
    between ``v`` and ``n``, so the code is ``n`` or ``n - 1``: one table
    look-up and one comparison per value, no search and no branches.
    """
    lim = np.float32(top + 0.5)
    np.clip(v, -lim, lim, out=v)
    small = 2 * top + 2 <= 255
    r = np.add(v, np.float32(top + 1.5)).astype(np.uint8 if small else np.intp)  # round(v) + 2**k, 1 .. 2**(k+1)
    below = np.less(v, np.take(floors, r, mode="clip"))
    m = r.astype(np.int16)
    m -= below
    m -= np.int16(top + 1)
    return m


def _convert_general(v, thresholds, top, dev) -> np.ndarray:
    """Codes for an ideal DAC (``dev = 0``: ``floor``) or thresholds straying 0.45 LSB or more
    (``floor``, then a local search for values within ``dev`` of an integer)."""
    lim = top + 0.5 if dev < 0.5 else float(thresholds[top]) + 0.5  # beyond the last threshold: saturate
    np.clip(v, np.float32(-lim), np.float32(lim), out=v)
    fl = np.floor(v)
    m = fl.astype(np.int16)
    if dev > 0:
        np.clip(m, -top - 1, top, out=m)
        frac = np.subtract(v, fl, out=fl)  # exact
        near = np.flatnonzero((frac < np.float32(dev)) | (frac > np.float32(1.0 - dev)))
        if near.size:
            a = v.ravel()[near].astype(np.float64)
            mag = np.clip(np.floor(np.abs(a)), 0, top).astype(np.int64)
            for _ in range(4):
                up = np.abs(a) >= thresholds[mag + 1]
                down = np.abs(a) < thresholds[mag]
                if not (up.any() or down.any()):
                    break
                mag = np.clip(mag + up - down, 0, top)
            m.ravel()[near] = np.where(a >= 0, mag, -1 - mag)
    return m


def code_floors(thresholds: np.ndarray, k: int) -> np.ndarray:
    """Input (LSB) at which each signed code starts, indexed by ``code + 2**k``.

    Entry ``j`` holds the lowest input giving at least code ``n = j - 2**k``:
    ``t[n]`` for ``n >= 1``, 0 for ``n = 0`` (the sign comparison) and
    ``-t[-n]`` below (magnitudes inverted), for ``n`` in ``[-2**k, 2**k]``
    (``+-inf`` at the ends). float32, as the integrator values are.
    """
    t = np.asarray(thresholds, np.float64)
    n = np.arange(-(2**k), 2**k + 1)
    pos = t[np.clip(n, 0, 2**k)]
    neg = -t[np.clip(-n, 0, 2**k)]
    return np.where(n > 0, pos, np.where(n == 0, 0.0, neg)).astype(np.float32)


def activate(codes, activation: str, k: int) -> np.ndarray:
    """Apply the neuron's activation to two's-complement codes with ``k`` magnitude bits.

    ``relu``: negative codes become 0. ``tanh``/``sigmoid``: the neuron's
    non-linear Vdecr schedule, modelled as the quantised function of the
    linear value ``z = (code + 0.5) / 2**(k-1)`` (full scale is z = +-2):
    tanh gives codes in ``[-2**k, 2**k - 1]``, sigmoid in ``[0, 2**(k+1) - 1]``.
    ``none`` and ``stochastic`` leave the codes alone.
    """
    c = np.asarray(codes)
    if activation == "relu":
        return np.maximum(c, 0)
    if activation in ("tanh", "sigmoid") and k > 0:
        z = (c + 0.5) / 2.0 ** (k - 1)
        if activation == "tanh":
            return np.clip(np.floor(2.0**k * np.tanh(z)), -(2**k), 2**k - 1).astype(c.dtype)
        return np.clip(np.floor(2.0 ** (k + 1) / (1.0 + np.exp(-2.0 * z))), 0, 2 ** (k + 1) - 1).astype(c.dtype)
    return c


class LFSRPair:
    """The core's stochastic-neuron noise: two counter-propagating LFSR chains XOR-ed.

    Each chain is a 256-bit Fibonacci LFSR (taps 256, 254, 251, 246, a
    maximal-length polynomial); chain A shifts toward higher neuron index,
    chain B toward lower, and neuron ``j`` reads ``A[j] XOR B[j]`` each step.
    The state persists between MVMs (seeded from the die seed).
    """

    TAPS = (255, 253, 250, 245)

    def __init__(self, seed_words: np.ndarray):
        bits = np.unpackbits(np.asarray(seed_words, np.uint8))[:512].astype(bool)
        if not bits[:256].any():
            bits[0] = True
        if not bits[256:].any():
            bits[256] = True
        self.a = bits[:256].copy()
        self.b = bits[256:].copy()
        self.steps = 0

    def preset(self) -> None:
        """The chips' LFSR set pin (``lfsrhorz_set_b``, low while the FPGA's 0x0A bit 0 is high): every
        flip-flop of both chains to 1 (what an active-low set does; the chip's netlist is not published)."""
        self.a[:] = True
        self.b[:] = True

    def shift_out(self, n_clocks: int) -> np.ndarray:
        """Clock both chains ``n_clocks`` times (the FPGA's ``lfsr_clk``, 0x44 bit 4); returns the bit
        each chain shifts out at every clock, (n_clocks, 2) uint8: chain A's ``a[255]`` (the chip's
        ``lfsr_out[0]``), chain B's ``b[0]`` (``lfsr_out[1]``), the pin order being this model's.

        For ``n_clocks <= 256`` clock ``i`` gives ``a[255 - i]`` and ``b[i]`` of the state before."""
        out = np.empty((int(n_clocks), 2), np.uint8)
        for i in range(int(n_clocks)):
            out[i, 0], out[i, 1] = self.a[-1], self.b[0]
            self._step()
        return out

    def _step(self):
        fa = np.logical_xor.reduce(self.a[list(self.TAPS)])
        fb = np.logical_xor.reduce(self.b[[255 - t for t in self.TAPS]])
        self.a = np.concatenate(([fa], self.a[:-1]))
        self.b = np.concatenate((self.b[1:], [fb]))
        self.steps += 1
        return self.a ^ self.b

    def uniform(self, n_samples: int, n_bits: int = 8) -> np.ndarray:
        """(n_samples, 256) values in [-0.5, 0.5): ``n_bits`` successive steps per sample."""
        out = np.empty((n_samples, 256))
        weights = 2.0 ** -np.arange(1, n_bits + 1)
        for s in range(n_samples):
            acc = np.zeros(256)
            for w in weights:
                acc += w * self._step()
            out[s] = acc - 0.5
        return out
