"""The chip's MVM machinery: cores, the shared supply and Vdecr DAC, bit-serial inputs, conversion.

:meth:`ChipCircuit.mvm` runs an :class:`~neurram_lab.board.contract.MVMRequest` on the
conductances it is given and returns raw neuron codes plus an energy and
latency report. All noise comes from one generator seeded by the die seed and
consumed in call order, so the same seed and the same calls give identical
codes.

Bit-serial inputs (SPEC §3): a signed n-bit input has ``m = n - 1``
magnitude bits (unsigned: ``m = n``); bit ``b`` (LSB = 0) is one input pulse
followed by ``2**b`` sample-and-integrate cycles. Each cycle adds the same
line voltage, so a plane's cycles move the integrator to
``clip(start + 2**b * dv)``: exact without looping over cycles. When no
output can reach the headroom (a bound from ``sum |M|``), the planes add
linearly and the whole segment is one matrix product.

Two-phase inputs (``two_phase`` and ``m >= 4``): the top ``m - m//2``
magnitude bits and the low ``m//2`` bits run as two segments; the MSB
segment converts at ``min(out + 2, 10)`` bits, the LSB segment at
``max(out - 1, 2)``, and the FPGA returns
``code_hi * 2**L + code_lo * 2**(k_hi - k_lo)``, in units of the MSB
segment's LSB (see :func:`neurram_lab.mvm.mvm.code_scale`).

Shared supply: driven lines draw about ``v_read * G_line`` from the
``v_ref +- v_read`` rails; the rails sag by ``R_c * I`` where ``R_c`` grows
with the core's distance from the supply (cores on an 8 x 6 grid, supply at
core 0) and ``I`` is the current of every core running at the same time.
The rails also wobble, with an rms of ``supply_noise_ohm`` times the current
drawn, per vector: common to the cores running together.
"""

from __future__ import annotations

import numpy as np

from neurram_lab.errors import InputError
from neurram_lab.board.contract import input_segments

from . import _kernels
from . import energy as _energy
from .core import N_LINES, CoreCircuit
from ._normal import FreshNormals
from .neuron import (NEAREST_DEV_MAX, activate, code_floors, convert, cs_over_ci, lsb_v,
                     sampling_noise_v, sar_thresholds, threshold_dev)
from .params import CircuitParams

CORE_GRID_COLS = 6
DAC_LEVELS = 10
_POPCOUNT = np.array([bin(v).count("1") for v in range(256)], np.float32)


def _set_bits(seg) -> float:
    """Number of 1 bits over a non-negative int16 array (input pulses of its planes)."""
    a = np.ascontiguousarray(seg, np.int16).ravel()
    if not hasattr(np, "bitwise_count"):  # numpy < 2.0; values below 256
        return float(_POPCOUNT[a].sum())
    n4 = a.size - a.size % 4  # four int16 to a 64-bit word; the sign bits are zero
    return float(np.bitwise_count(a[:n4].view(np.uint64)).sum() + np.bitwise_count(a[n4:]).sum())


def _clip_convert_rows(integ, row_scale, h_lsb, offset_lsb, k, thr, floors, sigma_lsb, noise):
    """Scale each row, clip at the headroom, then :func:`convert`, all in LSB units.

    ``row_scale`` (rows,) or None (already scaled). Returns the codes and
    ``sum(integ**2)`` after clipping (for the line energy). Uses the
    compiled one-pass kernel where it applies (numba present, every
    threshold near its integer: ``floors`` given), else the numpy
    reference; both give the same codes.
    """
    if floors is not None and k > 0 and _kernels.available():
        rs = row_scale if row_scale is not None else np.ones(integ.shape[0], np.float32)
        if sigma_lsb > 0:  # the noise drawn inside the conversion pass: the same draws as noise.normal's
            return _kernels.noisy_clip_convert(integ, rs, h_lsb, offset_lsb, noise.next_stream(), sigma_lsb,
                                               floors, 2**k - 1)
        return _kernels.clip_convert(integ, rs, h_lsb, offset_lsb, None, floors, 2**k - 1)
    z = noise.normal(integ.shape, sigma_lsb) if sigma_lsb > 0 else None
    if row_scale is not None:
        integ *= row_scale[:, None]
    np.clip(integ, -h_lsb, h_lsb, out=integ)
    sq = float(np.vdot(integ, integ))
    return convert(integ, offset_lsb, 1.0, k, thr, sigma_lsb, _Drawn(z)), sq


class _Signs:
    """Signs of the inputs (int8, all +1 when unsigned), computed on first use."""

    def __init__(self, x, signed):
        self.x, self.signed, self._s = x, signed, None

    def __getitem__(self, i):
        if self._s is None:
            self._s = np.sign(self.x).astype(np.int8) if self.signed else np.ones(self.x.shape, np.int8)
        return self._s[i]


class _Magnitudes:
    """``|x|`` of the inputs (int16; the inputs themselves when unsigned), computed on first use:
    indexed by core like the array, or whole by :meth:`all`."""

    def __init__(self, x, signed):
        self.x, self.signed, self._m = x, signed, None

    def all(self):
        if self._m is None:  # validated: int16, >= 0 when unsigned
            self._m = np.abs(self.x).astype(np.int16, copy=False) if self.signed else self.x
        return self._m

    def __getitem__(self, i):
        return self.all()[i]


class _Drawn:
    """Pre-drawn normal samples (already of the right rms) served to :func:`convert`."""

    def __init__(self, z):
        self.z = z

    def normal(self, shape, scale):
        return self.z


def core_distance(core: int) -> int:
    """Grid distance (cores) from the supply entry at core 0 (core row 0-7 x column 0-5)."""
    return core // CORE_GRID_COLS + core % CORE_GRID_COLS


def segments(request) -> list[tuple[int, int, int, int]]:
    """Input segments of a request: ``(shift, n_bits, out_bits, code_multiplier)``."""
    return input_segments(request.input_bits, request.output_bits, request.signed_inputs, request.two_phase)


class ChipCircuit:
    """Every core's MVM circuit plus what they share.

    Parameters
    ----------
    params : CircuitParams
    seed : int
    """

    def __init__(self, params: CircuitParams, seed: int):
        self.p = params
        self.seed = int(seed)
        self._cores: dict[int, CoreCircuit] = {}
        die = np.random.default_rng(np.random.SeedSequence([self.seed, 0xDAC]))
        self.dac_level_err = params.dac_level_sigma_rel * die.standard_normal(DAC_LEVELS)
        self._thr: dict[int, np.ndarray] = {}
        self._floors: dict[int, np.ndarray | None] = {}
        self.rng = np.random.default_rng(np.random.SeedSequence([self.seed, 0x3D7]))
        # conversion noise: fresh draws for every request, never served twice (sim_backend._normal)
        self.noise = FreshNormals(np.random.SeedSequence([self.seed, 0x3D8]).generate_state(2, np.uint64))
        self._buffers: dict = {}  # per-call float32 work arrays (see _scratch)

    def _scratch(self, i: int, shape) -> np.ndarray:
        """A float32 work array of ``shape`` for the ``i``-th core of a request, kept between calls
        (temporaries of one call: a fresh array page-faults in on every MVM, ~8 ns an element on these
        machines). One buffer per core index, grown to the largest call's size and viewed in the shape
        asked, so calls of changing shapes (a network's layers) reuse it too."""
        n = int(np.prod(shape))
        buf = self._buffers.get(i)
        if buf is None or buf.size < n:
            buf = self._buffers[i] = np.empty(n, np.float32)
        return buf[:n].reshape(shape)

    def core(self, c: int) -> CoreCircuit:
        if c not in self._cores:
            self._cores[c] = CoreCircuit(c, self.seed, self.p)
        return self._cores[c]

    def thresholds(self, k: int) -> np.ndarray:
        """Conversion thresholds (LSB) of the shared DAC for ``k`` magnitude bits."""
        if k not in self._thr:
            self._thr[k] = sar_thresholds(k, self.dac_level_err[:k])
        return self._thr[k]

    def floors(self, k: int):
        """Where each code starts (see :func:`code_floors`), or None when a threshold strays 0.45 LSB or more."""
        if k not in self._floors:
            t = self.thresholds(k)
            self._floors[k] = code_floors(t, k) if threshold_dev(t, k) < NEAREST_DEV_MAX else None
        return self._floors[k]

    # ------------------------------------------------------------------ MVM
    def mvm(self, req, conductance, v_read: float, v_decr: float):
        """Run a validated request.

        Parameters
        ----------
        req : MVMRequest (validated)
        conductance : callable core -> (g (256, 256) float64 S, state id)
        v_read, v_decr : float
            Input amplitude and Vdecr DAC full scale (V).

        Returns
        -------
        codes : ndarray int32 (n_cores, batch, n_out)
        report : dict
            ``energy_j`` by component, ``time_s``, ``latency_per_vector_s``,
            ``macs``, ``factor_s`` (array solves this call).
        """
        p = self.p
        if req.two_phase and req.activation in ("tanh", "sigmoid", "stochastic"):
            raise InputError(f"activation {req.activation!r} needs a single-phase MVM (two_phase=False)")
        cores = list(req.cores)
        nc = len(cores)
        x = np.asarray(req.inputs)
        batch = x.shape[1]
        mag = _Magnitudes(x, req.signed_inputs)  # |x| int16, computed only where a segment needs it
        sgn = _Signs(x, req.signed_inputs)  # computed only where a segment needs them
        maps, factor_s = [], 0.0
        for c in cores:
            g, gid = conductance(c)
            amap = self.core(c).array_map(g, gid, req.direction, req.input_lines, req.output_lines, req.differential)
            maps.append(amap)
            factor_s += amap.take_factor_time()
        n_out = req.output_lines.size
        cg = cs_over_ci(p)
        parallel = bool(req.parallel) and nc > 1
        segs = segments(req)
        codes = np.zeros((nc, batch, n_out), np.int16) if len(segs) > 1 or nc > 1 else None
        e_tot = dict.fromkeys(_energy.COMPONENTS, 0.0)
        t_vec = p.t_setup_s
        stochastic = req.activation == "stochastic"
        r_core = np.array([p.r_supply_ohm + p.r_supply_per_core_ohm * core_distance(c) for c in cores])
        h = p.v_headroom_v
        single = len(segs) == 1 and segs[0][1] > 0  # the whole input in one segment: seg * sgn == x
        for shift, nbits, kbits, mult in segs:
            if nbits == 0:
                seg = np.zeros(x.shape, np.int16)
            elif single:  # validated inputs fit the segment's bits
                seg = mag
            else:
                seg = (mag.all() >> shift) & (2**nbits - 1)
            cycles = 2**nbits - 1
            t_vec += _energy.segment_latency_s(nbits, kbits, p)
            # supply: time-averaged rail current of each core, then the sag each core sees
            # (each plane draws v_read * sum(bit * G_line) and weighs 2**b: the weighted mean is |x| / cycles)
            # float32 |x| of each core, for the supply's mean current (the product converts its own row blocks)
            planes = None  # (float32 |x|, its set bits) per core, in one compiled pass
            if single and _kernels.available():
                planes = [_kernels.input_magnitudes(x[i], req.signed_inputs, self._scratch(i, x.shape[1:]))
                          for i in range(nc)]
                seg32 = [pl[0] for pl in planes]
            else:
                seg32 = [seg[i].astype(np.float32) for i in range(nc)] if nbits else None
            i_core = np.stack([v_read * (seg32[i] @ maps[i].load32) / max(cycles, 1)
                               for i in range(nc)]) if nbits else np.zeros((nc, batch))
            i_seen = np.broadcast_to(i_core.sum(axis=0), i_core.shape) if parallel else i_core
            # the arrays load the supply as a conductance (i_seen / v_read), so the rail divides between the
            # supply resistance and that load: v_read / (1 + r * G). To first order v_read - r * i_seen, it never
            # reaches 0 V however many cores draw together (a linear drop inverted the sign of 16-core calls)
            g_load = i_seen / max(v_read, 1e-12)
            amp = v_read / (1.0 + r_core[:, None] * g_load)  # (nc, batch) input amplitude each core sees (V)
            if p.supply_noise_ohm > 0 and nbits:  # rail wobble, common to the cores running together
                z = self.rng.standard_normal((1, batch) if parallel else (nc, batch))
                amp = amp - p.supply_noise_ohm * (amp * g_load) * z
            sigma = float(np.hypot(sampling_noise_v(cycles, p), p.comparator_noise_v))
            lsb = lsb_v(v_decr, kbits, p)
            thr = self.thresholds(kbits - 1)
            for i, c in enumerate(cores):
                cc = self.core(c)
                amap = maps[i]
                # integrator in LSB units: per-vector amplitude, Cs/Ci and 1/LSB on the (smaller) input side
                scale = (amp[i] * (cg * cc.gain / lsb)).astype(np.float32)
                h_lsb = h / lsb
                # before the last plane the integrator holds at most (2**(m-1) - 1) * max|v_line|;
                # if that stays inside the headroom, the only clip is of the final value (exact)
                early = float(scale.max()) * (2 ** max(nbits - 1, 0) - 1) * amap.abs_row_sum
                risky = np.flatnonzero(early > h_lsb)
                row_scale = scale  # applied after the product, in the conversion pass
                offset_lsb = cc.offset32[amap.neurons] / np.float32(lsb)
                floors = self.floors(kbits - 1)
                if not (risky.size or stochastic) and floors is not None and kbits > 1 and sigma > 0 \
                        and _kernels.available():
                    # the common case in one pass per row block: product, noise, clip and conversion,
                    # the blocks on the twin's threads (the same codes as the steps below); the int16
                    # inputs go in as they are, each block made float32 in its thread
                    xs = x[i] if single else sgn[i] * seg[i]  # int16
                    into = codes[i] if len(segs) == 1 and nc > 1 else None  # this core's codes, in place
                    seg_codes, sq = _kernels.product_noisy_convert(xs, amap.m32, scale, h_lsb, offset_lsb,
                                                                   self.noise.next_stream(), sigma / lsb, floors,
                                                                   2 ** (kbits - 1) - 1, into)
                else:
                    into = None
                    if single and not req.signed_inputs:  # x == |x|: its float32 copy is made already
                        xs = seg32[i]
                    else:
                        xs = (x[i] if single else sgn[i] * seg[i]).astype(np.float32)
                    if risky.size or stochastic:
                        xs *= scale[:, None]
                        row_scale = None
                    integ = xs @ amap.m32.T
                    if risky.size:
                        integ[:, risky] = self._planes(sgn[i], seg[i], nbits, amap.m32[risky], scale[:, None], h_lsb)
                    h_conv = h_lsb
                    if stochastic:  # the LFSR noise enters after the integrator's clip
                        np.clip(integ, -h_lsb, h_lsb, out=integ)
                        sq_clipped = float(np.vdot(integ, integ))
                        integ += (p.lfsr_noise_v / lsb) * cc.lfsr.uniform(batch)[:, amap.neurons]
                        h_conv = np.inf
                    seg_codes, sq = _clip_convert_rows(integ, row_scale, h_conv, offset_lsb, kbits - 1, thr, floors,
                                                       sigma / lsb, self.noise)
                    if stochastic:
                        sq = sq_clipped
                v_line_sq = sq * (lsb / (cg * cc.gain * max(cycles, 1))) ** 2 * nbits
                if len(segs) == 1 and nc == 1:
                    codes = seg_codes[None]
                elif len(segs) == 1:
                    if into is None:  # else written in place
                        codes[i] = seg_codes
                elif mult == 1:
                    codes[i] += seg_codes
                else:
                    codes[i] += seg_codes * np.int16(mult)
                e = _energy.segment_energy(batch, planes[i][1] if planes is not None else _set_bits(seg[i]), nbits,
                                           kbits, n_out, amap.wl_on,
                                           amap.n_lines_in, v_read, v_line_sq, stochastic, p)
                for k, v in e.items():
                    e_tot[k] += v
        if len(segs) == 1:
            codes = activate(codes, req.activation, req.output_bits - 1)
        elif req.activation == "relu":
            np.maximum(codes, 0, out=codes)
        time_s = batch * t_vec * (1 if parallel else nc)
        e_tot["static"] = p.p_static_w * batch * t_vec * nc
        macs = batch * nc * req.input_lines.size * n_out
        report = {
            "energy_j": e_tot,
            "energy_total_j": float(sum(e_tot.values())),
            "time_s": time_s,
            "latency_per_vector_s": t_vec,
            "macs": int(macs),
            "factor_s": factor_s,
            "vectors": int(batch * nc),
        }
        return codes, report

    def _planes(self, sgn, seg, nbits, m_sub, scale, h):
        """Integrate plane by plane with clipping at the headroom ``h``, for outputs that may clip."""
        integ = np.zeros((seg.shape[0], m_sub.shape[0]), np.float32)
        for b in range(nbits):
            plane = (sgn * ((seg >> b) & 1)).astype(np.float32)
            integ = np.clip(integ + (2**b) * (plane @ m_sub.T) * scale, -h, h)
        return integ

    # ---------------------------------------------------------- neuron test
    def neuron_test(self, core: int, v_in_v, output_bits: int, v_ref: float, v_decr: float):
        """Neuron-test mode: one sample-and-integrate of the given line voltages, then conversion."""
        p = self.p
        cc = self.core(core)
        v = np.asarray(v_in_v, np.float64)
        if v.shape[-1] != N_LINES:
            raise InputError(f"neuron_test takes one voltage per neuron (256), got shape {v.shape}")
        integ = np.clip(cs_over_ci(p) * cc.gain * (v - v_ref), -p.v_headroom_v, p.v_headroom_v)
        sigma = float(np.hypot(sampling_noise_v(1, p), p.comparator_noise_v))
        codes = convert(integ, cc.offset_v[None, :], lsb_v(v_decr, output_bits, p), output_bits - 1,
                        self.thresholds(output_bits - 1), sigma, self.noise)
        n = v.shape[0]
        k = output_bits - 1
        e = n * N_LINES * (p.e_sample_j + p.e_integ_j + (k + 1) * p.e_compare_j + k * p.e_decr_j)
        t = n * (p.t_setup_s + p.t_sample_s + p.t_integ_s + output_bits * p.t_compare_s)
        return codes, {"energy_total_j": float(e), "time_s": float(t)}
