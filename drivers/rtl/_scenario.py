"""The operation sequences the differential check runs on ``hil://`` and ``rtl://`` (:mod:`drivers.rtl.diff`).

:func:`ci_plan` is the check of the size CI uses: every rail once; ``n_cells`` cells of two cores formed,
read back (auto-ranged), some SET and RESET and read again (RESET cells with the manual-range bit of wire-in
0x12, so a low conductance costs at most 12 fixed-length measurements of simulated time instead of
auto-ranging to ``t_delta`` ~ 30 000 units = hours of wall time); single manual reads (trigger 0x43 bit 0);
the LFSR path (:func:`lfsr_ops`: preset, state reads, a stochastic MVM); multi-row MVMs on core column 0
(:func:`mvm_rows_ops`: two runs of one clock group, a run of rows 0 and 1); the error paths (requests refused
before any call, FrontPanel refusals). :func:`random_ops` adds ``n``
seeded operations of the same kinds on the formed cells. Everything goes through the driver
(:class:`~drivers.fpga_board.FpgaBoard`) or, for what it does not offer (the manual read, the
manual-range bit, raw endpoints), through its :class:`~drivers.frontpanel.Link`, so the constants of
:mod:`drivers.neurram_top` are the ones under test.
"""

from __future__ import annotations

import numpy as np

from .. import neurram_top as nt

FORM_V, FORM_GATE_V, FORM_W_S = 4.5, 1.6, 1e-6  # the twin forms at this (form_v_th_v 3.7 V at 1 us)
SET_V, SET_GATE_V, SET_W_S = 2.0, 2.0, 1e-6
RESET_V, RESET_GATE_V, RESET_W_S = 2.2, 4.0, 1e-6
V_CELL_READ_V = 0.3  # formed cells (~17-45 uS) range in 1-2 auto-ranging iterations at this bias
MANUAL_TIMING = (4, 8)  # t_shld, t_delta of the manual reads (READ_UNIT_S each)
FAST_VREF_V = 1.5  # ranging reference at which an end code below ~0.9 V is in auto_ranging.v's window at once


SPARE_CELLS = 64  # candidates drawn beyond n_cells per core, so leaving out slow cells changes no other pick
MAX_READ_UNITS = 400  # READ_UNIT_S one auto-ranged read may integrate over its iterations (~0.5 ms simulated)


def _cells(rng, n: int, core: int, exclude) -> list[tuple[int, int]]:
    flat = rng.choice(256 * 256, size=n + SPARE_CELLS, replace=False)
    cells = [(int(f) // 256, int(f) % 256) for f in flat]
    return [c for c in cells if (core,) + c not in exclude][:n]


def ci_plan(seed: int = 0, n_cells: int = 64, exclude=frozenset()) -> list[tuple]:
    """The CI-size sequence (see the module docstring); ``n_cells`` split over two cores, none of the
    (core, row, col) in ``exclude`` (see :func:`bounded_ops`)."""
    rng = np.random.default_rng(seed)
    cores = [0, int(rng.integers(1, nt.CORE_ROWS * nt.CORE_COLS))]
    half = n_cells // 2
    groups = [(cores[0], _cells(rng, half, cores[0], exclude)),
              (cores[1], _cells(rng, n_cells - half, cores[1], exclude))]
    ops: list[tuple] = [
        ("rails", {"v_cell_read": V_CELL_READ_V}),
        ("rails", {"v_ref": 0.85}),  # v_ref moves the v_read and v_decr nodes with it
        ("rails", {"v_read": 0.4}),
        ("rails", {"v_decr": 0.45}),
        ("rails", {"v_wl_set": SET_GATE_V, "v_wl_reset": RESET_GATE_V, "v_wl_form": FORM_GATE_V}),
        ("rails", {"v_ref": 0.9}),
    ]
    for core, cells in groups:
        ops.append(("form", core, cells))
        ops.append(("read", core, cells))
    for core, cells in groups:
        ops.append(("set", core, cells[:8]))
        ops.append(("read", core, cells[:8]))
    core, cells = groups[0]
    ops += [("manual_range", True), ("reset", core, cells[8:10]), ("read", core, cells[8:10]),
            ("manual_range", False)]
    ops += [("manual_read", core, cell) for cell in cells[10:14]]
    ops += [("mvm", core, cells) + BATCH_MVM, ("neuron_test", core, NEURON_LEVELS_V, 6),
            ("read", core, cells[13:14])]  # the cell selected before them: the readout cleared its registers
    ops += mvm_rows_ops(cells, ROWS_MVM_CI)
    ops += lfsr_ops(core, cells, LFSR_MVM_CI)
    ops += [("error", name) for name in ERRORS]
    ops.append(("read", core, cells[:2]))  # the board still works after the refusals
    return ops


NEURON_LEVELS_V = (0.85, 0.95)  # neuron test: the external line below and above v_ref (0.9 V)


# the CI plan's 16-vector batch: 1-bit inputs, 2-bit outputs (a short readout)
BATCH_MVM = (16, 1, 2, "forward", 8, False)


# multi-row MVMs (several cores of core column 0, ``mvm_rows``): the driver runs at most one core per SPI clock
# group together (row 0, rows 1-3, rows 4-7; ``_mvm_host.run_groups``) and enables the whole column for a run
# of several rows, so hil:// must show every enabled core's input planes and read the rows out in the 0xA2
# arbiter's order: (cores, vectors, input bits, output bits, direction, seed, signed, v_read_v)
ROWS_MVMS = (((6, 12), 4, 1, 2, "forward", 12, False, None),      # rows 1 and 2: one clock group, two runs
             ((0, 6, 12), 4, 1, 2, "forward", 13, False, None),   # a run of rows 0 and 1, then row 2
             ((0, 12, 30), 2, 4, 3, "backward", 14, True, None),  # rows 0, 2, 5: one run over three groups
             ((6, 12, 30), 1, 2, 4, "forward", 15, True, None))
ROWS_MVM_CI = ROWS_MVMS[:2]
ROWS_CORES_FORMED = (6, 12)  # cores formed (the plan's first cells) for them; core 30 left unformed


def mvm_rows_ops(cells, mvms=ROWS_MVMS, form: bool = True) -> list[tuple]:
    """The first 8 of ``cells`` (formed on core 0) formed on :data:`ROWS_CORES_FORMED` too (unless ``form`` is
    false: done before), then the multi-row MVMs ``mvms`` (:data:`ROWS_MVMS`) over them."""
    cells = cells[:8]
    forms = [("form", c, cells) for c in ROWS_CORES_FORMED] if form else []
    return forms + [("mvm_rows", m[0], cells) + m[1:] for m in mvms]


def mvm_ops(core: int, cells) -> list[tuple]:
    """MVM batches on ``core`` over ``cells`` (formed): 1, 4 and 8 input bits, 1 to 7 output bits (8 is refused:
    the 100-step readout), forward and backward; then SPI round trips (pipe 0x80 in, pipe 0xA0 out) through
    the core row's scan chain, shifting forward and backward. The simulated time goes to the readout (one SPI
    shift and a neuron compare per step, up to 2**(b-1) steps), so the many-bit outputs run at a lower input
    amplitude."""
    # (vectors, input bits, output bits, direction, seed, signed, v_read_v)
    runs = [(1, 1, 1, "forward", 0, False, None), (1, 4, 2, "forward", 1, True, None),
            (1, 4, 3, "backward", 2, True, None), (1, 1, 4, "backward", 3, False, None),
            (1, 8, 5, "forward", 5, True, 0.1), (1, 2, 6, "forward", 6, True, 0.05),
            (1, 2, 7, "backward", 7, True, 0.025), (1, 4, 8, "forward", 4, True, None)]
    row = core // nt.CORE_COLS
    return [("mvm", core, cells) + r for r in runs] + [("spi_round_trip", row, True, 0),
                                                        ("spi_round_trip", row, False, 1)]


# stochastic MVMs (activation "stochastic": per vector 0x45 bit 7, the LFSR pulses, the 0x45 bit 5 readout):
# (vectors, input bits, output bits, direction, seed, signed, v_read_v, pulses, pulse width, amplitude V)
LFSR_MVMS = ((2, 2, 3, "forward", 9, True, None, 2, 2, 0.1), (1, 1, 4, "backward", 10, False, None, 3, 5, 0.05))
LFSR_MVM_CI = LFSR_MVMS[:1]


def lfsr_ops(core: int, cells, mvms=LFSR_MVMS) -> list[tuple]:
    """The LFSR path on ``core``: the chains preset (0x0A bit 0), two state reads of 256 clocks (trigger 0x44
    bit 4, pipe 0xA1), stochastic MVMs (:data:`LFSR_MVMS`: LFSR pulses, trigger 0x44 bit 5, with VPLFSR /
    VNLFSR on DAC 0 channels 5 / 6), and a read after them (the pulses stepped the chains)."""
    return ([("lfsr_preset",), ("lfsr_read", core, 2)] + [("stochastic_mvm", core, cells) + m for m in mvms]
            + [("lfsr_read", core, 1)])


def random_ops(n: int, seed: int, plan: list[tuple]) -> list[tuple]:
    """``n`` seeded operations on the cells ``plan`` formed (reads stay short: see the module docstring)."""
    rng = np.random.default_rng(seed + 1)
    # the plan's two cell groups (not the cores formed for the multi-row MVMs: their cells are not screened
    # for long reads, see bounded_ops)
    formed = [(op[1], op[2]) for op in plan if op[0] == "form"][:2]
    out: list[tuple] = []
    for _ in range(n):
        core, cells = formed[int(rng.integers(len(formed)))]
        pick = [cells[int(i)] for i in rng.choice(len(cells), size=int(rng.integers(1, 3)), replace=False)]
        kind = str(rng.choice(["set_read", "manual_read", "rails", "error", "reset_read"], p=[0.4, 0.2, 0.2, 0.1, 0.1]))
        if kind == "set_read":
            out += [("set", core, pick), ("read", core, pick)]
        elif kind == "reset_read":
            out += [("manual_range", True, FAST_VREF_V), ("reset", core, pick), ("read", core, pick),
                    ("manual_range", False)]
        elif kind == "manual_read":
            out.append(("manual_read", core, pick[0]))
        elif kind == "rails":
            out.append(("rails", {"v_cell_read": float(rng.choice([0.25, 0.3, 0.35]))}))
        else:
            out.append(("error", str(rng.choice(ERRORS))))
    return out


def slow_reads(ops: list[tuple], seed: int, max_units: int = MAX_READ_UNITS) -> set[tuple[int, int, int]]:
    """The cells whose auto-ranged reads in ``ops`` integrate more than ``max_units`` READ_UNIT_S, found by
    running ``ops`` on ``hil://`` (milliseconds; the twin of ``seed`` does there what it does under the RTL).

    A cell that did not form (or a stuck one) ranges ``t_delta`` up to 40 960 units: one such read is
    ~10^8 simulated cycles, hours of Icarus.
    """
    from neurram_lab.errors import NeuRRAMError

    from ..hil import connect, make_emulated_board

    ok, emu = make_emulated_board(seed)
    board = connect(ok)
    slow: set[tuple[int, int, int]] = set()
    autorange = emu.on_trigger[(nt.TI_ADC, nt.T_AUTORANGE)]

    def watched():
        autorange()
        cells, _g, t_shld, t_delta, it = emu.last_read
        if it * (t_shld + t_delta) > max_units:
            slow.update(cells)

    emu.on_trigger[(nt.TI_ADC, nt.T_AUTORANGE)] = watched
    try:
        for op in ops:
            try:
                run_op(board, op)
            except NeuRRAMError:
                pass
    finally:
        board.close()
    return slow


def bounded_ops(seed: int, n_cells: int, n_random: int, rounds: int = 6) -> list[tuple]:
    """:func:`ci_plan` and :func:`random_ops` without the cells whose reads would range long
    (:func:`slow_reads`): each round leaves out what the last one found, until none is left."""
    exclude: set = set()
    for _ in range(rounds):
        plan = ci_plan(seed, n_cells, frozenset(exclude))
        ops = plan + random_ops(n_random, seed, plan)
        slow = slow_reads(ops, seed)
        if not slow:
            return ops
        exclude |= slow
    raise RuntimeError(f"no plan of {n_cells} cells without long reads after {rounds} rounds (seed {seed})")


# ------------------------------------------------------------------ running one operation
_PULSE = {"form": (FORM_V, FORM_GATE_V, FORM_W_S), "set": (SET_V, SET_GATE_V, SET_W_S),
          "reset": (RESET_V, RESET_GATE_V, RESET_W_S)}


def _arrays(core: int, cells):
    n = len(cells)
    return (np.full(n, core, np.int64), np.array([c[0] for c in cells], np.int64),
            np.array([c[1] for c in cells], np.int64))


def _manual_range(board, on: bool, vref_v: float = nt.READ_REF_V) -> None:
    """The manual-range bit of 0x12 and the ranging reference ``vref_v`` (V) beside it: with the bit,
    auto_ranging.v still ranges its own copy of the timing on the codes of the fixed-timing measurement, so
    a high (RESET) cell repeats it ~12 times at the driver's reference and once at :data:`FAST_VREF_V`."""
    board.stage_wire_in(nt.WI_AUTORANGE_VREF, nt.adc_code(vref_v) | (nt.AUTORANGE_MANUAL if on else 0))
    board.link.update_wire_ins()


def _manual_read(board, core: int, cell) -> tuple[int, int]:
    """One resistance_read measurement (trigger 0x43 bit 0, the authors' ``adc_control.read``): its codes."""
    board.select_cell(core, cell[0], cell[1])
    L = board.link
    L.op("read")
    t_shld, t_delta = MANUAL_TIMING
    board.stage_wire_in(nt.WI_READ_TIMING, t_shld | (t_delta << 16))
    board.stage_wire_in(nt.WI_WRITE_MUX, nt.MUX_READ)
    L.update_wire_ins()
    L.trigger(nt.TI_ADC, nt.T_READ)
    board.poll_wire_out(nt.WO_STATUS, nt.ST_READ_VALID, "manual read valid")
    codes = L.get_wire(nt.WO_ADC_START), L.get_wire(nt.WO_ADC_END)
    L.trigger(nt.TI_ADC, nt.T_READ_ACK)
    board.poll_wire_out(nt.WO_STATUS, nt.ST_READ_VALID, "manual read valid cleared", clear=True)
    board.stage_wire_in(nt.WI_WRITE_MUX, nt.MUX_IDLE)
    L.update_wire_ins()
    return codes


def mvm_request(core: int, cells, n_vec: int, input_bits: int, output_bits: int, direction: str = "forward",
                seed: int = 0, signed: bool = True, v_read_v=None, n_out: int = 8):
    """An MVM batch on ``core`` over the rows / columns of ``cells`` (formed ones carry current): inputs on
    their rows (forward) or columns (backward), ``n_out`` outputs on the other side, seeded inputs."""
    from neurram_lab.board import MVMRequest

    rng = np.random.default_rng(seed + 7)
    fwd = direction == "forward"
    ins = sorted({c[0] if fwd else c[1] for c in cells})[:16]
    outs = sorted({c[1] if fwd else c[0] for c in cells})[:n_out]
    top = 2 ** (input_bits - 1) - 1 if signed else 2 ** input_bits - 1
    lo = -top if signed else 0
    x = rng.integers(lo, top + 1, size=(1, n_vec, len(ins)))
    return MVMRequest(cores=(int(core),), inputs=x.astype(np.int16), input_lines=np.array(ins, np.int64),
                      output_lines=np.array(outs, np.int64), direction=direction, input_bits=int(input_bits),
                      output_bits=int(output_bits), signed_inputs=signed, differential=False, parallel=False,
                      v_read_v=v_read_v)


def mvm_rows_request(cores, cells, n_vec: int, input_bits: int, output_bits: int, direction: str = "forward",
                     seed: int = 0, signed: bool = True, v_read_v=None):
    """:func:`mvm_request` on several ``cores`` of one core column (the driver runs them as one batch over
    their core rows, ``_mvm_host.run_groups``): the same lines, each core its own seeded inputs."""
    import dataclasses

    reqs = [mvm_request(c, cells, n_vec, input_bits, output_bits, direction, seed + k, signed, v_read_v)
            for k, c in enumerate(cores)]
    x = np.concatenate([r.inputs for r in reqs])
    return dataclasses.replace(reqs[0], cores=tuple(int(c) for c in cores), inputs=x, parallel=True)


def _mvm_rows(board, cores, cells, *args):
    return board.mvm(mvm_rows_request(cores, cells, *args))


def _mvm_codes_masked(board, core, cells, *args):
    """The driver's MVM sequence (``_mvm_host.run_mvm``) sent as it is, past ``FpgaBoard``'s refusal on a top
    whose neurons it does not model (the voltage-mode top): the check compares every call and pin effect but
    the readout words and codes (:data:`drivers.rtl.diff.MASKED_OPS`), which are the chip's there."""
    from .. import _mvm_host

    board.link.op("mvm")
    return _mvm_host.run_mvm(board, mvm_request(core, cells, *args))


def _mvm(board, core, cells, n_vec, input_bits, output_bits, direction="forward", seed=0, signed=True, v_read_v=None):
    return board.mvm(mvm_request(core, cells, n_vec, input_bits, output_bits, direction, seed, signed, v_read_v))


def _stochastic_mvm(board, core, cells, n_vec, input_bits, output_bits, direction, seed, signed, v_read_v,
                    pulses, pulse_width, amplitude_v):
    """An MVM batch with LFSR noise (``activation="stochastic"``) at the injection given."""
    import dataclasses

    from .. import _lfsr_host as lfsr

    lfsr.set_injection(board, amplitude_v=amplitude_v, pulses=pulses, pulse_width=pulse_width)
    req = mvm_request(core, cells, n_vec, input_bits, output_bits, direction, seed, signed, v_read_v)
    return board.mvm(dataclasses.replace(req, activation="stochastic"))


def _lfsr_read(board, core, reads):
    from .. import _lfsr_host as lfsr

    return lfsr.read_bits(board, core, reads)


def _lfsr_preset(board):
    from .. import _lfsr_host as lfsr

    return lfsr.preset(board)


def _neuron_test(board, core, levels_v, output_bits=6):
    return board.neuron_test(core, np.asarray(levels_v, np.float64)[:, None], output_bits)


def _spi_round_trip(board, row: int, forward: bool, seed: int = 0):
    """Planes through the chip's scan chain and back (raw endpoints; the driver has no read-back): pipe 0x80
    a plane into core row ``row``'s chain shifted 12 registers (the whole chain), then an SPI read of one
    register to pipe 0xA0 (0x0D bit 0, one pipe-out step), twice; the words read."""
    from .. import _mvm_host as mh

    rng = np.random.default_rng(seed + 11)
    L = board.link
    L.op("spi_round_trip")
    planes = rng.integers(-1, 2, size=(2, 256)).astype(np.int8)
    turn = mh.PLANE_WORDS
    board.stage_wire_in(nt.WI_SPI_MASK, mh.spi_mask_word([row], turn) | turn << 18)
    out = []
    for p in planes:
        board.stage_wire_in(nt.WI_SPI, 0b10 | 12 << 2 | 1 << 6 | int(forward) << 14)
        L.update_wire_ins()
        L.pipe_in(nt.PI_SPI, mh.encode_planes(p, forward))
        L.trigger(nt.TI_SPI, nt.T_SPI_SHIFT)
        board.poll_wire_out(nt.WO_NEURON_STATUS, nt.NS_SPI_IDLE, "SPI idle (0x28 bit 2)")
        board.stage_wire_in(nt.WI_SPI, 0b01 | 1 << 2 | 1 << 10 | int(forward) << 14)
        L.update_wire_ins()
        L.trigger(nt.TI_SPI, nt.T_SPI_SHIFT)
        board.poll_wire_out(nt.WO_NEURON_STATUS, nt.NS_SPI_IDLE, "SPI idle (0x28 bit 2)")
        board.poll_wire_out(nt.WO_NEURON_STATUS, nt.NS_SPI_OUT_EMPTY, "read-back data (0x28 bit 11 clear)", clear=True)
        out.append(bytes(L.pipe_out(nt.PO_SPI, 64)))
    board.stage_wire_in(nt.WI_SPI, 0)
    board.stage_wire_in(nt.WI_SPI_MASK, 0)
    L.update_wire_ins()
    return out


def _err_pulse_over_limit(board):
    c, r, k = _arrays(0, [(0, 0)])
    board.pulse("set", c, r, k, np.array([9.0]), np.array([1e-6]), np.array([2.0]))


def _err_rail_out_of_range(board):
    board.set_rails({"v_ref": 2.5})


def _err_unknown_rail(board):
    board.set_rails({"v_wl_read": 1.0})


def _err_trigger_endpoint(board):
    board.link.trigger(0x60, 0)


def _err_pipe_block(board):
    board.link.pipe_in(nt.PI_SPI, bytes(10))


def _err_wire_endpoint(board):
    board.link.set_wire(0x20, 1)


ERRORS = {"pulse_over_limit": _err_pulse_over_limit, "rail_out_of_range": _err_rail_out_of_range,
          "unknown_rail": _err_unknown_rail, "trigger_endpoint": _err_trigger_endpoint,
          "pipe_block": _err_pipe_block, "wire_endpoint": _err_wire_endpoint}


def plain(x):
    """``x`` as lists, tuples, dicts and Python scalars (arrays and dataclasses unpacked), for ``==``."""
    import dataclasses

    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return {f.name: plain(getattr(x, f.name)) for f in dataclasses.fields(x)}
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(plain(v) for v in x)
    return x


def run_op(board, op):
    """Run one operation on ``board``; what it returned, as :func:`plain` values (typed errors propagate)."""
    return plain(_run(board, op))


def _run(board, op):
    kind = op[0]
    if kind == "rails":
        return board.set_rails(op[1])
    if kind == "manual_range":
        return _manual_range(board, *op[1:])
    if kind == "manual_read":
        return _manual_read(board, op[1], op[2])
    if kind == "error":
        return ERRORS[op[1]](board)
    if kind == "mvm":
        return _mvm(board, *op[1:])
    if kind == "spi_round_trip":
        return _spi_round_trip(board, *op[1:])
    if kind == "neuron_test":
        return _neuron_test(board, *op[1:])
    if kind == "mvm_rows":
        return _mvm_rows(board, *op[1:])
    if kind == "mvm_codes_masked":
        return _mvm_codes_masked(board, *op[1:])
    if kind == "stochastic_mvm":
        return _stochastic_mvm(board, *op[1:])
    if kind == "lfsr_read":
        return _lfsr_read(board, *op[1:])
    if kind == "lfsr_preset":
        return _lfsr_preset(board)
    c, r, k = _arrays(op[1], op[2])
    if kind == "read":
        return board.read(c, r, k)
    v, g, w = _PULSE[kind]
    n = c.size
    return board.pulse(kind, c, r, k, np.full(n, v), np.full(n, w), np.full(n, g))
