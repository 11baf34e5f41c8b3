"""Compact journaling of large MVM calls: what replay needs, not every array (run-file format 4).

An MVM batch's input codes are computed by the experiment, so a replay that
re-runs it recomputes them: the journal keeps a :class:`Digest` of them (shape,
dtype, BLAKE2b of the values), against which replay checks the request. The ADC
codes it returns are measurements and are kept, as :class:`Predicted`: an integer
linear predictor from the inputs (fitted on the call, coefficients in fixed point)
and the residual codes, which deflate to about half the size of the codes (the
residual is the noise, ~1-3 LSB, against codes spread over most of the range).

The prediction is exact integer arithmetic carried out in float64 (every
product and partial sum is an integer below 2**53), so it is bit-identical on
any machine, BLAS or summation order; decoding needs the request's inputs,
which a replay has (:meth:`Predicted.values`).
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np

MIN_VALUES = 4096  # inputs and outputs this large are compacted (smaller ones cost less than the bookkeeping)
_COEF_BITS = 20  # fixed-point coefficients |c| <= 2**20: with |x| < 2**15 and <= 2**17 inputs, sums stay below 2**53
_X_MAX = 2**15
_FIT_ROWS = 8192  # rows of a call the predictor is fitted on (evenly spaced)
_MIN_ROWS_PER_COEF = 16  # a batch is predicted when it has this many vectors per input line or more


@dataclasses.dataclass(frozen=True)
class Digest:
    """A large integer array the journal did not keep: its shape, dtype and BLAKE2b-128 of its values.

    ``narrow`` is the integer dtype the values were cast to before hashing (the
    narrowest that holds them), so hashing reads 1-2 bytes per value.
    """

    shape: tuple
    dtype: str
    narrow: str
    blake2b: str

    def matches(self, a) -> bool:
        """True if ``a`` is an integer array of this shape and these values.

        Its integer dtype may differ from the recorded one: the hash is of the values (cast to ``narrow``), and
        the MVM's integer inputs have narrowed since some runs were recorded (int64 then, int16 now) with the
        same values, so the same request.
        """
        a = np.asarray(a)
        if tuple(a.shape) != tuple(self.shape) or a.dtype.kind not in "iu" or np.dtype(self.dtype).kind not in "iu":
            return False
        lo, hi = _range(a)
        info = np.iinfo(self.narrow)
        return info.min <= lo and hi <= info.max and _hash(a, np.dtype(self.narrow)) == self.blake2b


def _range(a: np.ndarray) -> tuple[int, int]:
    return (int(a.min()), int(a.max())) if a.size else (0, 0)


def _narrowest(lo: int, hi: int) -> np.dtype:
    for dt in ("u1", "u2", "u4") if lo >= 0 else ("i1", "i2", "i4"):
        info = np.iinfo(dt)
        if info.min <= lo and hi <= info.max:
            return np.dtype(dt)
    return np.dtype("i8")


def _hash(a: np.ndarray, narrow: np.dtype) -> str:
    flat = np.ascontiguousarray(a.reshape(-1).astype(narrow, copy=False))
    return hashlib.blake2b(flat.view(np.uint8), digest_size=16).hexdigest()


def digest(a: np.ndarray, lo_hi: tuple[int, int] | None = None) -> Digest:
    """The :class:`Digest` of an integer array (``lo_hi``: its min and max, when the caller has them)."""
    narrow = _narrowest(*(lo_hi or _range(a)))
    return Digest(tuple(int(n) for n in a.shape), a.dtype.str, narrow.str, _hash(a, narrow))


@dataclasses.dataclass
class Predicted:
    """ADC codes kept as a residual from an integer linear prediction from the call's inputs.

    Attributes
    ----------
    residual : ndarray of int, shape (n_cores, batch, n_out)
        codes − prediction.
    coef : ndarray of int32, shape (n_cores, n_in + 1, n_out)
        Fixed-point coefficients (the last row the offset), scaled by ``2**shift``.
    shift : int
    lo, hi : int
        The prediction is clipped to [lo, hi] (the codes' range in the call).
    dtype : str
        The codes' dtype.
    """

    residual: np.ndarray
    coef: np.ndarray
    shift: int
    lo: int
    hi: int
    dtype: str

    def values(self, inputs) -> np.ndarray:
        """The recorded codes, given the request's inputs (what replay sends)."""
        pred = _predict(np.asarray(inputs), np.asarray(self.coef), int(self.shift), int(self.lo), int(self.hi))
        return (pred + np.asarray(self.residual, np.int64)).astype(np.dtype(self.dtype))


def _predict(x: np.ndarray, coef: np.ndarray, shift: int, lo: int, hi: int) -> np.ndarray:
    """floor((x @ c + offset) / 2**shift + 1/2), clipped: exact, as every term is an integer below 2**53."""
    xf = x.astype(np.float64)
    acc = np.matmul(xf, coef[:, :-1, :].astype(np.float64)) + coef[:, -1:, :].astype(np.float64)
    scale = float(2**shift)
    pred = np.floor((acc + scale / 2) / scale)  # division by a power of two is exact
    return np.clip(pred, lo, hi).astype(np.int64)


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, int]:
    """Fixed-point least-squares coefficients (n_cores, n_in + 1, n_out) and their shift."""
    n_cores, n, n_in = x.shape
    rows = np.unique(np.linspace(0, n - 1, min(n, _FIT_ROWS)).astype(np.int64))
    coef = np.zeros((n_cores, n_in + 1, y.shape[-1]))
    for k in range(n_cores):  # a handful of cores per call
        a = np.hstack([x[k, rows].astype(np.float64), np.ones((rows.size, 1))])
        sol, *_ = np.linalg.lstsq(a, y[k, rows].astype(np.float64), rcond=None)
        coef[k] = np.where(np.isfinite(sol), sol, 0.0)
    peak = float(np.abs(coef).max()) if coef.size else 0.0
    shift = int(np.clip(_COEF_BITS - np.ceil(np.log2(peak)) if peak > 0 else _COEF_BITS, 0, 40))
    q = np.clip(np.rint(coef * 2.0**shift), -(2**_COEF_BITS), 2**_COEF_BITS).astype(np.int32)
    return q, shift


def compact(request, response):
    """``(request, response)`` as the journal keeps an MVM call: large inputs digested, large codes predicted.

    Returns the two unchanged when the call is small or not an integer batch.
    """
    x = getattr(request, "inputs", None)
    if type(x) is not np.ndarray or x.dtype.kind not in "iu" or x.ndim != 3 or x.size < MIN_VALUES:
        return request, response
    lo_x, hi_x = _range(x)  # one pass over the batch for the digest's dtype and the prediction's bound
    request = dataclasses.replace(request, inputs=digest(x, (lo_x, hi_x)))
    y = response
    if (type(y) is not np.ndarray or y.dtype.kind not in "iu" or y.ndim != 3 or y.shape[:2] != x.shape[:2]
            or y.size < MIN_VALUES or not (-_X_MAX < lo_x and hi_x < _X_MAX) or x.shape[2] > 2**17
            or x.shape[1] < _MIN_ROWS_PER_COEF * (x.shape[2] + 1)):  # few vectors: coefficients cost more than they save
        return request, response
    coef, shift = _fit(x, y)
    lo, hi = _range(y)
    residual = y.astype(np.int64) - _predict(x, coef, shift, lo, hi)
    return request, Predicted(residual, coef, shift, lo, hi, y.dtype.str)
