"""One valid call of every public function: the baseline the generated bad inputs are swapped into.

An example is the only hand-written part of the catalogue: the bad values come
from each parameter's kind (``_kinds.py``). ``test_every_public_function_has_an_example``
fails when a public function or class is added without one, so nothing public
goes unprobed. Each example returns ``(callable, kwargs)``; the kwargs name
every parameter the catalogue should probe.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

import neurram_lab as nl
from neurram_lab import deploy as dp
from neurram_lab.program.weights import MatrixPlacement, ProgrammedMatrix

SHARED = Path(os.environ.get("NEURRAM_SHARED", Path(__file__).resolve().parents[3] / "shared"))
CNN = SHARED / "models" / "mnist_cnn_7layer_3bit_wnoise0.15.npz"
MNIST = SHARED / "datasets" / "mnist"


class Ctx:
    """What examples are built from: a tripwired board, a scratch folder, small programmed matrices."""

    def __init__(self, board, tmp: Path):
        self.board, self.tmp = board, tmp
        self._model = None
        (tmp / "run").mkdir(exist_ok=True)

    def matrix(self, n_in=4, n_out=3, core=0):
        place = MatrixPlacement(core=core, row0=0, col0=0, n_in=n_in, n_out=n_out)
        w = np.full((n_in, n_out), 0.5)
        g, w_max = nl.weights_to_conductance(w, 1e-6, 40e-6)
        return ProgrammedMatrix(w, place, 1e-6, 40e-6, w_max, g, g_measured_s=g)

    def model(self):
        if self._model is None:
            self._model = dp.load_model(CNN)
        return self._model

    def run_file(self) -> Path:
        """A small closed run file (no tables), made once (in ``run/``, where examples keep their inputs)."""
        path = self.tmp / "run" / "small.h5"
        if not path.exists():
            log = nl.RunLog(path, "catalogue", {}, {})
            log.close(summary={})
        return path

    def exact_network(self):
        """The CNN as a ChipNetwork with ``mvm="exact"``, programmed (nothing sent)."""
        net = dp.ChipNetwork(self.board, dp.map_model(self.model()), mvm="exact")
        net.program()
        return net

    def calibration(self):
        return nl.MVMCalibration(v_read_v=0.2, v_decr_v=0.2, offsets=[np.zeros(3)], input_bits=4, output_bits=6,
                                 direction="forward", two_phase=False)


def _rbm():
    return dp.RBM(np.full((4, 3), 0.5), np.zeros(3), np.zeros(4))


# name -> ctx -> (callable, kwargs). Board methods are keyed "Board.<method>".
EXAMPLES = {
    # ---- the board contract (tier 1 below the Chip view)
    "Board.pulse": lambda c: (c.board.pulse, dict(kind="set", core=0, row=0, col=0, v_pulse=1.0, width_s=1e-6,
                                                  v_gate=1.5)),
    "Board.read": lambda c: (c.board.read, dict(core=0, row=0, col=0)),
    "Board.set_rails": lambda c: (c.board.set_rails, dict(volts={"v_read": 0.2})),
    "Board.rail_range_v": lambda c: (c.board.rail_range_v, dict(name="v_read")),
    "Board.power_cores": lambda c: (c.board.power_cores, dict(cores=[0], on=True)),
    "Board.wait": lambda c: (c.board.wait, dict(seconds=1.0)),
    "Board.neuron_test": lambda c: (c.board.neuron_test, dict(core=0, v_in_v=np.zeros((1, 256)), output_bits=6)),
    "Board.mvm": lambda c: (c.board.mvm, dict(request=nl.MVMRequest((0,), np.zeros((1, 1, 4), np.int16),
                                                                    np.arange(4), np.arange(3)))),
    "Board.set_limits": lambda c: (c.board.set_limits, dict(limits=nl.SafetyLimits())),
    "open_board": lambda c: (nl.open_board, dict(spec="sim://", seed=1)),
    "parse_spec": lambda c: (nl.parse_spec, dict(spec="sim://?seed=1")),
    "register_board": lambda c: (nl.register_board, dict(scheme="catalogue", factory=lambda *a, **k: None)),
    "known_schemes": lambda c: (nl.known_schemes, {}),
    "SafetyLimits": lambda c: (nl.SafetyLimits, dict(pulse_v_max=3.0, form_v_max=4.5, gate_v_max=4.0,
                                                     width_s=(1e-8, 1e-4), g_cell_s=(0.0, 5e-5), n_cores=48,
                                                     n_rows=256, n_cols=256)),
    "BoardInfo": lambda c: (nl.BoardInfo, dict(kind="sim", spec="sim://", serial="X", firmware="f")),
    "BoardCapabilities": lambda c: (nl.BoardCapabilities, dict(output_bits=(1, 8), max_parallel_cores=4)),
    "MVMRequest": lambda c: (lambda **k: nl.validate_mvm(nl.MVMRequest(**k), c.board.limits),
                             dict(cores=(0,), inputs=np.zeros((1, 1, 4), np.int16), input_lines=np.arange(4),
                                  output_lines=np.arange(3), input_bits=4, output_bits=6, signed_inputs=True,
                                  differential=True, two_phase=False, parallel=True, v_read_v=0.2)),
    "validate_mvm": lambda c: (nl.validate_mvm, dict(req=nl.MVMRequest((0,), np.zeros((1, 1, 4), np.int16),
                                                                       np.arange(4), np.arange(3)),
                                                     limits=c.board.limits)),
    "AppliedPulse": None,  # a result type, built by boards only
    "Board": None,  # abstract; its methods are probed above on a real board
    # ---- tier 1 views
    "Chip": lambda c: (nl.Chip, dict(board=c.board)),
    "Core": lambda c: (nl.Core, dict(board=c.board, index=0)),
    "Core.form": lambda c: (nl.Chip(c.board).core(0).form, dict(rows=[0], cols=[0], v_form=4.5, width_s=1e-6)),
    "Core.set_pulse": lambda c: (nl.Chip(c.board).core(0).set_pulse, dict(rows=[0], cols=[0], v_set=1.0,
                                                                          width_s=1e-6)),
    "Core.reset_pulse": lambda c: (nl.Chip(c.board).core(0).reset_pulse, dict(rows=[0], cols=[0], v_reset=1.0,
                                                                              width_s=1e-6)),
    "Core.read_g_siemens": lambda c: (nl.Chip(c.board).core(0).read_g_siemens, dict(rows=[0], cols=[0])),
    "Chip.cores": lambda c: (nl.Chip(c.board).cores, dict(indices=[0, 1])),
    # ---- tier 2 programming
    "WriteVerifyConfig": lambda c: (lambda **k: nl.write_verify(c.board, [0], [0], [0], [1e-5],
                                                                config=nl.WriteVerifyConfig(**k)),
                                    dict(set_v_start_v=1.2, reset_v_start_v=1.5, v_step_v=0.1, width_s=1e-6,
                                         max_rounds=10)),
    "write_verify": lambda c: (nl.write_verify, dict(board=c.board, core=[0], row=[0], col=[0], target_s=[1e-5],
                                                     trace=False)),
    "form_cells": lambda c: (nl.form_cells, dict(board=c.board, core=[0], row=[0], col=[0], width_s=1e-6,
                                                 g_formed_s=5e-6)),
    "iterative_program": lambda c: (nl.iterative_program, dict(board=c.board, core=[0], row=[0], col=[0],
                                                               target_s=[1e-5], iterations=1, settle_s=10.0,
                                                               log_events=False, block_cells=64)),
    "program_weights": lambda c: (nl.program_weights, dict(board=c.board, weights=np.full((4, 3), 0.5),
                                                           placement=MatrixPlacement(0, 0, 0, 4, 3), gmin_s=1e-6,
                                                           gmax_s=4e-5, w_max=1.0, iterations=1, settle_s=10.0,
                                                           form=True)),
    "scan_dead_cells": lambda c: (nl.scan_dead_cells, dict(board=c.board, core=[0], row=[0], col=[0], v_set_v=2.5,
                                                           v_reset_v=3.0, width_s=1e-6, min_swing_s=1e-5, form=True)),
    "relaxation_spread_s": lambda c: (nl.relaxation_spread_s, dict(g_s=np.full(20, 1e-5), target_s=np.full(20, 1e-5),
                                                                   n_bins=4)),
    "MatrixPlacement": lambda c: (MatrixPlacement, dict(core=0, row0=0, col0=0, n_in=4, n_out=3, differential=True)),
    "ProgrammedMatrix": None,  # a result type of program_weights
    "ProgramResult": None, "IterativeResult": None, "DeadCellScan": None,  # result types
    "weights_to_conductance": lambda c: (nl.weights_to_conductance, dict(weights=np.full((4, 3), 0.5), gmin_s=1e-6,
                                                                         gmax_s=4e-5, w_max=1.0, differential=True)),
    "conductance_to_weights": lambda c: (nl.conductance_to_weights, dict(g=np.full((8, 3), 1e-5), gmin_s=1e-6,
                                                                         gmax_s=4e-5, w_max=1.0, differential=True)),
    # ---- tier 2 MVM
    "run_mvm": lambda c: (nl.run_mvm, dict(board=c.board, matrices=c.matrix(), x=np.ones((2, 4)), input_bits=4,
                                           output_bits=6, two_phase=False, parallel=True, signed=True,
                                           return_codes=False)),
    "calibrate": lambda c: (nl.calibrate, dict(board=c.board, matrices=c.matrix(), x_cal=np.ones((8, 4)),
                                               input_bits=4, output_bits=6, two_phase=False, parallel=True,
                                               signed=True, quantile=0.99, margin=1.1, headroom_frac=0.85,
                                               offset_vectors=8)),
    "MVMCalibration": lambda c: (lambda **k: nl.run_mvm(c.board, c.matrix(), np.ones((2, 4)),
                                                        calibration=nl.MVMCalibration(**k)),
                                 dict(v_read_v=0.2, v_decr_v=0.2, offsets=[np.zeros(3)], input_bits=4,
                                      output_bits=6, direction="forward", two_phase=False, signed=True)),
    "RecurrentPlacement": lambda c: (nl.RecurrentPlacement, dict(core=0, direction="recurrent_bl",
                                                                 input_lines=(0, 1), output_lines=(2, 3),
                                                                 differential=False)),
    "measure_recurrent": lambda c: (nl.measure_recurrent, dict(
        board=c.board, placement=nl.RecurrentPlacement(0, "recurrent_bl", (0, 1), (2, 3)), w_per_s=1e4)),
    "RecurrentMatrix": None,  # a result type of measure_recurrent
    # ---- run logs
    "RunLog": lambda c: (nl.RunLog, dict(path=c.tmp / "catalogue.h5", experiment="catalogue", parameters={},
                                         tables={})),
    "read_run": lambda c: (nl.read_run, dict(path=c.run_file(), tables=True, journal=False)),
    "verify_run": lambda c: (nl.verify_run, dict(path=c.run_file())),
    "Column": lambda c: (nl.Column, dict(dtype="float32", units="S")),
    "Run": None, "Journal": None, "JournalCall": None,  # what read_run returns
    "JournalBoard": None,  # built by start_run around an open board
    "ReplayBoard": lambda c: (nl.ReplayBoard, dict(path=c.run_file())),
    # ---- tier 3
    "deploy.load_mnist": lambda c: (dp.load_mnist, dict(data_dir=MNIST, limit=4)),
    "deploy.read_idx": lambda c: (dp.read_idx, dict(path=c.tmp / "none.idx")),
    "deploy.act_quant": lambda c: (dp.act_quant, dict(x=np.ones(4), max_value=1.0, bits=3)),
    "deploy.im2col": lambda c: (dp.im2col, dict(x=np.ones((1, 4, 4, 1)), k=3, stride=1)),
    "deploy.pool": lambda c: (dp.pool, dict(x=np.ones((1, 4, 4, 1)), size=2, stride=2)),
    "deploy.LFSRNoise": lambda c: (dp.LFSRNoise, dict(n_streams=4, seed=1, bits=8)),
    "deploy.ChipLSTMCell": lambda c: (dp.ChipLSTMCell, dict(board=c.board, w_x=np.ones((3, 8)), w_h=np.ones((2, 8)),
                                                            bias=np.ones(8), input_bits=4, x_max=1.0, h_max=1.0,
                                                            gmin_s=1e-6, gmax_s=3e-5)),
    "deploy.lstm_reference": lambda c: (dp.lstm_reference, dict(xs=np.ones((2, 1, 3)), w_x=np.ones((3, 8)),
                                                                w_h=np.ones((2, 8)), bias=np.ones(8))),
    "deploy.Mapping": None,  # built by map_model, probed through it and ChipNetwork
    "deploy.MatrixCut": None,  # rows of a Mapping's table
    "deploy.cut_layers": lambda c: (dp.cut_layers, dict(model=c.model(), max_inputs=256, w_max_percentile=100.0,
                                                        wide_cols=256)),
    "deploy.map_model": lambda c: (dp.map_model, dict(model=c.model(), n_cores=48, replicate=False, max_inputs=256,
                                                      w_max_percentile=100.0, split_wide=True)),
    "deploy.matrix_weights": None,  # takes a Mapping's row
    "deploy.Grid": lambda c: (dp.Grid, dict(bits=3, max=1.0)),
    "deploy.Layer": None, "deploy.Model": None,  # built by load_model / load_state_dict
    "deploy.exact_matmul": None,  # takes a Layer
    "deploy.load_model": lambda c: (dp.load_model, dict(weights_path=CNN)),
    "deploy.load_state_dict": None, "deploy.params_from_state_dict": None,  # torch state dicts (train extra)
    "deploy.ChipNetwork": lambda c: (dp.ChipNetwork, dict(board=c.board, mapping=dp.map_model(c.model()),
                                                          gmin_s=1e-6, gmax_s=4e-5, skip_zero_inputs=False)),
    "deploy.read_back": None,  # takes a programmed network
    "deploy.RBM": lambda c: (dp.RBM, dict(W=np.full((4, 3), 0.5), a=np.zeros(3), b=np.zeros(4), w_max=1.0)),
    "deploy.ChipRBM": lambda c: (dp.ChipRBM, dict(board=c.board, rbm=_rbm(), gmin_s=1e-6, gmax_s=3e-5,
                                                  visible_bits=3, seed=0)),
    "deploy.corrupt": lambda c: (dp.corrupt, dict(images=np.ones((2, 9)), kind="flip", rng=np.random.default_rng(0),
                                                  flip_fraction=0.2, threshold=0.7)),
    "deploy.map_rbm": lambda c: (dp.map_rbm, dict(rbm=_rbm(), n_cores=4)),
    "deploy.recover": None,  # takes a programmed ChipRBM; probed by tests/test_bad_input.py
    "Model.predict": lambda c: (c.model().predict, dict(images=np.zeros((2, 28, 28), np.uint8), batch=1)),
    "Mapping.save": lambda c: (dp.map_model(c.model()).save, dict(path=c.tmp / "mapping.csv")),
    "Mapping.load": lambda c: (dp.Mapping.load, dict(path=dp.map_model(c.model()).save(c.tmp / "run" / "m.csv"),
                                                     model=c.model())),
    "ChipNetwork.program": lambda c: (dp.ChipNetwork(c.board, dp.map_model(c.model())).program,
                                      dict(iterations=1, settle_s=1.0)),
    "ChipNetwork.predict": lambda c: (c.exact_network().predict, dict(images=np.zeros((2, 28, 28), np.uint8),
                                                                      batch=1)),
    "ChipRBM.program": lambda c: (dp.ChipRBM(c.board, _rbm()).program, dict(iterations=1, settle_s=1.0)),
    "deploy.mnist_cnn_7layer": lambda c: (dp.mnist_cnn_7layer, {}),
    "deploy.resnet20_v1": lambda c: (dp.resnet20_v1, {}),
    "deploy.small_cnn": lambda c: (dp.small_cnn, {}),
}
