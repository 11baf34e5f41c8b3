"""The journal of a run: every Board call, its arguments, response and timing.

Layout in the run file (declared when the run starts, since SWMR forbids
creating datasets later)::

    /journal                 attrs: ops (JSON list: op code -> name), stores
    /journal/calls/<col>     one row per call: op (u1), t_wall_s (f8, unix time
                             at the call), dt_wall_s (f8, its duration),
                             t_board_s (f8, board time after it), error (u1),
                             meta_offset (i8), meta_size (i4), crc (u4: CRC-32
                             of the arrays it stored, its meta and row)
    /journal/meta            u1: per call a small UTF-8 JSON object
                             {"a": args, "r": response, "e": error, "op": name
                             of a board-specific op}, arrays replaced by
                             references "store offset shape dtype"; a large
                             MVM call keeps a digest of its inputs and its
                             ADC codes as a residual (format 4,
                             :mod:`~neurram_lab.runlog._mvm_codec`)
    /journal/store/<dtype>   flat 1-D array stores (u1 ... f8)

Calls are buffered in memory and written in batches whenever the run log
flushes (every table append does), every ``flush_interval_s`` of wall time,
when ``flush_bytes`` have piled up, and before a ``wait``. A reader checks
each call's CRC: in an interrupted run it keeps the calls before the first bad
one (a writer killed mid-flush leaves a clean prefix); in a finished run a bad
call means the file is damaged (:class:`~neurram_lab.errors.RunLogDamaged`).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import struct
import time
import zlib
from dataclasses import dataclass

import h5py
import numpy as np
import pandas as pd

from ._journal_codec import (STORES, Z_LEVEL, Z_MIN, Kept, decode, decode_error, encode, encode_args, encode_error,
                             ref_span, store_dtype, store_for)
from ._mvm_codec import Predicted
from ._mvm_codec import compact as compact_mvm
from ..errors import RunLogDamaged

OPS = ("snapshot", "info", "set_rails", "get_rails", "power_cores", "powered_cores", "pulse", "read",
       "mvm", "neuron_test", "now", "wait", "counters", "extra")
_OP_CODE = {name: i for i, name in enumerate(OPS)}
CALL_COLUMNS = {"op": "u1", "t_wall_s": "f8", "dt_wall_s": "f8", "t_board_s": "f8", "error": "u1",
                "meta_offset": "i8", "meta_size": "i4", "crc": "u4"}
_ROW = struct.Struct("<Bddd?qi")  # the row fields the CRC covers, as packed for it
_CALL_CHUNK = 1024
_RECENT_MAX = 256  # recently stored arrays remembered by content, to spot repeats (the same cells read, then pulsed)
# Deflated arrays remembered across flushes (their bytes are the writer's own), to spot repeats
# such as a calibration batch sent twice: at most this many, holding at most this many bytes.
_Z_RECENT_MAX, _Z_RECENT_BYTES = 64, 64 << 20
_dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
_STORE_CHUNK_BYTES = 256 * 1024
_STAGE_POOL: list[dict] = []  # staging buffers of closed writers (each at most a flush's worth of arrays)
_STAGE_POOL_MAX = 2


def declare(f: h5py.File) -> None:
    """Create the (empty) journal datasets in a run file before SWMR starts."""
    g = f.create_group("journal")
    g.attrs["ops"] = np.bytes_(json.dumps(OPS))
    g.attrs["stores"] = np.bytes_(json.dumps(STORES))
    calls = g.create_group("calls")
    # No HDF5 filters (checksums, compression) on anything appended: a writer killed
    # while HDF5 rewrites a filtered chunk can leave it unreadable, flushed rows included.
    # Integrity comes from the per-call CRC-32 instead.
    for name, dt in CALL_COLUMNS.items():
        calls.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dt, chunks=(_CALL_CHUNK,))
    g.create_dataset("meta", shape=(0,), maxshape=(None,), dtype="u1", chunks=(_STORE_CHUNK_BYTES,))
    sg = g.create_group("store")
    for key in STORES:
        dt = store_dtype(key)
        sg.create_dataset(key, shape=(0,), maxshape=(None,), dtype=dt, chunks=(_STORE_CHUNK_BYTES // dt.itemsize,))


class JournalWriter:
    """Buffers calls and appends them to the journal datasets of an open run file.

    Parameters
    ----------
    group : h5py.Group
        ``/journal`` of a run file in SWMR write mode.
    flush : callable
        Flushes the whole run file (``RunLog.flush``), which calls :meth:`write_pending`.
    flush_interval_s : float
        Longest wall time a recorded call waits in memory before a flush.
    flush_bytes : int
        Buffered bytes that trigger a flush.
    """

    def __init__(self, group: h5py.Group, flush, flush_interval_s: float = 1.0, flush_bytes: int = 16 << 20):
        self._g = group
        self._flush = flush
        self.flush_interval_s = float(flush_interval_s)
        self.flush_bytes = int(flush_bytes)
        self._stores = {k: group["store"][k] for k in STORES}
        self._meta_ds = group["meta"]  # handles looked up once: an h5py group lookup costs ~0.2 ms
        self._call_ds = [group["calls"][name] for name in CALL_COLUMNS]
        self._store_len = {k: 0 for k in STORES}
        # Arrays wait for the next flush in one staging buffer per store, reused from flush to
        # flush and from run to run (_STAGE_POOL): written in one piece, and no fresh memory per
        # call or per run (page faults on fresh memory cost several times the copy into it).
        self._stage = _STAGE_POOL.pop() if _STAGE_POOL else {k: np.zeros(0, store_dtype(k)) for k in STORES}
        self._stage_len = {k: 0 for k in STORES}
        self._meta_len = 0
        self._meta_pending: list[bytes] = []
        self._meta_pending_len = 0
        self._calls: list[tuple] = []  # calls kept since the last flush, not encoded yet
        self._nbytes = 0
        self._rows: list[tuple] = []  # one tuple per encoded call, in CALL_COLUMNS order
        self._pending_bytes = 0
        self._oldest_pending = None
        self._crc = 0
        self._recent: dict = {}  # (dtype, shape, sampled values) -> Kept, oldest first; emptied at each flush
        self._zrecent: dict = {}  # (dtype, shape, store, size, crc) -> (call index, offset, deflated bytes), oldest first
        self._zrecent_bytes = 0
        self._call_now = 0  # index of the call whose arrays are being kept
        self._sink = _Sink(self)
        self.n_calls = 0
        self.n_written = 0
        self.closed = False

    # ------------------------------------------------------------ recording
    def _put(self, store: str, flat: np.ndarray) -> tuple[np.ndarray, int]:
        """Copy ``flat`` (values that fit ``store``) to the staging buffer; its view there and file offset."""
        buf, n0, n = self._stage[store], self._stage_len[store], flat.size
        if n0 + n > buf.size:  # grow; views handed out before keep the old buffer (and its values) alive
            new = np.empty(max(2 * buf.size, n0 + n, 4096), buf.dtype)
            new[:n0] = buf[:n0]
            buf = self._stage[store] = new
        view = buf[n0:n0 + n]
        np.copyto(view, flat, casting="unsafe")  # ints are checked to fit the narrower store
        self._stage_len[store] = n0 + n
        return view, self._store_len[store] + n0

    def keep(self, a: np.ndarray, store: str | None = None) -> Kept:
        """Copy the array ``a`` to its store (or find an equal integer array stored since the last flush).

        ``store``: :func:`store_for` of ``a`` when the caller has it already.
        """
        store = store or store_for(a)
        dt, shape = a.dtype, a.shape
        flat = a.reshape(-1)
        if dt.kind in "iu" and flat.size >= Z_MIN:
            return self._keep_deflated(flat, store, dt, shape)
        if dt.kind == "f":  # floats are rarely repeated: stored as they are
            data, offset = self._put(store, flat)
            return Kept(data, store, offset, dt, shape, False)
        # A sample of ~17 values, not a hash of all of them, picks the candidate (a CRC-32 of
        # every call's index arrays cost more than the rest of the encoding); equality is then exact.
        key = (dt, shape, flat[::-(-flat.size // 16)].tobytes(), flat[-1].item())
        hit = self._recent.get(key)
        if hit is not None and np.array_equal(flat, hit.data):
            return Kept(hit.data, hit.store, hit.offset, dt, shape, True)
        data, offset = self._put(store, flat)
        k = Kept(data, store, offset, dt, shape, False)
        self._recent.pop(key, None)
        self._recent[key] = k
        if len(self._recent) > _RECENT_MAX:
            del self._recent[next(iter(self._recent))]
        return k

    def _keep_deflated(self, flat: np.ndarray, store: str, dt: np.dtype, shape: tuple) -> Kept:
        """Deflate an integer array (narrowed to ``store``) into the ``z`` store, or find an equal one stored before.

        A repeat may point at any earlier call, flushed or not (its CRC covers
        the bytes), never at a later one: arrays nested in a call's values are
        kept when the call is encoded, after later calls kept their own.
        """
        narrow = flat if flat.dtype == store_dtype(store) else flat.astype(store_dtype(store))
        raw = zlib.compress(np.ascontiguousarray(narrow), Z_LEVEL)
        key = (dt.str, shape, store, len(raw), zlib.crc32(raw))
        hit = self._zrecent.get(key)
        if hit is not None and hit[0] <= self._call_now and hit[2] == raw:
            return Kept(np.frombuffer(raw, np.uint8), "z" + store, hit[1], dt, shape, True)
        data, offset = self._put("z", np.frombuffer(raw, np.uint8))
        old = self._zrecent.pop(key, None)
        if old is not None:
            self._zrecent_bytes -= len(old[2])
        self._zrecent[key] = (self._call_now, offset, raw)
        self._zrecent_bytes += len(raw)
        while len(self._zrecent) > _Z_RECENT_MAX or self._zrecent_bytes > _Z_RECENT_BYTES:
            self._zrecent_bytes -= len(self._zrecent.pop(next(iter(self._zrecent)))[2])
        return Kept(data, "z" + store, offset, dt, shape, False)

    def record(self, op: str, args: dict, response=None, error: BaseException | None = None,
               t_wall_s: float = float("nan"), dt_wall_s: float = float("nan"), t_board_s: float = float("nan")) -> int:
        """Keep one call (arrays copied to their stores); returns its index. Silently ignored once the run is closed.

        Arrays are copied to their store's staging buffer now (non-negative
        integers narrowed); the rest of the encoding (JSON, CRC) waits for the
        next flush, where it runs for a batch of calls at once (measured
        several times cheaper than call by call, between board operations
        that evict the caches).
        """
        if self.closed:
            return -1
        self._nbytes = 0
        self._call_now = self.n_calls
        if op == "mvm" and "request" in args:  # large inputs digested, large ADC codes kept as a residual
            req, response = compact_mvm(args["request"], response)
            args = dict(args, request=req)
            if type(response) is Predicted:
                response = dataclasses.replace(response, residual=self._keep_arg(response.residual),
                                               coef=self._keep_arg(response.coef))
        args = {k: self._keep_arg(v) if type(v) is np.ndarray else v if v is None or type(v) in _PLAIN
                else _freeze(v, self) for k, v in args.items()}
        if type(response) is np.ndarray:
            response = self._keep_arg(response)
        elif response is not None and type(response) not in _PLAIN and type(response) is not Predicted:
            response = _freeze(response, self)
        frozen = (op, args, response, error, t_wall_s, dt_wall_s, t_board_s)
        self._calls.append(frozen)
        self._pending_bytes += self._nbytes + 200
        index = self.n_calls
        self.n_calls += 1
        now = time.monotonic()
        if self._oldest_pending is None:
            self._oldest_pending = now
        if self._pending_bytes >= self.flush_bytes or now - self._oldest_pending >= self.flush_interval_s:
            self._flush()
        return index

    def _keep_arg(self, a: np.ndarray):
        """An argument or response array as kept until the flush: staged (:class:`Kept`), or a copy if small or odd."""
        store = store_for(a)
        if store is None or not a.dtype.isnative:
            self._nbytes += a.nbytes
            return a.copy()
        k = self.keep(a, store)
        if not k.repeat:
            self._nbytes += k.data.nbytes
        return k

    def _encode_call(self, op, args, response, error, t_wall_s, dt_wall_s, t_board_s) -> None:
        self._crc = 0
        sink = self._sink
        meta = {"a": encode_args(args, sink)}
        if error is not None:
            meta["e"] = encode_error(error, sink)
        else:
            meta["r"] = encode(response, sink)
        code = _OP_CODE.get(op)
        if code is None:
            meta["op"] = op
            code = _OP_CODE["extra"]
        raw = _dumps(meta).encode("utf-8")
        row = (code, t_wall_s, dt_wall_s, t_board_s, error is not None, self._meta_len + self._meta_pending_len, len(raw))
        crc = zlib.crc32(_ROW.pack(*row), zlib.crc32(raw, self._crc))
        self._rows.append(row + (crc,))
        self._meta_pending.append(raw)
        self._meta_pending_len += len(raw)

    def close(self) -> None:
        """Write what is pending; later calls are ignored. Hands the staging buffers on to the next writer."""
        if self.closed:
            return
        self.write_pending()
        self.closed = True
        self._recent.clear()
        self._zrecent.clear()
        if len(_STAGE_POOL) < _STAGE_POOL_MAX:
            _STAGE_POOL.append(self._stage)
        self._stage = None

    def lengths(self) -> dict:
        """What the journal holds once written: calls, metadata bytes, values per store (the stop record's seal)."""
        return {"journal_calls": self.n_written, "journal_meta": self._meta_len,
                "journal_store": {k: int(n) for k, n in self._store_len.items()}}

    @property
    def pending(self) -> int:
        """Calls recorded but not yet written to the file."""
        return self.n_calls - self.n_written

    def flush_if_pending(self) -> None:
        """Flush the run file if any call waits in memory (before a long call)."""
        if self.pending:
            self._flush()

    def write_pending(self) -> None:
        """Append buffered calls to the datasets (stores first, the call rows last)."""
        if self.pending == 0:
            return
        # Arrays inside other values (an MVMRequest's inputs) are kept while encoding: a repeat
        # found then must point back to an earlier call, whose CRC covers the data.
        self._recent.clear()
        for i, call in enumerate(self._calls):
            self._call_now = self.n_written + i
            self._encode_call(*call)
        self._calls = []
        for key in STORES:
            n = self._stage_len[key]
            if n:
                _append(self._stores[key], self._store_len[key], self._stage[key][:n])
                self._store_len[key] += n
                self._stage_len[key] = 0
        self._recent.clear()  # their data lies in the staging buffers, which the next calls overwrite
        raw = np.frombuffer(b"".join(self._meta_pending), np.uint8)
        _append(self._meta_ds, self._meta_len, raw)
        self._meta_len += raw.size
        self._meta_pending, self._meta_pending_len = [], 0
        for col, dt, ds in zip(zip(*self._rows), CALL_COLUMNS.values(), self._call_ds):
            _append(ds, self.n_written, np.asarray(col, dtype=dt))
        self._rows = []
        self.n_written = self.n_calls
        self._pending_bytes = 0
        self._oldest_pending = None


def _append(ds: h5py.Dataset, n0: int, data: np.ndarray) -> None:
    """Write the 1-D ``data`` (of the dataset's dtype) at ``n0``, the end of ``ds``, growing it.

    Through the low-level API: ``ds[n0:] = data`` spends ~0.15 ms per call on
    selection bookkeeping, a quarter of a typical flush.
    """
    ds.resize((n0 + data.size,))
    file_space = ds.id.get_space()
    file_space.select_hyperslab((n0,), (data.size,))
    ds.id.write(h5py.h5s.create_simple((data.size,)), file_space, np.ascontiguousarray(data))


_PLAIN = (bool, int, float, str)


def _freeze(value, w: JournalWriter):
    """``value`` with every numpy array copied (callers may change theirs after the call)."""
    if isinstance(value, np.ndarray):
        w._nbytes += value.nbytes
        return value.copy()
    if value is None or isinstance(value, (bool, int, float, str, np.generic)):
        return value
    if isinstance(value, dict):
        return {k: _freeze(v, w) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_freeze(v, w) for v in value)
    if isinstance(value, list):
        return [_freeze(v, w) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return copy.deepcopy(value)
    return value


class _Sink:
    """What the codec stores arrays through (see :func:`~neurram_lab.runlog._journal_codec.encode`)."""

    def __init__(self, w: JournalWriter):
        self.keep = w.keep
        self._w = w

    def crc(self, data: np.ndarray) -> None:
        self._w._crc = zlib.crc32(data, self._w._crc)


# ------------------------------------------------------------------ reading
@dataclass
class JournalCall:
    """One recorded call.

    Attributes
    ----------
    index : int
    op : str
        Board method name (``"read"``, ``"pulse"``, ``"mvm"`` ... or a board-specific one).
    args : dict
        Arguments by name, as the caller passed them.
    response : object
        What the board returned (``None`` when it raised).
    error : Exception or None
        The exception the board raised, rebuilt.
    t_wall_s, dt_wall_s, t_board_s : float
        Unix time at the call, its wall duration, board time after it (s).
    """

    index: int
    op: str
    args: dict
    response: object
    error: Exception | None
    t_wall_s: float
    dt_wall_s: float
    t_board_s: float


class Journal:
    """The journal of a run file, read into memory.

    Only the leading calls that are complete are kept: metadata that parses,
    arrays inside their stores and matching the call's CRC-32. A writer killed
    in the middle of a flush thus leaves a clean prefix.

    Attributes
    ----------
    calls : pandas.DataFrame
        One row per call: op (name), t_wall_s, dt_wall_s, t_board_s, error.
    """

    def __init__(self, calls: pd.DataFrame, meta: np.ndarray, stores: dict[str, np.ndarray], ops: list[str],
                 complete: bool = False, where: str = "run file"):
        self._meta = meta
        self._stores = stores
        self._where = where
        self.n_recorded = len(calls)
        metas = []
        cols = [calls[c].to_numpy() for c in CALL_COLUMNS]
        for i in range(len(calls)):
            row = tuple(c[i].item() for c in cols)
            m = self._parse(row)
            if m is None:
                if complete:
                    raise RunLogDamaged(where, "journal", f"call {i} of {len(calls)} fails its CRC-32", row=i)
                break  # an interrupted run: the writer died while flushing this call
            metas.append(m)
        n = len(metas)
        self._metas = metas
        raw_ops = calls["op"].to_numpy()[:n]
        names = [ops[i] if i < len(ops) else f"op{i}" for i in raw_ops]
        for i, name in enumerate(names):
            if name == "extra":
                names[i] = str(metas[i].get("op", "extra"))
        self.calls = pd.DataFrame({
            "op": names,
            "t_wall_s": calls["t_wall_s"].to_numpy()[:n],
            "dt_wall_s": calls["dt_wall_s"].to_numpy()[:n],
            "t_board_s": calls["t_board_s"].to_numpy()[:n],
            "error": calls["error"].to_numpy()[:n].astype(bool),
        })
        self._n = n

    def __len__(self) -> int:
        return self._n

    def _parse(self, row: tuple) -> dict | None:
        """The call's metadata if its row, metadata and arrays match its CRC, else None."""
        *fields, crc_rec = row
        offset, size = fields[5], fields[6]
        if offset < 0 or size <= 0 or offset + size > self._meta.size:
            return None
        raw = self._meta[offset:offset + size].tobytes()
        try:
            m = json.loads(raw.decode("utf-8"))
            if not isinstance(m, dict) or "a" not in m:
                return None
            crc = 0
            for ref in _array_refs([m.get("a"), m.get("r"), m.get("e")]):
                store, off, size_a = ref_span(ref)
                data = self._stores.get(store)
                if data is None or off < 0 or off + size_a > data.size:
                    return None
                if not ref.endswith(" ="):  # a repeat was checked with the call that stored it
                    crc = zlib.crc32(np.ascontiguousarray(data[off:off + size_a]), crc)
            crc = zlib.crc32(_ROW.pack(*fields), zlib.crc32(raw, crc))
        except (UnicodeDecodeError, ValueError, TypeError, AttributeError, IndexError, struct.error):
            return None
        return m if crc == crc_rec else None

    def _get_array(self, store: str, offset: int, size: int) -> np.ndarray:
        data = self._stores.get(store)
        if data is None or offset < 0 or offset + size > data.size:
            raise RunLogDamaged(self._where, "journal", f"array [{store}] {offset}+{size} lies outside its store")
        return data[offset:offset + size]

    def call(self, i: int) -> JournalCall:
        """Decode call ``i`` (arguments, response or error)."""
        if not 0 <= i < self._n:
            raise IndexError(f"call {i} not in a journal of {self._n} calls")
        meta = self._metas[i]
        row = self.calls.iloc[i]
        err = decode_error(meta["e"], self._get_array) if "e" in meta else None
        return JournalCall(
            index=i,
            op=str(row["op"]),
            args=decode(meta["a"], self._get_array),
            response=None if err is not None else decode(meta.get("r"), self._get_array),
            error=err,
            t_wall_s=float(row["t_wall_s"]),
            dt_wall_s=float(row["dt_wall_s"]),
            t_board_s=float(row["t_board_s"]),
        )

    def __iter__(self):
        return (self.call(i) for i in range(self._n))

    def summary(self) -> dict:
        """Calls per op, errors, and the wall and board time the calls span."""
        c = self.calls
        return {
            "calls": self._n,
            "calls_by_op": {k: int(v) for k, v in c["op"].value_counts().sort_index().items()},
            "errors": int(c["error"].sum()),
            "wall_in_calls_s": float(c["dt_wall_s"].sum()) if self._n else 0.0,
            "board_time_s": float(c["t_board_s"].iloc[-1]) if self._n else None,
            "stored_array_bytes": int(sum(a.nbytes for a in self._stores.values())),
        }


def read_journal_open(f: h5py.File, complete: bool = False) -> Journal:
    """Read ``/journal`` of an open run file (SWMR readers included); a file without one gives an empty journal.

    ``complete``: the run has its stop record, so every call must be intact.
    """
    if "journal" not in f:
        return empty_journal()
    g = f["journal"]
    ops = json.loads(_s(g.attrs["ops"]))
    cols = {}
    for c in CALL_COLUMNS:
        ds = g["calls"][c]
        ds.refresh()
        cols[c] = ds
    n = min(ds.shape[0] for ds in cols.values())
    calls = pd.DataFrame({c: ds[:n] for c, ds in cols.items()})
    mds = g["meta"]
    mds.refresh()
    meta = mds[:]
    stores = {}
    for key, ds in g["store"].items():
        ds.refresh()
        stores[key] = ds[:]
    return Journal(calls, meta, stores, ops, complete=complete, where=str(f.filename))


def empty_journal() -> Journal:
    """A journal of no calls (a file written before format 2, or one whose journal cannot be read)."""
    empty = pd.DataFrame({c: np.zeros(0, dt) for c, dt in CALL_COLUMNS.items()})
    return Journal(empty, np.zeros(0, np.uint8), {}, list(OPS))


def _array_refs(tree, out=None) -> list:
    """Array references of an encoded tree, in the order the writer stored them."""
    out = [] if out is None else out
    if isinstance(tree, dict):
        if len(tree) == 1 and "$a" in tree:
            out.append(tree["$a"])
        else:
            for v in tree.values():
                _array_refs(v, out)
    elif isinstance(tree, list):
        for v in tree:
            _array_refs(v, out)
    return out


def _s(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)

