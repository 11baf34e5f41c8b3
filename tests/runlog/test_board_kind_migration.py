"""The real Opal Kelly board (okusb://) is kind "okusb"; run files and calibrations that call it "fpga" (from before
issue 23) read as "okusb" through neurram_lab.runlog.migrate, and a calibration's board check reads the board's
identity through the public, unjournaled ``Board.identity``."""

from __future__ import annotations

import dataclasses
import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from neurram_lab import CalibrationError, MatrixPlacement
from neurram_lab.board.contract import BoardInfo
from neurram_lab.mvm._cal_conditions import CalibrationConditions, same_board
from neurram_lab.mvm.calibration import calibrate
from neurram_lab.mvm.mvm import run_mvm
from neurram_lab.program.programming import program_weights
from neurram_lab.runlog import migrate
from neurram_lab.runlog._journal_codec import decode, encode
from neurram_lab.sim_backend.board import SimBoard
from tests._journal_sink import NoArraysSink

FIXTURES = Path(__file__).parent.parent / "fixtures"


class _OkusbTwin(SimBoard):
    """The twin describing itself as the real board does now (kind "okusb", a USB serial)."""

    def _info(self) -> BoardInfo:
        return dataclasses.replace(super()._info(), kind="okusb", serial="1740000ABC")


def test_the_old_kind_is_in_the_one_table():
    assert migrate.OLD_BOARD_KINDS == {"fpga": "okusb"}
    assert migrate.board_kind("fpga") == "okusb"
    for kind in ("okusb", "sim", "hil", "rtl", "replay"):
        assert migrate.board_kind(kind) == kind


@pytest.mark.parametrize("name", ["BoardInfo", "neurram_lab.board.contract:BoardInfo", "neurram_lab.board:BoardInfo"])
def test_a_journaled_board_info_of_kind_fpga_decodes_as_okusb(name):
    old = BoardInfo(kind="fpga", spec="okusb://1740000ABC", serial="1740000ABC", firmware="neurram_top")
    tree = json.loads(json.dumps(encode(old, NoArraysSink())))
    tree["$c"][0] = name  # by tag, and by the Python paths of older files
    assert decode(tree, None) == dataclasses.replace(old, kind="okusb")
    for kind in ("hil", "rtl", "sim"):  # every other kind as it was
        tree["$c"][1]["kind"] = kind
        assert decode(tree, None).kind == kind


def test_a_journaled_calibration_condition_of_kind_fpga_decodes_as_okusb():
    c = CalibrationConditions(placements=((1, (0, 1), (0,), (2, 1)),), rails_v=(("v_ref", 0.5),), board_kind="fpga",
                              board_serial="1740000ABC", board_spec="okusb://1740000ABC")
    back = decode(json.loads(json.dumps(encode(c, NoArraysSink()))), None)
    assert back == dataclasses.replace(c, board_kind="okusb")


def test_a_run_file_whose_board_is_fpga_reads_as_okusb(tmp_path):
    from neurram_lab.runlog.runlog import RunLog, read_run

    info = {"kind": "fpga", "spec": "okusb://1740000ABC", "serial": "1740000ABC", "firmware": "neurram_top"}
    log = RunLog(tmp_path / "old.h5", "characterize-mvm", {}, {}, board_snapshot={"info": info, "rails_v": {}})
    log.close("success", {})
    rec = read_run(log.path, tables=False).record
    assert rec["board"]["info"] == {**info, "kind": "okusb"} and rec["board"]["rails_v"] == {}
    snap = {"info": {"kind": "sim", "serial": "TWIN-1"}}
    assert migrate.board_snapshot(snap) is snap and migrate.board_snapshot({}) == {}


def test_identity_is_the_info_and_is_not_journaled(tmp_path):
    from neurram_lab import read_run
    from neurram_lab.experiments._common import start_run

    with SimBoard(seed=3) as sim, start_run(sim, tmp_path, "t", {}, {}) as log:
        j = log.board
        assert j.identity == sim.identity == sim.info()
        log.close("success", {})
    ops = read_run(log.path, tables=False, journal=True).journal.calls["op"].tolist()
    assert ops == ["snapshot"]  # the info() above went to the twin itself, identity to nobody


def test_a_calibration_taken_as_fpga_applies_to_the_same_board_now_okusb():
    assert same_board(("fpga", "1740000ABC"), ("okusb", "1740000ABC"))
    assert not same_board(("fpga", "1740000ABC"), ("okusb", "1740000ABD"))
    assert not same_board(("fpga", "1740000ABC"), ("hil", "1740000ABC"))
    with _OkusbTwin(seed=3) as b:
        rng = np.random.default_rng(0)
        pm = program_weights(b, rng.standard_normal((8, 4)), MatrixPlacement(1, 0, 0, 8, 4), settle_s=1.0)
        x = rng.uniform(-1, 1, (16, 8))
        cal = calibrate(b, pm, x, input_bits=4, output_bits=6, offset_vectors=4)
        assert cal.conditions.board_kind == "okusb"
        old = dataclasses.replace(cal, conditions=dataclasses.replace(cal.conditions, board_kind="fpga"))
        t0 = b.now()
        y_old = run_mvm(b, pm, x, input_bits=4, calibration=old)
        other = dataclasses.replace(cal, conditions=dataclasses.replace(cal.conditions, board_kind="fpga",
                                                                        board_serial="1740000ABD"))
        with pytest.raises(CalibrationError, match="board"):
            run_mvm(b, pm, x, input_bits=4, calibration=other)
    with _OkusbTwin(seed=3) as b2:  # the same die, the same steps, with the calibration as taken today
        rng = np.random.default_rng(0)
        pm2 = program_weights(b2, rng.standard_normal((8, 4)), MatrixPlacement(1, 0, 0, 8, 4), settle_s=1.0)
        x2 = rng.uniform(-1, 1, (16, 8))
        cal2 = calibrate(b2, pm2, x2, input_bits=4, output_bits=6, offset_vectors=4)
        assert b2.now() == t0
        assert np.array_equal(run_mvm(b2, pm2, x2, input_bits=4, calibration=cal2), y_old)


@pytest.mark.parametrize("name", ["run_v2.h5.gz", "run_v3.h5.gz"])
def test_fixtures_of_earlier_formats_still_replay_identically(tmp_path, name):
    from neurram_lab.runlog.replay import ReplayBoard
    from neurram_lab.runlog.runlog import read_run

    path = tmp_path / name[:-3]
    with gzip.open(FIXTURES / name) as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    run = read_run(path, journal=True)
    assert run.record["board"]["info"]["kind"] == "sim"  # a twin run: its kind as recorded
    calls = list(run.journal)
    assert "mvm" in [c.op for c in calls]
    rb = ReplayBoard(path)
    n = 0
    for c in calls:  # every recorded call, in order; each read and MVM gives back the recorded codes
        got = getattr(rb, c.op)(**c.args)
        if isinstance(c.response, np.ndarray):
            assert np.array_equal(got, c.response), c.op
            n += 1
    assert n >= 1
