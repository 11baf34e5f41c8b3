"""The stochastic neurons' noise level (``scale_stochastic_noise``, the RBM's calibration on boards that set it)
journaled as one call and served again by a replay; boards whose level is fixed answer None on both."""

from __future__ import annotations

import pytest

from neurram_lab import open_board
from neurram_lab.errors import InputError
from neurram_lab.experiments._common import start_run
from neurram_lab.runlog.journal_board import NOISE_OP
from neurram_lab.runlog.replay import ReplayBoard


def test_the_noise_level_call_is_journaled_and_replayed(tmp_path):
    with open_board("hil://?seed=3") as board:
        with start_run(board, tmp_path, "noise", {}, {}) as log:
            inj = log.board.scale_stochastic_noise(0.5, 4)  # rms x 0.5 with 4 pulses: a quarter of the amplitude
            with pytest.raises(InputError, match="scale factor"):
                log.board.scale_stochastic_noise(0.0, 1)
            log.close()
    assert inj.pulses == 4 and inj.amplitude_v == pytest.approx(0.1 * 0.5 / 2)
    with ReplayBoard(log.path) as rb:
        assert list(rb.journal.calls["op"][:len(rb.journal)]).count(NOISE_OP) == 2
        with start_run(rb, tmp_path / "again", "noise", {}, {}) as log2:  # serves the start snapshot first
            got = log2.board.scale_stochastic_noise(0.5, 4)
            assert got == {"amplitude_v": inj.amplitude_v, "pulses": 4, "pulse_width": inj.pulse_width}
            with pytest.raises(InputError, match="scale factor"):  # the recorded error, raised again
                log2.board.scale_stochastic_noise(0.0, 1)
            assert rb.scale_stochastic_noise(0.5, 4) is None  # nothing more recorded
            log2.close()


def test_a_board_with_a_fixed_noise_level_answers_none_and_records_nothing(tmp_path):
    with open_board("sim://?seed=3") as board:
        with start_run(board, tmp_path, "fixed", {}, {}) as log:
            assert log.board.scale_stochastic_noise(0.5, 4) is None
            log.close()
    with ReplayBoard(log.path) as rb:
        assert NOISE_OP not in set(rb.journal.calls["op"][:len(rb.journal)])
        with start_run(rb, tmp_path / "again", "fixed", {}, {}) as log2:
            assert log2.board.scale_stochastic_noise(0.5, 4) is None
            log2.close()
