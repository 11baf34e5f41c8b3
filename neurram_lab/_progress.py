"""Progress bars: tqdm's ``auto`` form, a widget in a Jupyter notebook and text in a terminal.

:func:`progress_bar` is the bar factory the CLI and the experiments use
(``progress(total, desc)`` -> a tqdm bar); :func:`bar_factory` turns an
experiment's ``progress`` argument into one: a callable is used as given,
``True`` means :func:`progress_bar`, ``False`` no bar, and ``None`` (the
default) a bar only inside a Jupyter kernel, where a long run otherwise shows
nothing until it ends. Imports tqdm on first use.
"""

from __future__ import annotations

import sys

from .errors import InputError


def in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython's ZMQ shell), where ``tqdm.auto`` draws an ipywidgets bar."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # noqa: BLE001 - an IPython that cannot say: not a notebook
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def progress_bar(total: int, desc: str, unit: str = "it", disable: bool = False):
    """A ``tqdm.auto`` bar of ``total`` steps: the notebook widget in Jupyter, text in a terminal.

    A notebook keeps the finished bar (``leave=True``); a terminal clears it.
    """
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=disable, leave=in_notebook())


def bar_factory(progress):
    """The ``progress(total, desc)`` bar factory an experiment's ``progress`` argument asks for, or None.

    Raises
    ------
    InputError
        ``progress`` is neither None, a boolean nor callable.
    """
    if progress is None:
        return progress_bar if in_notebook() else None
    if progress is True:
        return progress_bar
    if progress is False:
        return None
    if not callable(progress):
        raise InputError(f"progress must be None, True, False or a callable(total, desc), got {progress!r}")
    return progress
