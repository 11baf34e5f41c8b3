"""Twin parameter files are checked against each field's declared type and range (issue 24, item 3)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from neurram_lab import open_board
from neurram_lab.errors import InputError, LimitError
from neurram_lab.sim_backend import SimBoard, TwinParams
from neurram_lab.sim_backend.params import DeviceParams


def _toml(tmp_path, text, name="twin.toml"):
    f = tmp_path / name
    f.write_text(text)
    return f


def test_every_field_declares_a_range_and_the_defaults_lie_in_it():
    ranges = TwinParams.ranges()
    n = sum(len(dataclasses.fields(s.default_factory)) for s in dataclasses.fields(TwinParams))
    assert len(ranges) == n and all(ranges.values())
    TwinParams().validate()
    assert TwinParams.from_dict(TwinParams().to_dict()) == TwinParams()


@pytest.mark.parametrize("text, kind, key", [
    ("[read]\nnoise_rel = nan", LimitError, "read.noise_rel"),
    ("[read]\nnoise_rel = inf", LimitError, "read.noise_rel"),
    ('[read]\nnoise_rel = "nan"', InputError, "read.noise_rel"),
    ('[read]\nnoise_rel = "inf"', InputError, "read.noise_rel"),
    ("[timing]\npulse_overhead_s = -2e-7", LimitError, "timing.pulse_overhead_s"),
    ("[timing]\nread_overhead_s = 0.0", LimitError, "timing.read_overhead_s"),
    ("[device]\nset_tau0_s = 0.0", LimitError, "device.set_tau0_s"),
    ("[relax]\nfast_tau_min_s = 0.0", LimitError, "relax.fast_tau_min_s"),
    ("[relax]\nfast_tau_min_s = 2.0", LimitError, "relax.fast_tau_min_s"),  # above fast_tau_max_s
    ("[device]\nc2c_sigma = -0.1", LimitError, "device.c2c_sigma"),
    ("[device]\nc2c_sigma = true", InputError, "device.c2c_sigma"),
    ("[device]\ng_cap_s = 5.0", LimitError, "device.g_cap_s"),
    ("[circuit]\nc_integ_f = 0.0", LimitError, "circuit.c_integ_f"),
    ("[circuit]\nwire_cells_per_node = 2.5", InputError, "circuit.wire_cells_per_node"),
    ("[circuit]\nideal_settling = 2", InputError, "circuit.ideal_settling"),
    ("[device]\nwarp = 1", InputError, "device.warp"),
    ("[warp]\nx = 1", InputError, "warp"),
])
def test_bad_values_are_typed_errors_naming_key_value_and_range(tmp_path, text, kind, key):
    f = _toml(tmp_path, text)
    with pytest.raises(kind, match=key.replace(".", r"\.")) as e:
        TwinParams.from_file(f)
    assert str(f) in str(e.value)
    if kind is LimitError:
        assert e.value.name == key
    with pytest.raises(kind):
        open_board(f"sim://?params={f}")
    with pytest.raises(kind):
        open_board("hil://", params=str(f))


@pytest.mark.parametrize("text", ["", "\n# nothing\n", "[read]\n", "{}"])
def test_a_file_that_sets_nothing_is_refused(tmp_path, text):
    f = _toml(tmp_path, text, "twin.json" if text == "{}" else "twin.toml")
    with pytest.raises(InputError, match="sets no twin parameter"):
        TwinParams.from_file(f)


def test_json_files_are_checked_the_same(tmp_path):
    f = tmp_path / "twin.json"
    f.write_text(json.dumps({"read": {"noise_rel": "0.5"}}))
    with pytest.raises(InputError, match="read.noise_rel"):
        TwinParams.from_file(f)
    f.write_text(json.dumps({"read": {"noise_rel": 0.5}, "circuit": {"ideal_settling": True}}))
    p = TwinParams.from_file(f)
    assert p.read.noise_rel == 0.5 and p.circuit.ideal_settling == 1.0


def test_direct_construction_and_changes_in_place_are_checked():
    with pytest.raises(LimitError, match="device.c2c_sigma"):
        DeviceParams(c2c_sigma=-1.0)
    p = TwinParams()
    p.timing.pulse_overhead_s = -1e-6
    with pytest.raises(LimitError, match="timing.pulse_overhead_s"):
        SimBoard(seed=1, params=p)


def test_board_time_never_runs_backwards():
    with open_board("sim://?seed=2") as b:
        t = [b.now()]
        for _ in range(3):
            b.pulse("form", 0, 0, 0, 4.0, 1e-6)
            b.read(0, 0, 0)
            t.append(b.now())
        assert all(b2 > a for a, b2 in zip(t, t[1:]))
