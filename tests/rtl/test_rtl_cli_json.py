"""neurram rtl-check --json: stdout is the one JSON object, the human lines go to stderr (no simulator needed:
the check itself is replaced by a canned summary)."""

from __future__ import annotations

import json

from neurram_lab.cli.cli import console_main


def test_json_stdout_is_pure_without_quiet(monkeypatch, tmp_path, capsys):
    from neurram_lab.drivers.rtl import _build, diff

    summary = {"top": "neurram_top", "calls_compared": 3, "fields_compared": 9, "mismatches": 1,
               "mismatch_list": ["op 0 rails: outcome hil=1 rtl=2"], "simulated_cycles": 10, "wall_s": 0.1,
               "cycles_per_s": 100.0}
    monkeypatch.setattr(_build, "build", lambda hdl, top="neurram_top": tmp_path / "sim.vvp")
    monkeypatch.setattr(diff, "scenario_ops", lambda n, seed, *a, **k: [("rails", {})])
    monkeypatch.setattr(diff, "check", lambda *a, **k: dict(summary))
    rc = console_main(["rtl-check", "--hdl", str(tmp_path), "--json", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert rc == 1  # a mismatch
    got = json.loads(out)  # the whole of stdout is one JSON object
    assert got["mismatches"] == 1 and got["fields_compared"] == 9
    assert "1 mismatches" in err and "MISMATCH op 0 rails" in err
