"""The live view of a run (``neurram watch RUN.h5``): a local web page that follows a run file as it grows.

- :mod:`._snapshot`: :class:`Follower`, one JSON-able snapshot of the file per poll (SWMR reader);
- :mod:`._figures`: the figures (plotly figure dicts) each kind of run gets;
- :mod:`._page`: the page and its script (plotly.js, served locally);
- :mod:`._server`: :class:`WatchServer`, the poller thread and the HTTP server on 127.0.0.1.

Imports h5py, pandas and (for the page's script) plotly on use; nothing in the package imports it.
"""

from ._server import DEFAULT_PORT, DEFAULT_REFRESH_S, WatchServer, check_port, check_run_file
from ._snapshot import Follower

__all__ = ["WatchServer", "Follower", "check_port", "check_run_file", "DEFAULT_PORT", "DEFAULT_REFRESH_S"]
