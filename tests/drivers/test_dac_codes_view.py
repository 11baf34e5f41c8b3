"""FpgaBoard.dac_codes: the DAC codes the host set, a read-only copy (what drivers.rtl.diff's mirror check reads
instead of the board's private record)."""

from __future__ import annotations

import pytest

from neurram_lab import open_board
from neurram_lab.drivers import neurram_top as nt


@pytest.fixture
def hil():
    b = open_board("hil://?seed=5")
    yield b
    b.close()


def test_dac_codes_are_the_codes_set_and_follow_the_rails(hil):
    codes = hil.dac_codes
    assert codes and all(0 <= c <= 0xFFFF for c in codes.values())  # the open sets every rail once
    for (dac, ch), code in codes.items():
        assert hil.dac_volts(dac, ch) == nt.code_volts(code, dac)
    vread = next(dc for dc, node in nt.NODES.items() if node == "VREAD")
    hil.set_rails(v_cell_read=0.3)
    assert hil.dac_codes[vread] == nt.dac_code(0.9 + 0.3, vread[0]) != codes[vread]


def test_dac_codes_is_a_copy_and_cannot_be_set(hil):
    codes = hil.dac_codes
    dc = next(iter(codes))
    codes[dc] = codes[dc] ^ 1
    codes[(99, 99)] = 1
    assert hil.dac_codes[dc] != codes[dc] and (99, 99) not in hil.dac_codes
    with pytest.raises(AttributeError):
        hil.dac_codes = {}
    hil.forget_dac_codes([dc])
    assert dc not in hil.dac_codes
