"""Shared plumbing of experiments: run-file paths, starting a logged run, figures.

Convention for every experiment module (so ``neurram replay`` can re-run it):

- ``EXPERIMENT``: the name stored in the run record;
- ``run(board, out_dir, progress=None, **params) -> dict``: the experiment,
  returning its JSON summary; the run record's ``parameters`` are exactly
  ``params`` (JSON-able), so ``run(board, out_dir, **record["parameters"])``
  repeats it;
- inside ``with start_run(...) as log:`` every board call goes through
  ``log.board`` (the board the run journals), and none after ``log.close``.
  ``neurram replay RUN.h5`` then serves the same calls from the journal;
- no experiment knows older run files: a replay serves the run with its
  current record (:func:`neurram_lab.runlog.migrate.current_record`), whose
  parameters say in today's terms what the run did;
- ``report(summary, board_spec) -> str``: the text printed at the end of a
  run, by its CLI front and by ``neurram replay`` alike;
- optionally ``MERIT = "figure"``: the summary figure a sweep draws by default
  (:func:`neurram_lab.experiments._registry.figure_of_merit`);
- summary keys that are not results of the experiment say so by their name:
  wall-clock times are ``wall_s`` or end in ``_wall_s``, paths the run wrote
  are ``figure``, ``figures`` or end in ``_file`` (``run_file``,
  ``mapping_file``), sizes of written files end in ``_file_bytes`` (the CLI adds
  ``run_file_bytes``). A replay repeats every other key exactly
  (:func:`is_run_specific`).
"""

from __future__ import annotations

import datetime as _dt
import os
import time
import uuid
from pathlib import Path

from neurram_lab._progress import bar_factory
from neurram_lab.validate import MAX_SETTLE_S, choice, number
from neurram_lab.errors import DataNotFoundError
from neurram_lab.runlog.journal_board import JournalBoard
from neurram_lab.runlog._html import RunSummary
from neurram_lab.runlog.runlog import RunLog

# Models and datasets are not shipped with the package: the environment says where they are
# (or the experiment's --model / --data options). NEURRAM_SHARED is a folder holding models/ and
# datasets/ (the project's shared/ folder beside a checkout); NEURRAM_MODELS and NEURRAM_DATA
# name the two folders one by one and take precedence.
ENV_SHARED, ENV_MODELS, ENV_DATA = "NEURRAM_SHARED", "NEURRAM_MODELS", "NEURRAM_DATA"
CNN_MODEL = "mnist_cnn_7layer_3bit_wnoise0.15.npz"
RBM_MODEL = "rbm_v794_h120_wnoise0.15.npz"


def _configured_dir(env: str, sub: str, what: str, option: str) -> Path:
    hint = (f"pass {option}, or set {env}=DIR (or {ENV_SHARED}=DIR, a folder holding {sub}/; "
            "in a checkout of this project: the shared/ folder beside it)")
    if os.environ.get(env):
        d, source = Path(os.environ[env]).expanduser(), env
    elif os.environ.get(ENV_SHARED):
        d, source = Path(os.environ[ENV_SHARED]).expanduser() / sub, ENV_SHARED
    else:
        raise DataNotFoundError(what, None, "no folder is configured; " + hint)
    if not d.is_dir():
        raise DataNotFoundError(what, d, f"no such folder (from {source}); " + hint)
    return d


def models_dir() -> Path:
    """The folder of model files: ``$NEURRAM_MODELS``, else ``$NEURRAM_SHARED/models``.

    Raises
    ------
    DataNotFoundError
        Neither is set, or the folder does not exist (the message says what to set).
    """
    return _configured_dir(ENV_MODELS, "models", "the models folder", "--model FILE")


def datasets_dir() -> Path:
    """The folder of datasets: ``$NEURRAM_DATA``, else ``$NEURRAM_SHARED/datasets``.

    Raises
    ------
    DataNotFoundError
        Neither is set, or the folder does not exist (the message says what to set).
    """
    return _configured_dir(ENV_DATA, "datasets", "the datasets folder", "--data DIR")


def default_model(name: str) -> Path:
    """``models_dir() / name``, which must exist (DataNotFoundError otherwise)."""
    path = models_dir() / name
    if not path.is_file():
        raise DataNotFoundError(f"model {name}", path, "put it there or pass --model FILE")
    return path


def mnist_dir() -> Path:
    """The folder of the MNIST IDX files: ``datasets_dir() / "mnist"`` (DataNotFoundError if absent)."""
    path = datasets_dir() / "mnist"
    if not path.is_dir():
        raise DataNotFoundError("the MNIST folder", path, "put the IDX files there or pass --data DIR")
    return path


# Only for measuring what journaling costs (benchmarks/bench_journal.py): False skips the journal.
JOURNAL_CALLS = True


def run_path(out_dir, experiment: str) -> Path:
    """A fresh ``OUT/<experiment>-<UTC time>-<id>.h5`` path; an ``out_dir`` ending in ``.h5`` is the run file itself.

    The run's figures and other files go beside the run file, named after it.
    """
    if str(out_dir).lower().endswith(".h5"):
        return Path(out_dir)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return Path(out_dir) / f"{experiment}-{stamp}-{uuid.uuid4().hex[:6]}.h5"


def start_run(board, out_dir, experiment: str, parameters: dict, tables: dict) -> RunLog:
    """Create the run file of an experiment with the board's snapshot in its record.

    The returned log's ``board`` attribute is the board experiments must use:
    a :class:`~neurram_lab.runlog.journal_board.JournalBoard` that records every call
    (the start snapshot is call 0) in the run file's journal.
    """
    t0, c0 = time.time(), time.perf_counter()
    snap = board.snapshot()
    dt = time.perf_counter() - c0
    record_snap = dict(snap, replay_of=board.replay_of) if getattr(board, "replay_of", None) else snap
    log = RunLog(run_path(out_dir, experiment), experiment, parameters, tables, record_snap)
    if JOURNAL_CALLS:
        log.board = JournalBoard(board, log.journal)
        log.board.journal_call("snapshot", {}, snap, t0, dt)
        log.flush()  # the journal starts with the start snapshot on disk
    else:
        log.board = board
    return log


# The paper's protocol for the deploy experiments (SPEC §2, §5): iterative write-verify with a
# 30-minute settle before each verify re-read and before inference; the paper's calibration
# (per-layer operating point and per-output ADC offsets) as the headline, the per-column fit
# against exact software outputs (beyond the paper) measured beside it.
PAPER_SETTLE_S = 1800.0
CALIBRATIONS = ("both", "paper", "per-column")


def add_protocol_arguments(parser, what: str = "inference") -> None:
    """``--settle-s`` (``--relax-s`` its older name) and ``--calibration`` of a deploy experiment."""
    parser.add_argument("--settle-s", "--relax-s", dest="settle_s", type=float, default=PAPER_SETTLE_S, metavar="S",
                        help=f"board time left to settle after each write-verify pass (before its re-read) and before "
                             f"{what} (default 1800 s: the paper's 30 min)")
    parser.add_argument("--calibration", default="paper", choices=CALIBRATIONS,
                        help="paper (default): per-layer operating point and ADC offsets (SPEC §5); per-column: also a "
                             "slope and intercept per column fitted against exact outputs on training images; both: "
                             "measure each (twice the MVMs and run file), the paper's as the headline")


def settle_protocol(settle_s, calibration, inference_wait_s=None) -> tuple[float, str, float]:
    """``(settle_s, calibration, inference_wait_s)`` of a deploy experiment, checked.

    ``settle_s``: board time each write-verify pass settles before its re-read; ``inference_wait_s``:
    board time the programmed conductances settle before inference (or use), None: ``settle_s`` (the
    paper's protocol: the same 30 min). Runs recorded with older parameters reach the experiment in these
    (:func:`neurram_lab.runlog.migrate.current_parameters`).
    """
    settle_s = number("settle_s", settle_s, 0.0, MAX_SETTLE_S, "seconds")
    calibration = choice("calibration", calibration, CALIBRATIONS)
    if inference_wait_s is None:
        return settle_s, calibration, settle_s
    return settle_s, calibration, number("inference_wait_s", inference_wait_s, 0.0, MAX_SETTLE_S, "seconds")


def protocol_parameters(settle_s: float, calibration: str, inference_wait_s: float, given_wait_s) -> dict:
    """The protocol's entries of a deploy run's recorded parameters: ``settle_s``, ``calibration`` and, when the
    caller gave one (``given_wait_s`` not None), ``inference_wait_s``."""
    return {"settle_s": settle_s, "calibration": calibration,
            **({} if given_wait_s is None else {"inference_wait_s": inference_wait_s})}


def add_data_arguments(parser, model_help: str | None = None) -> None:
    """``--model FILE`` (when ``model_help`` says what it is and its default) and ``--data DIR`` (MNIST)."""
    if model_help is not None:
        parser.add_argument("--model", default=None, help=model_help)
    parser.add_argument("--data", default=None, help="directory of the MNIST IDX files "
                        "(default: $NEURRAM_DATA/mnist or $NEURRAM_SHARED/datasets/mnist)")


def calibration_modes(calibration: str) -> list[tuple[str, bool]]:
    """(name, per_column) of each calibration a run measures, the headline first."""
    return [(m, m == "per-column") for m in (("paper", "per-column") if calibration == "both" else (calibration,))]


def is_run_specific(key: str) -> bool:
    """True for a summary key that is not a result: a wall time (``wall_s``, ``*_wall_s``) or a written path.

    Paths are ``figure``, ``figures`` and ``*_file``, file sizes ``*_file_bytes``. ``neurram replay``
    compares every other key of a summary with the recorded one.
    """
    return key in ("wall_s", "figure", "figures") or key.endswith(("_wall_s", "_file", "_file_bytes"))


def run_and_report(ctx, run, report, **params) -> dict:
    """An experiment command's body: open the board it names, ``run(board, out, progress=..., **params)``,
    print ``report(summary, board_spec)``; returns the summary."""
    with ctx.open_board() as board:
        summary = run(board, ctx.out, progress=ctx.progress, **params)
    ctx.say(report(summary, board.spec))
    return summary


def finish_run(log, summary: dict, t0: float, draw) -> dict:
    """Draw the run's figure (``draw(path)``) beside its run file, add ``figure`` and ``wall_s`` (since
    ``t0``, a ``time.perf_counter()``) to the summary and close the run log as a success; returns the summary
    (a :class:`~neurram_lab.runlog._html.RunSummary`: a dict that shows in Jupyter as a table and the figure)."""
    fig = figure_path(log.path)
    draw(fig)
    summary["figure"] = str(fig)
    summary["wall_s"] = time.perf_counter() - t0
    log.close("success", summary)
    return RunSummary(summary)


def figure_path(run_file: Path, suffix: str = "") -> Path:
    """PNG path next to a run file."""
    return run_file.with_name(run_file.stem + (f"-{suffix}" if suffix else "") + ".png")


class _Figures:
    """``subplots`` / ``close`` as in pyplot, on plain :class:`matplotlib.figure.Figure` objects.

    The figures never go through pyplot, so drawing one leaves matplotlib's
    backend, pyplot's figure list and an interactive session (a notebook)
    untouched; ``fig.savefig("x.png")`` renders with Agg by itself.
    """

    _FIGURE_KW = ("figsize", "dpi", "layout", "facecolor", "edgecolor", "frameon")

    def subplots(self, nrows: int = 1, ncols: int = 1, **kw):
        from matplotlib.figure import Figure

        fig = Figure(**{k: kw.pop(k) for k in self._FIGURE_KW if k in kw})
        return fig, fig.subplots(nrows, ncols, **kw)

    @staticmethod
    def close(fig) -> None:
        fig.clear()

    def save(self, fig, path) -> None:
        """Write ``fig`` to ``path`` (90 dpi, the experiments' figures) and close it."""
        fig.savefig(path, dpi=90)
        self.close(fig)


def pyplot() -> _Figures:
    """A pyplot-like figure factory that never selects a backend (see :class:`_Figures`)."""
    return _Figures()


def progress_callback(progress, total: int, desc: str):
    """Turn an experiment's ``progress`` (a ``progress(total, desc)`` bar factory, True, False, or None: a
    notebook bar inside Jupyter, see :func:`neurram_lab._progress.bar_factory`) into ``(tick(n_done), close())``."""
    progress = bar_factory(progress)
    bar = progress(total, desc) if progress else None
    last = [0]

    def tick(done: int) -> None:
        if bar is not None:
            bar.update(done - last[0])
            last[0] = done

    def close() -> None:
        if bar is not None:
            bar.close()

    return tick, close
