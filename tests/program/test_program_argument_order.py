"""program_weights / program_matrices check every argument once, in program_weights' signature order: with two
wrong arguments, the error a user sees names the first of them."""

from __future__ import annotations

import re

import numpy as np
import pytest

from neurram_lab import InputError, NeuRRAMError, program_weights
from neurram_lab.program.weights import MatrixPlacement
from neurram_lab.sim_backend import SimBoard

# (argument, a wrong value, what its error names), in program_weights' signature order
WRONG = [
    ("board", "sim://", r"board"),
    ("weights", np.ones(3), r"weights"),
    ("placement", (0, 0, 0), r"placement"),
    ("gmin_s", -1e-6, r"gmin"),
    ("w_max", -1.0, r"w_max"),
    ("config", "fast", r"config"),
    ("iterations", 0, r"iterations"),
    ("dead", np.zeros((3, 3), bool), r"dead"),
    ("settle_s", -1.0, r"settle_s"),
    ("form", "yes", r"form"),
    ("log", "run.h5", r"log"),
    ("resume_from", 7, r"resume_from"),
    ("progress", 7, r"progress"),
]
NAMES = [w[0] for w in WRONG]


@pytest.fixture(scope="module")
def board():
    with SimBoard(seed=1) as b:
        yield b


def _args(the_board, **wrong):
    good = dict(board=the_board, weights=np.ones((2, 2)), placement=MatrixPlacement(core=0, row0=0, col0=0, n_in=2, n_out=2),
                gmin_s=1e-6, w_max=None, config=None, iterations=1, dead=None, settle_s=0.0, form=True, log=None,
                resume_from=None, progress=None)
    good.update(wrong)
    return good


def _error(the_board, **wrong):
    with pytest.raises(NeuRRAMError) as exc:
        program_weights(**_args(the_board, **wrong))
    return str(exc.value)


@pytest.mark.parametrize("name,value,names", WRONG, ids=NAMES)
def test_each_wrong_argument_alone_is_named(board, name, value, names):
    assert re.search(names, _error(board, **{name: value}))


@pytest.mark.parametrize("i", range(len(WRONG) - 1), ids=[f"{a}+{b}" for a, b in zip(NAMES, NAMES[1:])])
def test_of_two_wrong_arguments_the_first_in_signature_order_is_named(board, i):
    (a, va, na), (b, vb, nb) = WRONG[i], WRONG[i + 1]
    msg = _error(board, **{a: va, b: vb})
    assert re.search(na, msg) and not re.search(nb, msg), (a, b, msg)


def test_weights_before_placement_and_board_before_all(board):
    assert "weights" in _error(board, weights="x", placement="p")
    assert "board" in _error(board, board=None, placement="p", weights="x", progress=1)
    assert isinstance(InputError("x"), NeuRRAMError)
