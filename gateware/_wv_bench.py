"""cocotb bench of ``neurram_top_wv`` on the simulated board (runs inside ``vvp``; :mod:`gateware.sim` starts it).

The design is the authors' top level with the engine patched in (:mod:`gateware.patch`), on the project's
board model (``drivers/rtl/hdl/board.v``: DACs decoded from the pins, the ADC serialising the integrator);
the chip behind the pins is the twin (:class:`sim_backend.board.SimBoard`) through
:class:`drivers.rtl._board_side.ChipSide`, which applies every program pulse seen on ``wupdate_pulse`` and
gives the integrator the selected cell's current once per auto-ranged measurement.

The run is described by a JSON file (``NEURRAM_WV_SPEC``): ``seed``, ``dac`` (host DAC writes before the
engine: ``[dac, channel, code]``), ``wire_ins`` (``{ep: value}``), ``batches`` (lists of command words, each
piped in and started, results read back), ``poll_ns``, ``timeout_ns``, ``pre_pulses`` (twin pulses before
the run: ``[kind, core, row, col, v, width_s, gate_v]``). The answers go to ``NEURRAM_WV_OUT``: the records'
words, the wire-outs after each batch, the simulated time of each batch, the highest code each DAC channel
showed on the pins, the pulses seen, the FrontPanel calls made.
"""

from __future__ import annotations

import json
import os

import cocotb
import numpy as np
from cocotb.triggers import Edge, RisingEdge, Timer
from cocotb.utils import get_sim_time

from neurram_lab.drivers import _wv_engine as wv
from neurram_lab.drivers import neurram_top as nt

OP_WI, OP_WO, OP_TRIG, OP_PIPE_IN, OP_PIPE_OUT = 1, 2, 3, 4, 5
CHUNK = 512
EV_DEPTH = 4096
_XZ0 = str.maketrans("xXzZuUwW-", "000000000")
# endpoint names: drivers/neurram_top.py, the one endpoint map (wire-out i of a snapshot is endpoint 0x20 + i)
_WO_STATUS, _WO_RECORDS = nt.WO_ENGINE_STATUS - nt.WO_STATUS, nt.WO_ENGINE_RECORDS - nt.WO_STATUS


def _int(value) -> int:
    try:
        return int(value)
    except ValueError:
        return int(str(value).translate(_XZ0) or "0", 2)


class Host:
    """The FrontPanel host, through the okHost model's command registers; counts its calls."""

    def __init__(self, tb):
        self.tb, self.ok = tb, tb.dut.okHI
        self.go = 0
        self.wi = [0] * 32
        self.calls = 0

    async def _cmd(self, op, addr=0, data=0, n=0):
        ok = self.ok
        ok.cmd_op.value, ok.cmd_addr.value, ok.cmd_data.value, ok.cmd_len.value = op, addr, data, n
        self.go ^= 1
        ok.cmd_go.value = self.go
        await Edge(ok.cmd_done)
        self.calls += 1

    async def update_wire_ins(self, values: dict):
        for ep, v in values.items():
            self.wi[int(ep)] = int(v) & 0xFFFFFFFF
        flat = 0
        for i, v in enumerate(self.wi):
            flat |= v << (32 * i)
        self.ok.wi_flat.value = flat
        await self._cmd(OP_WI)

    async def wire_outs(self) -> list[int]:
        await self._cmd(OP_WO)
        flat = _int(self.ok.wo_flat.value)
        return [(flat >> (32 * i)) & 0xFFFFFFFF for i in range(32)]

    async def trigger(self, ep, bit):
        await Timer(2000, "ns")  # a USB transaction is far apart from the last one
        await self._cmd(OP_TRIG, ep, 1 << bit)

    async def pipe_in(self, ep, words):
        for s in range(0, len(words), CHUNK):
            chunk = words[s:s + CHUNK]
            flat = 0
            for i, w in enumerate(chunk):
                flat |= (int(w) & 0xFFFFFFFF) << (32 * i)
            self.ok.pipe_buf.value = flat
            await self._cmd(OP_PIPE_IN, ep, 0, len(chunk))

    async def pipe_out(self, ep, n):
        out = []
        while n:
            k = min(n, CHUNK)
            await self._cmd(OP_PIPE_OUT, ep, 0, k)
            flat = _int(self.ok.pipe_buf.value)
            out += [(flat >> (32 * i)) & 0xFFFFFFFF for i in range(k)]
            n -= k
        return out

    async def dac_group(self, dac, channel, code):
        """One channel through the authors' daisy chain, as the driver does it (four words, then update)."""
        for i in range(3, -1, -1):
            word = (0b0011 << 20 | channel << 16 | code) if i == dac else (0b1111 << 20)
            await self.update_wire_ins({nt.WI_DAC: word})
            await self.trigger(nt.TI_SYS, nt.T_DAC_PUSH)
            await Timer(3000, "ns")
        await Timer(30000, "ns")
        await self.trigger(nt.TI_DAC, nt.T_DAC_UPDATE)
        await Timer(2000, "ns")


class Physics:
    """The twin behind the pins: events into ChipSide, the integrator's current once per measurement."""

    def __init__(self, tb, chip):
        self.tb, self.chip = tb, chip
        self.seen = 0
        self.current = None
        self.measurements = 0

    def drain(self):
        tb = self.tb
        n = _int(tb.ev_n.value)
        if n - self.seen > EV_DEPTH:
            raise RuntimeError("the board's event log overflowed (events lost)")
        ev = [(_int(tb.ev_a[i % EV_DEPTH].value), _int(tb.ev_t[i % EV_DEPTH].value)) for i in range(self.seen, n)]
        self.seen = n
        self.chip.take(ev)

    async def reads(self):
        tb = self.tb
        while True:
            await Edge(tb.read_on)
            self.drain()
            if self.current is None:
                self.current = self.chip.read_current_a(nt.MUX_READ)
                self.measurements += 1
            tb.adc_i_a.value = float(self.current)
            tb.adc_v0_v.value = float(self.chip.volts("VREF_TIA"))

    async def ends(self):
        while True:
            await RisingEdge(self.tb.dut.atrg_valid)
            self.current = None  # the next measurement reads the cell afresh


@cocotb.test()
async def run_wv(tb):
    """Run the batches of the spec through the engine."""
    from neurram_lab.drivers.rtl._board_side import ChipSide
    from neurram_lab.sim_backend.board import SimBoard

    with open(os.environ["NEURRAM_WV_SPEC"]) as f:
        spec = json.load(f)
    twin = SimBoard(seed=int(spec.get("seed", 0)))
    for kind, c, r, k, v, w, g in spec.get("pre_pulses", []):
        twin._pulse(kind, np.array([c]), np.array([r]), np.array([k]), np.array([float(v)]), np.array([float(w)]),
                    np.array([float(g)]))
    chip = ChipSide(twin)
    phys = Physics(tb, chip)
    host = Host(tb)
    await Timer(200, "ns")
    phys.drain()
    cocotb.start_soon(phys.reads())
    cocotb.start_soon(phys.ends())
    await host.update_wire_ins({nt.WI_RESET: 3})
    await host.update_wire_ins({nt.WI_RESET: 0})
    await host.update_wire_ins({nt.WI_READ_TIMING: nt.READ_T_SHLD | nt.READ_T_DELTA << 16,
                                 nt.WI_AUTORANGE_VREF: int(0.9 * 2 ** 18 / 2.048)})
    for dac, ch, code in spec.get("dac", []):
        await host.dac_group(int(dac), int(ch), int(code))
    if spec.get("wire_ins"):
        await host.update_wire_ins({int(k): int(v) for k, v in spec["wire_ins"].items()})
    phys.drain()
    chip.effects.clear()
    out = {"batches": []}
    for batch in spec.get("batches", []):
        calls0 = host.calls
        before = await host.wire_outs()
        await host.pipe_in(nt.PI_ENGINE_COMMANDS, batch["words"])
        t0 = get_sim_time("ns")
        await host.trigger(nt.TI_ENGINE, nt.T_ENGINE_START)
        deadline = t0 + float(spec.get("timeout_ns", 5e7))
        polls = 0
        while True:
            await Timer(int(spec.get("poll_ns", 100000)), "ns")
            wo = await host.wire_outs()
            polls += 1
            if not wo[_WO_STATUS] & wv.ST_BUSY or get_sim_time("ns") > deadline:
                break
        t1 = get_sim_time("ns")
        n_rec = wo[_WO_RECORDS] - before[_WO_RECORDS] + int(batch.get("marks", 0))
        words = await host.pipe_out(nt.PO_ENGINE_RESULTS, 4 * n_rec) if n_rec > 0 else []
        phys.drain()
        out["batches"].append({"words": words, "wire_outs": wo, "t_ns": t1 - t0, "polls": polls,
                               "calls": host.calls - calls0, "timed_out": bool(wo[_WO_STATUS] & wv.ST_BUSY)})
        if batch.get("clear"):
            await host.trigger(nt.TI_ENGINE, nt.T_ENGINE_CLEAR)
    phys.drain()
    dac_max = {}
    pulses = []
    for e in chip.effects:
        if e[0] == "dac":
            key = f"{e[1]},{e[2]}"
            dac_max[key] = max(dac_max.get(key, 0), int(e[3]))
        elif e[0] == "pulse":
            pulses.append([e[1], [list(map(int, c)) for c in e[2]], float(e[3]), float(e[4]), float(e[5])])
    out.update(dac_max=dac_max, pulses=pulses, measurements=phys.measurements, sim_ns=get_sim_time("ns"),
               lost_events=chip.lost_events, selected=[list(x) for x in chip.selected()],
               current_a=phys.current, adc_codes=chip.adc_codes[-8:])
    with open(os.environ["NEURRAM_WV_OUT"], "w") as f:
        json.dump(out, f)
