"""One HDF5 file per run, written in SWMR mode so a crash never leaves it unreadable.

Layout (format version 5; docs/runlog.md)::

    /                       attrs: neurram_format_version, uid, experiment,
                                   parameters_json, software_version,
                                   board_json (info, rails, limits, twin params, seed),
                                   start_time_unix_s, start_time_iso,
                                   record_crc32 (of the record strings),
                                   layout_crc32 (tables, column order, dtypes, units, start time)
    /run/stop_json          uint8, grows once: the stop record as UTF-8 JSON
                            (status, stop time, summary, error, seal: the rows,
                            checks and journal lengths the file holds); empty while running
    /run/stop_crc32         uint32, grows once, after the stop record: its CRC-32
    /tables/<name>/<col>    chunked, resizable 1-D columns; attrs ``units``
    /tables/<name>          attrs ``columns`` (order), ``index``
    /run/checks/<col>       after every append, per column: table, column
                            (indices in declaration order), rows, crc (CRC-32
                            of the column's rows so far)
    /journal/...            every Board call of the run (see :mod:`neurram_lab.runlog.journal`)

HDF5's SWMR mode forbids creating objects once it is on, so every table is
declared when the run starts; then rows are appended and flushed as the run
goes. A second process may open the file with ``swmr=True`` and follow it.
A file without a stop record (or whose writer stopped before the record's
CRC) reads back as ``interrupted``. Every part carries a CRC-32, and a file's
format version names the parts it must have, so a damaged file raises
:class:`~neurram_lab.errors.RunLogDamaged` rather than reading back wrong
(:mod:`._read`); an interrupted file reads back up to its last intact append.
(No HDF5 filters on appended data: a writer killed while HDF5 rewrites a
filtered chunk can leave the chunk unreadable, flushed rows included.) Once in
SWMR mode HDF5 marks the superblock, so a second writer is refused while the
first runs (and after it was killed, until ``h5clear -s``), whatever
``HDF5_USE_FILE_LOCKING`` says; SWMR readers may follow it.
"""

from __future__ import annotations

import datetime as _dt
import json
import time
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from . import journal as _journal
from ._fit import column_values
from ._format import CHECK_COLUMNS as _CHECK_COLUMNS
from ._format import FORMAT_VERSION, READABLE_VERSIONS, STATUSES, layout_crc, record_crc, stop_crc
from ..validate import dtype as as_dtype
from ..validate import json_able, path_like
from ..validate import text as as_text
from ..errors import InputError, RunLogError

_CHUNK = 4096


def software_version() -> str:
    """Installed neurram-lab version (or ``"unknown"``)."""
    try:
        from importlib.metadata import version

        return version("neurram-lab")
    except Exception:  # noqa: BLE001 - not installed: running from a checkout
        return "unknown"


@dataclass
class Column:
    """A table column: numpy dtype string and units (``""`` for pure numbers)."""

    dtype: str
    units: str = ""


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.bool_,)):
        return bool(o)
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON-able: {type(o).__name__}")


def to_json(obj) -> str:
    """JSON with numpy scalars and arrays turned into plain values."""
    return json.dumps(obj, default=_json_default, sort_keys=True)


def _table_specs(tables) -> dict:
    """``tables`` checked before a file is made: table name -> column name -> Column with a numpy dtype."""
    if not isinstance(tables, dict):
        raise InputError(f"tables must be a dict of table name -> columns, got {type(tables).__name__}")
    specs = {}
    for tname, cols in tables.items():
        as_text("table name", tname)
        if not isinstance(cols, dict):
            raise InputError(f"tables[{tname!r}] must be a dict of column name -> Column or (dtype, units), "
                             f"got {type(cols).__name__}")
        spec = {}
        for cname, v in cols.items():
            as_text(f"tables[{tname!r}] column name", cname)
            if not isinstance(v, Column):
                if not isinstance(v, (tuple, list)) or not 1 <= len(v) <= 2:
                    raise InputError(f"tables[{tname!r}][{cname!r}] must be a Column or (dtype, units), got {v!r}")
                v = Column(*v)
            dt = as_dtype(f"tables[{tname!r}][{cname!r}] dtype", v.dtype)
            if dt.kind not in "biufS":  # what an HDF5 column stores: numbers, booleans, fixed-size bytes
                raise InputError(f"tables[{tname!r}][{cname!r}] dtype {dt.str!r} cannot be a run-file column: "
                                 "use a number, bool or fixed-size bytes dtype ('f8', 'i4', 'u1', '?', 'S16')")
            as_text(f"tables[{tname!r}][{cname!r}] units", v.units, nonempty=False)
            spec[cname] = v
        specs[tname] = spec
    return specs


class RunLog:
    """Writer of one run file.

    Parameters
    ----------
    path : str or Path
        File to create; must not exist.
    experiment : str
        Experiment name (``"demo"``, ``"characterize-write-verify"`` ...).
    parameters : dict
        Everything needed to run it again (JSON-able).
    tables : dict of str -> dict of str -> Column or (dtype, units)
        Every table the run will append to, declared up front.
    board_snapshot : dict, optional
        ``Board.snapshot()`` at start.
    """

    def __init__(self, path, experiment: str, parameters: dict, tables: dict, board_snapshot: dict | None = None):
        self.path = path_like("path", path)
        experiment = as_text("experiment", experiment)
        if not isinstance(parameters, dict):
            raise InputError(f"parameters must be a dict, got {type(parameters).__name__}")
        parameters_json = json_able("parameters", parameters, to_json)
        board_json = json_able("board_snapshot", board_snapshot or {}, to_json)
        specs = _table_specs(tables)
        if self.path.exists():
            raise RunLogError(f"run file {self.path} already exists{_writer_note(self.path)}; runs never overwrite each other")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.uid = uuid.uuid4().hex
        self.experiment = experiment
        self._t0 = time.time()
        self._columns: dict[str, dict[str, Column]] = {}
        self._lengths: dict[str, int] = {}
        self._table_index = {name: i for i, name in enumerate(tables)}
        self._crcs: dict[tuple, int] = {}  # (table, column) -> CRC-32 of all its rows so far
        self._n_checks = 0
        try:
            f = h5py.File(self.path, "w-", libver="latest")
        except OSError as exc:
            raise RunLogError(f"cannot create run file {self.path}: {exc}") from exc
        self._f = f
        try:
            f.attrs["neurram_format_version"] = FORMAT_VERSION
            texts = {"uid": self.uid, "experiment": experiment, "parameters_json": parameters_json,
                     "software_version": software_version(), "board_json": board_json,
                     "start_time_iso": _iso(self._t0)}
            for key, text in texts.items():
                f.attrs[key] = text
            f.attrs["start_time_unix_s"] = self._t0
            # strings live in HDF5's global heap, which has no checksum of its own
            f.attrs["record_crc32"] = np.uint32(record_crc(texts))
            layout = [(t, i, [(c, np.dtype(col.dtype).str, col.units) for c, col in spec.items()])
                      for i, (t, spec) in enumerate(specs.items())]
            # units and column order are strings in the global heap too; the start time is not in the record CRC
            f.attrs["layout_crc32"] = np.uint32(layout_crc(layout, self._t0))
            run = f.create_group("run")
            run.create_dataset("stop_json", shape=(0,), maxshape=(None,), dtype="u1", chunks=(_CHUNK,))
            # the stop record's CRC-32, written after the record itself: a file with a record and no CRC
            # is one whose writer stopped while closing (interrupted), a mismatch is damage
            run.create_dataset("stop_crc32", shape=(0,), maxshape=(None,), dtype="u4", chunks=(16,))
            checks = run.create_group("checks")
            for cname, dt in _CHECK_COLUMNS.items():
                checks.create_dataset(cname, shape=(0,), maxshape=(None,), dtype=dt, chunks=(_CHUNK,))
            tg = f.create_group("tables")
            for tname, spec in specs.items():
                g = tg.create_group(tname)
                g.attrs["index"] = len(self._columns)
                g.attrs["columns"] = json.dumps(list(spec))
                for cname, col in spec.items():
                    ds = g.create_dataset(cname, shape=(0,), maxshape=(None,), dtype=np.dtype(col.dtype), chunks=(_CHUNK,))
                    ds.attrs["units"] = col.units
                self._columns[tname] = spec
                self._lengths[tname] = 0
            _journal.declare(f)
            f.swmr_mode = True
            f.flush()
        except Exception:
            f.close()
            self.path.unlink(missing_ok=True)
            raise
        self._closed = False
        self.journal = _journal.JournalWriter(f["journal"], self.flush)

    # -------------------------------------------------------------- writing
    @property
    def declared_tables(self) -> dict[str, list[str]]:
        """The tables this run file declared, each with its column names."""
        return {t: list(cols) for t, cols in self._columns.items()}

    def append(self, table: str, flush: bool = True, **columns) -> None:
        """Append rows to ``table``: one equal-length array (or scalar) per column."""
        if self._closed:
            raise RunLogError(f"run file {self.path} is closed")
        if table not in self._columns:
            raise RunLogError(f"table {table!r} was not declared; declared: {sorted(self._columns)}")
        spec = self._columns[table]
        missing = set(spec) - set(columns)
        extra = set(columns) - set(spec)
        if missing or extra:
            raise RunLogError(f"table {table!r} needs columns {list(spec)}; missing {sorted(missing)}, unknown {sorted(extra)}")
        # every value checked against its column's dtype before anything is written
        arrays = {c: column_values(table, c, v, np.dtype(spec[c].dtype)) for c, v in columns.items()}
        n = max(a.size for a in arrays.values())
        if any(a.size not in (1, n) for a in arrays.values()):
            sizes = ", ".join(f"{c} {a.size}" for c, a in arrays.items())
            raise RunLogError(f"columns of table {table!r} have unequal lengths ({sizes}): give each column "
                              f"the same number of values, or one value for all rows")
        arrays = {c: np.broadcast_to(a, (n,)) if a.size == 1 else a for c, a in arrays.items()}
        self.journal.write_pending()  # the board calls that produced these rows go in first
        start = self._lengths[table]
        g = self._f["tables"][table]
        for cname, a in arrays.items():
            ds = g[cname]
            ds.resize((start + n,))
            stored = np.ascontiguousarray(a)
            ds[start:] = stored
            self._crcs[(table, cname)] = zlib.crc32(stored, self._crcs.get((table, cname), 0))
        self._lengths[table] = start + n
        t_index = self._table_index[table]
        check = {"table": np.full(len(spec), t_index), "column": np.arange(len(spec)), "rows": np.full(len(spec), start + n),
                 "crc": np.array([self._crcs[(table, c)] for c in spec], dtype=np.uint32)}
        cg = self._f["run"]["checks"]
        for cname, vals in check.items():
            ds = cg[cname]
            ds.resize((self._n_checks + vals.size,))
            ds[self._n_checks:] = vals
        self._n_checks += len(spec)
        if flush:
            self.flush()

    def flush(self) -> None:
        """Make everything appended so far (journal included) durable and visible to SWMR readers."""
        if not self._closed:
            self.journal.write_pending()
            self._f.flush()

    def close(self, status: str = "success", summary: dict | None = None, error: str | None = None) -> None:
        """Write the stop record (with its CRC-32) and close the file.

        The arguments are checked first: a status not in ``STATUSES``, a summary
        that is not a JSON-able dict, or an error that is not a string closes
        the file as ``failed`` with the problem as its error, then raises it.

        Raises
        ------
        InputError
            A bad status, summary or error (the file is closed as ``failed`` first).
        """
        if self._closed:
            return
        problem = None
        if status not in STATUSES:
            problem = InputError(f"status {status!r} is not one of {STATUSES}")
        elif summary is not None and not isinstance(summary, dict):
            problem = InputError(f"summary must be a dict of JSON-able values, got {type(summary).__name__}")
        elif error is not None and not isinstance(error, str):
            problem = InputError(f"error must be a string or None, got {type(error).__name__}")
        else:
            try:
                json_able("summary", summary or {}, to_json)
            except InputError as exc:
                problem = exc
        if problem is not None:
            given = f"; the run's own status was {status!r}" + (f" with error {error!r}" if error else "")
            status, summary, error = "failed", {}, f"{type(problem).__name__}: {problem}{given}"
        self.journal.close()
        t1 = time.time()
        seal = {"tables": dict(self._lengths), "checks": self._n_checks, **self.journal.lengths()}
        stop = {"status": status, "stop_time_unix_s": t1, "stop_time_iso": _iso(t1), "summary": summary or {},
                "error": error, "seal": seal}
        raw = np.frombuffer(to_json(stop).encode("utf-8"), np.uint8)
        run = self._f["run"]
        ds = run["stop_json"]
        ds.resize((raw.size,))
        ds[:] = raw
        self._f.flush()  # the record is on disk before its CRC: a CRC always covers a whole record
        ds = run["stop_crc32"]
        ds.resize((1,))
        ds[:] = np.array([stop_crc(raw)], np.uint32)
        self._f.flush()
        self._f.close()
        self._closed = True
        if problem is not None:
            raise problem

    @property
    def h5(self) -> h5py.File:
        """The open h5py file (for writers that add their own SWMR appends)."""
        return self._f

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close("success")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.close("aborted", error="KeyboardInterrupt")
        else:
            self.close("failed", error=f"{exc_type.__name__}: {exc}")
        return False


def _writer_note(path: Path) -> str:
    """A note when HDF5 says the file is open for (SWMR) writing; read-only check."""
    try:
        with h5py.File(path, "r", libver="latest"):
            return ""
    except OSError as exc:
        if "already open for write" in str(exc) or "unable to lock" in str(exc).lower():
            return " and is open for writing by another process (or its writer was killed)"
        return ""


def _iso(t: float) -> str:
    return _dt.datetime.fromtimestamp(t, _dt.timezone.utc).isoformat(timespec="seconds")


# ------------------------------------------------------------------ reading
from ._read import SWMR_READ_ATTEMPTS, Run, read_run  # noqa: E402,F401 - the reader's public names, here as before
