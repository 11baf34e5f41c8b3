"""The generated bad-input catalogue of the ``neurram`` command (issue 24, item 7), and the hand-run probe.

Every option of every command, read off the real argparse tree, gets values
its type cannot mean: a word for a number, a fraction for a count, NaN and an
infinity for a float, a value outside its choices. Each run goes through the
CLI's own ``main`` with a board whose hooks are tripwires: it must end with a
non-zero exit and one error line (``neurram: error: ...`` or argparse's usage
error), without touching the board or writing a file. A new option is probed as
soon as it exists. ``tools/bad_input_probe.py``'s hand-written probes run here too.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import pytest

from neurram_lab.cli import cli as climod


def _load_probe():
    """``tools/bad_input_probe.py`` (a hand-run script, not a package), loaded by its path."""
    path = Path(__file__).resolve().parents[2] / "tools" / "bad_input_probe.py"
    spec = importlib.util.spec_from_file_location("bad_input_probe", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # as an import would: one module object, however often it is loaded
    spec.loader.exec_module(mod)
    return mod


probe = _load_probe()

# Commands that open no board and start long work from their options alone are still probed: the
# probe's alarm turns a run that goes on into a "hang" failure instead of a stuck suite.
BAD = {int: ["abc", "1.5", "nan"], float: ["abc", "nan", "inf", "-inf"]}


def _options(parser: argparse.ArgumentParser, path=()):
    for action in parser._actions:  # argparse keeps no public list of a parser's actions
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _options(sub, path + (name,))
        elif action.option_strings and action.nargs != 0:
            yield path, action


def cli_cases():
    out = []
    for path, action in _options(climod.build_parser()):
        flag = action.option_strings[-1]
        values = list(BAD.get(action.type, []))
        if action.choices is not None:
            values.append("no-such-choice")
        for v in values:
            out.append(pytest.param((*path, flag, v), id=" ".join((*path, flag, v))))
    return out


CASES = cli_cases()


def test_catalogue_reaches_every_command():
    commands = {" ".join(p) for p, _ in _options(climod.build_parser())}
    probed = {" ".join(c.values[0][:-2]) for c in CASES}
    assert len(probed) >= 0.9 * len(commands), sorted(commands - probed)


@pytest.mark.parametrize("argv", CASES)
def test_cli_option_refused_with_one_line(argv):
    kind, what = probe.classify(probe.cli(*argv))
    assert kind == "typed", f"neurram {' '.join(argv)}: {kind}: {what}"


@pytest.mark.parametrize("label,fn", probe.probes(), ids=[label for label, _ in probe.probes()])
def test_hand_written_probe(label, fn):
    kind, what = probe.classify(fn)
    assert kind == "typed", f"{label}: {kind}: {what}"
