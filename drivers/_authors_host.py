"""The chip authors' host-side write-verify of one cell, as FrontPanel call records.

Re-implemented from the facts of ``python/wupdate_control.py``
(``write_reg``, ``apply_set_pulse``/``apply_reset_pulse`` with ``prep=True``,
``program_increment``), ``python/adc_control.py``
(``read_average_resistance``: each auto-ranged cycle starts from the timing
the previous one ended with) and ``python/dac_control.py``
(``dac_program_single_daisy``) of weierwan/Neurram_48core, with every
busy-poll ending at its first pass. Used to compare this driver's calls per
cell, and the predicted time of :class:`drivers.board_time.BoardTimeModel`,
with the authors' measured 0.16-0.23 s per cell.
"""

from __future__ import annotations

from . import neurram_top as nt

_AR_VREF_CODE = int(0.9 * 2**18 / 2.048)  # auto-range vref 0.9 V over the 2.048 V ADC


def _w(ep, value, board_op):
    return {"op": "SetWireInValue", "ep": ep, "value": int(value), "mask": 0xFFFFFFFF, "board_op": board_op}


def _u(board_op):
    return {"op": "UpdateWireIns", "board_op": board_op}


def _poll(ep, value, board_op):
    return [{"op": "UpdateWireOuts", "board_op": board_op},
            {"op": "GetWireOutValue", "ep": ep, "value": int(value), "board_op": board_op}]


def _t(ep, bit, board_op):
    return {"op": "ActivateTriggerIn", "ep": ep, "bit": bit, "board_op": board_op}


def select_records(row: int = 0, col: int = 0, board_op: str = "select") -> list[dict]:
    """Clear the registers, then random-access write the row (vertical) and the column."""
    out = [_w(nt.WI_CLEAR, nt.CLEAR_HORZ | nt.CLEAR_VERT, board_op), _u(board_op), _w(nt.WI_CLEAR, 0, board_op),
           _u(board_op)]
    for vert, addr in ((1, row), (0, col)):
        out += [_w(nt.WI_CORE_ADDRESS, 0, board_op),
                _w(nt.WI_RANDOM_ACCESS, vert << 10 | nt.RA_SELECT << nt.RA_DATA_SHIFT | addr, board_op), _u(board_op),
                _t(nt.TI_SPI, nt.T_RANDOM_ACCESS, board_op)]
    return out


def read_records(cycles: int = 8, t_shld: int = 10, t_delta: int = 20, iterations: int = 1,
                 board_op: str = "read") -> list[dict]:
    """An averaged auto-ranged read: mux to read, ``cycles`` auto-ranged reads, mux to idle.

    The first cycle ranges in ``iterations`` steps from (t_shld, t_delta) to doubled
    values; later cycles start from where the previous one ended (one step each).
    """
    out = [_w(nt.WI_WRITE_MUX, nt.MUX_READ, board_op), _u(board_op)]
    ts, td = int(t_shld), int(t_delta)
    for i in range(int(cycles)):
        n = int(iterations) if i == 0 else 1
        ts1, td1 = ts << (n - 1), td << (n - 1)
        out += [_w(nt.WI_READ_TIMING, td << 16 | ts, board_op), _w(nt.WI_AUTORANGE_VREF, _AR_VREF_CODE, board_op),
                _u(board_op), _t(nt.TI_ADC, nt.T_AUTORANGE, board_op)]
        out += _poll(nt.WO_STATUS, nt.ST_AR_VALID, board_op)
        out += [{"op": "GetWireOutValue", "ep": nt.WO_AR_START, "value": 100000, "board_op": board_op},
                {"op": "GetWireOutValue", "ep": nt.WO_AR_END, "value": n << 18 | 80000, "board_op": board_op},
                {"op": "GetWireOutValue", "ep": nt.WO_AR_TIMING, "value": td1 << 16 | ts1, "board_op": board_op},
                _t(nt.TI_ADC, nt.T_AUTORANGE_ACK, board_op)]
        ts, td = ts1, td1
    out += [_w(nt.WI_WRITE_MUX, nt.MUX_IDLE, board_op), _u(board_op)]
    return out


def dac_records(dac: int, channel: int, code: int, board_op: str) -> list[dict]:
    """One daisy-chain DAC update: four words (DAC 3 first; no-ops for the others), update, idle poll."""
    out = []
    for i in (3, 2, 1, 0):
        cmd = nt.CMD_WRITE_UPDATE if i == dac else nt.CMD_NOP
        out += _poll(nt.WO_STATUS, nt.ST_DAC_FIFO_EMPTY, board_op)  # FIFO-full check
        out += [_w(nt.WI_DAC, cmd << 20 | channel << 16 | (code if i == dac else 0), board_op), _u(board_op),
                _t(nt.TI_SYS, nt.T_DAC_PUSH, board_op)]
        out += _poll(nt.WO_STATUS, nt.ST_DAC_FIFO_EMPTY | nt.ST_DAC_ACK, board_op)  # write ack
    out += _poll(nt.WO_STATUS, nt.ST_DAC_FIFO_EMPTY, board_op)  # FIFO empty
    out += [_t(nt.TI_DAC, nt.T_DAC_UPDATE, board_op)]
    out += _poll(nt.WO_STATUS, nt.ST_DAC_IDLE | nt.ST_DAC_FIFO_EMPTY, board_op)  # DAC idle
    return out


def pulse_records(kind: str = "set", width_s: float = 1e-6, board_op: str = "pulse") -> list[dict]:
    """A SET or RESET pulse with its two DAC-3 updates (amplitude, gate), width, mux, trigger, ack."""
    set_ = kind == "set"
    chans = (0, 1) if set_ else (2, 3)
    out = dac_records(3, chans[0], 20000, board_op) + dac_records(3, chans[1], 30000, board_op)
    out += [_w(nt.WI_PULSE_WIDTH, round(width_s / 10e-9), board_op), _u(board_op),
            _w(nt.WI_WRITE_MUX, nt.MUX_SET if set_ else nt.MUX_RESET, board_op), _u(board_op),
            _t(nt.TI_SYS, nt.T_SET if set_ else nt.T_RESET, board_op)]
    out += _poll(nt.WO_STATUS, nt.ST_PULSE_DONE, board_op)
    out += [_t(nt.TI_SYS, nt.T_PULSE_ACK, board_op), _w(nt.WI_WRITE_MUX, nt.MUX_IDLE, board_op), _u(board_op)]
    return out


def cell_records(pulses: int, read_cycles: int = 8, width_s: float = 1e-6) -> list[dict]:
    """One cell of ``program_increment``: select, read, ``pulses`` x (pulse, read), confirming read."""
    out = select_records() + read_records(read_cycles)
    for i in range(int(pulses)):
        out += pulse_records("set" if i % 2 == 0 else "reset", width_s) + read_records(read_cycles)
    return out + read_records(read_cycles)
