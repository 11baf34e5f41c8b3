"""Stochastic neurons through the authors' bitstream: the LFSR pulse (lfsr_control.v, trigger 0x44 bit 5) as the
driver sends it (drivers._mvm_host, drivers._lfsr_host), the emulated FPGA integrating it from the VPLFSR / VNLFSR
rails (drivers.hil._mvm_fsm), and the RBM sampling its hidden units through it on hil://."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import numpy as np
import pytest

from neurram_lab.drivers import _lfsr_host as lfsr
from neurram_lab.drivers import neurram_top as nt
from neurram_lab.drivers.hil import connect, make_emulated_board
from neurram_lab.errors import InputError, LimitError
from neurram_lab.sim_backend.neuron import cs_over_ci


def _hil(seed=7):
    ok, emu = make_emulated_board(seed=seed)
    trace = []
    board = connect(ok, spec=f"hil://?seed={seed}", observers=[trace.append])
    return board, emu, trace


def _triggers(trace):
    return [(r["ep"], r["bit"]) for r in trace if r["op"] == "ActivateTriggerIn"]


def test_each_stochastic_vector_is_mvm_then_lfsr_pulses_then_readout_with_the_rails_on_dac0():
    board, emu, trace = _hil()
    with board:
        assert "stochastic" in board.capabilities().activations
        lfsr.set_injection(board, amplitude_v=0.08, pulses=3, pulse_width=5)
        n0 = len(trace)
        codes = board.mvm(lfsr.zero_input_request(3, 6, 2))
        assert codes.shape == (1, 2, 256)
        got = _triggers(trace[n0:])
        mask = got.index((nt.TI_NEURON, 6))
        vec = [(0x45, 7)] + [(0x44, 5)] * 3 + [(0x45, 5)]
        assert got[mask + 1:] == vec * 2  # per vector: bit-serial MVM, 3 LFSR pulses, readout; no batched run
        assert emu.dac_v(0, 5) == pytest.approx(0.9 + 0.08, abs=1e-4)  # VPLFSR = v_ref + amplitude
        assert emu.dac_v(0, 6) == pytest.approx(0.9 - 0.08, abs=1e-4)  # VNLFSR
        assert emu.wire_in[nt.WI_DEBUG] & 0xF == 5  # 0x10[3:0]: the pulse width
        assert emu.mvm_fsm.counts["lfsr_pulses"] == 6
        assert not emu.violations  # 0x09's pulse count 0 and run-all low while pulsing, 0x05 bit 2 low
        assert emu.wire_in[nt.WI_MODE] == 0  # inference off afterwards


def test_the_emulated_pulse_integrates_vplfsr_or_vnlfsr_by_each_neurons_lfsr_bit():
    ok, emu = make_emulated_board(seed=5)
    f = emu.mvm_fsm
    core = 8
    emu.core_enable[core] = True
    codes = {(0, 5): nt.dac_code(1.05, 0), (0, 6): nt.dac_code(0.85, 0), (0, 2): nt.dac_code(0.9, 0)}
    for (d, c), code in codes.items():  # asymmetric rails: mean +0.05 V a pulse, spread 0.1 V
        emu.dac_out[d][c] = code
    cc = emu.twin.circuit.core(core)
    chain = copy.deepcopy(cc.lfsr)
    want = np.zeros(256)
    for _ in range(3):
        bit = chain._step()
        want += cs_over_ci(emu.twin.circuit.p) * cc.gain * (np.where(bit, emu.dac_v(0, 5), emu.dac_v(0, 6))
                                                            - emu.dac_v(0, 2))
        f.lfsr_pulse_trigger()
    assert np.allclose(f.lfsr_noise_v[core], want)
    assert set(np.round(np.unique(want / (cs_over_ci(emu.twin.circuit.p) * cc.gain)), 3)) <= {-0.15, 0.05, 0.25, 0.45}  # 3 pulses
    assert cc.lfsr.steps == chain.steps  # one chain step a pulse
    assert not emu.violations
    emu.wire_in[nt.WI_NEURON] = 1 << 14  # a pulse count left in 0x09: the neuron FSM goes on sampling
    f.lfsr_pulse_trigger()
    assert "neuron_control.v:1319" in emu.violations[-1]
    f.neuron_cds()  # a CDS resets the integrator: the charge is gone
    assert core not in f.lfsr_noise_v


def test_injected_noise_follows_the_rails_and_the_pulse_count():
    board, emu, _ = _hil(seed=9)
    with board:
        got = {}
        for amp, n in ((0.1, 1), (0.1, 4), (0.05, 4)):
            lfsr.set_injection(board, amplitude_v=amp, pulses=n)
            got[amp, n] = lfsr.measure_noise(board, 3, 6, vectors=48)
        r1 = got[0.1, 1]["rms_codes"]
        # one output LSB at 6 bits is (Cs/Ci) v_decr 2**(2-6) at the integrator; a pulse is (Cs/Ci) gain amp
        gain = emu.twin.circuit.core(3).gain
        assert r1 == pytest.approx(gain * 0.1 / (0.5 * 2.0**-4), rel=0.15)
        assert got[0.1, 4]["rms_codes"] == pytest.approx(2 * r1, rel=0.2)  # pulses add in quadrature
        assert got[0.05, 4]["rms_codes"] == pytest.approx(r1, rel=0.2)  # half the rails, half the spread
        assert all(abs(g["mean_codes"]) < 0.5 for g in got.values())  # symmetric rails: no shift
        assert all(g["plain_rms_codes"] < 0.25 * r1 for g in got.values())  # without pulses: the neurons' own noise
        # calibration to a wanted rms picks the pulse count, then the amplitude below one pulse
        lfsr.set_injection(board, amplitude_v=0.1)
        cal = lfsr.calibrate_noise(board, 3, 0.5 * r1, 6, vectors=48)  # less than one pulse gives: half the rails
        assert cal["pulses"] == 1 and cal["amplitude_v"] == pytest.approx(0.05, rel=0.2)
        assert cal["rms_codes"] == pytest.approx(0.5 * r1, rel=0.2)
        lfsr.set_injection(board, amplitude_v=0.1)
        cal = lfsr.calibrate_noise(board, 3, 3 * r1, 6, vectors=48)
        assert cal["pulses"] == 9 and cal["rms_codes"] == pytest.approx(3 * r1, rel=0.2)


def test_bad_lfsr_parameters_are_typed_errors_before_anything_is_sent():
    for bad in ({"amplitude_v": 0.0}, {"amplitude_v": -0.1}, {"amplitude_v": float("nan")}, {"amplitude_v": "0.1"},
                {"pulses": 0}, {"pulses": 256}, {"pulses": True}, {"pulses": 2.0}, {"pulse_width": 16},
                {"pulse_width": -1}):
        with pytest.raises(InputError, match="LFSR"):
            lfsr.NoiseInjection(**bad)
    board, emu, trace = _hil()
    with board:
        n0 = len(trace)
        with pytest.raises(LimitError, match="VNLFSR"):  # 0.9 - 0.95 V is below DAC 0's range
            lfsr.set_injection(board, amplitude_v=0.95)
        with pytest.raises(InputError, match="scale factor"):
            lfsr.scale_noise(board, 0.0)
        with pytest.raises(LimitError, match=r"LFSR pulses=400 .*\(1, 255\)"):
            lfsr.scale_noise(board, 20.0)
        with pytest.raises(InputError, match="target_rms_codes"):
            lfsr.calibrate_noise(board, 3, -1.0, 6)
        assert len(trace) == n0 and lfsr.injection(board) == lfsr.DEFAULT_INJECTION
        inj = board.scale_stochastic_noise(0.5, min_pulses=4)  # rms x 0.5: 4 pulses at a quarter amplitude
        assert inj.pulses == 4 and inj.amplitude_v == pytest.approx(0.1 * 0.5 / 2)


SHARED = Path(os.environ.get("NEURRAM_SHARED", "/work/shared"))


@pytest.mark.skipif(not (SHARED / "models" / "rbm_v794_h120_wnoise0.15.npz").exists(), reason="no RBM model")
def test_rbm_on_hil_samples_its_hidden_units_with_the_chips_lfsr_pulses_and_recovers():
    from neurram_lab.deploy import load_mnist
    from neurram_lab.deploy.rbm import RBM, ChipRBM, recover

    rbm = RBM.load(SHARED / "models" / "rbm_v794_h120_wnoise0.15.npz")
    x, y = load_mnist(SHARED / "datasets" / "mnist", "test", limit=12)
    cal_x, cal_y = load_mnist(SHARED / "datasets" / "mnist", "train-5k")
    board, emu, trace = _hil(seed=12)
    with board:
        twin = ChipRBM(emu.twin, rbm)  # the die behind the bitstream, programmed directly (write-verify is tested
        twin.program()  # through hil:// elsewhere; here it would take minutes)
        emu.twin.wait(1800.0)
        chip = ChipRBM(board, rbm)
        assert chip.hidden_noise == "chip"  # hil:// declares stochastic neurons now
        chip.programmed = twin.programmed
        chip.calibrate(cal_x[::100], cal_y[::100], per_column=False)
        spread = chip.noise_spread
        assert spread["tuned"] and spread["injection"]["pulses"] >= 8
        assert abs(spread["sigma"] - spread["target"]) < 0.25 * spread["target"] < abs(spread["sigma_before"]
                                                                                         - spread["target"])
        n0 = len(trace)
        out = recover(chip, x, y, "bottom")
        pulses = _triggers(trace[n0:]).count((nt.TI_SPI, nt.T_LFSR_PULSE))
        assert pulses == 10 * len(x) * chip.cores_used * spread["injection"]["pulses"]  # 10 Gibbs steps
        assert out["l2_after"] < out["l2_before"]
        assert not emu.violations


def test_lfsr_levels_outside_the_limits_v_ref_range_are_refused_even_after_the_limits_are_lowered():
    """VPLFSR / VNLFSR are references beside v_ref: a level outside the limits' v_ref window is a LimitError
    naming the node, at set time and at each stochastic MVM (limits lowered after the level was set hold),
    with nothing sent."""
    import dataclasses

    board, emu, trace = _hil()
    with board:
        lfsr.set_injection(board, amplitude_v=0.3)  # VPLFSR 1.2 V, inside the default v_ref range (0, 1.8)
        rails = dict(board.limits.rails_v)
        rails["v_ref"] = (0.0, 1.0)
        board.limits = dataclasses.replace(board.limits, rails_v=rails)
        n0 = len(trace)
        with pytest.raises(LimitError, match=r"VPLFSR.*outside the limits' v_ref range"):
            board.mvm(lfsr.zero_input_request(3, 6, 2))
        with pytest.raises(LimitError, match="VPLFSR"):
            lfsr.set_injection(board, amplitude_v=0.2)
        assert [r for r in trace[n0:] if r["op"] != "op"] == []
        lfsr.set_injection(board, amplitude_v=0.05)  # 0.95 V: inside, and the MVM runs
        assert board.mvm(lfsr.zero_input_request(3, 6, 2)).shape == (1, 2, 256)
