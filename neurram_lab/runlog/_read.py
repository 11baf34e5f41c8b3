"""Reading a run file back, every part it reads checked (:func:`read_run`, :class:`Run`).

Each part of a file (record, table layout, stop record, each table column,
the checks, the journal) is checked as it is read and gets a state:
``intact``, ``damaged``, ``missing`` (its format version requires it),
``not verifiable`` (an older format has no checksum for it) or
``interrupted`` (the stop record of a run whose writer never closed it). By
default the first damaged or missing part raises
:class:`~neurram_lab.errors.RunLogDamaged`; ``verify=False`` reads what can be
read and lists the damage in :attr:`Run.parts` and :attr:`Run.damage`.
"""

from __future__ import annotations

import ctypes
import json
import os
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from . import journal as _journal
from ._format import CHECK_COLUMNS, READABLE_VERSIONS, RECORD_TEXTS, STATUSES, layout_crc, record_crc, \
    required_parts, stop_crc, unverifiable_parts
from ..validate import path_like
from ..errors import RunLogDamaged, RunLogError
from .migrate import board_snapshot

INTACT, DAMAGED, MISSING, UNVERIFIABLE, INTERRUPTED = "intact", "damaged", "missing", "not verifiable", "interrupted"


@dataclass
class Run:
    """A run file read back.

    Attributes
    ----------
    path : Path
    record : dict
        uid, experiment, parameters, software_version, board, start/stop
        times, status (``success``/``failed``/``aborted``/``interrupted``;
        ``damaged`` when the stop record is, read with ``verify=False``), summary, error.
    tables : dict of str -> pandas.DataFrame
        Each table, columns cut to the rows every column has (a crash between
        two column writes leaves no ragged row). ``df.attrs["units"]`` maps
        column to units.
    journal : Journal or None
        The board calls (``read_run(..., journal=True)``), see :mod:`neurram_lab.runlog.journal`.
    format_version : int
    parts : dict of str -> dict
        Each part read: ``{"state": "intact" | "damaged" | "missing" | "not verifiable" | "interrupted",
        "detail": str}``.
    """

    path: Path
    record: dict
    tables: dict = field(default_factory=dict)
    journal: object = None
    has_journal: bool = False
    format_version: int = 0
    parts: dict = field(default_factory=dict)

    @property
    def status(self) -> str:
        return self.record["status"]

    @property
    def damage(self) -> list[str]:
        """``"part: check"`` for each damaged or missing part (empty unless read with ``verify=False``)."""
        return [f"{k}: {v['detail']}" for k, v in self.parts.items() if v["state"] in (DAMAGED, MISSING)]

    @property
    def fully_verifiable(self) -> bool:
        """False for a file of an older format, some of whose parts have no checksum."""
        return not any(v["state"] == UNVERIFIABLE for v in self.parts.values())

    def _repr_html_(self) -> str:
        """Jupyter's view: record, damage, summary, parameters and tables as HTML, the run's figure inline."""
        from ._html import run_html

        return run_html(self)


class _Report:
    """Per-part findings of one read; in strict mode the first damaged or missing part raises."""

    def __init__(self, path: Path, strict: bool):
        self.path, self.strict = path, strict
        self.parts: dict[str, dict] = {}

    def set(self, part: str, state: str, detail: str = "", row: int | None = None) -> None:
        old = self.parts.get(part)
        if old is not None and old["state"] in (DAMAGED, MISSING):
            return  # the first damage found in a part is the one reported
        if state in (DAMAGED, MISSING) and self.strict:
            raise RunLogDamaged(self.path, part, detail, row)
        self.parts[part] = {"state": state, "detail": detail} | ({"row": row} if row is not None else {})

    def bad(self, part: str, detail: str, row: int | None = None) -> None:
        self.set(part, DAMAGED, detail, row)

    def ok(self, part: str, detail: str = "") -> None:
        if part not in self.parts:
            self.parts[part] = {"state": INTACT, "detail": detail}

    @contextmanager
    def reading(self, part: str):
        """Whatever a damaged file makes h5py or json raise while reading ``part``: that part is damaged."""
        try:
            yield
        except RunLogError:
            raise
        except Exception as exc:  # noqa: BLE001 - h5py raises KeyError, OSError, RuntimeError, ValueError ...
            self.bad(part, f"unreadable ({type(exc).__name__}: {str(exc)[:200]})")


def read_run(path, tables: bool = True, journal: bool = False, verify: bool = True) -> Run:
    """Open a run file (also while it is being written) and read it, checking every part it reads.

    ``journal=True`` also reads (and checks) the journal of board calls into
    ``Run.journal``; without it the journal is only checked to have the
    lengths the stop record names. ``verify=False`` reads what can be read of
    a damaged file and says what is damaged in ``Run.parts`` / ``Run.damage``
    instead of raising. A file of an older format reads as before, its parts
    without checksums marked ``not verifiable``.

    Raises
    ------
    RunLogDamaged
        A part fails its check, or is missing although the file's format version requires it
        (only with ``verify=True``, or when nothing can be read).
    RunLogError
        Not an HDF5 file, not a run log, an unknown format version.
    """
    p = path_like("path", path)
    if not p.exists():
        raise RunLogError(f"no run file at {p}")
    report = _Report(p, verify)
    try:
        f = _open_reader(p, report)
    except RunLogError:
        raise
    except Exception as exc:  # noqa: BLE001 - h5py raises OSError or RuntimeError on a damaged superblock
        raise RunLogError(f"{p} is not a readable HDF5 run file ({exc})") from exc
    try:
        with f:
            return _read_open(p, f, tables, journal, report)
    except RunLogError:
        raise
    except Exception as exc:  # noqa: BLE001 - what a damaged file makes h5py raise outside any one part
        raise RunLogDamaged(p, "file", f"unreadable ({type(exc).__name__}: {str(exc)[:200]})") from exc


# An SWMR reader retries a metadata read that fails its checksum (the writer may
# be rewriting it) with exponential back-off; HDF5's default of 100 attempts
# takes hours on a damaged file. 24 attempts take well under 0.1 s.
SWMR_READ_ATTEMPTS = 24


def _open_reader(p: Path, report: _Report) -> h5py.File:
    """Open a run file as an SWMR reader with a bounded number of metadata read attempts."""
    setter = _read_attempts_setter()
    if setter is None:
        f = h5py.File(p, "r", libver="latest", swmr=True)
    else:
        from h5py._hl.files import make_fapl  # the file-access list h5py.File would use (a writer in this process has it)

        fapl = make_fapl(None, libver="latest")
        setter(ctypes.c_int64(fapl.id), ctypes.c_uint(SWMR_READ_ATTEMPTS))
        fid = h5py.h5f.open(os.fsencode(p), h5py.h5f.ACC_RDONLY | h5py.h5f.ACC_SWMR_READ, fapl=fapl)
        f = h5py.File(fid)
    expected = f.id.get_filesize()
    actual = os.path.getsize(p)
    if actual < expected:
        if report.strict:
            f.close()
        report.bad("file", f"truncated: {actual} bytes where HDF5 expects {expected}")
    else:
        report.ok("file", f"{actual} bytes")
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


def _read_open(p: Path, f: h5py.File, want_tables: bool, want_journal: bool, report: _Report) -> Run:
    version = _version(p, f, report)
    for part in unverifiable_parts(version):
        report.set(part, UNVERIFIABLE, f"format version {version} has no checksum for it")
    for h5path, part in required_parts(version).items():
        if h5path not in f:
            report.set(part, MISSING, f"/{h5path} missing (format version {version} has it)")
    record = _read_record(f, version, report)
    stop, seal = _read_stop(f, version, report)
    record.update(stop)
    stop_part = report.parts.get("stop record", {}).get("state")
    if stop_part in (DAMAGED, MISSING):  # (verify=False) the writer closed the file, but how is lost
        record["status"] = "damaged"
    complete = record["status"] != "interrupted"
    out, names = {}, None
    if "tables" in f:
        with report.reading("table layout"):
            names = _table_order(f)
        with report.reading("table layout"):
            if version >= 5:
                _check_layout(f, names, report)
    if names is not None:
        if seal is not None:
            _check_sealed_rows(f, names, seal, report)
        if want_tables:
            checks = _read_checks(f, names, version, report)
            for tname in names:
                out[tname] = _read_table(f["tables"][tname], tname, checks, complete, report)
    run = Run(p, record, out, format_version=version)
    run.has_journal = "journal" in f
    if run.has_journal and seal is not None:
        _check_sealed_journal(f, seal, report)
    if want_journal:
        run.journal = _read_journal(f, complete, report)
    run.parts = report.parts
    return run


def _version(p: Path, f: h5py.File, report: _Report) -> int:
    if "neurram_format_version" not in f.attrs:
        if "run" in f and "tables" in f:  # nothing can be read without the version
            raise RunLogDamaged(p, "record", "attribute neurram_format_version missing")
        raise RunLogError(f"{p} is an HDF5 file but not a neurram run log (no format version)")
    version = int(f.attrs["neurram_format_version"])
    if version not in READABLE_VERSIONS:
        raise RunLogError(f"{p} has run-log format version {version}; this software reads versions {READABLE_VERSIONS}")
    return version


_EMPTY_RECORD = {"uid": None, "experiment": None, "parameters": {}, "software_version": None, "board": {},
                 "start_time_unix_s": None, "start_time_iso": None}


def _read_record(f: h5py.File, version: int, report: _Report) -> dict:
    a = f.attrs
    record = dict(_EMPTY_RECORD)
    with report.reading("record"):
        texts = {k: _s(a[k]) for k in RECORD_TEXTS if k in a}
        absent = [k for k in (*RECORD_TEXTS, "start_time_unix_s") if k not in a]
        if absent:
            report.set("record", MISSING, f"attribute {absent[0]} missing")
        if "record_crc32" in a:
            if not absent and int(a["record_crc32"]) != record_crc(texts):
                report.bad("record", "the record strings do not match their CRC-32")
        elif version >= 2:
            report.set("record", MISSING, "attribute record_crc32 missing")
        else:
            report.set("record", UNVERIFIABLE, "format version 1 has no checksum for it")
        record.update({k: v for k, v in (("uid", texts.get("uid")), ("experiment", texts.get("experiment")),
                                          ("software_version", texts.get("software_version")),
                                          ("start_time_iso", texts.get("start_time_iso"))) if v is not None})
        if "start_time_unix_s" in a:
            record["start_time_unix_s"] = float(a["start_time_unix_s"])
        if "parameters_json" in texts:
            record["parameters"] = json.loads(texts["parameters_json"])
        if "board_json" in texts:
            record["board"] = board_snapshot(json.loads(texts["board_json"]))  # the board's current kind
        report.ok("record")
    return record


_NO_STOP = {"status": "interrupted", "stop_time_unix_s": None, "stop_time_iso": None, "summary": {}, "error": None}


def _read_stop(f: h5py.File, version: int, report: _Report) -> tuple[dict, dict | None]:
    """The stop record (``interrupted`` when there is none) and, in format 5, its seal."""
    part = "stop record"
    run = f["run"] if "run" in f else {}
    if "stop_json" not in run:
        report.set(part, MISSING, "/run/stop_json missing")
        return dict(_NO_STOP), None
    with report.reading(part):
        ds = run["stop_json"]
        ds.refresh()
        raw = ds[:]
        if version < 5:
            return _old_stop(raw), None
        if "stop_crc32" not in run:
            report.set(part, MISSING, "/run/stop_crc32 missing")
            return dict(_NO_STOP), None
        cds = run["stop_crc32"]
        cds.refresh()
        crcs = cds[:]
        if crcs.size == 0:
            report.set(part, INTERRUPTED, "no stop record: the writer never closed the file" if raw.size == 0 else
                       "the writer stopped while closing the file (stop record without its CRC-32)")
            return dict(_NO_STOP), None
        if crcs.size != 1 or int(crcs[0]) != stop_crc(raw):
            report.bad(part, f"the stop record ({raw.size} bytes) does not match its CRC-32")
            return dict(_NO_STOP), None
        stop = json.loads(bytes(raw).decode("utf-8"))
        seal = stop.pop("seal", None) if isinstance(stop, dict) else None
        if not isinstance(seal, dict) or stop.get("status") not in STATUSES:
            report.bad(part, "the stop record matches its CRC-32 but lacks a status or seal")
            return dict(_NO_STOP), None
        report.ok(part)
        return {**_NO_STOP, **stop}, seal
    return dict(_NO_STOP), None


def _old_stop(raw: np.ndarray) -> dict:
    """A format 1-4 stop record: no checksum; empty or torn reads as interrupted."""
    if raw.size:
        try:
            stop = json.loads(bytes(raw).decode("utf-8"))
            if isinstance(stop, dict):
                return {**_NO_STOP, **stop}
        except (UnicodeDecodeError, json.JSONDecodeError):
            pass  # torn stop record: the writer died while writing it
    return dict(_NO_STOP)


def _table_order(f: h5py.File) -> list[str]:
    g = f["tables"]
    return sorted(g, key=lambda t: int(g[t].attrs.get("index", 0)))


def _check_layout(f: h5py.File, names: list[str], report: _Report) -> None:
    if "layout_crc32" not in f.attrs:
        report.set("table layout", MISSING, "attribute layout_crc32 missing")
        return
    layout = []
    for t in names:
        g = f["tables"][t]
        cols = [(c, g[c].dtype.str, _s(g[c].attrs["units"])) for c in json.loads(_s(g.attrs["columns"]))]
        layout.append((t, int(g.attrs["index"]), cols))
    if int(f.attrs["layout_crc32"]) != layout_crc(layout, float(f.attrs["start_time_unix_s"])):
        report.bad("table layout", "the tables, column order, dtypes, units and start time do not match their CRC-32")
    else:
        report.ok("table layout")


def _check_sealed_rows(f: h5py.File, names: list[str], seal: dict, report: _Report) -> None:
    """A closed format-5 file holds the tables and checks its stop record names, at their lengths."""
    tables = seal.get("tables", {})
    for t in set(tables) - set(names):
        report.set(f"table {t}", MISSING, f"/tables/{t} missing (the stop record names it)")
    for t in names:
        if t not in tables:
            report.bad("table layout", f"table {t} is not in the stop record")
            continue
        with report.reading(f"table {t}"):
            g = f["tables"][t]
            for c in json.loads(_s(g.attrs["columns"])):
                if c in g and g[c].shape[0] != tables[t]:
                    report.bad(f"table {t}/{c}", f"holds {g[c].shape[0]} rows, the stop record says {tables[t]}",
                               row=min(g[c].shape[0], tables[t]))
    n_checks = seal.get("checks")
    with report.reading("checks"):
        if "run" in f and "checks" in f["run"]:
            cg = f["run"]["checks"]
            for c in CHECK_COLUMNS:
                if c in cg and cg[c].shape[0] != n_checks:
                    report.bad("checks", f"/run/checks/{c} has {cg[c].shape[0]} rows, the stop record says {n_checks}")


def _check_sealed_journal(f: h5py.File, seal: dict, report: _Report) -> None:
    with report.reading("journal"):
        g = f["journal"]
        want = {"calls/" + c: seal["journal_calls"] for c in _journal.CALL_COLUMNS}
        want["meta"] = seal["journal_meta"]
        want.update({"store/" + k: n for k, n in seal["journal_store"].items()})
        for name, n in want.items():
            if name not in g:
                report.set("journal", MISSING, f"/journal/{name} missing")
            elif g[name].shape[0] != n:
                report.bad("journal", f"/journal/{name} holds {g[name].shape[0]} values, the stop record says {n}")


def _read_checks(f: h5py.File, names: list[str], version: int, report: _Report) -> dict | None:
    """``{table name: {column name: [(rows, crc), ...]}}`` from /run/checks; None for format 1 (no checks)."""
    if version < 2 and not ("run" in f and "checks" in f["run"]):
        return None
    out: dict = {t: {} for t in names}
    if "run" not in f or "checks" not in f["run"]:
        return out  # missing: reported; every column then fails its check
    with report.reading("checks"):
        cg = f["run"]["checks"]
        cols = {}
        for c in CHECK_COLUMNS:
            if c not in cg:
                report.set("checks", MISSING, f"/run/checks/{c} missing")
                return out
            cg[c].refresh()
            cols[c] = cg[c]
        n = min(ds.shape[0] for ds in cols.values())
        arr = {c: ds[:n] for c, ds in cols.items()}
        order = {t: json.loads(_s(f["tables"][t].attrs["columns"])) for t in names}
        for t_i, c_i, rows, crc in zip(arr["table"], arr["column"], arr["rows"], arr["crc"]):
            if t_i >= len(names) or c_i >= len(order[names[t_i]]):
                continue
            t = names[t_i]
            out[t].setdefault(order[t][c_i], []).append((int(rows), int(crc)))
        report.ok("checks")
    return out


def _read_table(g: h5py.Group, tname: str, checks: dict | None, complete: bool, report: _Report) -> pd.DataFrame:
    data, units = {}, {}
    with report.reading(f"table {tname}"):
        names = json.loads(_s(g.attrs["columns"]))
        for n in names:
            if n not in g:
                report.set(f"table {tname}/{n}", MISSING, f"{g.name}/{n} missing")
                continue
            with report.reading(f"table {tname}/{n}"):
                ds = g[n]
                ds.refresh()
                data[n] = ds[:]
                units[n] = _s(ds.attrs.get("units", ""))
    length = min((d.size for d in data.values()), default=0)
    data = {n: d[:length] for n, d in data.items()}
    if checks is not None:
        for n, d in data.items():
            length = min(length, _verified_rows(d, checks[tname].get(n, []), complete, tname, n, report))
    df = pd.DataFrame({n: d[:length] for n, d in data.items()})
    df.attrs["units"] = units
    return df


def _verified_rows(values: np.ndarray, checks: list, complete: bool, table: str, column: str,
                   report: _Report) -> int:
    """Rows of ``values`` that match the column's appended CRCs; in a finished run any other row is damage."""
    crc, done, good = 0, 0, 0
    for rows, want in checks:
        if rows < done or rows > values.size:
            break
        crc = zlib.crc32(np.ascontiguousarray(values[done:rows]), crc)
        done = rows
        if crc != want:
            break
        good = rows
    part = f"table {table}/{column}"
    if complete and (good != values.size or (checks and good != checks[-1][0])):
        report.bad(part, f"fails its CRC-32 after row {good} of {values.size}", row=good)
    else:
        report.ok(part, f"{good} rows" + ("" if complete else " (interrupted run: up to its last intact append)"))
    return good


def _read_journal(f: h5py.File, complete: bool, report: _Report):
    """The journal (an empty one when there is none or it cannot be read); its first bad call is damage."""
    j = None
    with report.reading("journal"):
        # strict: the Journal raises RunLogDamaged at a finished run's first bad call
        j = _journal.read_journal_open(f, complete=complete and report.strict)
    if j is None:
        return _journal.empty_journal()
    if "journal" in f:
        if complete and len(j) != j.n_recorded:
            report.bad("journal", f"call {len(j)} of {j.n_recorded} fails its CRC-32", row=len(j))
        else:
            report.ok("journal", f"{len(j)} calls" + ("" if complete else
                                                      " (interrupted run: up to its last intact call)"))
    return j


def _s(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)
