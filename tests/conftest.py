"""Shared fixtures. ``BOARD_SPECS`` lists every board the contract suite runs on."""

from __future__ import annotations

import inspect
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from neurram_lab import open_board, register_board

# The deploy tests and experiments read the project's models and MNIST from the shared/ folder
# beside the checkout (the package itself has no default place: NEURRAM_SHARED says where). A fresh
# clone elsewhere (e.g. /tmp/x) looks beside the repository it was cloned from.


def _shared_beside_checkout() -> Path:
    root = Path(__file__).resolve().parents[1]
    here = root.parent / "shared"
    if here.is_dir():
        return here
    try:
        origin = subprocess.run(["git", "-C", str(root), "remote", "get-url", "origin"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return here
    beside_origin = Path(origin).expanduser().resolve().parent / "shared" if origin else here
    return beside_origin if beside_origin.is_dir() else here


os.environ.setdefault("NEURRAM_SHARED", str(_shared_beside_checkout()))

# A twin declaring a real board's restricted capabilities (tests/_restricted_board.py), for the contract suite.
register_board("restricted", "tests._restricted_board:RestrictedBoard.from_spec")

# Every board spec the Board contract suite must pass on; later boards add theirs.
BOARD_SPECS = ["sim://?seed=7", "hil://?seed=7", "restricted://?seed=7"]
# The contract suite runs over replay:// too: each test that takes ``board`` is recorded on
# REPLAY_RECORDED_ON through the run log's journal, then runs again on the replay of that run file.
REPLAY_SPEC = "replay://"
REPLAY_RECORDED_ON = "sim://?seed=7"


def pytest_addoption(parser):
    parser.addoption("--board", action="append", default=[], help="extra board spec for the contract suite (e.g. okusb://SERIAL)")


def pytest_generate_tests(metafunc):
    if "board_spec" in metafunc.fixturenames:
        specs = list(BOARD_SPECS) + list(metafunc.config.getoption("--board"))
        takes_board_only = "board_spec" not in inspect.signature(metafunc.function).parameters
        if metafunc.module.__name__.endswith("board_contract") and takes_board_only:
            specs.append(REPLAY_SPEC)
        metafunc.parametrize("board_spec", specs)


def pytest_collection_modifyitems(config, items):
    hw = [s for s in config.getoption("--board") if s.startswith("okusb://")]
    if not hw:
        skip = pytest.mark.skip(reason="needs a real board: pass --board okusb://SERIAL")
        for item in items:
            if "hardware" in item.keywords:
                item.add_marker(skip)


@dataclass(frozen=True)
class ReplayPlan:
    """What the ``board`` fixture gives a contract test on ``replay://``: where to record it. The test is run
    by :func:`pytest_pyfunc_call`, not by the fixture."""

    recorded_on: str
    run_dir: Path


@pytest.fixture
def board(board_spec, tmp_path):
    if board_spec == REPLAY_SPEC:
        yield ReplayPlan(REPLAY_RECORDED_ON, tmp_path / "recorded")
        return
    b = open_board(board_spec)
    yield b
    b.close()


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """A contract test on ``replay://`` runs twice in its own call phase: recorded on ``REPLAY_RECORDED_ON``
    through the run log's journal, then on the replay of that run file, which must serve every call."""
    plan = pyfuncitem.funcargs.get("board")
    if not isinstance(plan, ReplayPlan):
        return None
    from neurram_lab.experiments._common import start_run

    args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    with open_board(plan.recorded_on) as sim, start_run(sim, plan.run_dir, "contract", {}, {}) as log:
        pyfuncitem.obj(**{**args, "board": log.board})  # the test, recorded
    with open_board(f"replay://{log.path}") as b:
        b.snapshot()  # call 0 of every run file: the start snapshot
        pyfuncitem.obj(**{**args, "board": b})  # the test, on the replay
        assert b.remaining == 0, "the replay served every recorded call"
    return True


@pytest.fixture
def sim():
    b = open_board("sim://?seed=11")
    yield b
    b.close()
