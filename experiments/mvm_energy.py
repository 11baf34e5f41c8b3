"""``neurram characterize energy``: energy, latency, TOPS/W and EDP of MVMs (SPEC §4).

The paper's protocol: a 256 x 256 Gaussian matrix split into two 128 x 256
halves with differential rows on two cores, 10 million MVMs (655 billion
MACs), outputs at input bits + 2, for 1-8 bit inputs. Here the halves are
programmed with write-verify, each input width runs a sampled batch
(``vectors``, default 1000) of random unsigned inputs on both cores in
parallel, single-phase, and the board's energy and time counters over that
batch give energy per MVM and latency. Energy and latency per MVM do not
depend on history, so 10^7 MVMs cost 10^7 times the sampled mean: the
summary states the extrapolated totals as such. A board whose counters do
not meter MVM energy and time (``mvm_energy_<component>_j``, ``mvm_time_s``)
gives NaN.

The 7 nm projection (SPEC §4) scales the components: WL energy / 22.4,
MVM (input and output lines) / 34, peripherals (neurons, LFSR, static) / 42,
latency / 15.7.
"""

from __future__ import annotations

import time

import numpy as np

from neurram_lab.validate import int_list, integer

from neurram_lab._cores import parse_ranges
from neurram_lab.board.contract import MVMRequest
from neurram_lab.program.weights import MatrixPlacement

from ._common import finish_run, progress_callback, pyplot, run_and_report, start_run
from neurram_lab.program.programming import program_weights

EXPERIMENT = "characterize-energy"
COMMAND = ("characterize", "energy")
HELP = "energy per operation, latency, TOPS/W and EDP of MVMs for 1-8 bit inputs (+ 7 nm projection)"

PROTOCOL_MVMS = 10_000_000
COMPONENTS = ("wl", "input_lines", "output_lines", "sample_integrate", "convert", "lfsr", "static")
SCALE_7NM = {"wl": 22.4, "input_lines": 34.0, "output_lines": 34.0, "sample_integrate": 42.0, "convert": 42.0,
             "lfsr": 42.0, "static": 42.0}
LATENCY_7NM = 15.7


def add_arguments(parser) -> None:
    parser.add_argument("--rows", type=int, default=256, help="logical matrix rows, split over two cores (default 256)")
    parser.add_argument("--cols", type=int, default=256, help="matrix columns (default 256)")
    parser.add_argument("--bits", default="1-8", help="input widths, e.g. 1-8 or 2,4,6 (default 1-8)")
    parser.add_argument("--vectors", type=int, default=1000, help="sampled MVMs per input width (default 1000)")


def run(board, out_dir, progress=None, rows=256, cols=256, bits=(1, 2, 3, 4, 5, 6, 7, 8), vectors=1000, seed=0) -> dict:
    """Run the energy protocol; returns the summary (per input width lists, run file, figure)."""
    t_wall = time.perf_counter()
    bits = int_list("bits", bits, 1, 8)
    rows = integer("rows", rows, 2, board.limits.n_rows, "two cores of rows/2 inputs each")
    cols = integer("cols", cols, 1, board.limits.n_cols)
    vectors, seed = integer("vectors", vectors, 1, 1_000_000), integer("seed", seed, 0)
    params = {"rows": int(rows), "cols": int(cols), "bits": bits, "vectors": int(vectors), "seed": int(seed)}
    half = int(rows) // 2
    cores = (0, 1)
    for c in cores:  # bad shapes fail here, before a run file exists
        MatrixPlacement(c, 0, 0, half, int(cols))
    if not bits or min(bits) < 1 or max(bits) > 8:
        from neurram_lab.errors import LimitError

        raise LimitError("bits", bits, (1, 8), "input widths")
    caps = board.capabilities()
    for n in bits:  # before a run file exists; the output bits follow the board's range
        caps.check_bits("input_bits", n)
    tables = {"energy": {"input_bits": ("i2", ""), "output_bits": ("i2", ""), "energy_per_mvm_j": ("f8", "J"),
                         "energy_per_op_j": ("f8", "J"), "latency_s": ("f8", "s"), "tops_per_w": ("f8", "TOPS/W"),
                         "edp_js": ("f8", "J s"),
                         **{f"{c}_per_op_j": ("f8", "J") for c in COMPONENTS}}}
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xE6]))
    with start_run(board, out_dir, EXPERIMENT, params, tables) as log:
        board = log.board
        w = rng.standard_normal((2 * half, int(cols)))
        tick, close = progress_callback(progress, 2 + len(bits), "energy")
        for k, c in enumerate(cores):
            program_weights(board, w[k * half:(k + 1) * half], MatrixPlacement(c, 0, 0, half, int(cols)))
            tick(k + 1)
        board.wait(1800.0)
        macs = 2 * half * int(cols)  # one MVM of the logical matrix, both halves
        rows_out = []
        for j, n in enumerate(bits):
            out_bits = caps.pick_output_bits(None, min(n + 2, 10))
            x = rng.integers(0, 2**n, (2, int(vectors), half)).astype(np.int16)
            before = board.counters()
            board.mvm(MVMRequest(cores=cores, inputs=x, input_lines=np.arange(half), output_lines=np.arange(int(cols)),
                                 input_bits=n, output_bits=out_bits, signed_inputs=False, parallel=True))
            after = board.counters()
            e = {c: (after.get(f"mvm_energy_{c}_j", 0.0) - before.get(f"mvm_energy_{c}_j", 0.0)) / vectors
                 for c in COMPONENTS}
            e_mvm = sum(e.values())
            lat = (after.get("mvm_time_s", 0.0) - before.get("mvm_time_s", 0.0)) / vectors
            if e_mvm <= 0 or lat <= 0:  # a board that does not meter its MVMs
                e_mvm, lat = float("nan"), float("nan") if lat <= 0 else lat
            row = {"input_bits": n, "output_bits": out_bits, "energy_per_mvm_j": e_mvm,
                   "energy_per_op_j": e_mvm / (2 * macs), "latency_s": lat,
                   "tops_per_w": 2 * macs / e_mvm / 1e12, "edp_js": e_mvm * lat,
                   **{f"{c}_per_op_j": e[c] / (2 * macs) for c in COMPONENTS}}
            e7 = sum(e[c] / SCALE_7NM[c] for c in COMPONENTS) or float("nan")
            row["energy_per_op_7nm_j"] = e7 / (2 * macs)
            row["tops_per_w_7nm"] = 2 * macs / e7 / 1e12
            row["latency_7nm_s"] = lat / LATENCY_7NM
            row["edp_7nm_js"] = e7 * lat / LATENCY_7NM
            row["edp_gain_7nm"] = row["edp_js"] / row["edp_7nm_js"]
            row["protocol_energy_j"] = e_mvm * PROTOCOL_MVMS
            row["protocol_time_s"] = lat * PROTOCOL_MVMS
            rows_out.append(row)
            log.append("energy", **{k_: np.array([row[k_]]) for k_ in tables["energy"]})
            tick(3 + j)
        close()
        summary = dict(params)
        summary["macs_per_mvm"] = macs
        summary["protocol"] = (f"{vectors} sampled MVMs per input width, extrapolated to {PROTOCOL_MVMS:.0e} MVMs "
                               f"({PROTOCOL_MVMS * macs:.3g} MACs)")
        for key in ("energy_per_op_j", "latency_s", "tops_per_w", "edp_js", "energy_per_op_7nm_j", "tops_per_w_7nm",
                    "edp_7nm_js", "edp_gain_7nm", "protocol_energy_j", "protocol_time_s"):
            summary[key] = [r[key] for r in rows_out]
        summary["breakdown_per_op_j"] = {c: [r[f"{c}_per_op_j"] for r in rows_out] for c in COMPONENTS}
        summary["run_file"] = str(log.path)
        return finish_run(log, summary, t_wall, lambda fig: _figure(fig, rows_out))


def _figure(path, rows) -> None:
    plt = pyplot()
    bits = [r["input_bits"] for r in rows]
    fig, ax = plt.subplots(1, 3, figsize=(14, 4.2), layout="constrained")
    bottom = np.zeros(len(rows))
    for c in COMPONENTS:
        v = np.array([r[f"{c}_per_op_j"] for r in rows]) * 1e15
        if v.any():
            ax[0].bar(bits, v, bottom=bottom, label=c.replace("_", " "))
            bottom += v
    ax[0].set_xlabel("input bits (output = input + 2)")
    ax[0].set_ylabel("energy per operation (fJ)")
    ax[0].set_title("energy breakdown")
    ax[0].legend(fontsize=7)
    ax[1].semilogy(bits, [r["tops_per_w"] for r in rows], "o-", label="130 nm (twin)")
    ax[1].semilogy(bits, [r["tops_per_w_7nm"] for r in rows], "s--", label="7 nm projection")
    ax[1].set_xlabel("input bits")
    ax[1].set_ylabel("TOPS/W")
    ax[1].legend(fontsize=8)
    ax2 = ax[1].twinx()
    ax2.semilogy(bits, [r["latency_s"] * 1e6 for r in rows], "^:", color="C3")
    ax2.set_ylabel("latency per MVM (µs)", color="C3")
    ax[2].semilogy(bits, [r["edp_js"] for r in rows], "o-", label="130 nm (twin)")
    ax[2].semilogy(bits, [r["edp_7nm_js"] for r in rows], "s--", label="7 nm projection")
    ax[2].set_xlabel("input bits")
    ax[2].set_ylabel("energy-delay product per MVM (J s)")
    ax[2].legend(fontsize=8)
    fig.suptitle("NeuRRAM MVM energy protocol: 256x256 Gaussian matrix on two cores, differential rows", fontsize=9)
    plt.save(fig, path)


def main(args, ctx) -> dict:
    return run_and_report(ctx, run, report, rows=args.rows, cols=args.cols,
                          bits=parse_ranges(args.bits, "input widths"), vectors=args.vectors, seed=args.seed or 0)


def report(summary: dict, board_spec: str) -> str:
    """The human-readable summary printed at the end of a run (``neurram replay`` prints it too)."""
    lines = [f"{b}-bit in: {e * 1e15:.2f} fJ/op, {t:.1f} TOPS/W, latency {lat * 1e6:.2f} µs, EDP {d:.3g} J s "
             f"(7 nm: {t7:.0f} TOPS/W, EDP {g:.0f}x lower)"
             for b, e, t, lat, d, t7, g in zip(summary["bits"], summary["energy_per_op_j"], summary["tops_per_w"],
                                               summary["latency_s"], summary["edp_js"], summary["tops_per_w_7nm"],
                                               summary["edp_gain_7nm"])]
    return "\n".join(lines) + f"\n{summary['protocol']}\nRun file: {summary['run_file']}\nFigure:   {summary['figure']}"
