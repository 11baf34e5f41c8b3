"""Summary of a FrontPanel call trace: calls, endpoints against ``neurram_top.v``, DAC groups, pulses, time.

:func:`summarize_trace` reads the records once (a list, an iterator or a
``.jsonl`` path) and returns a JSON-ready dict:

- ``calls``, ``calls_by_op``, ``calls_by_board_op`` and ``calls_by_board_op_and_op``;
- ``calls_per_read`` (calls of Board op ``read`` per cell read) and
  ``calls_per_pulse`` (calls of Board op ``pulse`` per SET/RESET trigger);
- ``endpoints``: every wire-in (with the OR of the bits written), wire-out,
  trigger bit and pipe used, and ``unknown_endpoints``: those the authors'
  ``neurram_top.v`` does not have (from :mod:`drivers.neurram_top`), and
  wire-in bits written that the HDL does not read (``Bitstream.wire_in_bits``, :data:`WIRE_IN_BITS`);
- ``dac_groups``: the words pushed between DAC updates (0x40 bit 1 ... 0x41
  bit 0), one daisy-chain frame each; a frame is well formed with four words,
  each the no-op (command 0b1111 in bits 23:20) or a write+update (0b0011) of
  channel 0-7, at least one of them not the no-op: the authors' one-channel
  group (three no-ops) or the driver's rail-ramp frame (one step on each of up
  to four DACs, ``FpgaBoard._dac_frame``); ``channel_steps`` counts the
  write+update words, ``multi_dac`` the frames with more than one;
- ``pulses``: SET triggers (0x40 bit 2) and RESET triggers (bit 3), and those
  fired while the write-voltage mux 0x0B was not 0b10 (SET) / 0b01 (RESET);
- ``board_time``: :meth:`drivers.board_time.BoardTimeModel.summary`.
"""

from __future__ import annotations

import os

from . import neurram_top as nt
from .board_time import BoardTimeModel

_KIND = {"SetWireInValue": "wire_in", "GetWireOutValue": "wire_out", "ActivateTriggerIn": "trigger",
         "WriteToPipeIn": "pipe_in", "ReadFromPipeOut": "pipe_out"}
_MAX_EXAMPLES = 5


# Bitstream -> wire-in -> the bits its top level reads, from the one endpoint map (Bitstream.wire_in_bits
# in drivers.neurram_top); bitstreams without a table check no bits.
WIRE_IN_BITS = {name: dict(b.wire_in_bits) for name, b in nt.BITSTREAMS.items() if b.wire_in_bits}


class _DacGroups:
    def __init__(self):
        self.groups = 0
        self.well_formed = 0
        self.steps = 0
        self.multi = 0
        self.words = []
        self.bad: list[dict] = []

    def push(self, word: int):
        self.words.append(word)

    def update(self, call_index: int):
        w = self.words
        cmds = [((x >> 20) & 0xF, (x >> 16) & 0xF) for x in w]
        nops = sum(c == nt.CMD_NOP for c, _ in cmds)
        writes = sum(c == nt.CMD_WRITE_UPDATE and ch < nt.DAC_CHANNELS for c, ch in cmds)
        self.groups += 1
        if len(w) == nt.N_DACS and nops + writes == nt.N_DACS and writes >= 1:
            self.well_formed += 1
            self.steps += writes
            self.multi += writes > 1
        elif len(self.bad) < _MAX_EXAMPLES:
            self.bad.append({"call": call_index, "words": [hex(x) for x in w], "no_ops": nops})
        self.words = []

    def summary(self) -> dict:
        return {"groups": self.groups, "well_formed": self.well_formed, "malformed": self.groups - self.well_formed,
                "channel_steps": self.steps, "multi_dac": self.multi,
                "words_pending": len(self.words), "malformed_examples": self.bad}


def summarize_trace(records, bitstream: str = "neurram_top", **model_options) -> dict:
    """Summary of trace ``records`` (list, iterator or ``.jsonl`` path); see the module doc."""
    if isinstance(records, (str, bytes)) or hasattr(records, "__fspath__"):
        from .trace import iter_trace

        records = iter_trace(os.fspath(records))
    has = nt.bitstream(bitstream).has
    mux_for_pulse = {nt.T_SET: nt.MUX_SET, nt.T_RESET: nt.MUX_RESET}  # the mux 0x0B each pulse trigger needs
    model = BoardTimeModel(**model_options)
    wire_in_bits: dict[int, int] = {}
    used: dict[str, set] = {"wire_out": set(), "trigger": set(), "pipe_in": set(), "pipe_out": set()}
    pipe_bytes: dict[int, int] = {}
    host_wi: dict[int, int] = {}
    latched: dict[int, int] = {}
    dac = _DacGroups()
    pulses = {"set": 0, "reset": 0, "wrong_mux": 0, "wrong_mux_examples": []}
    n = 0
    for i, r in enumerate(records):
        n += 1
        model(r)
        op = r["op"]
        kind = _KIND.get(op)
        if kind is None:
            if op == "UpdateWireIns":
                latched.update(host_wi)
            continue
        ep = int(r["ep"])
        if kind == "wire_in":
            mask = int(r.get("mask", 0xFFFFFFFF))
            v = int(r["value"]) & mask
            wire_in_bits[ep] = wire_in_bits.get(ep, 0) | v
            host_wi[ep] = (host_wi.get(ep, 0) & ~mask) | v
        elif kind == "trigger":
            bit = int(r["bit"])
            used["trigger"].add((ep, bit))
            if ep == nt.TI_SYS and bit == nt.T_DAC_PUSH:
                dac.push(latched.get(nt.WI_DAC, 0))
            elif ep == nt.TI_DAC and bit == nt.T_DAC_UPDATE:
                dac.update(i)
            elif ep == nt.TI_SYS and bit in mux_for_pulse:
                pulses["set" if bit == nt.T_SET else "reset"] += 1
                mux = latched.get(nt.WI_WRITE_MUX, 0)
                if mux != mux_for_pulse[bit]:
                    pulses["wrong_mux"] += 1
                    if len(pulses["wrong_mux_examples"]) < _MAX_EXAMPLES:
                        pulses["wrong_mux_examples"].append({"call": i, "bit": bit, "mux": mux})
        else:
            used[kind].add(ep)
            if kind.startswith("pipe"):
                pipe_bytes[ep] = pipe_bytes.get(ep, 0) + int(r.get("bytes", 0))

    unknown = [f"wire-in 0x{ep:02X}" for ep in sorted(wire_in_bits) if not has("wire_in", ep)]
    read_bits = WIRE_IN_BITS.get(bitstream, {})
    unknown += [f"wire-in 0x{ep:02X} bits 0x{bits & ~read_bits[ep]:X}" for ep, bits in sorted(wire_in_bits.items())
                if ep in read_bits and bits & ~read_bits[ep]]
    unknown += [f"wire-out 0x{ep:02X}" for ep in sorted(used["wire_out"]) if not has("wire_out", ep)]
    unknown += [f"trigger 0x{ep:02X} bit {b}" for ep, b in sorted(used["trigger"]) if not has("trigger", ep, b)]
    unknown += [f"pipe-in 0x{ep:02X}" for ep in sorted(used["pipe_in"]) if not has("pipe_in", ep)]
    unknown += [f"pipe-out 0x{ep:02X}" for ep in sorted(used["pipe_out"]) if not has("pipe_out", ep)]
    triggers: dict[str, list[int]] = {}
    for ep, b in sorted(used["trigger"]):
        triggers.setdefault(f"0x{ep:02X}", []).append(b)
    bt = model.summary()
    by_bop_op = model.calls_by_board_op_and_op
    read_calls = sum(by_bop_op.get("read", {}).values())
    pulse_calls = sum(by_bop_op.get("pulse", {}).values())
    return {
        "calls": n,
        "calls_by_op": bt["calls_by_op"],
        "calls_by_board_op": bt["calls_by_board_op"],
        "calls_by_board_op_and_op": {k: dict(sorted(v.items())) for k, v in sorted(by_bop_op.items())},
        "cell_reads": bt["cell_reads"],
        "adc_reads": bt["adc_reads"],
        "calls_per_read": read_calls / bt["cell_reads"] if bt["cell_reads"] else None,
        "calls_per_pulse": pulse_calls / bt["pulses"] if bt["pulses"] else None,
        "endpoints": {
            "wire_in": {f"0x{ep:02X}": f"0x{bits:X}" for ep, bits in sorted(wire_in_bits.items())},
            "wire_out": [f"0x{ep:02X}" for ep in sorted(used["wire_out"])],
            "trigger": triggers,
            "pipe_in": {f"0x{ep:02X}": pipe_bytes[ep] for ep in sorted(used["pipe_in"])},
            "pipe_out": {f"0x{ep:02X}": pipe_bytes[ep] for ep in sorted(used["pipe_out"])},
        },
        "bitstream": bitstream,
        "unknown_endpoints": unknown,
        "dac_groups": dac.summary(),
        "pulses": pulses,
        "board_time": bt,
        "predicted_board_time_s": bt["predicted_s"],
    }
