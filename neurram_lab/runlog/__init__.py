"""The run log: HDF5 run files in SWMR mode, the journal of board calls, replay.

- :mod:`.runlog`: :class:`RunLog` (writing), :func:`read_run` / :class:`Run` (reading);
- :mod:`.verify`: :func:`verify_run`, every part of a file checked (``neurram verify``);
- :mod:`.journal` (with its value codec ``_journal_codec``): the journal of board calls in a run file;
- :mod:`.journal_board`: :class:`JournalBoard`, the board wrapper that journals every call, and
  :class:`JournalTimings` / :func:`timed_journal`, what journaling costs;
- :mod:`.replay`: :class:`ReplayBoard` (``replay://RUN.h5``), a logged run served back.

Imports h5py and pandas; ``import neurram_lab`` loads this package only when one of these is used.
"""

from .journal import Journal, JournalCall
from .journal_board import JournalBoard, JournalTimings, timed_journal
from .runlog import FORMAT_VERSION, Column, Run, RunLog, read_run
from .verify import verify_run

__all__ = ["RunLog", "Run", "read_run", "verify_run", "Column", "FORMAT_VERSION", "Journal", "JournalCall", "JournalBoard",
           "JournalTimings", "timed_journal", "ReplayBoard"]


def __getattr__(name):  # ReplayBoard on first use, as the registry opens it
    if name == "ReplayBoard":
        from .replay import ReplayBoard

        return ReplayBoard
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
