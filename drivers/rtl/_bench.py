"""The cocotb side of ``rtl://`` (runs inside the simulator, the child process): FrontPanel calls in, the
authors' design on the simulated board, answers and pin events out.

Loaded by ``vvp`` through cocotb (``COCOTB_TEST_MODULES=drivers.rtl._bench``). It connects back to the
parent (:mod:`drivers.rtl.sim`) at ``NEURRAM_RTL_ADDRESS`` and serves requests, one at a time, as tuples:
``("wi", [32 values])`` UpdateWireIns, ``("wo",)`` UpdateWireOuts -> 32 values, ``("trig", ep, bit)``,
``("pi", ep, [words])``, ``("po", ep, n_words)`` -> words, ``("adc", i_a, v0_v)`` the integrator's current and
start, ``("pins", [names])`` -> values, ``("wait", ns)``, ``("close",)``. When the read voltage reaches the cell
(mid-request) the bench asks ``("need_current",)`` and takes the answer ``(i_a, v0_v)`` before going on; at the
neurons' first comparator write after a sample burst it asks ``("need_conversion", snapshots, y_addr)`` (the scan
chains at each burst, the FPGA's output masks) and loads the answer ``{core: (sign bits, flip steps)}``; at each LFSR shift trigger it asks
``("need_lfsr",)`` and puts the answer ``(chain A bits, chain B bits)`` on ``lfsr_out``. Every answer is
``(result, events, sim_ns)`` (``result`` a tuple ``("error", message)`` when the request failed): the board's events since the last answer (``(kind word, time_ps)``) and the
simulated time. Nothing here knows the driver's tables.
"""

from __future__ import annotations

import os
from multiprocessing.connection import Client

import cocotb
from cocotb.triggers import Edge, Timer
from cocotb.utils import get_sim_time

OP_WI, OP_WO, OP_TRIG, OP_PIPE_IN, OP_PIPE_OUT, OP_WAIT = 1, 2, 3, 4, 5, 6
PIPE_CHUNK_WORDS = 512
EV_DEPTH = 4096
# A real board's FrontPanel call takes tens of microseconds or more; the simulated host issues them a few
# hundred nanoseconds apart. The one window where that matters (the check found it): an update trigger
# (0x41) that reaches dac_daisy_control while the last word still shifts (DAC_SHIFT) is lost, because the
# FSM looks at it only in DAC_SHIFT_DONE (dac_daisy_control.v:200-203). So a trigger waits until no DAC word
# is part-way through the chain (the board's own pins: SCK edges since CS fell, not a multiple of 32), then
# this gap. No driver table is known here.
PIPE_SETTLE_US = 200
# A status wait is a run of UpdateWireOuts with nothing between; a real host's polls are a USB transaction
# (>= 250 us, drivers.board_time) apart, the simulated host's a few hundred ns, so a 3 ms MVM took thousands
# of round trips to the simulator. The 2nd, 3rd, ... poll of a run now lets the design run 0.5, 1, 2 ... up
# to 16 us first (the check compares only the last poll of a wait; the values after it do not change).
POLL_WAIT_NS = int(os.environ.get("NEURRAM_RTL_POLL_WAIT_NS", "500"))
POLL_WAIT_MAX_NS = 16_000
TRIGGER_GAP_NS = int(os.environ.get("NEURRAM_RTL_TRIGGER_GAP_NS", "200"))
# A pipe-out read comes a USB transaction after the host's last call on a real board; a block that has no
# status bit for its data (lfsr_control.v's FIFO32x32: out_fifo_empty is left open, neurram_top.v:627) is
# read on that latency alone (the LFSR read: trigger 0x44 bit 4, then pipe 0xA1 at once, 256 shift clocks of
# 80 ns = 20.5 us later on the design). So a pipe-out waits until this long after the last request ended.
PIPE_OUT_LATENCY_NS = int(os.environ.get("NEURRAM_RTL_PIPE_OUT_LATENCY_NS", "50000"))


def _int(value) -> int:
    """A signal's value as an int, its X/Z bits (flip-flops the design never resets) read as 0."""
    try:
        return int(value)
    except ValueError:
        return int(str(value).translate(_XZ0) or "0", 2)


_XZ0 = str.maketrans("xXzZuUwW-", "000000000")


class _Host:
    def __init__(self, tb):
        self.tb = tb
        self.ok = tb.dut.okHI
        self.go = 0
        self.ev_seen = 0
        self.polls = 0  # UpdateWireOuts since the last other request
        self.snaps = []  # (burst index, [(lane 0, lane 1) per core row]) since the last conversion
        self.last_end_ns = 0.0  # when the last request's answer went out (simulated)

    async def cmd(self, op, addr=0, data=0, n=0):
        ok = self.ok
        ok.cmd_op.value = op
        ok.cmd_addr.value = addr
        ok.cmd_data.value = data
        ok.cmd_len.value = n
        self.go ^= 1
        ok.cmd_go.value = self.go
        await Edge(ok.cmd_done)

    def events(self):
        tb = self.tb
        n = int(tb.ev_n.value)
        out = []
        if n - self.ev_seen > EV_DEPTH:
            out.append((0xF << 60, 0))  # overflow marker: the log lost events
            self.ev_seen = n - EV_DEPTH
        for i in range(self.ev_seen, n):
            out.append((_int(tb.ev_a[i % EV_DEPTH].value), _int(tb.ev_t[i % EV_DEPTH].value)))
        self.ev_seen = n
        return out

    async def settle_pipe_in(self):
        """A real host's next call comes a USB transaction later (>= 200 us, drivers.board_time); the design's
        pipe-in arbiters (arbiter_pipein2fifo.v: one word a clock, ~10 clocks a turn) have moved what they can
        by then. So wait, up to that latency, until both are idle (a full core-row FIFO keeps one busy)."""
        dut = self.tb.dut
        for _ in range(PIPE_SETTLE_US):
            if _int(dut.arb_pipein2spi_idle.value) and _int(dut.arb_pipein2nmlo_idle.value):
                return
            await Timer(1, "us")

    async def serve(self, req):
        op = req[0]
        if op != "wo":
            self.polls = 0
        ok = self.ok
        if op == "wi":
            flat = 0
            for i, v in enumerate(req[1]):
                flat |= (int(v) & 0xFFFFFFFF) << (32 * i)
            ok.wi_flat.value = flat
            await self.cmd(OP_WI)
            return 0
        if op == "wo":
            if self.polls:  # a status wait: the next poll a little later, up to POLL_WAIT_MAX_NS
                await Timer(min(POLL_WAIT_MAX_NS, POLL_WAIT_NS << min(self.polls - 1, 16)), "ns")
            self.polls += 1
            await self.cmd(OP_WO)
            flat = _int(ok.wo_flat.value)
            return [(flat >> (32 * i)) & 0xFFFFFFFF for i in range(32)]
        if op == "trig":
            while _int(self.tb.dac_mid_word.value):
                await Edge(self.tb.dac_mid_word)
            await Timer(TRIGGER_GAP_NS, "ns")
            await self.cmd(OP_TRIG, req[1], 1 << req[2])
            return 0
        if op == "pi":
            words = req[2]
            for s in range(0, len(words), PIPE_CHUNK_WORDS):
                chunk = words[s:s + PIPE_CHUNK_WORDS]
                flat = 0
                for i, w in enumerate(chunk):
                    flat |= (int(w) & 0xFFFFFFFF) << (32 * i)
                ok.pipe_buf.value = flat
                await self.cmd(OP_PIPE_IN, req[1], 0, len(chunk))
            await self.settle_pipe_in()
            return len(words)
        if op == "po":
            gap = PIPE_OUT_LATENCY_NS - (get_sim_time("ns") - self.last_end_ns)
            if gap > 0:
                await Timer(int(gap), "ns")
            out = []
            left = int(req[2])
            while left:
                n = min(left, PIPE_CHUNK_WORDS)
                await self.cmd(OP_PIPE_OUT, req[1], 0, n)
                flat = _int(ok.pipe_buf.value)
                out += [(flat >> (32 * i)) & 0xFFFFFFFF for i in range(n)]
                left -= n
            return out
        if op == "adc":
            self.tb.adc_i_a.value = float(req[1])
            self.tb.adc_v0_v.value = float(req[2])
            await Timer(1, "ns")
            return 0
        if op == "pins":
            return [_int(getattr(self.tb, name).value) for name in req[1]]
        if op == "wait":
            await Timer(max(1, int(req[1])), "ns")
            return 0
        raise ValueError(f"unknown request {op!r}")


async def _answer_on_edge(host, conn, edge: str, request: str, targets: tuple[str, ...], cast):
    """Each time ``edge`` toggles, send ``request`` to the parent (with the events so far and the time in ns)
    and put its answer, one value per name in ``targets``, on those testbench signals (``cast`` each)."""
    tb = host.tb
    while True:
        await Edge(getattr(tb, edge))
        conn.send(((request,), host.events(), get_sim_time("ns")))
        for name, value in zip(targets, conn.recv()):
            getattr(tb, name).value = cast(value)


def _read_watch(host, conn):
    """Each time the read voltage reaches the cell (board.v ``read_on`` toggles), ask the parent for the
    cell current (A) and the integrator's start (V), mid-request, and put them on the board's ADC model."""
    return _answer_on_edge(host, conn, "read_on", "need_current", ("adc_i_a", "adc_v0_v"), float)


N_ROWS = 8


def _lfsr_watch(host, conn):
    """At each LFSR shift trigger the design receives (board.v ``lfsr_req``), ask the parent for the next 512
    bits each of the chip's two chains will put on ``lfsr_out`` and load them before the first clock."""
    return _answer_on_edge(host, conn, "lfsr_req", "need_lfsr", ("lfsr_a_bits", "lfsr_b_bits"), int)


async def _sample_watch(host):
    """At each sample burst's first trigger_in pulse (board.v ``smp_tog``), the chip's scan chains as they are
    then (the input registers the neurons sample), kept until the next conversion."""
    tb = host.tb
    while True:
        await Edge(tb.smp_tog)
        idx = _int(tb.smp_idx.value)
        lanes = [(_int(tb.ch0[r].value), _int(tb.ch1[r].value)) for r in range(N_ROWS)]
        host.snaps.append((idx, lanes))


async def _conversion_watch(host, conn):
    """At the neurons' first comparator write after a sample burst (board.v ``conv_req``), ask the parent for
    each core's comparator sign and flip step (the twin's conversion) and load them before the write."""
    tb = host.tb
    while True:
        await Edge(tb.conv_req)
        y_addr = [_int(getattr(tb, f"y_addr{r}").value) for r in range(N_ROWS)]
        snaps, host.snaps = host.snaps, []
        conn.send((("need_conversion", snaps, y_addr), host.events(), get_sim_time("ns")))
        tables = conn.recv()
        if not isinstance(tables, dict):
            raise RuntimeError(f"conversion answer {tables!r} at {get_sim_time('ns')} ns")
        valid = 0
        for core, (sign, flip) in tables.items():
            tb.cmp_sign[core].value = int(sign)
            tb.cmp_flip[core].value = int(flip)
            valid |= 1 << int(core)
        tb.cmp_valid.value = valid


@cocotb.test()
async def serve_frontpanel(tb):
    """Serve the parent's FrontPanel calls until it says close (or goes away)."""
    host_name, port = os.environ["NEURRAM_RTL_ADDRESS"].rsplit(":", 1)
    conn = Client((host_name, int(port)), authkey=bytes.fromhex(os.environ["NEURRAM_RTL_KEY"]))
    host = _Host(tb)
    await Timer(200, "ns")  # clocks running, clk_cnt counting
    conn.send((("ready",), host.events(), get_sim_time("ns")))
    cocotb.start_soon(_read_watch(host, conn))
    cocotb.start_soon(_sample_watch(host))
    cocotb.start_soon(_lfsr_watch(host, conn))
    cocotb.start_soon(_conversion_watch(host, conn))
    while True:
        try:
            req = conn.recv()
        except EOFError:
            return
        if req[0] == "close":
            conn.send((0, host.events(), get_sim_time("ns")))
            conn.close()
            return
        try:
            res = await host.serve(req)
            # a watcher woken in this request's last time step (a conversion, a read) asks the parent while
            # it still waits for this answer: 1 ps on, every such watcher has run (board.v waits 1 ns)
            await Timer(1, "ps")
        except Exception as exc:  # handed to the parent as its typed error
            conn.send((("error", f"{type(exc).__name__}: {exc}"), [], get_sim_time("ns")))
            continue
        host.last_end_ns = get_sim_time("ns")
        conn.send((res, host.events(), get_sim_time("ns")))
