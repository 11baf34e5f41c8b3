"""``neurram trace FILE.jsonl``: summarise a FrontPanel call trace and predict its real-board time.

A trace is written by ``--board 'hil://?trace=FILE.jsonl'`` (or the same
option on ``okusb://``): one JSON object per FrontPanel call. The summary
(:func:`drivers.trace_summary.summarize_trace`) gives the calls per
FrontPanel op and per Board operation, calls per cell read and per pulse,
the endpoints and bits used checked against the authors' ``neurram_top.v``,
the DAC daisy-chain frames (four words each, every word a no-op or a channel
step: the authors' one-channel group or a rail-ramp frame moving several DACs), the SET/RESET
triggers and their write-voltage mux, and the predicted wall time on a real
XEM6310 (:mod:`drivers.board_time`). ``neurram show FILE.jsonl`` prints the same.
"""

from __future__ import annotations

COMMAND = (None, "trace")
HELP = "summarise a FrontPanel call trace (.jsonl): calls, endpoints, DAC groups, predicted board time"


def add_arguments(parser) -> None:
    parser.add_argument("trace", metavar="TRACE.jsonl", help="trace file written with hil://?trace=FILE.jsonl")
    parser.add_argument("--bitstream", default="neurram_top",
                        help="the authors' top level to check endpoints against (default neurram_top)")


def _fmt_counts(d: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(d.items(), key=lambda kv: -kv[1])) or "-"


def format_summary(path, s: dict) -> str:
    """Human-readable lines of a :func:`summarize_trace` result."""
    bt = s["board_time"]
    ep = s["endpoints"]
    lines = [f"trace       {path}: {s['calls']} FrontPanel calls, {bt['usb_transactions']} USB transactions",
             f"by op       {_fmt_counts(s['calls_by_op'])}",
             f"by board op {_fmt_counts(s['calls_by_board_op'])}"]
    per = []
    if s["calls_per_read"] is not None:
        per.append(f"{s['calls_per_read']:.1f} calls per cell read ({s['cell_reads']} reads, {s['adc_reads']} ADC cycles)")
    if s["calls_per_pulse"] is not None:
        per.append(f"{s['calls_per_pulse']:.1f} calls per pulse ({bt['pulses']} pulses)")
    if per:
        lines.append("per op      " + "; ".join(per))
    wi = " ".join(f"{k}[{v}]" for k, v in ep["wire_in"].items()) or "-"
    trig = " ".join(f"{k}:{','.join(map(str, b))}" for k, b in ep["trigger"].items()) or "-"
    pipes = " ".join(f"{k}({v} B)" for k, v in {**ep["pipe_in"], **ep["pipe_out"]}.items()) or "-"
    lines += [f"wire-ins    {wi}   (endpoint[OR of the bits written])",
              f"wire-outs   {' '.join(ep['wire_out']) or '-'}",
              f"triggers    {trig}   (endpoint:bits)",
              f"pipes       {pipes}"]
    if s["unknown_endpoints"]:
        lines.append(f"CHECK       NOT in {s['bitstream']}.v: {', '.join(s['unknown_endpoints'])}")
    else:
        lines.append(f"check       every endpoint, trigger bit and wire-in bit written exists in {s['bitstream']}.v")
    g = s["dac_groups"]
    if g["groups"] or g["words_pending"]:
        msg = (f"DAC groups  {g['groups']} updates, {g['well_formed']} well formed (four words, each a no-op or a "
               f"channel step); {g['channel_steps']} channel steps, {g['multi_dac']} frames moving several DACs")
        if g["malformed"]:
            msg += f"; MALFORMED {g['malformed']} (first: {g['malformed_examples'][0]})"
        if g["words_pending"]:
            msg += f"; {g['words_pending']} words pushed without an update"
        lines.append(msg)
    p = s["pulses"]
    if p["set"] or p["reset"]:
        msg = f"pulses      {p['set']} SET (0x40 bit 2), {p['reset']} RESET (0x40 bit 3)"
        msg += f"; WRONG MUX 0x0B for {p['wrong_mux']}" if p["wrong_mux"] else "; mux 0x0B right for every one"
        lines.append(msg)
    lines.append(f"predicted   {bt['predicted_s']:.4g} s on a real XEM6310 (USB {bt['usb_s']:.4g} s, host "
                 f"{bt['host_s']:.3g} s, FPGA waits {bt['fpga_wait_s']:.3g} s, open/configure {bt['setup_s']:.3g} s)")
    lines.append("            by board op: " + ", ".join(f"{k} {v:.4g} s" for k, v in bt["predicted_s_by_board_op"].items()))
    return "\n".join(lines)


def show_trace(path, ctx, bitstream: str = "neurram_top") -> dict:
    """Summarise trace ``path``, print it (unless quiet) and return the summary."""
    from neurram_lab.drivers.trace_summary import summarize_trace

    s = summarize_trace(path, bitstream=bitstream)
    s["path"] = str(path)
    ctx.say(format_summary(path, s))
    return s


def main(args, ctx) -> dict:
    return show_trace(args.trace, ctx, bitstream=args.bitstream)
