"""The emulated neurram_top_wv (drivers/hil/_wv_fsm.py): the engine's endpoints through FrontPanel calls."""

import numpy as np

from neurram_lab.drivers import _wv_engine as wv
from neurram_lab.drivers import neurram_top as nt
from neurram_lab.drivers.hil import make_emulated_board


def _run(words, ceil):
    ok, emu = make_emulated_board(seed=3, bitstream="neurram_top_wv")
    # read rails as the bench sets them: VREAD - VREF_TIA = 0.2 V
    for node_v, (dac, ch) in ((1.1, (1, 6)), (0.9, (1, 7))):
        emu._dac_output(dac, ch, int(node_v / nt.DAC_VREF_V[dac] * 65536))
    for ep, val in ceil.wire_ins().items():
        emu.wire_in[ep] = val
    fsm = emu.wv_fsm
    emu.pipe_in(nt.PI_ENGINE_COMMANDS, wv.words_bytes(wv.pad16(words)))
    emu.trigger(nt.TI_ENGINE, nt.T_ENGINE_START)
    n = emu.status_bits[nt.WO_ENGINE_RECORDS]
    rec = wv.decode_records(np.frombuffer(emu.pipe_out(nt.PO_ENGINE_RESULTS, 16 * n), "<u4"))
    return emu, fsm, rec


def test_engine_programs_range_inside_ceilings_and_refuses():
    ceil = wv.Ceilings.from_volts(3.0, 3.5, 1e-5)
    lvl = wv.level_from_volts(20e-6, 24e-6, 0.2, 1.2, 2.5, 1.5, 2.9, 3.0, 3.3, 0.1, 1e-6, 400, 30, 8, ceil)
    hot = wv.Level(**{**lvl.__dict__, "set_max": ceil.set_bl + 1})
    words = wv.level_command(0, lvl) + wv.range_command(2, 0, 0, 1, 7) + wv.level_command(1, hot) + wv.cell_commands(3, 0, 0, 1)
    emu, fsm, rec = _run(words, ceil)
    assert rec["status"].size == 17
    # unformed twin cells: the SET ramp tops out (status 3 ceiling) after max_at_ceiling pulses at the top
    assert np.isin(rec["status"][:16], (wv.ST_OK, wv.ST_CEILING, wv.ST_MAX_PULSES, wv.ST_GAVE_UP)).all()
    assert list(zip(rec["row"][:16], rec["col"][:16])) == [(r, c) for r in range(2) for c in range(8)]
    assert rec["pulses"][:16].sum() > 0 and rec["pulses"][:16].sum() == emu.counts["pulses"]
    assert rec["status"][16] == wv.ST_REFUSED and rec["raw1"][16] & (1 << 5)
    assert not any(fsm.shadow.get(ch, 0) > lim for ch, lim in enumerate((ceil.set_bl, ceil.set_wl, ceil.reset_sl, ceil.reset_wl)))
    assert all(code <= (ceil.set_bl, ceil.set_wl, ceil.reset_sl, ceil.reset_wl)[ch] for d, ch, code in emu.dac_log if d == 3)
    ok = rec["status"][:16] == wv.ST_OK
    assert (rec["code"][:16][ok] >= lvl.lo).all() and (rec["code"][:16][ok] <= lvl.hi).all()
    assert emu.wire_in[nt.WI_WRITE_MUX] & 3 == nt.MUX_IDLE and not emu.violations
