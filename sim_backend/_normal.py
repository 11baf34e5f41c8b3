"""Counter-based standard normal draws with exact tails: the twin's noise source.

A stream is a 64-bit start word; its ``j``-th 64-bit word is the SplitMix64
output ``mix(start + j * GAMMA)``, so any part of a stream can be drawn on
its own, by any thread, in any order, with the same result. Each word gives
two draws, one from each 32-bit half ``w``:

- draws come in chunks of 2048 (chunk ``c`` from word ``1024 c`` on; the
  compiled loops keep one chunk's work in the cache): in a chunk of ``n``,
  draws ``0 .. m-1`` take the high halves of its words ``0 .. m-1``, draws
  ``m ..`` the low halves, ``m = ceil(n / 2)``;
- the top 12 bits of ``w`` pick one of 4096 equal-probability bins, the low
  20 bits the place ``f`` in it; the draw is the normal quantile function
  ``Q`` expanded to fourth order around the bin's middle probability,
  ``z_m + t + z_m t^2 / 2 + (1 + 2 z_m^2) t^3 / 6 + (6 z_m^3 + 7 z_m) t^4 / 24``
  with ``t = f h / phi(z_m)``, ``h = 1/4096``: within 3e-5 sigma of the exact
  quantile in every bin used this way (the truncation is largest next to the
  exact bins, at 3.3 sigma);
- the 2 outermost bins on each side (``|z|`` beyond 3.29 sigma, 0.1 % of
  draws) take the exact quantile instead: the probability gets 32 more bits
  from a second word (``p`` resolved to ``2**-64``, draws to 9 sigma) and
  ``Q(p)`` is Acklam's rational approximation refined by one Halley step on
  ``erfc`` (float64, relative error below 1e-15).

The compiled loops (``sim_backend._kernels_numba.normal_*``) and
:func:`normals_numpy` give the same float32 draws (the body's float32
arithmetic is the same operations in the same order; the tail's float64
``log``/``erfc`` may differ by an ulp before rounding to float32).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from ._parallel import run_blocks

GAMMA = np.uint64(0x9E3779B97F4A7C15)
M1 = np.uint64(0xBF58476D1CE4E5B9)
M2 = np.uint64(0x94D049BB133111EB)
SALT = np.uint64(0xD1B54A32D192ED03)  # the tail's second word: mix(x ^ SALT)
BIN_BITS = 12
FRAC_BITS = 32 - BIN_BITS
TAIL_BINS = 2  # bins on each side drawn exactly
# |z| at the inner edge of the tail bins: body draws stay inside it
TAIL_Z = float(-ndtri(TAIL_BINS / 2.0**BIN_BITS))
MASK64 = (1 << 64) - 1


def _mix_int(x: int) -> int:
    """SplitMix64's output function on a Python int (wraps at 64 bits)."""
    x &= MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def stream_start(key, *counters: int) -> np.uint64:
    """Start word of the stream numbered ``counters`` under ``key`` (sequence of uint64 words)."""
    h = 0
    for word in [int(k) for k in np.asarray(key, np.uint64).ravel()] + [int(c) for c in counters]:
        h = _mix_int(h ^ _mix_int(word + 0x9E3779B97F4A7C15))
    return np.uint64(h)


def _build_tables() -> tuple[np.ndarray, np.ndarray]:
    """Each bin's middle quantile ``z_m`` and width ``h / phi(z_m)`` in z (float32, 4096 each)."""
    m = 1 << BIN_BITS
    z = ndtri((np.arange(m) + 0.5) / m)
    w = (1.0 / m) * np.sqrt(2.0 * np.pi) * np.exp(0.5 * z * z)
    z, w = z.astype(np.float32), w.astype(np.float32)
    z.flags.writeable = w.flags.writeable = False
    return z, w


Z_MID, WIDTH = _build_tables()
BIN_TABLE = np.ascontiguousarray(np.stack([Z_MID, WIDTH], axis=1))  # (4096, 2): one look-up per draw
BIN_TABLE.flags.writeable = False
BIN_PAIRS = BIN_TABLE.view(np.uint64).ravel()  # the compiled look-up's view: bin b's (middle, width) as one word


def mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's output function, vectorised (uint64, wraps)."""
    x = x ^ (x >> np.uint64(30))
    x *= M1
    x ^= x >> np.uint64(27)
    x *= M2
    x ^= x >> np.uint64(31)
    return x


def words(start, first: int, n_words: int) -> np.ndarray:
    """Words ``first .. first + n_words - 1`` of the stream ``start`` (uint64)."""
    with np.errstate(over="ignore"):
        j = np.arange(first, first + n_words, dtype=np.uint64)
        return mix(np.uint64(start) + j * GAMMA)


def halves(x: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` 32-bit halves of the ``ceil(n / 2)`` words ``x`` in draw order (uint32): the high
    halves of every word, then the low halves of the first ``n - ceil(n / 2)``."""
    m = x.size
    return np.concatenate([(x >> np.uint64(32)).astype(np.uint32),
                           (x[: n - m] & np.uint64(0xFFFFFFFF)).astype(np.uint32)])


def _body(w: np.ndarray) -> np.ndarray:
    """Fourth-order expansion of the quantile in each draw's bin (float32)."""
    b = (w >> np.uint32(FRAC_BITS)).astype(np.intp)
    f = (w & np.uint32((1 << FRAC_BITS) - 1)).astype(np.float32)
    f *= np.float32(2.0**-FRAC_BITS)
    f += np.float32(2.0 ** -(FRAC_BITS + 1) - 0.5)
    z0 = Z_MID[b]
    t = f * WIDTH[b]
    z2 = z0 * z0
    c = np.float32(0.25) * z2
    c += np.float32(7.0 / 24.0)
    c *= z0
    c *= t
    c += np.float32(1.0 / 3.0) * z2 + np.float32(1.0 / 6.0)
    c *= t
    c += np.float32(0.5) * z0
    c *= t
    c += np.float32(1.0)
    c *= t
    return z0 + c


_ACK_A = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
          1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00)
_ACK_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
          -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00)
_ACK_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00)


def lower_quantile(p: np.ndarray) -> np.ndarray:
    """``Q(p)`` for ``0 < p <= 0.02425`` (float64): Acklam's tail rational plus one Halley step."""
    from scipy.special import erfc

    c, d = _ACK_C, _ACK_D
    q = np.sqrt(-2.0 * np.log(p))
    z = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / \
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0)
    e = 0.5 * erfc(-z / np.sqrt(2.0)) - p
    u = e * np.sqrt(2.0 * np.pi) * np.exp(0.5 * z * z)
    return z - u / (1.0 + 0.5 * z * u)


def tail_value(w: np.ndarray, w2: np.ndarray) -> np.ndarray:
    """Exact draws of tail-bin halves ``w`` (uint32), refined by the second word's halves ``w2``."""
    w = w.astype(np.float64)
    u2 = (w2.astype(np.float64) + 0.5) * 2.0**-32
    low = w < 2.0**31
    p = np.where(low, w + u2, (2.0**32 - 1.0 - w) + (1.0 - u2)) * 2.0**-32
    z = lower_quantile(p)
    return np.where(low, z, -z)


def is_tail(w: np.ndarray) -> np.ndarray:
    """True for halves in the exactly drawn outer bins."""
    b = w >> np.uint32(FRAC_BITS)
    return (b < TAIL_BINS) | (b >= (1 << BIN_BITS) - TAIL_BINS)


CHUNK = 2048  # draws per chunk: chunk c takes words first + c * CHUNK / 2 on, laid out as below
PART = 64 * CHUNK  # draws per thread-pool block of a large request (sim_backend._parallel)


def normals_numpy(start, first_word: int, n: int) -> np.ndarray:
    """``n`` standard normal draws (float32) from word ``first_word`` of stream ``start`` on (numpy):
    ``CHUNK`` draws at a time, each chunk laid out as :func:`_chunk_numpy`."""
    n = int(n)
    parts = [_chunk_numpy(start, first_word + c0 // 2, min(CHUNK, n - c0)) for c0 in range(0, n, CHUNK)]
    return np.concatenate(parts) if parts else np.empty(0, np.float32)


def _chunk_numpy(start, first_word: int, n: int) -> np.ndarray:
    """The ``n <= CHUNK`` draws of one chunk: the high halves of its ``ceil(n / 2)`` words, then the
    low halves of the first ``n - ceil(n / 2)``."""
    n_words = (int(n) + 1) // 2
    x = words(start, first_word, n_words)
    w = halves(x, n)
    z = _body(w)
    tail = np.flatnonzero(is_tail(w))
    if tail.size:
        m = x.size
        hi = tail < m
        x2 = mix(x[np.where(hi, tail, tail - m)] ^ SALT)
        w2 = np.where(hi, x2 >> np.uint64(32), x2 & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        z[tail] = tail_value(w[tail], w2).astype(np.float32)
    return z


def normals(start, first_word: int, n: int, scale: float = 1.0, out=None) -> np.ndarray:
    """``n`` draws of rms ``scale`` (float32; into ``out`` if given, else a new array): compiled where
    numba is present."""
    from . import _kernels

    n = int(n)
    if _kernels.available():
        start, first, scale = np.uint64(start), np.uint64(first_word), np.float32(scale)
        out = np.empty(n, np.float32) if out is None else out
        fill = _kernels.kernel("fill_normals")

        def part(i):  # whole chunks, so the draws do not depend on the parts or their threads
            a, b = i * PART, min(i * PART + PART, n)
            fill(start, first + np.uint64(a // 2), BIN_PAIRS, scale, out[a:b])

        run_blocks(part, -(-n // PART))
        return out
    z = normals_numpy(start, first_word, n)
    if scale != 1.0:
        z *= np.float32(scale)
    if out is not None:
        out[...] = z
        return out
    return z


def uniforms(start, first_word: int, n: int) -> np.ndarray:
    """``n`` uniform draws in [0, 1) (float32, 24 bits each) from the stream's 32-bit halves."""
    w = halves(words(start, first_word, (int(n) + 1) // 2), int(n))
    return (w >> np.uint32(8)).astype(np.float32) * np.float32(2.0**-24)


class NormalStream:
    """One stream, drawn in order: each request takes the next words (a request of ``n`` draws takes
    ``ceil(n / 2)`` words, so where a request starts does not depend on how the draws are used)."""

    def __init__(self, start):
        self.start = np.uint64(start)
        self.pos = 0

    def _take(self, n: int) -> int:
        first = self.pos
        self.pos += (int(n) + 1) // 2
        return first

    def __call__(self, n: int) -> np.ndarray:
        """``n`` standard normal draws (float32)."""
        return normals(self.start, self._take(n), n)

    def normal(self, shape, scale: float = 1.0) -> np.ndarray:
        """Draws of rms ``scale`` shaped ``shape`` (float32, writable)."""
        n = int(np.prod(shape))
        return normals(self.start, self._take(n), n, scale).reshape(shape)

    def uniform(self, n: int) -> np.ndarray:
        """``n`` uniform draws in [0, 1) (float32)."""
        return uniforms(self.start, self._take(n), n)


class FreshNormals:
    """Fresh noise for every request: request ``i`` under ``key`` draws stream ``(i,)`` from its start.

    What the chip's MVM and neuron-test calls use: no draw is ever served twice,
    and the same seed and the same sequence of requests give the same draws.
    """

    def __init__(self, key):
        self.key = np.asarray(key, np.uint64)
        self.requests = 0
        self._buf = np.empty(0, np.float32)

    def next_stream(self) -> np.uint64:
        """The start word of the next request's stream (the request counted): for a caller that draws
        ``normals(start, 0, n, scale)`` itself, or its compiled equivalent (the twin's fused conversion)."""
        start = stream_start(self.key, self.requests)
        self.requests += 1
        return start

    def normal(self, shape, scale: float = 1.0) -> np.ndarray:
        """Draws of rms ``scale`` shaped ``shape`` (float32), from a stream of their own.

        The array is this source's buffer, valid until its next request (a
        fresh 2 MB array page-faults in on every MVM call).
        """
        start = self.next_stream()
        n = int(np.prod(shape))
        if self._buf.size < n:
            self._buf = np.empty(n, np.float32)
        return normals(start, 0, n, scale, out=self._buf[:n]).reshape(shape)
