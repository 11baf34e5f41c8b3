"""Safety limits, board specs, and the typed errors they raise."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurram_lab import InputError, LimitError, SafetyLimits, UnknownBoardError, known_schemes, open_board
from neurram_lab.board.registry import parse_spec


def test_defaults_protect_thick_oxide_devices():
    lim = SafetyLimits()
    assert lim.form_v_max <= 5.0 and lim.pulse_v_max < lim.form_v_max
    assert all(hi <= 5.0 for _, hi in lim.rails_v.values())


def test_limit_error_names_value_and_limit():
    with pytest.raises(LimitError) as e:
        SafetyLimits().check_pulse("reset", [1.0, 4.2, 3.0], 1e-6)
    assert e.value.name == "v_pulse" and e.value.value == pytest.approx(4.2)
    assert e.value.limit == (0.0, 4.0)
    assert "4.2" in str(e.value) and "FORM" in str(e.value)


def test_form_may_exceed_set_reset_limit():
    v, w, g = SafetyLimits().check_pulse("form", 4.6, 1e-6, n=3)
    assert v.shape == (3,) and v[0] == 4.6


@pytest.mark.parametrize("bad", [np.nan, np.inf, -0.1])
def test_non_finite_or_negative_voltages_rejected(bad):
    with pytest.raises(LimitError):
        SafetyLimits().check_pulse("set", bad, 1e-6)


def test_cell_addresses_checked_and_broadcast():
    lim = SafetyLimits()
    c, r, k = lim.check_cells(3, np.arange(4), 7)
    assert c.tolist() == [3] * 4 and k.tolist() == [7] * 4
    with pytest.raises(LimitError) as e:
        lim.check_cells(0, [0, 300], 0)
    assert e.value.name == "row" and e.value.value == 300 and e.value.limit == (0, 255)
    with pytest.raises(InputError):
        lim.check_cells(0, [0.5], 0)


def test_limits_load_from_toml_and_json(tmp_path):
    t = tmp_path / "lim.toml"
    t.write_text('pulse_v_max = 3.0\nwidth_s = [1e-8, 1e-5]\n[rails_v]\nv_read = [0.0, 0.4]\n')
    lim = SafetyLimits.from_file(t)
    assert lim.pulse_v_max == 3.0 and lim.rails_v["v_read"] == (0.0, 0.4)
    assert lim.rails_v["v_ref"] == SafetyLimits().rails_v["v_ref"]
    j = tmp_path / "lim.json"
    j.write_text(json.dumps(lim.to_dict()))
    assert SafetyLimits.from_file(j) == lim
    with pytest.raises(LimitError):
        lim.check_pulse("set", 3.5, 1e-6)


@pytest.mark.parametrize(
    "text, match",
    [("pulse_v_max = [", "not valid TOML"), ("bogus = 1", "unknown limit keys"), ("[rails_v]\nv_read = [1.0, 0.0]", "min 1.0 > max")],
)
def test_malformed_limit_files_are_typed_errors(tmp_path, text, match):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(InputError, match=match):
        SafetyLimits.from_file(f)


def test_missing_limit_file():
    with pytest.raises(InputError, match="cannot read"):
        SafetyLimits.from_file("/nonexistent/limits.toml")


def test_unknown_scheme_lists_known_ones():
    with pytest.raises(UnknownBoardError) as e:
        open_board("warp://drive")
    assert "warp://drive" in str(e.value)
    for s in known_schemes():
        assert f"{s}://" in str(e.value)
    with pytest.raises(UnknownBoardError):
        open_board("not a spec")


def test_spec_options_query_and_keywords():
    assert parse_spec("sim://?seed=3&params=x.toml") == ("sim", "", {"seed": "3", "params": "x.toml"})
    with open_board("sim://?seed=3") as a, open_board("sim://", seed=3) as b:
        assert a.info().serial == b.info().serial == "TWIN-3"
    with open_board("sim://?seed=3", seed=4) as c:
        assert c.info().serial == "TWIN-4"


@pytest.mark.parametrize("spec", ["sim://?seed=abc", "sim://?seed=-2", "sim://?colour=red", "sim://somewhere"])
def test_bad_sim_options(spec):
    with pytest.raises(InputError):
        open_board(spec)


def test_flat_cell_index_round_trip():
    from neurram_lab.board.limits import N_COLS, N_CORES, N_ROWS, cell_of_flat_index, flat_cell_index

    rng = np.random.default_rng(0)
    c, r, k = rng.integers(0, N_CORES, 500), rng.integers(0, N_ROWS, 500), rng.integers(0, N_COLS, 500)
    flat = flat_cell_index(c, r, k)
    assert flat.dtype == np.int64
    np.testing.assert_array_equal(flat, c * 65536 + r * 256 + k)
    for got, want in zip(cell_of_flat_index(flat), (c, r, k)):
        np.testing.assert_array_equal(got, want)
    assert int(flat_cell_index(47, 255, 255)) == 47 * 65536 + 255 * 256 + 255


def test_conductance_range_refusals_keep_their_type_and_message():
    from neurram_lab.deploy.network import deploy_conductances
    from neurram_lab.program.weights import conductance_to_weights, weights_to_conductance

    lim = SafetyLimits()
    assert lim.check_conductance_range(1e-6, 4e-5) == (1e-6, 4e-5)
    with pytest.raises(InputError, match=r"^need gmin_s < gmax_s, got 4e-05 and 1e-05$"):
        lim.check_conductance_range(4e-5, 1e-5)
    with pytest.raises(InputError, match=r"^need gmin_s < gmax_s, got 4e-05 and 1e-05$"):
        deploy_conductances(None, 4e-5, 1e-5)
    with pytest.raises(LimitError, match="gmax_s"):
        lim.check_conductance_range(0.0, 0.0)  # gmax_s at the floor is out of range, not an ordering error
    for call in (lambda: weights_to_conductance(np.ones((2, 2)), 4e-5, 1e-5),
                 lambda: conductance_to_weights(np.ones((2, 2)), 4e-5, 1e-5, 1.0)):
        with pytest.raises(InputError, match=r"^need 0 <= gmin_s < gmax_s, got 4e-05, 1e-05$"):
            call()


def test_the_default_rail_table_is_read_only():
    """The twin and the driver share one table: a script cannot change what every board opens with."""
    from neurram_lab.board.limits import DEFAULT_RAILS_V

    with pytest.raises(TypeError):
        DEFAULT_RAILS_V["v_wl_reset"] = 5.5
    assert DEFAULT_RAILS_V["v_wl_reset"] == 4.5
