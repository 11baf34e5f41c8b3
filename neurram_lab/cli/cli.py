"""The ``neurram`` command line.

Every command takes ``--board SPEC`` (default ``sim://``), ``--out PATH``,
``--seed N``, ``--quiet``, ``--json`` (exactly one JSON object of summary
figures as the last line of stdout) and ``--debug`` (show tracebacks).
Commands live in the experiment modules of
:mod:`neurram_lab.experiments._registry`, the modules listed in
``COMMAND_MODULES`` and the checkout's benchmarks (:mod:`.bench`); each module
defines ``COMMAND = (group or None, name)``, ``HELP``, ``add_arguments(parser)``
and ``main(args, ctx) -> dict`` (the summary).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path

from ..errors import InputError, NeuRRAMError

# The CLI's own commands; the experiments come from their registry
# (neurram_lab.experiments._registry) and the benchmarks from the checkout (bench.py).
COMMAND_MODULES = [
    "neurram_lab.cli.cmd_info",
    "neurram_lab.cli.cmd_replay",
    "neurram_lab.cli.cmd_runs",
    "neurram_lab.cli.cmd_show",
    "neurram_lab.cli.cmd_trace",
    "neurram_lab.cli.cmd_sweep",
    "neurram_lab.cli.cmd_verify",
    "neurram_lab.cli.cmd_rtl_check",
    "neurram_lab.cli.cmd_watch",
]


def command_modules() -> list:
    """Every command module: the experiments, the CLI's own commands, the benchmarks of the checkout."""
    from neurram_lab.experiments._registry import EXPERIMENT_MODULES

    from .bench import Missing, bench_modules

    mods = [importlib.import_module(name) for name in EXPERIMENT_MODULES + COMMAND_MODULES]
    return mods + (bench_modules() or [Missing])


GROUP_HELP = {
    "characterize": "characterisation experiments (write-verify, relaxation, MVM, energy)",
    "bench": "speed benchmarks of the twin and the driver stack",
    "deploy": "deploy neural networks on the chip and run them",
}


class CliContext:
    """What every command gets besides its own arguments."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.board_spec: str = args.board
        self.seed: int | None = args.seed
        self.out = Path(args.out)
        self.quiet: bool = args.quiet
        self.json: bool = args.json

    def open_board(self, **options):
        """Open ``--board``, passing ``--seed`` to boards that take one."""
        from ..board.registry import open_board, parse_spec

        scheme = parse_spec(self.board_spec)[0]
        if self.seed is not None and scheme in ("sim", "hil") and "seed" not in options:
            options["seed"] = self.seed
        return open_board(self.board_spec, **options)

    @property
    def show_progress(self) -> bool:
        return not self.quiet and sys.stdout.isatty()

    def progress(self, total: int, desc: str, unit: str = "it"):
        """A tqdm bar (``tqdm.auto``: text in a terminal), silent with --quiet or when stdout is not a terminal."""
        from .._progress import progress_bar

        return progress_bar(total, desc, unit, disable=not self.show_progress)

    def say(self, text: str) -> None:
        """Human-readable output (suppressed by --quiet)."""
        if not self.quiet:
            print(text)


def writes_one_run(module) -> bool:
    """Whether a command writes exactly one run file (each experiment, ``neurram replay``)."""
    from neurram_lab.experiments._registry import EXPERIMENT_MODULES, EXTRA_MODULES

    return module.__name__ in EXPERIMENT_MODULES + EXTRA_MODULES or bool(getattr(module, "OUT_RUN_FILE", False))


def check_out(out, command: str, one_run: bool) -> None:
    """``--out X.h5`` names one run file: a command that writes none, or a folder of them, refuses it.

    Raises
    ------
    InputError
        ``out`` ends in ``.h5`` and the command does not write one run file.
    """
    if str(out).lower().endswith(".h5") and not one_run:
        raise InputError(f"--out {out}: a path ending in .h5 names a run file, and `neurram {command}` does not "
                         "write one run file; give a folder")


def _common(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("common options")
    g.add_argument("--board", default="sim://", metavar="SPEC", help="board to use: sim://, hil://, okusb://SERIAL, replay://RUN.h5 (default sim://)")
    g.add_argument("--out", default="runs", metavar="PATH",
                   help="directory for run files and figures (default ./runs); a path ending in .h5 is the run file "
                        "itself, its figures beside it (commands that write one run)")
    g.add_argument("--seed", type=int, default=None, metavar="N", help="seed of the twin and of random inputs")
    g.add_argument("--quiet", action="store_true", help="no progress bars or human-readable text")
    g.add_argument("--json", action="store_true", help="print one JSON object of summary figures as the last line")
    g.add_argument("--debug", action="store_true", help="show full tracebacks on errors")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neurram",
        description="Lab control for the NeuRRAM RRAM compute-in-memory chip: real test board, physics twin, logged runs.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"neurram-lab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    groups: dict[str, argparse._SubParsersAction] = {}
    for mod in command_modules():
        group, name = mod.COMMAND
        if group is None:
            target = sub
        else:
            if group not in groups:
                gp = sub.add_parser(group, help=GROUP_HELP.get(group, group), description=GROUP_HELP.get(group))
                groups[group] = gp.add_subparsers(dest="subcommand", metavar="EXPERIMENT")
                gp.set_defaults(_group_parser=gp)
            target = groups[group]
        p = target.add_parser(name, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        mod.add_arguments(p)
        _common(p)
        p.set_defaults(_module=mod)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``neurram`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_module", None) is None:
        gp = getattr(args, "_group_parser", parser)
        gp.print_help()
        return 2
    ctx = CliContext(args)
    try:
        check_out(args.out, " ".join(w for w in args._module.COMMAND if w), writes_one_run(args._module))
        summary = args._module.main(args, ctx)
    except NeuRRAMError as exc:
        if args.debug:
            raise
        print(f"neurram: error: {exc}", file=sys.stderr)
        return getattr(args._module, "ERROR_STATUS", 1)  # a command may set its own (watch: 2)
    except KeyboardInterrupt:
        print("neurram: aborted", file=sys.stderr)
        return 130
    except (OSError, ValueError) as exc:
        if args.debug:
            raise
        print(f"neurram: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if isinstance(summary, dict) and summary.get("run_file") and os.path.isfile(summary["run_file"]):
        summary["run_file_bytes"] = os.path.getsize(summary["run_file"])  # what the run cost on disk, once closed
    if args.json:
        from ..runlog.runlog import to_json

        line = to_json(summary if summary is not None else {})
        json.loads(line)  # always valid JSON
        print(line)
    status = getattr(args._module, "exit_status", None)  # a command whose result sets the exit status (verify)
    return int(status(summary)) if callable(status) else 0


def console_main(argv: list[str] | None = None) -> int:
    """Entry point of the ``neurram`` console script and ``python -m neurram_lab.cli``.

    A process that runs one command and exits: the twin may keep the memory it
    frees mapped (``NEURRAM_MALLOC_TUNING=1`` unless the environment sets it;
    a ``deploy mnist-cnn`` sweep point runs 26 % faster, BENCHMARKS.md). :func:`main`
    called from Python changes nothing process-wide.
    """
    os.environ.setdefault("NEURRAM_MALLOC_TUNING", "1")
    return main(argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(console_main())
