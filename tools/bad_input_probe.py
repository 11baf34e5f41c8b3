"""Throw bad arguments at every public entry point and CLI option; count what happens (run by hand).

Its probes also run in the suite (``tests/catalogue/test_cli_catalogue.py`` loads this file).

    python tools/bad_input_probe.py            # counts, then one line per probe that was not a typed error
    python tools/bad_input_probe.py -v         # one line per probe

Each probe is a call with one bad argument. Outcomes:

- ``typed``: a NeuRRAMError (for the CLI: exit status non-zero, one ``neurram: error:`` line
  naming no raw Python exception, or argparse's usage error);
- ``raw``: any other exception (a traceback from numpy or deep inside a module);
- ``silent``: the call returned, or it reached the board (a pulse, read, MVM, neuron test or
  wait) or created a run file before refusing: the board is a tripwire for that;
- ``hang``: still running after ``TIMEOUT_S``.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("NEURRAM_SHARED", str(Path(__file__).resolve().parents[2] / "shared"))

import neurram_lab as nl  # noqa: E402
from neurram_lab import NeuRRAMError  # noqa: E402
from neurram_lab.runlog import runlog as _runlog  # noqa: E402

TIMEOUT_S = 20
NAN, INF = float("nan"), float("inf")


class Reached(Exception):
    """A bad argument got as far as the board or a run file."""


class _Hang(Exception):
    pass


_HOOKS = ("_pulse", "_read", "_mvm", "_neuron_test", "_wait")


def tripwire(board):
    """Make every board operation that does work raise Reached."""
    for name in _HOOKS:
        def trip(*a, _n=name, **k):
            raise Reached(f"board {_n.lstrip('_')} called")
        setattr(board, name, trip)
    return board


def board(trip: bool = True):
    b = nl.open_board("sim://?seed=1")
    return tripwire(b) if trip else b


_orig_runlog_init = _runlog.RunLog.__init__


def _no_runlog(self, *a, **k):
    raise Reached("run file created")


def classify(fn) -> tuple[str, str]:
    def alarm(*_):
        raise _Hang()

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(TIMEOUT_S)
    _runlog.RunLog.__init__ = _no_runlog
    try:
        out = fn()
        return "silent", f"returned {str(out)[:80]!r}"
    except Reached as exc:
        return "silent", str(exc)
    except _Hang:
        return "hang", f"> {TIMEOUT_S} s"
    except NeuRRAMError as exc:
        return "typed", f"{type(exc).__name__}: {exc}"[:160]
    except Exception as exc:  # noqa: BLE001
        if isinstance(exc.__context__, Reached) or isinstance(exc.__cause__, Reached):
            return "silent", str(exc)
        return "raw", f"{type(exc).__name__}: {exc}"[:160]
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        _runlog.RunLog.__init__ = _orig_runlog_init


def cli(*argv):
    """Run ``neurram ARGV`` in-process with a tripwire board; typed when it exits non-zero with one error line."""
    from neurram_lab.cli import cli as climod

    def fn():
        orig = climod.CliContext.open_board

        def open_tripwired(self, **opt):
            return tripwire(orig(self, **opt))

        climod.CliContext.open_board = open_tripwired
        err, out = io.StringIO(), io.StringIO()
        try:
            with tempfile.TemporaryDirectory() as d, contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
                try:
                    rc = climod.main([*argv, "--out", d, "--quiet"])
                except SystemExit as exc:  # argparse
                    rc = exc.code
                made = [p for p in Path(d).rglob("*") if p.is_file()]
        finally:
            climod.CliContext.open_board = orig
        lines = [ln for ln in err.getvalue().splitlines() if ln.strip()]
        last = lines[-1] if lines else ""
        if rc == 0:
            return f"exit 0, wrote {len(made)} files"
        if "Reached" in err.getvalue() or "called" in last and "board" in last or "run file created" in last:
            raise Reached(last)
        if made:
            raise Reached(f"wrote {made[0].name}")
        if rc == 2 and "usage:" in err.getvalue():
            raise NeuRRAMError(f"argparse: {last}")
        if last.startswith("neurram: error: ") and not any(
                last.startswith(f"neurram: error: {t}:") for t in ("ValueError", "TypeError", "OSError", "KeyError",
                                                                    "AttributeError", "IndexError", "FileNotFoundError",
                                                                    "IsADirectoryError", "ZeroDivisionError")):
            if len(lines) != 1:
                raise RuntimeError(f"{len(lines)} lines on stderr: {last}")
            raise NeuRRAMError(last)
        raise RuntimeError(f"exit {rc}: {last}")

    return fn


def probes():
    """(label, zero-argument callable) for every probe."""
    P = []

    def add(label, fn):
        P.append((label, fn))

    B = board
    from neurram_lab.program.weights import MatrixPlacement, ProgrammedMatrix

    def pm(n_in=4, n_out=3, core=0):
        place = MatrixPlacement(core=core, row0=0, col0=0, n_in=n_in, n_out=n_out)
        w = np.ones((n_in, n_out)) * 0.5
        g, wmax = nl.weights_to_conductance(w, 1e-6, 40e-6)
        return ProgrammedMatrix(w, place, 1e-6, 40e-6, wmax, g, g_measured_s=g)

    # ---- limits and board opening
    tmp = Path(tempfile.mkdtemp())
    (tmp / "hot.toml").write_text("pulse_v_max = 100.0\nform_v_max = 100.0\n")
    (tmp / "str.toml").write_text('pulse_v_max = "high"\n')
    (tmp / "unknown.toml").write_text("pulse_v_maxx = 3.0\n")
    (tmp / "empty.toml").write_text("")
    (tmp / "trunc.json").write_text('{"pulse_v_max": 3.')
    (tmp / "wide.toml").write_text("width_s = [1e-9, 10.0]\n")
    (tmp / "geom.toml").write_text("n_cores = 100\n")
    (tmp / "rail.toml").write_text("[rails_v]\nv_read = [0.0, 12.0]\n")

    def hot_set():
        with nl.open_board(f"sim://?limits={tmp / 'hot.toml'}") as b:
            b.pulse("set", 0, 0, 0, 50.0, 1e-6)

    add("open_board limits raising pulse ceiling to 100 V, 50 V SET", hot_set)
    for f in ("str", "unknown", "empty", "trunc", "wide", "geom", "rail"):
        add(f"SafetyLimits.from_file {f}", lambda f=f: nl.SafetyLimits.from_file(tmp / f"{f}.{'json' if f == 'trunc' else 'toml'}"))
    add("SafetyLimits.from_file missing", lambda: nl.SafetyLimits.from_file(tmp / "nope.toml"))
    add("SafetyLimits.from_file folder", lambda: nl.SafetyLimits.from_file(tmp))
    add("SafetyLimits(pulse_v_max=50)", lambda: nl.SafetyLimits(pulse_v_max=50.0))
    add("SafetyLimits(width_s=(0, 1))", lambda: nl.SafetyLimits(width_s=(0.0, 1.0)))
    add("open_board 123", lambda: nl.open_board(123))
    add("open_board ''", lambda: nl.open_board(""))
    add("open_board sim://?seed=abc", lambda: nl.open_board("sim://?seed=abc"))
    add("open_board sim://?seed=-1", lambda: nl.open_board("sim://?seed=-1"))
    add("open_board sim:// seed=1.5", lambda: nl.open_board("sim://", seed=1.5))
    add("open_board sim://?bogus=1", lambda: nl.open_board("sim://?bogus=1"))
    add("open_board replay:// missing", lambda: nl.open_board(f"replay://{tmp / 'none.h5'}"))
    (tmp / "notrun.h5").write_bytes(b"not hdf5")
    add("open_board replay:// not a run file", lambda: nl.open_board(f"replay://{tmp / 'notrun.h5'}"))
    add("parse_spec None", lambda: nl.parse_spec(None))
    add("register_board bad scheme", lambda: nl.register_board("", lambda: None))

    # ---- tier 1 / contract
    add("pulse kind 'zap'", lambda: B().pulse("zap", 0, 0, 0, 1.0, 1e-6))
    add("pulse v nan", lambda: B().pulse("set", 0, 0, 0, NAN, 1e-6))
    add("pulse width 0", lambda: B().pulse("set", 0, 0, 0, 1.0, 0.0))
    add("pulse v str", lambda: B().pulse("set", 0, 0, 0, "1.0", 1e-6))
    add("pulse core 48", lambda: B().pulse("set", 48, 0, 0, 1.0, 1e-6))
    add("pulse row -1", lambda: B().pulse("set", 0, -1, 0, 1.0, 1e-6))
    add("pulse row 1.5", lambda: B().pulse("set", 0, 1.5, 0, 1.0, 1e-6))
    add("pulse lengths disagree", lambda: B().pulse("set", 0, [0, 1], [0, 1, 2], 1.0, 1e-6))
    add("pulse v_gate 9", lambda: B().pulse("set", 0, 0, 0, 1.0, 1e-6, 9.0))
    add("read col str", lambda: B().read(0, 0, "a"))
    add("read core None", lambda: B().read(None, 0, 0))
    # read([], [], []) -> [] is a valid answer (nothing asked, nothing sent), not a bad input
    add("set_rails v_read 7", lambda: B().set_rails(v_read=7.0))
    add("set_rails unknown", lambda: B().set_rails(v_bogus=0.1))
    add("set_rails v_ref nan", lambda: B().set_rails(v_ref=NAN))
    add("set_rails v_ref str", lambda: B().set_rails(v_ref="0.9"))
    add("wait -1", lambda: B().wait(-1.0))
    add("wait nan", lambda: B().wait(NAN))
    add("wait inf", lambda: B().wait(INF))
    add("wait str", lambda: B().wait("10"))
    add("power_cores on='no'", lambda: B().power_cores([0], on="no"))
    add("power_cores core 99", lambda: B().power_cores([99]))
    add("neuron_test v nan", lambda: B().neuron_test(0, np.full((1, 256), NAN)))
    add("neuron_test core 48", lambda: B().neuron_test(48, np.zeros((1, 256))))
    add("neuron_test output_bits 0", lambda: B().neuron_test(0, np.zeros((1, 256)), output_bits=0))
    add("Chip(board).core(48)", lambda: nl.Chip(B()).core(48))
    add("Chip(None)", lambda: nl.Chip(None))
    add("Core(board, 'a')", lambda: nl.Core(B(), "a"))
    add("Core.form v 50", lambda: nl.Chip(B()).core(0).form([0], [0], v_form=50.0))
    add("Core.set_pulse rows str", lambda: nl.Chip(B()).core(0).set_pulse("a", [0], 1.0))
    add("Core.read_g_siemens rows/cols disagree", lambda: nl.Chip(B()).core(0).read_g_siemens([0, 1], [0, 1, 2]))
    add("Chip.cores [99]", lambda: nl.Chip(B()).cores([99]))
    add("MVMRequest input_bits 0", lambda: nl.validate_mvm(nl.MVMRequest((0,), np.zeros((1, 4), np.int64), np.arange(4), np.arange(3), input_bits=0), nl.SafetyLimits()))
    add("MVMRequest direction", lambda: nl.validate_mvm(nl.MVMRequest((0,), np.zeros((1, 4), np.int64), np.arange(4), np.arange(3), direction="sideways"), nl.SafetyLimits()))
    add("MVMRequest inputs shape", lambda: nl.validate_mvm(nl.MVMRequest((0,), np.zeros((1, 5), np.int64), np.arange(4), np.arange(3)), nl.SafetyLimits()))
    add("MVMRequest inputs float", lambda: nl.validate_mvm(nl.MVMRequest((0,), np.full((1, 4), 0.5), np.arange(4), np.arange(3)), nl.SafetyLimits()))
    add("input_segments bits 0", lambda: nl.board.input_segments(0, 6, True, False))
    add("BoardCapabilities output_bits (5,)", lambda: nl.BoardCapabilities(output_bits=(5,)))
    add("BoardCapabilities max_parallel_cores 'x'", lambda: nl.BoardCapabilities(max_parallel_cores="x"))

    # ---- tier 2 programming
    add("write_verify target 5 mS", lambda: nl.write_verify(B(), 0, [0], [0], [5e-3]))
    add("write_verify target nan", lambda: nl.write_verify(B(), 0, [0], [0], [NAN]))
    add("write_verify target str", lambda: nl.write_verify(B(), 0, [0], [0], ["a"]))
    add("write_verify target -1", lambda: nl.write_verify(B(), 0, [0], [0], [-1e-6]))
    add("write_verify targets/cells disagree", lambda: nl.write_verify(B(), 0, [0, 1], [0, 0], [1e-5, 2e-5, 3e-5]))
    add("write_verify config not a config", lambda: nl.write_verify(B(), 0, [0], [0], [1e-5], config={"width_s": 1e-6}))
    add("WriteVerifyConfig window nan", lambda: nl.write_verify(B(), 0, [0], [0], [1e-5], nl.WriteVerifyConfig(window_s=NAN)))
    add("WriteVerifyConfig max_rounds 0", lambda: nl.write_verify(B(), 0, [0], [0], [1e-5], nl.WriteVerifyConfig(max_rounds=0)))
    add("WriteVerifyConfig max_rounds 10**12", lambda: nl.write_verify(B(), 0, [0], [0], [1e-5], nl.WriteVerifyConfig(max_rounds=10**12)))
    add("WriteVerifyConfig max_reversals str", lambda: nl.write_verify(B(), 0, [0], [0], [1e-5], nl.WriteVerifyConfig(max_reversals="3")))
    add("WriteVerifyConfig v_step nan", lambda: nl.write_verify(B(), 0, [0], [0], [1e-5], nl.WriteVerifyConfig(v_step_v=NAN)))
    add("WriteVerifyConfig width nan", lambda: nl.write_verify(B(), 0, [0], [0], [1e-5], nl.WriteVerifyConfig(width_s=NAN)))
    add("write_verify progress not callable", lambda: nl.write_verify(B(), 0, [0], [0], [1e-5], progress=3))
    add("form_cells v_form (5, 3, 0.1)", lambda: nl.form_cells(B(), 0, [0], [0], v_form_v=(5.0, 3.0, 0.1)))
    add("form_cells v_form step 0", lambda: nl.form_cells(B(), 0, [0], [0], v_form_v=(3.5, 5.0, 0.0)))
    add("form_cells v_form 50", lambda: nl.form_cells(B(), 0, [0], [0], v_form_v=(3.5, 50.0, 0.1)))
    add("form_cells g_formed nan", lambda: nl.form_cells(B(), 0, [0], [0], g_formed_s=NAN))
    add("form_cells width 1 s", lambda: nl.form_cells(B(), 0, [0], [0], width_s=1.0))
    add("iterative_program iterations 0", lambda: nl.iterative_program(B(), 0, [0], [0], [1e-5], iterations=0))
    add("iterative_program iterations -3", lambda: nl.iterative_program(B(), 0, [0], [0], [1e-5], iterations=-3))
    add("iterative_program iterations 10**9", lambda: nl.iterative_program(B(), 0, [0], [0], [1e-5], iterations=10**9))
    add("iterative_program settle -1", lambda: nl.iterative_program(B(), 0, [0], [0], [1e-5], settle_s=-1.0))
    add("iterative_program settle nan", lambda: nl.iterative_program(B(), 0, [0], [0], [1e-5], settle_s=NAN))
    add("iterative_program target 1 S", lambda: nl.iterative_program(B(), 0, [0], [0], [1.0]))
    add("iterative_program resume_from missing", lambda: nl.iterative_program(B(), 0, [0], [0], [1e-5], resume_from=tmp / "x.h5"))
    add("iterative_program spread_range reversed", lambda: nl.iterative_program(B(), 0, [0], [0], [1e-5], spread_range_s=(4e-5, 1e-6)))
    place = MatrixPlacement(core=0, row0=0, col0=0, n_in=4, n_out=3)
    add("program_weights gmax 5 mS", lambda: nl.program_weights(B(), np.ones((4, 3)), place, gmax_s=5e-3))
    add("program_weights gmax < gmin", lambda: nl.program_weights(B(), np.ones((4, 3)), place, gmin_s=2e-5, gmax_s=1e-5))
    add("program_weights weights shape", lambda: nl.program_weights(B(), np.ones((5, 3)), place))
    add("program_weights weights nan", lambda: nl.program_weights(B(), np.full((4, 3), NAN), place))
    add("program_weights weights empty", lambda: nl.program_weights(B(), np.ones((0, 3)), MatrixPlacement(0, 0, 0, 0, 3)))
    add("program_weights w_max 0", lambda: nl.program_weights(B(), np.ones((4, 3)), place, w_max=0.0))
    add("program_weights w_max -1", lambda: nl.program_weights(B(), np.ones((4, 3)), place, w_max=-1.0))
    add("program_weights iterations 0", lambda: nl.program_weights(B(), np.ones((4, 3)), place, iterations=0))
    add("program_weights placement None", lambda: nl.program_weights(B(), np.ones((4, 3)), None))
    add("program_weights weights str", lambda: nl.program_weights(B(), "abc", place))
    add("MatrixPlacement core 48", lambda: MatrixPlacement(core=48, row0=0, col0=0, n_in=4, n_out=3))
    add("MatrixPlacement too many rows", lambda: MatrixPlacement(core=0, row0=0, col0=0, n_in=200, n_out=3))
    add("MatrixPlacement n_out 0", lambda: MatrixPlacement(core=0, row0=0, col0=0, n_in=4, n_out=0))
    add("MatrixPlacement row0 -2", lambda: MatrixPlacement(core=0, row0=-2, col0=0, n_in=4, n_out=3))
    add("MatrixPlacement n_in 1.5", lambda: MatrixPlacement(core=0, row0=0, col0=0, n_in=1.5, n_out=3))
    add("weights_to_conductance gmin nan", lambda: nl.weights_to_conductance(np.ones((2, 2)), NAN, 4e-5))
    add("weights_to_conductance w_max 0", lambda: nl.weights_to_conductance(np.ones((2, 2)), 1e-6, 4e-5, w_max=0.0))
    # an all-zero matrix is valid: gmin on both lines, w_max 1.0, it reads back as zeros
    add("weights_to_conductance 3-D", lambda: nl.weights_to_conductance(np.ones((2, 2, 2)), 1e-6, 4e-5))
    add("conductance_to_weights gmax == gmin", lambda: nl.conductance_to_weights(np.ones((4, 2)) * 1e-5, 1e-5, 1e-5, 1.0))
    add("conductance_to_weights odd rows", lambda: nl.conductance_to_weights(np.ones((3, 2)) * 1e-5, 1e-6, 4e-5, 1.0))
    add("scan_dead_cells v_set 50", lambda: nl.scan_dead_cells(B(), 0, [0], [0], v_set_v=50.0))
    add("scan_dead_cells min_swing -1", lambda: nl.scan_dead_cells(B(), 0, [0], [0], min_swing_s=-1.0))
    add("scan_dead_cells min_swing nan", lambda: nl.scan_dead_cells(B(), 0, [0], [0], min_swing_s=NAN))
    add("relaxation_spread_s lengths disagree", lambda: nl.relaxation_spread_s(np.ones(3), np.ones(4)))
    add("relaxation_spread_s n_bins 0", lambda: nl.relaxation_spread_s(np.ones(3), np.ones(3), n_bins=0))
    add("relaxation_spread_s empty", lambda: nl.relaxation_spread_s(np.ones(0), np.ones(0)))

    # ---- tier 2 MVM
    add("run_mvm input_bits 0", lambda: nl.run_mvm(B(), pm(), np.zeros((1, 4)), input_bits=0))
    add("run_mvm input_bits 'four'", lambda: nl.run_mvm(B(), pm(), np.zeros((1, 4)), input_bits="four"))
    add("run_mvm output_bits 11", lambda: nl.run_mvm(B(), pm(), np.zeros((1, 4)), output_bits=11))
    add("run_mvm direction", lambda: nl.run_mvm(B(), pm(), np.zeros((1, 4)), direction="up"))
    add("run_mvm activation", lambda: nl.run_mvm(B(), pm(), np.zeros((1, 4)), activation="softmax"))
    add("run_mvm x wrong width", lambda: nl.run_mvm(B(), pm(), np.zeros((1, 5))))
    add("run_mvm x nan", lambda: nl.run_mvm(B(), pm(), np.full((1, 4), NAN)))
    add("run_mvm x out of [-1,1]", lambda: nl.run_mvm(B(), pm(), np.full((1, 4), 7.5)))
    add("run_mvm x empty batch", lambda: nl.run_mvm(B(), pm(), np.zeros((0, 4))))
    add("run_mvm x str", lambda: nl.run_mvm(B(), pm(), "x"))
    add("run_mvm matrices None", lambda: nl.run_mvm(B(), None, np.zeros((1, 4))))
    add("run_mvm matrices []", lambda: nl.run_mvm(B(), [], np.zeros((1, 4))))
    add("run_mvm x list length disagrees", lambda: nl.run_mvm(B(), [pm(), pm(core=1)], [np.zeros((1, 4))]))
    add("calibrate quantile 2", lambda: nl.calibrate(B(), pm(), np.zeros((4, 4)), quantile=2.0))
    add("calibrate margin nan", lambda: nl.calibrate(B(), pm(), np.zeros((4, 4)), margin=NAN))
    add("calibrate x_cal empty", lambda: nl.calibrate(B(), pm(), np.zeros((0, 4))))
    add("calibrate x_cal wrong width", lambda: nl.calibrate(B(), pm(), np.zeros((4, 7))))
    add("calibrate input_bits 9", lambda: nl.calibrate(B(), pm(), np.zeros((4, 4)), input_bits=9))
    add("RecurrentPlacement direction", lambda: nl.RecurrentPlacement(0, "sideways", (0, 1), (2, 3)))
    add("RecurrentPlacement core 48", lambda: nl.RecurrentPlacement(48, "recurrent_bl", (0, 1), (2, 3)))
    add("RecurrentPlacement lines overlap", lambda: nl.RecurrentPlacement(0, "recurrent_bl", (0, 1), (1, 2)))
    add("RecurrentPlacement empty lines", lambda: nl.RecurrentPlacement(0, "recurrent_bl", (), (2, 3)))
    add("measure_recurrent w_per_s 0", lambda: nl.measure_recurrent(B(), nl.RecurrentPlacement(0, "recurrent_bl", (0, 1), (2, 3)), 0.0))
    add("measure_recurrent w_per_s nan", lambda: nl.measure_recurrent(B(), nl.RecurrentPlacement(0, "recurrent_bl", (0, 1), (2, 3)), NAN))

    # ---- run log
    add("read_run missing", lambda: nl.read_run(tmp / "missing.h5"))
    add("read_run not hdf5", lambda: nl.read_run(tmp / "notrun.h5"))
    add("read_run folder", lambda: nl.read_run(tmp))
    add("read_run None", lambda: nl.read_run(None))
    add("RunLog experiment ''", lambda: _orig_runlog_init(object.__new__(nl.RunLog), tmp / "a.h5", "", {}, {}))
    add("RunLog tables bad dtype", lambda: _orig_runlog_init(object.__new__(nl.RunLog), tmp / "b.h5", "x", {}, {"t": {"a": ("zz", "")}}))
    add("RunLog parameters not JSON", lambda: _orig_runlog_init(object.__new__(nl.RunLog), tmp / "c.h5", "x", {"f": object()}, {}))
    add("ReplayBoard missing", lambda: nl.ReplayBoard(tmp / "missing.h5"))

    # ---- tier 3 deploy
    from neurram_lab import deploy as dp

    add("act_quant bits 0", lambda: dp.act_quant(np.ones(3), 1.0, 0))
    add("act_quant max 0", lambda: dp.act_quant(np.ones(3), 0.0, 4))
    add("act_quant max nan", lambda: dp.act_quant(np.ones(3), NAN, 4))
    add("im2col k 0", lambda: dp.im2col(np.ones((1, 5, 5, 1)), 0))
    add("im2col padding", lambda: dp.im2col(np.ones((1, 5, 5, 1)), 3, padding="mirror"))
    add("im2col 2-D x", lambda: dp.im2col(np.ones((5, 5)), 3))
    add("pool size 0", lambda: dp.pool(np.ones((1, 4, 4, 1)), 0))
    add("pool kind", lambda: dp.pool(np.ones((1, 4, 4, 1)), 2, kind="median"))
    add("LFSRNoise n_streams 0", lambda: dp.LFSRNoise(0))
    add("LFSRNoise bits 0", lambda: dp.LFSRNoise(4, bits=0))
    add("load_mnist missing dir", lambda: dp.load_mnist(tmp / "nomnist"))
    add("load_mnist split", lambda: dp.load_mnist(tmp, split="validation"))
    add("load_mnist limit -5", lambda: dp.load_mnist(tmp, limit=-5))
    add("read_idx missing", lambda: dp.read_idx(tmp / "x.idx"))
    (tmp / "bad.idx").write_bytes(b"\x00\x00\x08\x03\x00\x00")
    add("read_idx truncated", lambda: dp.read_idx(tmp / "bad.idx"))
    add("load_model missing", lambda: dp.load_model(tmp / "nomodel.npz"))
    (tmp / "m.npz").write_bytes(b"junk")
    add("load_model junk", lambda: dp.load_model(tmp / "m.npz"))
    np.savez(tmp / "other.npz", a=np.ones(3))
    add("load_model of another kind", lambda: dp.load_model(tmp / "other.npz"))
    add("map_model n_cores 0", lambda: dp.map_model(dp.load_state_dict(dp.small_cnn(), {}), n_cores=0))
    add("RBM shapes disagree", lambda: dp.RBM(np.ones((4, 3)), np.ones(5), np.ones(3)))
    add("RBM w_max 0", lambda: dp.RBM(np.ones((4, 3)), np.ones(4), np.ones(3), w_max=0.0))
    add("corrupt kind", lambda: dp.corrupt(np.ones((2, 784)), "smudge", np.random.default_rng(0)))
    add("corrupt flip_fraction 2", lambda: dp.corrupt(np.ones((2, 784)), "flip", np.random.default_rng(0), flip_fraction=2.0))
    add("corrupt rng seed -1", lambda: dp.corrupt(np.ones((2, 784)), "flip", -1))
    add("ChipRBM gmax 5 mS", lambda: dp.ChipRBM(B(), dp.RBM(np.ones((4, 3)), np.ones(3), np.ones(4)), gmax_s=5e-3).program())
    add("ChipRBM visible_bits 0", lambda: dp.ChipRBM(B(), dp.RBM(np.ones((4, 3)), np.ones(3), np.ones(4)), visible_bits=0))
    add("ChipRBM mvm 'gpu'", lambda: dp.ChipRBM(B(), dp.RBM(np.ones((4, 3)), np.ones(3), np.ones(4)), mvm="gpu"))
    add("ChipLSTMCell shapes disagree", lambda: dp.ChipLSTMCell(B(), np.ones((3, 8)), np.ones((3, 8)), np.ones(8)))
    add("ChipLSTMCell input_bits 0", lambda: dp.ChipLSTMCell(B(), np.ones((3, 8)), np.ones((2, 8)), np.ones(8), input_bits=0))
    add("lstm_reference shapes", lambda: dp.lstm_reference(np.ones((2, 3)), np.ones((4, 8)), np.ones((2, 8)), np.ones(8)))

    # ---- experiments, Python API (run with bad parameters)
    from neurram_lab.experiments import demo, deploy_mnist_cnn, deploy_rbm_recovery, mvm_accuracy, mvm_energy, relaxation, write_verify as wv

    add("demo.run gmax 5 mS", lambda: demo.run(B(), tmp, gmax_s=5e-3))
    add("demo.run gmax -5 uS", lambda: demo.run(B(), tmp, gmax_s=-5e-6))
    add("demo.run cores []", lambda: demo.run(B(), tmp, cores=[]))
    add("wv.run iterations 0", lambda: wv.run(B(), tmp, iterations=0, cells_per_core=4))
    add("wv.run gmin > gmax", lambda: wv.run(B(), tmp, gmin_s=4e-5, gmax_s=1e-6, cells_per_core=4))
    add("wv.run settle -1", lambda: wv.run(B(), tmp, settle_s=-1.0, cells_per_core=4))
    add("relaxation.run levels []", lambda: relaxation.run(B(), tmp, levels_s=[]))
    add("relaxation.run until 0", lambda: relaxation.run(B(), tmp, until_s=0.0))
    add("relaxation.run n_times 0", lambda: relaxation.run(B(), tmp, n_times=0))
    add("relaxation.run level 5 mS", lambda: relaxation.run(B(), tmp, levels_s=[5e-3]))
    add("mvm_accuracy.run input_bits 0", lambda: mvm_accuracy.run(B(), tmp, input_bits=0))
    add("mvm_accuracy.run rows 0", lambda: mvm_accuracy.run(B(), tmp, rows=0))
    add("mvm_accuracy.run rows 300", lambda: mvm_accuracy.run(B(), tmp, rows=300))
    add("mvm_accuracy.run vectors 0", lambda: mvm_accuracy.run(B(), tmp, vectors=0))
    add("mvm_accuracy.run cores 0", lambda: mvm_accuracy.run(B(), tmp, cores=0))
    add("mvm_energy.run bits [0]", lambda: mvm_energy.run(B(), tmp, bits=[0]))
    add("mvm_energy.run vectors -1", lambda: mvm_energy.run(B(), tmp, vectors=-1))
    add("mnist.run output_bits 11", lambda: deploy_mnist_cnn.run(B(), tmp, output_bits=11, limit=10))
    add("mnist.run limit 0", lambda: deploy_mnist_cnn.run(B(), tmp, limit=0))
    add("mnist.run iterations 0", lambda: deploy_mnist_cnn.run(B(), tmp, iterations=0, limit=10))
    add("mnist.run mvm 'gpu'", lambda: deploy_mnist_cnn.run(B(), tmp, mvm="gpu", limit=10))
    add("mnist.run batch 0", lambda: deploy_mnist_cnn.run(B(), tmp, batch=0, limit=10))
    add("mnist.run model missing", lambda: deploy_mnist_cnn.run(B(), tmp, model=tmp / "none.npz", limit=10))
    add("mnist.run model of another kind", lambda: deploy_mnist_cnn.run(B(), tmp, model=tmp / "other.npz", limit=10))
    add("rbm.run steps -3", lambda: deploy_rbm_recovery.run(B(), tmp, steps=-3, limit=10))
    add("rbm.run corruption", lambda: deploy_rbm_recovery.run(B(), tmp, corruption="smudge", limit=10))
    add("rbm.run limit 0", lambda: deploy_rbm_recovery.run(B(), tmp, limit=0))

    # ---- CLI options
    for argv in [
        ("demo", "--gmax-us", "-5"), ("demo", "--gmax-us", "5000"), ("demo", "--gmax-us", "nan"),
        ("demo", "--cores", "99"), ("demo", "--cores", "a-b"), ("demo", "--cores", ""),
        ("demo", "--seed", "-1"),
        ("characterize", "write-verify", "--iterations", "0"), ("characterize", "write-verify", "--iterations", "-2"),
        ("characterize", "write-verify", "--cells-per-core", "0"),
        ("characterize", "write-verify", "--gmax-us", "5000"), ("characterize", "write-verify", "--gmin-us", "-1"),
        ("characterize", "write-verify", "--window-us", "0"), ("characterize", "write-verify", "--max-reversals", "-1"),
        ("characterize", "write-verify", "--settle-s", "-5"), ("characterize", "write-verify", "--settle-s", "inf"),
        ("characterize", "relaxation", "--levels-us", "abc"), ("characterize", "relaxation", "--levels-us", "5000"),
        ("characterize", "relaxation", "--until-s", "-1"), ("characterize", "relaxation", "--cells-per-level", "0"),
        ("characterize", "mvm", "--input-bits", "0"), ("characterize", "mvm", "--output-bits", "11"),
        ("characterize", "mvm", "--rows", "0"), ("characterize", "mvm", "--rows", "999"),
        ("characterize", "mvm", "--cols", "-4"), ("characterize", "mvm", "--vectors", "0"),
        ("characterize", "mvm", "--cores", "0"), ("characterize", "mvm", "--cores", "49"),
        ("characterize", "energy", "--bits", "0"), ("characterize", "energy", "--bits", "9"),
        ("characterize", "energy", "--vectors", "0"), ("characterize", "energy", "--rows", "0"),
        ("deploy", "mnist-cnn", "--output-bits", "11"), ("deploy", "mnist-cnn", "--limit", "0"),
        ("deploy", "mnist-cnn", "--limit", "-5"), ("deploy", "mnist-cnn", "--calibration-images", "0"),
        ("deploy", "mnist-cnn", "--iterations", "0"), ("deploy", "mnist-cnn", "--relax-s", "-1"),
        ("deploy", "mnist-cnn", "--batch", "0"), ("deploy", "mnist-cnn", "--model", "/nonexistent.npz"),
        ("deploy", "rbm-recovery", "--steps", "-3"), ("deploy", "rbm-recovery", "--steps", "0"),
        ("deploy", "rbm-recovery", "--limit", "0"), ("deploy", "rbm-recovery", "--relax-s", "nan"),
        ("deploy", "train-small", "--epochs", "0"), ("deploy", "train-small", "--noise", "-1"),
        ("deploy", "train-small", "--lr", "0"), ("deploy", "train-small", "--limit", "0"),
        ("replay", "/nonexistent.h5"), ("show", "/nonexistent.h5"), ("runs", "/nonexistent-dir"),
        ("trace", "/nonexistent.jsonl"),
        ("demo", "--board", "sim://?limits=" + str(tmp / "hot.toml")),
        ("demo", "--board", "nope://"),
    ]:
        # the label names the temporary folder symbolically: test ids must not change between runs
        add("neurram " + " ".join(argv).replace(str(tmp), "$TMP"), cli(*argv))
    return P


def main(argv=None) -> int:
    verbose = "-v" in (argv or sys.argv[1:])
    counts = {"typed": 0, "raw": 0, "silent": 0, "hang": 0}
    lines = []
    for label, fn in probes():
        kind, what = classify(fn)
        counts[kind] += 1
        if verbose or kind != "typed":
            lines.append(f"{kind:6s} {label}: {what}")
    print("\n".join(lines))
    print(f"{sum(counts.values())} probes: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return 0 if counts["typed"] == sum(counts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
