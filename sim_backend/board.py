"""SimBoard: the Board contract served by the physics twin (``sim://``)."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from neurram_lab.board.contract import Board, BoardCapabilities, BoardInfo
from neurram_lab.board._options import option_seed
from neurram_lab.errors import InputError
from neurram_lab.board.limits import DEFAULT_RAILS_V, SafetyLimits, check_ratings_pulse, flat_cell_index

from . import _kernels, device
from ._malloc import keep_freed_memory, tuning_requested
from ._parallel import BLOCK, blocks, run_blocks
from .cells import CELLS_PER_CORE, N_CORES, CellArray
from .chip import ChipCircuit
from .params import TwinParams, twin_params

TWIN_VERSION = "twin-1"


class SimBoard(Board):
    """The NeuRRAM chip simulated in software, with a virtual clock.

    Parameters
    ----------
    seed : int
        Seeds the die (device variability, defects) and every noise source.
    params : TwinParams or path, optional
        Twin parameters; a path loads a TOML/JSON file of overrides.
    limits : SafetyLimits or path, optional
    malloc_tuning : bool, optional
        Ask glibc to keep freed memory mapped (``_malloc.keep_freed_memory``),
        for the whole process and for good: faster on machines where page
        faults are dear, but memory freed later (closed boards too) never
        goes back to the OS. Default: ``NEURRAM_MALLOC_TUNING=1`` in the
        environment turns it on, else off.
    """

    def __init__(self, seed: int = 0, params=None, limits=None, spec: str | None = None,
                 malloc_tuning: bool | None = None):
        if isinstance(limits, (str, bytes)) or hasattr(limits, "__fspath__"):
            limits = SafetyLimits.from_file(limits)
        seed = option_seed(seed)
        params, self.params_file = twin_params(params)
        super().__init__(spec or f"sim://?seed={seed}", limits)
        self.params = params
        self.seed = seed
        if tuning_requested(malloc_tuning):
            keep_freed_memory()
        self.cells = CellArray(params, self.seed)
        self._rails = dict(DEFAULT_RAILS_V)
        self._powered = np.ones(N_CORES, bool)
        self._t_s = 0.0
        self._counts = {"pulses": 0, "reads": 0, "mvms": 0, "energy_j": 0.0,
                        "macs": 0, "mvm_energy_j": 0.0, "mvm_time_s": 0.0, "neuron_tests": 0}
        self.circuit = ChipCircuit(params.circuit, self.seed)
        self._relax_clock = device.RelaxationClock(params.relax)
        self._g_snap: dict[int, tuple] = {}  # core -> (cells version, time, g, state id)
        self._g_serial = 0
        self.last_mvm: dict | None = None

    @classmethod
    def from_spec(cls, target: str, spec: str = "sim://", seed=0, params=None, limits=None, **extra):
        """Factory for ``sim://[?seed=N&params=FILE&limits=FILE]``."""
        if target not in ("", "twin", "/"):
            raise InputError(f"sim:// takes no target, got {target!r} in {spec!r}")
        if extra:
            raise InputError(f"unknown sim:// options {sorted(extra)}; known: seed, params, limits")
        return cls(seed=option_seed(seed), params=params, limits=limits, spec=spec)

    # ----------------------------------------------------------------- info
    def _info(self) -> BoardInfo:
        return BoardInfo(
            kind="sim",
            spec=self.spec,
            serial=f"TWIN-{self.seed}",
            firmware=TWIN_VERSION,
            extra={"seed": self.seed, "params_file": self.params_file},
        )

    def _capabilities(self) -> BoardCapabilities:
        """The full set the chip's design allows, on a virtual clock; pulses applied exactly; the
        neurons' capacitors and headroom those of the twin's parameters."""
        c = self.params.circuit
        return BoardCapabilities(c_sample_f=c.c_sample_f, c_integ_f=c.c_integ_f, headroom_v=c.v_headroom_v)

    # -------------------------------------------------------- rails & power
    def _set_rails(self, volts):
        self._rails.update(volts)

    def _get_rails(self):
        return self._rails

    def _power_cores(self, cores, on):
        self._powered[cores] = on

    def _powered_cores(self):
        return self._powered

    # ---------------------------------------------------------------- cells
    def _pulse(self, kind, core, row, col, v_pulse, width_s, v_gate):
        cells = self.cells
        cells.ensure_cores(core)
        width = _uniform(width_s)
        gate = _uniform(v_gate)
        over = self.params.timing.pulse_overhead_s
        e = self.params.energy
        n, t0 = core.size, self._t_s
        call = _Call(core, row, col)
        noise = cells.streams(len(call.spans))
        # pulses run one after the other: each ends a width and an overhead after the one before
        if np.isscalar(width):
            step = width + over
            t_last = t0 + n * step
        else:
            t_all = np.cumsum(width_s + over)
            t_all += t0
            t_last = float(t_all[-1])

        def run(i):
            a, b = call.spans[i]
            idx = call.idx[i]
            v = v_pulse[a:b]
            w = width if np.isscalar(width) else width_s[a:b]
            gt = gate if np.isscalar(gate) else v_gate[a:b]
            if call.increasing[i] and cells.compiled_pulse_ok(kind, idx):  # one compiled pass
                t_spec = (t0 + a * step, step) if np.isscalar(width) else t_all[a:b]
                _, e_cell, v2 = cells.pulse_compiled(kind, idx, v, w, gt, t_spec, noise[i])
                return e_cell + e.c_pulse_path_f * v2
            if np.isscalar(width):
                t_end = np.multiply(_counts(b - a), step)
                t_end += t0 + a * step
            else:
                t_end = t_all[a:b]
            g = None
            for sel in (_ALL,) if call.increasing[i] else _distinct_batches(idx):
                if isinstance(sel, slice):
                    g = cells.pulse(kind, idx, v, w, gt, t_end, noise[i])
                else:
                    cells.pulse(kind, idx[sel], v[sel], _pick(w, sel), _pick(gt, sel), t_end[sel], noise[i])
            if g is None:
                g = cells.g_s[idx]
            # energy: I*V*t in the cell, CV^2 of the line (plain sums: no BLAS thread pool)
            v2 = v * v
            return float((v2 * (g * w)).sum()) + e.c_pulse_path_f * float(v2.sum())

        energy = sum(run_blocks(run, len(call.spans), parallel=call.distinct))
        energy += self.params.circuit.c_wl_f * (gate * gate * n if np.isscalar(gate) else float((v_gate * v_gate).sum()))
        cells.version[call.cores] += 1
        self._t_s = t_last
        self._counts["pulses"] += int(n)
        self._counts["energy_j"] += energy

    def _read(self, core, row, col):
        cells = self.cells
        cells.ensure_cores(core)
        n = core.size
        out = np.empty(n, np.float32)
        over = np.float32(self.params.timing.read_overhead_s)
        call = _Call(core, row, col)
        m = len(call.spans)
        noise = cells.streams(m)
        g_of, dur_of, t_of = [None] * m, [None] * m, [None] * m

        fast = _kernels.available()

        def timing(i):  # how long each read takes depends on the cell's conductance before it
            if fast:
                g_of[i], dur_of[i], t_of[i] = cells.read_timing_compiled(call.idx[i], over)
                return float(t_of[i][-1])
            g_of[i] = cells.g_s[call.idx[i]]
            dur = dur_of[i] = device.read_time_s(g_of[i], self.params.read)
            dur += over
            t_of[i] = np.cumsum(dur, dtype=np.float64)
            return float(t_of[i][-1])

        def physics(i):
            a, b = call.spans[i]
            if fast:
                out[a:b], ig_i = cells.read_compiled(call.idx[i], t_of[i], starts[i], noise[i], g_of[i], dur_of[i])
                return ig_i
            t = t_of[i]
            t += starts[i]
            g = cells.read(call.idx[i], t, noise[i], g_of[i])
            out[a:b] = g
            return float((g * dur_of[i]).sum())

        if call.distinct:
            totals = run_blocks(timing, m)
            starts = self._t_s + np.concatenate([[0.0], np.cumsum(totals)[:-1]])
            ig = sum(run_blocks(physics, m))
            t_end = float(starts[-1] + totals[-1])
        else:  # a repeated cell: each block sees the cells as the blocks before it left them
            starts, ig, t_end = np.zeros(m), 0.0, self._t_s
            for i in range(m):
                starts[i] = t_end
                t_end += timing(i)
                ig += physics(i)
        v = self._rails["v_cell_read"]
        e = self.params.energy
        self._counts["energy_j"] += v**2 * ig + n * e.c_pulse_path_f * v**2
        self._counts["reads"] += int(n)
        self._t_s = t_end
        return out

    # ------------------------------------------------------------------ MVM
    def _mvm(self, request):
        rails = self._rails
        v_read = rails["v_read"] if request.v_read_v is None else float(request.v_read_v)
        self.cells.ensure_cores(np.asarray(request.cores))
        codes, rep = self.circuit.mvm(request, self._mvm_conductance, v_read, rails["v_decr"])
        self._account_mvm(rep)
        self._counts["mvms"] += rep["vectors"]
        self._counts["macs"] += rep["macs"]
        self.last_mvm = rep
        return codes

    def _neuron_test(self, core, v_in_v, output_bits):
        codes, rep = self.circuit.neuron_test(core, v_in_v, output_bits, self._rails["v_ref"], self._rails["v_decr"])
        self._account_mvm(rep)
        self._counts["neuron_tests"] += int(v_in_v.shape[0])
        return codes

    def _account_mvm(self, rep):
        self._counts["mvm_energy_j"] += rep["energy_total_j"]
        self._counts["energy_j"] += rep["energy_total_j"]
        self._counts["mvm_time_s"] += rep["time_s"]
        for k, v in rep.get("energy_j", {}).items():
            key = f"mvm_energy_{k}_j"
            self._counts[key] = self._counts.get(key, 0.0) + v
        self._t_s += rep["time_s"]

    def _mvm_conductance(self, core: int):
        """Conductances (S, 256 x 256 float64) the MVM sees now, and an id of that state.

        Re-evaluated when the core's cells changed, or when relaxation has
        moved on by more than ``circuit.relax_refresh_df`` of its course for
        the most recently programmed cell; otherwise the cached state (and the
        array maps factored for it) stand.
        """
        cells = self.cells
        span = slice(core * CELLS_PER_CORE, (core + 1) * CELLS_PER_CORE)
        ver = int(cells.version[core])
        snap = self._g_snap.get(core)
        if snap is not None and snap[0] == ver:
            tp = snap[4]
            # the clock gives one fraction, or one per trap population (fast, slow)
            moved = float(np.max(np.subtract(self._relax_clock(self._t_s - tp), self._relax_clock(snap[1] - tp))))
            if moved <= self.params.circuit.relax_refresh_df:
                return snap[2], snap[3]
        idx = np.arange(span.start, span.stop)
        g = cells.true_conductance(idx, self._t_s).reshape(256, 256)
        self._g_serial += 1
        t_last = float(cells.t_prog_s[span].max())  # unchanged while the version is
        self._g_snap[core] = (ver, self._t_s, g, (core, self._g_serial), t_last)
        self.circuit.core(core).forget()
        return g, (core, self._g_serial)

    # ---------------------------------------------------------------- clock
    def _now(self):
        return self._t_s

    def _wait(self, seconds):
        self._t_s += seconds

    def _counters(self):
        return dict(self._counts)

    def _snapshot_extra(self):
        return self.twin_snapshot()

    # ------------------------------------------- for an emulated bitstream
    # The chip side of an emulated FPGA (``drivers.hil``, ``drivers.rtl``): what the board's wires do to the
    # chip, below the Board contract. No limits, quantisation, power check or observers: the emulated
    # driver above the FPGA has done what the contract does. Counters, energy and the clock move as for
    # the contract's calls.
    @property
    def time_s(self) -> float:
        """The twin's virtual clock (s) (what :meth:`now` reports, without a Board call)."""
        return self._t_s

    def advance_s(self, seconds: float) -> None:
        """Let ``seconds`` (s) pass on the virtual clock, as :meth:`wait` does, without a Board call."""
        self._wait(seconds)

    @property
    def rails_v(self) -> dict:
        """The rails (V) the physics reads now (a copy)."""
        return dict(self._rails)

    def drive_rails_v(self, volts: dict) -> None:
        """Put the rails ``volts`` (name -> V) on the chip as the FPGA's DACs drive them: unchecked against
        the limits (the nodes are what they are); :class:`InputError` for a name the twin has no rail for."""
        unknown = set(volts) - set(self._rails)
        if unknown:
            raise InputError(f"the twin has no rails {sorted(unknown)}; known: {sorted(self._rails)}")
        self._rails.update(volts)

    @contextmanager
    def rails_held_v(self, volts: dict):
        """Within the ``with`` block the rails ``volts`` (name -> V) stand (:meth:`drive_rails_v`); after it,
        every rail is back at what it was before."""
        saved = dict(self._rails)
        self.drive_rails_v(volts)
        try:
            yield self
        finally:
            self._rails.clear()
            self._rails.update(saved)

    def pulse_cells(self, kind: str, core, row, col, v_pulse_v, width_s, v_gate_v) -> None:
        """Pulse cells as the chip gets them: ``kind`` ``"set"``/``"reset"``/``"form"``, equal-length arrays
        ``core``/``row``/``col`` (int64), ``v_pulse_v``/``width_s``/``v_gate_v`` (float64, V / s / V),
        applied one after the other on the virtual clock. Amplitudes, gates and widths beyond the chip's
        absolute ratings are refused (LimitError, nothing applied), as every Board call refuses them."""
        check_ratings_pulse(v_pulse_v, width_s, v_gate_v)
        self._pulse(kind, core, row, col, v_pulse_v, width_s, v_gate_v)

    def read_conductance_s(self, core, row, col) -> np.ndarray:
        """Read cells as the chip's read path sees them (equal-length int64 arrays): measured conductance
        (S, float32) at the present ``v_cell_read`` rail, with the read's noise and time."""
        return self._read(core, row, col)

    def mvm_codes(self, request) -> np.ndarray:
        """Run an :class:`~neurram_lab.board.contract.MVMRequest` the emulated FPGA built (not validated
        again) at the present rails; codes int16 (cores, batch, outputs)."""
        return self._mvm(request)

    def neuron_test_codes(self, core: int, v_in_v: np.ndarray, output_bits: int) -> np.ndarray:
        """The neuron test of ``core`` with inputs ``v_in_v`` (V, (batch, 256) float64) at the present
        rails; codes int16 (batch, 256) of ``output_bits``."""
        return self._neuron_test(core, v_in_v, output_bits)

    def lfsr_step(self, core: int) -> np.ndarray:
        """Clock ``core``'s LFSR once: one bit per neuron (the A xor B output, bool (256,))."""
        return self.circuit.core(core).lfsr._step()

    def twin_snapshot(self) -> dict:
        """What a snapshot records of the twin: ``{"twin": {seed, params_file, params}}``."""
        return {"twin": {"seed": self.seed, "params_file": self.params_file, "params": self.params.to_dict()}}

    # ------------------------------------------------------ twin-only views
    def true_conductance_s(self, core, row, col) -> np.ndarray:
        """Noise-free conductance now (S): the twin's ground truth, not a board call."""
        c, r, k = self.limits.check_cells(core, row, col)
        self.cells.ensure_cores(c)
        idx = flat_cell_index(c, r, k)
        return self.cells.true_conductance(idx, self._t_s)


_ALL = slice(None)
_COUNTS = np.arange(1, BLOCK + 1, dtype=np.float64)


def _counts(n: int) -> np.ndarray:
    """1, 2, ..., n (float64, read-only view of a table built once)."""
    return _COUNTS[:n]


class _Call:
    """The cells of one pulse or read call, cut into fixed blocks (computed on the pool).

    Attributes: ``spans`` (start, stop) per block; ``idx`` flat indices per
    block; ``increasing`` per block (strictly increasing, so distinct);
    ``distinct`` no cell repeats in the whole call (blocks may run in
    parallel); ``cores`` bool mask of the cores touched.
    """

    def __init__(self, core, row, col):
        self.spans = blocks(core.size)
        m = len(self.spans)
        self.idx, self.increasing = [None] * m, [False] * m
        masks = run_blocks(lambda i: self._prep(i, core, row, col), m)
        self.cores = np.logical_or.reduce(masks) if m else np.zeros(N_CORES, bool)
        # blocks in increasing order whose edges increase too: the whole call is increasing
        inc = all(self.increasing) and all(self.idx[i][0] > self.idx[i - 1][-1] for i in range(1, m))
        if inc:
            self.distinct = True
        else:
            every = np.sort(np.concatenate(self.idx)) if m else np.zeros(0, np.int64)
            self.distinct = bool(np.all(every[1:] != every[:-1]))

    def _prep(self, i, core, row, col):
        a, b = self.spans[i]
        if _kernels.available():  # one compiled pass
            idx = self.idx[i] = np.empty(b - a, np.int64)
            seen = np.zeros(N_CORES, bool)
            self.increasing[i] = bool(_kernels.kernel("flat_cells")(core[a:b], row[a:b], col[a:b], idx, seen))
            return seen
        idx = self.idx[i] = flat_cell_index(core[a:b], row[a:b], col[a:b])
        inc = self.increasing[i] = bool(idx.size < 2 or np.all(idx[1:] > idx[:-1]))
        if inc:  # which cores: one binary search per core edge instead of a pass over the cells
            return np.diff(np.searchsorted(idx, np.arange(N_CORES + 1, dtype=np.int64) << 16)) > 0
        return np.bincount(idx >> 16, minlength=N_CORES) > 0


def _uniform(a: np.ndarray):
    """A float when every entry of ``a`` is the same (the usual case), else ``a``."""
    if a.ndim == 1 and a.strides == (0,):  # a broadcast scalar: no pass over it
        return float(a[0])
    lo = a.min()
    return float(lo) if lo == a.max() else a


def _pick(a, sel):
    return a if np.isscalar(a) else a[sel]


def _distinct_batches(idx: np.ndarray):
    """Yield index arrays into ``idx`` such that each batch holds distinct cells, in call order.

    A strictly increasing ``idx`` (the usual case) is one batch, ``slice(None)``.
    """
    if idx.size < 2 or bool(np.all(idx[1:] > idx[:-1])):
        yield slice(None)
        return
    order = np.argsort(idx, kind="stable")
    sorted_idx = idx[order]
    starts = np.r_[True, sorted_idx[1:] != sorted_idx[:-1]]
    if starts.all():
        yield slice(None)
        return
    group_start = np.maximum.accumulate(np.where(starts, np.arange(idx.size), 0))
    rank = np.empty(idx.size, np.int64)
    rank[order] = np.arange(idx.size) - group_start
    for k in range(int(rank.max()) + 1):
        yield np.flatnonzero(rank == k)
