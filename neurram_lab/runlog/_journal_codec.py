"""Encoding of Board-call arguments and responses for the journal, and their comparison.

A value becomes a JSON-able tree in which every numpy array of some size is
replaced by a reference ``{"$a": "store offset shape dtype"}`` (shape as
``3x64x256``; ``" ="`` appended when it repeats an array stored before) into a flat
per-dtype array store (the writer's ``sink`` puts it there). Integer arrays of
``Z_MIN`` values or more are stored deflated (zlib) in the byte store ``z``:
``{"$a": "zu1 offset shape dtype nbytes"}``, the store key after ``z`` naming the
dtype the values were narrowed to, ``nbytes`` the deflated size (format version 3;
an MVM's input codes deflate about 10:1, its ADC codes 4:3). Small arrays, scalars,
dicts, tuples, dataclasses and exceptions are spelled out in JSON, classes named
by stable type tags (:mod:`._type_tags`; older files' Python paths read through
:mod:`.migrate`). Decoding gives back the same types and bit-identical values.
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from pathlib import Path

import numpy as np

from ._mvm_codec import Digest
from ._type_tags import class_of, tag_of
from .migrate import record_fields

# Dtypes with a flat store in the run file (kind+size); non-negative ints are stored
# in the smallest unsigned store that holds them, their own dtype kept in the reference.
# "z": deflated integer arrays (bytes), see Z_MIN.
STORES = ("b1", "u1", "u2", "u4", "u8", "i1", "i2", "i4", "i8", "f2", "f4", "f8", "z")
INLINE_MAX = 4
_DOWNCAST_MIN = 64  # smaller int arrays are stored as they are: the check costs more than it saves
_UINT_FITS = (("u1", 2**8 - 1), ("u2", 2**16 - 1), ("u4", 2**32 - 1))
_INT_FITS = (("i1", 2**7), ("i2", 2**15), ("i4", 2**31))
Z_MIN = 4096  # integer arrays this large are deflated (MVM inputs and outputs, cell lists); smaller ones gain little
Z_LEVEL = 4  # zlib level: 4 deflates MVM input codes to ~10 %, as fast as level 1 (14 %)


def store_dtype(key: str) -> np.dtype:
    """The dtype of the file dataset of store ``key`` (``b1`` and ``z`` hold bytes)."""
    return np.dtype("u1" if key in ("b1", "z") else key)
# Packages whose classes (dataclasses, exceptions) a journal may name; nothing else is imported.


class Unencodable(str):
    """Stand-in for a recorded value the journal could not spell out (its repr)."""


_PLAIN = (bool, int, str)  # JSON as they are (floats need a finiteness check)
_KEY_OF: dict = {}  # dtype -> (store key or None when no store fits, dtype string)


def _store_key(dtype: np.dtype):
    hit = _KEY_OF.get(dtype)
    if hit is None:
        k = f"{dtype.kind}{dtype.itemsize}"
        hit = _KEY_OF[dtype] = (k if dtype.kind in "biuf" and k in STORES else None, dtype.str)
    return hit


def encode_args(args: dict, sink) -> dict:
    """:func:`encode` of a dict of arguments whose keys are Python identifiers."""
    return {k: _encode_array(v, sink) if type(v) is np.ndarray else v if v is None or type(v) in _PLAIN
            else encode(v, sink) for k, v in args.items()}


def encode(value, sink):
    """JSON-able tree for ``value``.

    ``sink.keep(array) -> Kept`` stores an array (or finds an equal one stored
    recently), ``sink.crc(data)`` adds stored data to the call's CRC-32.
    :class:`Kept` values (arrays the writer kept when the call was recorded)
    encode as the arrays they stand for.
    """
    if isinstance(value, np.ndarray):
        return _encode_array(value, sink)
    if type(value) is Kept:
        return _encode_kept(value, sink)
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$f": repr(value)}
    if isinstance(value, np.generic):
        if value.dtype.kind in "biuf":
            return {"$s": [encode(value.item(), sink), value.dtype.str]}
        return {"$r": repr(value)}
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: encode(v, sink) for k, v in value.items()}
        return {"$d": [[encode(k, sink), encode(v, sink)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"$t": [encode(v, sink) for v in value]}
    if isinstance(value, list):
        return [encode(v, sink) for v in value]
    if isinstance(value, Path):
        return {"$p": str(value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        fields = {f.name: encode(getattr(value, f.name), sink) for f in dataclasses.fields(value)}
        return {"$c": [tag_of(cls), fields]}
    return {"$r": repr(value)}


class Kept:
    """An array as the journal writer keeps it: its values copied into their store's staging buffer.

    Attributes
    ----------
    data : numpy.ndarray
        The values, flat, in the store dtype (narrowest unsigned one for
        non-negative integers); a view of the writer's staging buffer.
    store : str
        Store key (``"u1"`` ... ``"f8"``).
    offset : int
        Where ``data`` starts in the store of the run file.
    dtype : numpy.dtype
        The array's own dtype (what decoding gives back).
    shape : tuple
    repeat : bool
        ``data`` is that of an equal array an earlier call stored.
    """

    __slots__ = ("data", "store", "offset", "dtype", "shape", "repeat")

    def __init__(self, data, store, offset, dtype, shape, repeat):
        self.data, self.store, self.offset, self.dtype, self.shape, self.repeat = data, store, offset, dtype, shape, repeat


def store_for(a: np.ndarray) -> str | None:
    """Store key for the array ``a`` (None when it has none or is small enough to spell out inline).

    Non-negative integer arrays go to the narrowest unsigned store that holds
    them, others of ``Z_MIN`` values or more (MVM outputs) to the narrowest
    signed one.
    """
    dt = a.dtype
    store = _store_key(dt)[0]
    if store is None or a.size <= INLINE_MAX:
        return None
    if dt.kind == "b":
        return "u1"
    if dt.kind in "iu" and dt.itemsize > 1 and a.size >= _DOWNCAST_MIN:
        bits = int(np.bitwise_or.reduce(a, axis=None))  # one pass: >= 0 iff no value is negative, and bounds the largest
        if bits >= 0:
            for key, k_hi in _UINT_FITS:
                if bits <= k_hi:
                    return key if int(key[1:]) < dt.itemsize else store
        elif a.size >= Z_MIN:
            lo, hi = int(a.min()), int(a.max())
            for key, k_lim in _INT_FITS:
                if -k_lim <= lo and hi < k_lim:
                    return key if int(key[1:]) < dt.itemsize else store
    return store


def _encode_array(a: np.ndarray, sink):
    dt = a.dtype
    store, dt_str = _store_key(dt)
    if store is None:
        if dt.kind in "US":
            return {"$i": [a.tolist(), list(a.shape), dt_str]}
        return {"$r": repr(a)}
    if a.size <= INLINE_MAX:
        vals = a.ravel().tolist()
        if dt.kind == "f" and not all(map(math.isfinite, vals)):
            vals = [v if math.isfinite(v) else {"$f": repr(v)} for v in vals]
        return {"$i": [vals, list(a.shape), dt_str]}
    return _encode_kept(sink.keep(a), sink)


def _encode_kept(k: Kept, sink):
    """Reference to a kept array (``" ="`` appended for a repeat, which its first call's CRC covers)."""
    ref = f"{k.store} {k.offset} {'x'.join(map(str, k.shape))} {k.dtype.str}"
    if k.store[0] == "z":
        ref += f" {k.data.size}"
    if k.repeat:
        return {"$a": ref + " ="}
    sink.crc(k.data)
    return {"$a": ref}


def parse_ref(ref: str) -> tuple[str, int, tuple, str]:
    """``"f8 1024 3x64 <f8"`` -> (store, offset, shape, dtype) of a stored array.

    A trailing ``" ="`` marks an array equal to one an earlier call stored.
    """
    store, offset, shape, dtype = ref.split(" ")[:4]
    return store, int(offset), tuple(int(n) for n in shape.split("x")), dtype


def ref_span(ref: str) -> tuple[str, int, int]:
    """(file store, offset, length) of the stored data a reference points at (deflated bytes for ``z``)."""
    parts = ref.split(" ")
    if parts[0][0] == "z":
        return "z", int(parts[1]), int(parts[4])
    return parts[0], int(parts[1]), int(np.prod([int(n) for n in parts[2].split("x")], dtype=np.int64))


def inflate(data: np.ndarray, store: str, size: int) -> np.ndarray:
    """The ``size`` values of a deflated array (``store`` ``"zi1"`` ...), flat, in its narrowed dtype."""
    flat = np.frombuffer(zlib.decompress(np.ascontiguousarray(data)), store_dtype(store[1:]))
    if flat.size != size:
        raise ValueError(f"deflated array holds {flat.size} values, its reference {size}")
    return flat


def decode(tree, get_array):
    """Inverse of :func:`encode`; ``get_array(store, offset, size)`` reads a store."""
    if isinstance(tree, list):
        return [decode(v, get_array) for v in tree]
    if not isinstance(tree, dict):
        return tree
    if len(tree) == 1:
        (key, val), = tree.items()
        if key == "$a":
            store, offset, shape, dtype = parse_ref(val)
            size = int(np.prod(shape, dtype=np.int64))
            if store[0] == "z":
                flat = inflate(get_array("z", offset, ref_span(val)[2]), store, size)
            else:
                flat = get_array(store, offset, size)
            dt = np.dtype(dtype)
            out = flat.astype(np.uint8).view(np.bool_) if dt.kind == "b" else flat.astype(dt)
            return out.reshape(shape)
        if key == "$i":
            vals, shape, dtype = val
            vals = [decode(v, get_array) for v in vals]
            return np.array(vals, dtype=np.dtype(dtype)).reshape(shape)
        if key == "$s":
            return np.dtype(val[1]).type(decode(val[0], get_array))
        if key == "$f":
            return float(val)
        if key == "$d":
            return {decode(k, get_array): decode(v, get_array) for k, v in val}
        if key == "$t":
            return tuple(decode(v, get_array) for v in val)
        if key == "$p":
            return Path(val)
        if key == "$c":
            cls = class_of(val[0])
            fields = {k: decode(v, get_array) for k, v in val[1].items()}
            if cls is None or not dataclasses.is_dataclass(cls):
                return Unencodable(f"{val[0]}({fields!r})")
            return cls(**record_fields(cls.__qualname__, fields))
        if key == "$r":
            return Unencodable(val)
    return {k: decode(v, get_array) for k, v in tree.items()}


def encode_error(exc: BaseException, sink) -> dict:
    """The class, args and attributes of a raised exception."""
    cls = type(exc)
    args = [encode(a, sink) for a in exc.args]
    attrs = {k: encode(v, sink) for k, v in vars(exc).items() if not k.startswith("_")}
    return {"type": tag_of(cls), "args": args, "attrs": attrs}


def decode_error(rec: dict, get_array) -> Exception:
    """Rebuild a recorded exception (same class, message and attributes)."""
    from ..errors import BoardError

    args = tuple(decode(a, get_array) for a in rec["args"])
    cls = class_of(rec["type"])
    if cls is None or not (isinstance(cls, type) and issubclass(cls, Exception)):
        return BoardError(f"recorded {rec['type']}: {' '.join(map(str, args))}")
    exc = cls.__new__(cls)
    exc.args = args
    for k, v in rec["attrs"].items():
        setattr(exc, k, decode(v, get_array))
    return exc


def first_difference(requested, recorded, where: str = "") -> str | None:
    """Where ``requested`` differs from ``recorded`` (``None`` if equal); numpy arrays by shape and value.

    A recorded :class:`~neurram_lab.runlog._mvm_codec.Digest` (large MVM inputs, format 4) is compared
    with the digest of the requested array.
    """
    if type(recorded) is Digest:
        if recorded.matches(requested):
            return None
        return f"{where or 'value'} differs from the recording (shape, dtype or values' digest)"
    if isinstance(recorded, Unencodable):
        return None if repr(requested) == str(recorded) else f"{where or 'value'} cannot be compared (recorded as {str(recorded)[:60]})"
    if isinstance(requested, (np.ndarray, np.generic)) or isinstance(recorded, (np.ndarray, np.generic)):
        a, b = np.asarray(requested), np.asarray(recorded)
        if a.shape != b.shape:
            return f"{where or 'value'} has shape {a.shape}, recorded {b.shape}"
        try:
            same = np.array_equal(a, b, equal_nan=a.dtype.kind in "fc" and b.dtype.kind in "fc")
        except TypeError:
            same = np.array_equal(a, b)
        if not same:
            return f"{where or 'value'} differs from the recording"
        return None
    if isinstance(recorded, dict) and isinstance(requested, dict):
        if list(requested) != list(recorded):
            return f"{where or 'value'} has keys {sorted(map(str, requested))}, recorded {sorted(map(str, recorded))}"
        for k in recorded:
            d = first_difference(requested[k], recorded[k], f"{where}[{k!r}]" if where else str(k))
            if d:
                return d
        return None
    if isinstance(recorded, (list, tuple)) and isinstance(requested, (list, tuple)):
        if len(requested) != len(recorded):
            return f"{where or 'value'} has {len(requested)} items, recorded {len(recorded)}"
        for i, (x, y) in enumerate(zip(requested, recorded)):
            d = first_difference(x, y, f"{where}[{i}]")
            if d:
                return d
        return None
    if dataclasses.is_dataclass(recorded) and dataclasses.is_dataclass(requested):
        if type(recorded) is not type(requested):
            return f"{where or 'value'} is a {type(requested).__name__}, recorded {type(recorded).__name__}"
        for f in dataclasses.fields(recorded):
            d = first_difference(getattr(requested, f.name), getattr(recorded, f.name), f"{where}.{f.name}" if where else f.name)
            if d:
                return d
        return None
    if isinstance(recorded, float) and isinstance(requested, (int, float)):
        if (math.isnan(recorded) and math.isnan(requested)) or recorded == requested:
            return None
        return f"{where or 'value'}={requested!r}, recorded {recorded!r}"
    if isinstance(requested, Path) or isinstance(recorded, Path):
        requested, recorded = str(requested), str(recorded)
    if type(requested) is not type(recorded) and not (isinstance(requested, (int, float)) and isinstance(recorded, (int, float))):
        return f"{where or 'value'} is {type(requested).__name__} {requested!r}, recorded {type(recorded).__name__} {recorded!r}"
    if requested != recorded:
        return f"{where or 'value'}={requested!r}, recorded {recorded!r}"
    return None
