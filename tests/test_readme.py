"""Every code block of README.md works: each ```python block runs, each ```bash ``neurram`` command parses.

A python block runs on its own in a fresh interpreter (as a reader pasting it
would), in a scratch folder, with the environment of the tests (NEURRAM_SHARED
from conftest.py). A block whose first line is a comment starting
``# continues`` runs after the block before it (the recurrent-MVM example
continues the MVM one). Each ``neurram ...`` command of a bash block must
parse with the CLI's own parser (the sweep's experiment part too) and its
``--help`` must work.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from neurram_lab.cli import cli

README = Path(__file__).resolve().parents[1] / "README.md"
_BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def _blocks(lang: str) -> list[tuple[int, str]]:
    """(line number, code) of every ```lang block of the README."""
    text = README.read_text()
    return [(text.count("\n", 0, m.start()) + 2, m.group(2)) for m in _BLOCK.finditer(text) if m.group(1) == lang]


PYTHON = _blocks("python")
BASH = _blocks("bash")


def _script(i: int) -> str:
    """Block ``i`` with the blocks it continues before it."""
    code = PYTHON[i][1]
    if code.lstrip().startswith("# continues"):
        assert i > 0, "the first python block cannot continue another"
        return _script(i - 1) + "\n" + code
    return code


def test_readme_has_the_examples():
    assert len(PYTHON) >= 5 and len(BASH) >= 3


@pytest.mark.parametrize("i", range(len(PYTHON)), ids=[f"line{n}" for n, _ in PYTHON])
def test_python_block_runs(i, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    p = subprocess.run([sys.executable, "-c", _script(i)], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, f"README.md block at line {PYTHON[i][0]} failed:\n{p.stderr[-3000:]}"


def _neurram_commands() -> list[tuple[int, list[str]]]:
    """(line, argv after ``neurram``) of every ``neurram`` command in the bash blocks."""
    out = []
    for line0, code in BASH:
        code = re.sub(r"\\\n", " ", code)
        for k, line in enumerate(code.splitlines()):
            words = shlex.split(line, comments=True)
            cmd: list[str] = []
            for w in words + ["&&"]:
                if w in ("&&", "||", ";", "|"):
                    if cmd and cmd[0] == "neurram":
                        out.append((line0 + k, cmd[1:]))
                    cmd = []
                else:
                    cmd.append(w)
    return out


COMMANDS = _neurram_commands()


def test_readme_shows_neurram_commands():
    assert {argv[0] for _, argv in COMMANDS} >= {"demo", "sweep", "deploy"}


def _parse(argv: list[str]):
    try:
        args = cli.build_parser().parse_args(argv)
    except SystemExit as exc:
        raise AssertionError(f"`neurram {shlex.join(argv)}` does not parse (exit {exc.code})") from None
    assert getattr(args, "_module", None) is not None, f"`neurram {shlex.join(argv)}` names no command"
    return args


@pytest.mark.parametrize("argv", [a for _, a in COMMANDS], ids=[f"line{n}" for n, _ in COMMANDS])
def test_bash_neurram_command_parses(argv, capsys):
    args = _parse(argv)
    words = [w for w in argv[:2] if not w.startswith("-")]
    if args.command == "sweep":  # the experiment and its options come after the sweep's own
        from neurram_lab.cli.cmd_sweep import split_tokens

        _, theirs = split_tokens(list(args.experiment))
        _parse(theirs)
        words = words[:1]
    elif args._module.COMMAND[0] is None:
        words = words[:1]
    with pytest.raises(SystemExit) as e:
        cli.build_parser().parse_args(words + ["--help"])
    assert e.value.code == 0
    assert "usage: neurram " + " ".join(words) in capsys.readouterr().out
