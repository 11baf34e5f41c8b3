"""One HDF5 file per run, written in SWMR mode so a crash never leaves it unreadable.

Layout (format version 1)::

    /                       attrs: neurram_format_version, uid, experiment,
                                   parameters_json, software_version,
                                   board_json (info, rails, limits, twin params, seed),
                                   start_time_unix_s, start_time_iso
    /run/stop_json          uint8, grows once: the stop record as UTF-8 JSON
                            (status, stop time, summary); empty while running
    /tables/<name>/<col>    chunked, resizable 1-D columns; attrs ``units``
    /tables/<name>          attrs ``columns`` (order)
    /run/checks/<col>       after every append, per column: table, column
                            (indices in declaration order), rows, crc (CRC-32
                            of the column's rows so far)
    /journal/...            every Board call of the run (see :mod:`neurram_lab.runlog.journal`)

HDF5's SWMR mode forbids creating objects once it is on, so every table is
declared when the run starts; then rows are appended and flushed as the run
goes. A second process may open the file with ``swmr=True`` and follow it.
A file whose stop record is missing (or torn) reads back as ``interrupted``.
Table columns, the journal and the record strings (``record_crc32``) carry
CRC-32s, so a damaged file raises :class:`RunLogError` rather than reading back
wrong; an interrupted file reads back up to its last intact append. (No HDF5
filters on appended data: a writer killed while HDF5 rewrites a filtered chunk
can leave the chunk unreadable, flushed rows included.) Once in SWMR mode HDF5 marks the superblock, so a second
writer is refused while the first runs (and after it was killed, until
``h5clear -s``), whatever ``HDF5_USE_FILE_LOCKING`` says; SWMR readers may
follow it.
"""

from __future__ import annotations

import ctypes
import datetime as _dt
import json
import os
import time
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from . import journal as _journal
from .._validate import dtype as as_dtype
from .._validate import json_able, path_like
from .._validate import text as as_text
from ..errors import InputError, RunLogError

FORMAT_VERSION = 4
READABLE_VERSIONS = (1, 2, 3, 4)  # 1: no journal; 2: no deflated arrays (store z); 3: MVM inputs kept whole
STATUSES = ("success", "failed", "aborted")
_CHUNK = 4096
_CHECK_COLUMNS = {"table": "u2", "column": "u2", "rows": "i8", "crc": "u4"}


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
            as_dtype(f"tables[{tname!r}][{cname!r}] dtype", v.dtype)
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
            f.attrs["record_crc32"] = np.uint32(_record_crc(texts))
            run = f.create_group("run")
            run.create_dataset("stop_json", shape=(0,), maxshape=(None,), dtype="u1", chunks=(_CHUNK,))
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
        arrays = {c: np.atleast_1d(np.asarray(v)) for c, v in columns.items()}
        n = max(a.size for a in arrays.values())
        arrays = {c: np.broadcast_to(a.ravel(), (n,)) if a.size == 1 else a.ravel() for c, a in arrays.items()}
        if any(a.size != n for a in arrays.values()):
            raise RunLogError(f"columns of {table!r} have unequal lengths {[a.size for a in arrays.values()]}")
        self.journal.write_pending()  # the board calls that produced these rows go in first
        start = self._lengths[table]
        g = self._f["tables"][table]
        for cname, a in arrays.items():
            ds = g[cname]
            ds.resize((start + n,))
            stored = np.ascontiguousarray(a.astype(ds.dtype, copy=False))
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
        """Write the stop record and close the file."""
        if self._closed:
            return
        if status not in STATUSES:
            raise RunLogError(f"status {status!r} is not one of {STATUSES}")
        self.journal.close()
        t1 = time.time()
        stop = {"status": status, "stop_time_unix_s": t1, "stop_time_iso": _iso(t1), "summary": summary or {}, "error": error}
        raw = np.frombuffer(to_json(stop).encode("utf-8"), np.uint8)
        ds = self._f["run"]["stop_json"]
        ds.resize((raw.size,))
        ds[:] = raw
        self._f.flush()
        self._f.close()
        self._closed = True

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


_RECORD_TEXTS = ("uid", "experiment", "parameters_json", "software_version", "board_json", "start_time_iso")


def _record_crc(texts: dict) -> int:
    return zlib.crc32("\x00".join(texts[k] for k in _RECORD_TEXTS).encode("utf-8"))


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
@dataclass
class Run:
    """A run file read back.

    Attributes
    ----------
    path : Path
    record : dict
        uid, experiment, parameters, software_version, board, start/stop
        times, status (``success``/``failed``/``aborted``/``interrupted``),
        summary, error.
    tables : dict of str -> pandas.DataFrame
        Each table, columns cut to the rows every column has (a crash between
        two column writes leaves no ragged row). ``df.attrs["units"]`` maps
        column to units.
    journal : Journal or None
        The board calls (``read_run(..., journal=True)``), see :mod:`neurram_lab.runlog.journal`.
    """

    path: Path
    record: dict
    tables: dict = field(default_factory=dict)
    journal: object = None
    has_journal: bool = False

    @property
    def status(self) -> str:
        return self.record["status"]


def read_run(path, tables: bool = True, journal: bool = False) -> Run:
    """Open a run file (also while it is being written) and read it.

    ``journal=True`` also reads the journal of board calls into ``Run.journal``.

    Raises
    ------
    RunLogError
        Not an HDF5 file, not a run log, an unknown format version, or damaged.
    """
    p = path_like("path", path)
    if not p.exists():
        raise RunLogError(f"no run file at {p}")
    try:
        f = _open_reader(p)
    except RunLogError:
        raise
    except Exception as exc:  # noqa: BLE001 - h5py raises OSError or RuntimeError on a damaged superblock
        raise RunLogError(f"{p} is not a readable HDF5 run file ({exc})") from exc
    try:
        with f:
            run = _read_open(p, f, tables)
            run.has_journal = "journal" in f
            if journal:
                run.journal = _journal.read_journal_open(f, complete=run.status != "interrupted")
            return run
    except RunLogError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever a damaged file makes h5py or json raise
        raise RunLogError(f"{p} is damaged: {type(exc).__name__}: {exc}") from exc


# An SWMR reader retries a metadata read that fails its checksum (the writer may
# be rewriting it) with exponential back-off; HDF5's default of 100 attempts
# takes hours on a damaged file. 24 attempts take well under 0.1 s.
SWMR_READ_ATTEMPTS = 24


def _open_reader(p: Path) -> h5py.File:
    """Open a run file as an SWMR reader with a bounded number of metadata read attempts."""
    setter = _read_attempts_setter()
    if setter is None:
        return h5py.File(p, "r", libver="latest", swmr=True)
    from h5py._hl.files import make_fapl  # the file-access list h5py.File would use (a writer in this process has it)

    fapl = make_fapl(None, libver="latest")
    setter(ctypes.c_int64(fapl.id), ctypes.c_uint(SWMR_READ_ATTEMPTS))
    fid = h5py.h5f.open(os.fsencode(p), h5py.h5f.ACC_RDONLY | h5py.h5f.ACC_SWMR_READ, fapl=fapl)
    f = h5py.File(fid)
    expected = f.id.get_filesize()
    actual = os.path.getsize(p)
    if actual < expected:
        f.close()
        raise RunLogError(f"{p} is truncated: {actual} bytes where HDF5 expects {expected}")
    return f


_SETTER: list = []


def _read_attempts_setter():
    """``H5Pset_metadata_read_attempts`` of the HDF5 library h5py uses (h5py does not wrap it), or None."""
    if not _SETTER:
        fn = None
        try:
            with open("/proc/self/maps") as maps:
                libs = sorted({ln.split()[-1] for ln in maps if "libhdf5" in ln and "libhdf5_hl" not in ln})
            for lib in libs:
                cand = getattr(ctypes.CDLL(lib), "H5Pset_metadata_read_attempts", None)
                if cand is not None:
                    cand.restype = ctypes.c_int
                    fn = cand
                    break
        except OSError:  # not Linux: readers keep HDF5's default attempts
            fn = None
        _SETTER.append(fn)
    return _SETTER[0]


def _read_open(p: Path, f: h5py.File, want_tables: bool) -> Run:
    if "neurram_format_version" not in f.attrs:
        raise RunLogError(f"{p} is an HDF5 file but not a neurram run log (no format version)")
    version = int(f.attrs["neurram_format_version"])
    if version not in READABLE_VERSIONS:
        raise RunLogError(f"{p} has run-log format version {version}; this software reads versions {READABLE_VERSIONS}")
    a = f.attrs
    if "record_crc32" in a:
        texts = {k: _s(a[k]) for k in _RECORD_TEXTS}
        if int(a["record_crc32"]) != _record_crc(texts):
            raise RunLogError(f"{p} is damaged: its run record does not match its checksum")
    record = {
        "uid": _s(a["uid"]),
        "experiment": _s(a["experiment"]),
        "parameters": json.loads(_s(a["parameters_json"])),
        "software_version": _s(a["software_version"]),
        "board": json.loads(_s(a["board_json"])),
        "start_time_unix_s": float(a["start_time_unix_s"]),
        "start_time_iso": _s(a["start_time_iso"]),
    }
    stop = None
    ds = f["run"]["stop_json"]
    ds.refresh()
    if ds.shape[0]:
        try:
            stop = json.loads(bytes(ds[:]).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            stop = None  # torn stop record: the writer died while writing it
    if stop is None:
        record.update(status="interrupted", stop_time_unix_s=None, stop_time_iso=None, summary={}, error=None)
    else:
        record.update(stop)
    out = {}
    checks = _read_checks(f) if want_tables else {}
    checks = {t: checks.get(t, {}) for t in f["tables"]} if checks.pop("__present__", False) else {}
    if want_tables:
        for tname, g in f["tables"].items():
            out[tname] = _read_table(g, checks.get(tname), record["status"] != "interrupted", p)
    return Run(p, record, out)


def _read_checks(f: h5py.File) -> dict:
    """``{table name: {column name: [(rows, crc), ...]}}`` from /run/checks (empty for format 1)."""
    if "checks" not in f["run"]:
        return {}
    cols = {}
    for c in _CHECK_COLUMNS:
        ds = f["run"]["checks"][c]
        ds.refresh()
        cols[c] = ds
    n = min(ds.shape[0] for ds in cols.values())
    arr = {c: ds[:n] for c, ds in cols.items()}
    names = list(f["tables"])
    order = {t: json.loads(_s(f["tables"][t].attrs["columns"])) for t in names}
    declared = [t for t in sorted(names, key=lambda t: f["tables"][t].attrs.get("index", 0))]
    out: dict = {}
    for t_i, c_i, rows, crc in zip(arr["table"], arr["column"], arr["rows"], arr["crc"]):
        if t_i >= len(declared) or c_i >= len(order[declared[t_i]]):
            continue
        t = declared[t_i]
        out.setdefault(t, {}).setdefault(order[t][c_i], []).append((int(rows), int(crc)))
    return {"__present__": True, **out}


def _read_table(g: h5py.Group, checks, complete: bool, p: Path) -> pd.DataFrame:
    names = json.loads(_s(g.attrs["columns"]))
    cols = {}
    for n in names:
        g[n].refresh()
        cols[n] = g[n]
    length = min((c.shape[0] for c in cols.values()), default=0)
    data = {n: c[:length] for n, c in cols.items()}
    if checks is not None:
        length = min((_verified_rows(data[n], checks.get(n, []), complete, p, g.name, n) for n in names), default=0)
    df = pd.DataFrame({n: d[:length] for n, d in data.items()})
    df.attrs["units"] = {n: _s(c.attrs.get("units", "")) for n, c in cols.items()}
    return df


def _verified_rows(values: np.ndarray, checks: list, complete: bool, p: Path, table: str, column: str) -> int:
    """Rows of ``values`` that match the column's appended CRCs; damage raises in a finished run."""
    crc, done, good = 0, 0, 0
    for rows, want in checks:
        if rows < done or rows > values.size:
            break
        crc = zlib.crc32(np.ascontiguousarray(values[done:rows]), crc)
        done = rows
        if crc != want:
            break
        good = rows
    if complete and (good != values.size or (checks and good != checks[-1][0])):
        raise RunLogError(f"{p} is damaged: column {table}/{column} fails its CRC-32 after row {good} of {values.size}")
    return good


def _s(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)
