"""The twin's thread count is a parameter (``sim_backend.twin_threads``), and a sweep point passes its own
(``Point.twin_threads``) that way instead of through ``os.environ`` (issue 23 item 5)."""

from __future__ import annotations

import os

import pytest

from neurram_lab.errors import InputError, LimitError
from neurram_lab.sim_backend import _parallel, twin_threads
from neurram_lab.sweep.plan import Point
from neurram_lab.sweep.point import run_point


def test_the_parameter_sets_the_count_inside_and_restores_it(monkeypatch):
    monkeypatch.setenv("NEURRAM_TWIN_THREADS", "2")
    assert _parallel.n_threads() == 2
    with twin_threads(3):
        assert _parallel.n_threads() == 3  # over the environment
        with twin_threads(None):
            assert _parallel.n_threads() == 3  # None: as outside
        with twin_threads(1):
            assert _parallel.n_threads() == 1
        assert _parallel.n_threads() == 3
    assert _parallel.n_threads() == 2


@pytest.mark.parametrize("bad, err", [(0, LimitError), (-2, LimitError), ("two", InputError), (1.5, InputError)])
def test_a_bad_thread_count_is_refused(bad, err):
    with pytest.raises(err, match="threads"):
        with twin_threads(bad):
            pass


@pytest.mark.parametrize("n", [1, 3])
def test_a_sweep_point_runs_the_twin_on_its_threads_without_the_environment(n, tmp_path, monkeypatch):
    monkeypatch.delenv("NEURRAM_TWIN_THREADS", raising=False)
    point = Point(key=f"p{n}", experiment="sweep-threads-test", words=("characterize", "threads-test"),
                  module="_sweep_threads_experiment", argv=[], board="sim://", seed=1, twin={}, params={},
                  out_dir=str(tmp_path / f"p{n}"), twin_threads=n)
    row = run_point(point)
    assert row["status"] == "ok", row["error"]
    assert row["twin_threads_seen"] == n
    assert row.get("env") in ("", None) or row["env"] != row["env"]  # empty (a NaN or no column in the row)
    assert 1 <= row["threads_that_ran"] <= n  # one thread runs every block inline (helpers may not get one)
    assert "NEURRAM_TWIN_THREADS" not in os.environ  # nothing left behind in the worker's environment
