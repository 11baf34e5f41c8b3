"""FrontPanel call traces: one JSON object per call, as JSON lines.

A trace is what the driver would send to a real XEM6310, in order. The
FrontPanel call layer hands each call to its observers as a record such as
``{"op": "SetWireInValue", "ep": 1, "value": 3, "mask": 4294967295, "board_op": "rails"}``
(keys: ``op``; ``ep`` as a decimal int; ``value``/``mask`` for wires, ``bit``
for triggers, ``bytes`` for pipes; ``board_op``, the Board operation the call
belongs to). :class:`TraceWriter` is such an observer: it writes the records
as JSON lines to a file (``hil://?trace=FILE.jsonl``, ``okusb://...?trace=``);
:func:`read_trace` / :func:`iter_trace` read them back.

The writer buffers whole lines and writes them in blocks, so an interrupted
run leaves a file of whole lines (the block being written when the process
is killed outright may be cut; :func:`iter_trace` skips a cut last line).
It flushes every ``flush_every`` records, on :meth:`TraceWriter.close` and at
interpreter exit.
"""

from __future__ import annotations

import atexit
import json
import os
from collections.abc import Iterator
from pathlib import Path

from neurram_lab.errors import InputError

FLUSH_EVERY = 4096  # records per block written to the file


class TraceWriter:
    """Observer writing each FrontPanel call record as one JSON line.

    Parameters
    ----------
    path : str or path-like
        The ``.jsonl`` file (created or truncated; parent folders are made).
    flush_every : int
        Records kept in memory before a block of whole lines is written.

    Attributes
    ----------
    path : pathlib.Path
    records : int
        Records received so far.
    """

    def __init__(self, path, flush_every: int = FLUSH_EVERY):
        if int(flush_every) < 1:
            raise InputError(f"flush_every must be >= 1, got {flush_every!r}")
        self.path = Path(os.fspath(path))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "w", encoding="utf-8")
        self._lines: list[str] = []
        self._flush_every = int(flush_every)
        self.records = 0
        atexit.register(self.close)

    def __call__(self, record: dict) -> None:
        """Take one call record (the observer interface)."""
        self._lines.append(json.dumps(record, separators=(",", ":"), default=_plain))
        self.records += 1
        if len(self._lines) >= self._flush_every:
            self.flush()

    def flush(self) -> None:
        """Write the buffered records as whole lines and flush the file."""
        if self._file is None:
            return
        if self._lines:
            self._file.write("\n".join(self._lines) + "\n")
            self._lines.clear()
        self._file.flush()

    @property
    def closed(self) -> bool:
        return self._file is None

    def close(self) -> None:
        """Flush and close the file (idempotent)."""
        if self._file is None:
            return
        try:
            self.flush()
        finally:
            self._file.close()
            self._file = None
            atexit.unregister(self.close)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"TraceWriter({str(self.path)!r}, records={self.records}, {'closed' if self.closed else 'open'})"


def _plain(obj):
    """JSON form of values json does not know (numpy integers and floats; anything else as text)."""
    for cast in (int, float):
        try:
            v = cast(obj)
        except (TypeError, ValueError):
            continue
        if v == obj:
            return v
    return str(obj)


def iter_trace(path) -> Iterator[dict]:
    """Yield the records of trace file ``path`` in order.

    A last line cut by an interrupted run (no newline, not valid JSON) is
    skipped; a bad line elsewhere raises :class:`InputError` naming the line.
    """
    p = Path(os.fspath(path))
    if not p.is_file():
        raise InputError(f"trace file {str(p)!r} does not exist")
    with open(p, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            text = line.strip()
            if not text:
                continue
            try:
                rec = json.loads(text)
            except json.JSONDecodeError:
                if not line.endswith("\n"):  # the last line, cut by an interrupted run
                    return
                raise InputError(f"{p}: line {n} is not a JSON object: {text[:80]!r}") from None
            if not isinstance(rec, dict) or "op" not in rec:
                raise InputError(f"{p}: line {n} is not a FrontPanel call record (no 'op'): {text[:80]!r}")
            yield rec


def read_trace(path, as_frame: bool = False):
    """All records of trace file ``path``: a list of dicts, or a pandas DataFrame with ``as_frame``."""
    records = list(iter_trace(path))
    if not as_frame:
        return records
    import pandas as pd

    return pd.DataFrame.from_records(records)
