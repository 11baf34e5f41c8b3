"""A damage catalogue over small run files of each kind (issue 26 item 5): nothing reads back silently different.

The tests make the run files (a write-verify run and an MVM run through the
CLI, both journaled; a run of tables only, written with RunLog), then damaged
copies of each: truncations, seeded byte flips, flips aimed at each part (stop
record, record strings, a table chunk, journal chunks, the checks, the
superblock), h5py deletions of every group, dataset and attribute, and value
edits with and without their checks. Each copy is read by ``read_run``,
``neurram show``, ``neurram verify`` and the replay (``ReplayBoard``, and
``neurram replay`` for the first copies whose journal opens): each gives the
undamaged file's result or a typed :class:`RunLogError`, and ``neurram verify``
exits 0 exactly when ``read_run`` reads the copy.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import pickle
import shutil
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest

from neurram_lab import RunLog, RunLogError, read_run
from neurram_lab.cli import cli
from neurram_lab.errors import RunLogDamaged
from neurram_lab.runlog.replay import ReplayBoard

# ``neurram replay`` costs about a second (its experiment and figure): run on the first copies whose
# journal opens; on the others ReplayBoard serves the undamaged record and journal, and a replay is
# a function of those alone.
MAX_REPLAYS = 3
KINDS = {
    "write-verify": ["characterize", "write-verify", "--cells-per-core", "8", "--iterations", "1"],
    "mvm": ["characterize", "mvm", "--rows", "64", "--cols", "32", "--vectors", "128"],
    "tables-only": None,
}


def _cli(argv: list[str]) -> tuple[int, dict | None, BaseException | None]:
    """``neurram ARGV --json --quiet --debug`` in this process: exit status, JSON summary, NeuRRAMError raised."""
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            rc = cli.main([*argv, "--json", "--quiet", "--debug"])
    except RunLogError as exc:
        return 1, None, exc
    lines = out.getvalue().strip().splitlines()
    return rc, json.loads(lines[-1]) if lines else None, None


def _tables_only(path: Path) -> None:
    tables = {"reads": {"cell": ("i4", ""), "g_s": ("f4", "S"), "ok": ("?", "")}, "steps": {"v_v": ("f8", "V")}}
    log = RunLog(path, "tables-only", {"n": 3}, tables)
    for i in range(3):
        log.append("reads", cell=np.arange(i * 50, i * 50 + 50), g_s=np.linspace(1e-6, 4e-5, 50), ok=i % 2 == 0)
        log.append("steps", v_v=[0.5 * i, 0.6 * i])
    log.close(summary={"mean_pulses_per_cell": 3.52, "cells": 150})


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    root = tmp_path_factory.mktemp("damage")
    files = {}
    for kind, argv in KINDS.items():
        path = root / f"{kind}.h5"
        if argv is None:
            _tables_only(path)
        else:
            rc, _, exc = _cli([*argv, "--seed", "3", "--out", str(path)])
            assert rc == 0 and exc is None
        files[kind] = path
    return files


def _digest(run) -> str:
    """A hash of everything a reader returns: record, tables (values, dtypes, units), journal calls."""
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps(run.record, sort_keys=True, default=str).encode())
    for name, df in run.tables.items():
        h.update(name.encode() + json.dumps(df.attrs.get("units"), sort_keys=True).encode())
        for c in df.columns:
            v = df[c].to_numpy()
            h.update(c.encode() + str(v.dtype).encode() + np.ascontiguousarray(v).tobytes())
    if run.journal is not None:
        h.update(pickle.dumps(run.journal.calls))
        for call in run.journal:
            h.update(pickle.dumps((call.op, call.args, call.response, repr(call.error))))
    return h.hexdigest()


def _read(path):
    try:
        return _digest(read_run(path, journal=True)), None
    except RunLogError as exc:
        return None, exc


def _show(path):
    rc, summary, exc = _cli(["show", str(path)])
    if summary is not None:
        summary.pop("path")
    return summary, exc


def _replay_board(path):
    try:
        with ReplayBoard(path) as b:
            return _digest(type("R", (), {"record": b.record, "tables": {}, "journal": b.journal})), None
    except RunLogError as exc:
        return None, exc


def _replay(path, out: Path):
    rc, summary, exc = _cli(["replay", str(path), "--out", str(out)])
    if summary is None:
        return None, exc
    from neurram_lab.experiments._common import is_run_specific

    return {k: v for k, v in summary.items() if not is_run_specific(k) and k != "run_file_bytes"}, exc


# ------------------------------------------------------------------ the catalogue
def _offset(f: h5py.File, name: str, chunk: int = 0) -> int | None:
    ds = f[name]
    if ds.shape[0] == 0:
        return None
    return int(ds.id.get_chunk_info(chunk).byte_offset)


def _flip_at(offset: int, mask: int = 0x10):
    def damage(p: Path) -> None:
        with open(p, "r+b") as fh:
            fh.seek(offset)
            b = fh.read(1)
            fh.seek(offset)
            fh.write(bytes([b[0] ^ mask]))
    return damage


def _truncate(fraction: float):
    def damage(p: Path) -> None:
        size = p.stat().st_size
        with open(p, "r+b") as fh:
            fh.truncate(max(1, min(size - 1, int(size * fraction))))
    return damage


def _h5(edit):
    def damage(p: Path) -> None:
        with h5py.File(p, "a") as f:
            edit(f)
    return damage


def _del_object(name: str):
    return _h5(lambda f: f.__delitem__(name))


def _del_attr(obj: str, attr: str):
    return _h5(lambda f: f[obj].attrs.__delitem__(attr))


def _set_stop(f: h5py.File, text: bytes) -> None:
    ds = f["run/stop_json"]
    ds.resize((len(text),))
    ds[:] = np.frombuffer(text, np.uint8)


def _stop_text(f: h5py.File) -> bytes:
    return f["run/stop_json"][:].tobytes()


def _edit_value(table_col: str, recompute_checks: bool = False, drop_checks: bool = False):
    def edit(f: h5py.File) -> None:
        ds = f[table_col]
        v = ds[:]
        v[0] = v[0] * 2 if v.dtype.kind == "f" else (v[0] + 1 if v.dtype.kind in "iu" else not v[0])
        ds[:] = v
        if drop_checks:
            del f["run/checks"]
        if recompute_checks:  # a deliberate edit that recomputes the checksums: not detectable
            g = f[table_col.rsplit("/", 1)[0]]
            names = json.loads(g.attrs["columns"])
            t_i, c_i = int(g.attrs["index"]), names.index(table_col.rsplit("/", 1)[1])
            cg = f["run/checks"]
            sel = (cg["table"][:] == t_i) & (cg["column"][:] == c_i)
            crcs = cg["crc"][:]
            for i in np.flatnonzero(sel):
                crcs[i] = zlib.crc32(np.ascontiguousarray(v[:cg["rows"][i]]))
            cg["crc"][:] = crcs
    return _h5(edit)


def catalogue(path: Path, seed: int) -> list[tuple[str, object]]:
    """(name, damage function) pairs for one run file."""
    cases = [(f"truncate {fr}", _truncate(fr)) for fr in (0.02, 0.3, 0.6, 0.9, 0.999)]
    size = path.stat().st_size
    rng = np.random.default_rng(seed)
    cases += [(f"flip {int(o)}", _flip_at(int(o), int(m))) for o, m in
              zip(rng.integers(0, size, 20), rng.integers(1, 256, 20))]
    cases += [(f"superblock flip {o}", _flip_at(o)) for o in (9, 20, 30, 44)]
    raw = path.read_bytes()
    with h5py.File(path, "r") as f:
        uid = f.attrs["uid"].encode()
        at = raw.find(uid)
        if at >= 0:
            cases.append(("record string flip (uid)", _flip_at(at + 3, 0x01)))
        at = raw.find(f.attrs["parameters_json"].encode()[:20])
        if at >= 0:
            cases.append(("record string flip (parameters)", _flip_at(at + 5, 0x02)))
        stop = _stop_text(f)
        o = _offset(f, "run/stop_json")
        cases.append(("stop record flip", _flip_at(o + len(stop) // 2)))
        digit = next((i for i, ch in enumerate(stop) if chr(ch).isdigit()), 0)
        cases.append(("stop record digit flip", _flip_at(o + digit, 0x04)))  # 3 -> 7
        cases.append(("stop crc flip", _flip_at(_offset(f, "run/stop_crc32"))))
        cases.append(("checks flip", _flip_at(_offset(f, "run/checks/crc") + 1)))
        for t in f["tables"]:
            for c in f["tables"][t]:
                if f["tables"][t][c].shape[0]:
                    cases.append((f"table chunk flip {t}/{c}", _flip_at(_offset(f, f"tables/{t}/{c}") + 2, 0x40)))
                    cases.append((f"value edit {t}/{c}", _edit_value(f"tables/{t}/{c}")))
                    cases.append((f"value edit {t}/{c} without checks", _edit_value(f"tables/{t}/{c}", drop_checks=True)))
                    break
        for name in ("journal/calls/crc", "journal/calls/t_wall_s", "journal/meta"):
            o = _offset(f, name)
            if o is not None:
                cases.append((f"journal chunk flip {name}", _flip_at(o + 3)))
        for key, ds in f["journal/store"].items():
            if ds.shape[0]:
                cases.append((f"journal store flip {key}", _flip_at(_offset(f, f"journal/store/{key}") + 1)))
        names: list[str] = []
        f.visit(names.append)
        objects = [""] + names
        for attr_obj in objects:
            for a in f[attr_obj or "/"].attrs:
                cases.append((f"delete attribute {attr_obj or '/'}@{a}", _del_attr(attr_obj or "/", a)))
    cases += [(f"delete {n}", _del_object(n)) for n in names]
    cases += [
        ("stop status success -> failed", _h5(lambda f: _set_stop(f, _stop_text(f).replace(b'"success"', b'"failed"')))),
        ("stop record broken JSON", _h5(lambda f: _set_stop(f, _stop_text(f)[:-1] + b" "))),
        ("stop record rewritten, another summary", _h5(lambda f: _set_stop(f, json.dumps(
            {**json.loads(_stop_text(f)), "summary": {"cells": 1}}).encode()))),
        ("stop record emptied", _h5(lambda f: _set_stop(f, b""))),
        ("units edited", _h5(lambda f: f[next(f"tables/{t}/{c}" for t in f["tables"] for c in f["tables"][t])]
                             .attrs.__setitem__("units", "J"))),
        ("column order edited", _h5(lambda f: [g.attrs.__setitem__("columns", json.dumps(json.loads(g.attrs["columns"])[::-1]))
                                               for g in f["tables"].values()])),
        ("start time edited", _h5(lambda f: f.attrs.__setitem__("start_time_unix_s", f.attrs["start_time_unix_s"] + 1))),
        ("journal call time edited", _h5(lambda f: f["journal/calls/t_wall_s"].__setitem__(
            slice(0, 1), np.zeros(min(1, f["journal/calls/t_wall_s"].shape[0]))))),
        ("journal resized", _h5(lambda f: [f[f"journal/calls/{c}"].resize((max(0, f[f"journal/calls/{c}"].shape[0] - 1),))
                                           for c in f["journal/calls"]])),
        ("table resized", _h5(lambda f: [f[f"tables/{t}/{c}"].resize((max(0, f[f"tables/{t}/{c}"].shape[0] - 1),))
                                         for t in f["tables"] for c in f["tables"][t]])),
    ]
    return cases


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_damaged_copy_reads_identical_or_raises_a_typed_error(originals, tmp_path, kind):
    orig = originals[kind]
    base_read, err = _read(orig)
    assert err is None
    base_show, err = _show(orig)
    assert err is None
    rc, summary, _ = _cli(["verify", str(orig)])
    assert rc == 0 and summary["intact"]
    base_board, _ = _replay_board(orig)
    base_replay = _replay(orig, tmp_path / "replay-orig.h5")[0] if KINDS[kind] else None
    if KINDS[kind]:
        assert base_replay is not None
    silent, tally, replays = [], {"identical": 0, "typed": 0}, 0
    for i, (name, damage) in enumerate(catalogue(orig, seed=26 + len(kind))):
        copy = tmp_path / f"c{i}.h5"
        shutil.copy(orig, copy)
        damage(copy)
        got_read, read_err = _read(copy)
        got_show, show_err = _show(copy)
        rc, vsum, verify_err = _cli(["verify", str(copy)])
        got_board, board_err = _replay_board(copy)
        results = {"read_run": (got_read, read_err, base_read), "show": (got_show, show_err, base_show),
                   "replay board": (got_board, board_err, base_board)}
        if KINDS[kind] and board_err is None and replays < MAX_REPLAYS:  # the experiment replays against it
            replays += 1
            results["neurram replay"] = (*_replay(copy, tmp_path / f"r{i}.h5"), base_replay)
        for reader, (got, exc, base) in results.items():
            if exc is not None:
                assert isinstance(exc, RunLogError), (name, reader, exc)
                tally["typed"] += 1
            elif got != base:
                silent.append(f"{name}: {reader}")
            else:
                tally["identical"] += 1
        # verify says intact exactly when the full read gives the undamaged result
        assert (rc == 0) == (read_err is None), (name, rc, read_err, vsum)
        if read_err is not None:
            assert isinstance(read_err, RunLogDamaged) or "not a readable HDF5" in str(read_err) \
                or "not a neurram run log" in str(read_err), (name, read_err)
        copy.unlink()
    assert not silent, silent
    assert tally["typed"] > 100 and tally["identical"] > 10, tally
