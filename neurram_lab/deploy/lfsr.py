"""Pseudo-random numbers the way the chip makes them: LFSR chains, XOR-ed (SPEC §1).

Each core has two counter-propagating LFSR chains whose bits are XOR-ed to
give every neuron its own noise stream. :class:`LFSRNoise` reproduces that
for any number of neurons at once (vectorised Galois LFSRs, one state per
stream), so stochastic neurons sampled on the FPGA side give the same
numbers on every board for the same seed.
"""

from __future__ import annotations

import numpy as np

from ..validate import int_list, integer
from ..errors import InputError

_TAPS_A = np.uint32(0xA3000000)  # x^32 + x^30 + x^26 + x^25 + 1 (maximal length)
_TAPS_B = np.uint32(0x80200003)  # x^32 + x^22 + x^2 + x + 1 (maximal length)
MAX_STREAMS = 1 << 26  # two uint32 states each: 512 MiB


class LFSRNoise:
    """Uniform noise in [0, 1) from two XOR-ed 32-bit LFSRs per stream.

    Parameters
    ----------
    n_streams : int
        Independent streams (one per neuron).
    seed : int
    bits : int
        Resolution of each number (LFSR steps per draw).
    """

    def __init__(self, n_streams: int, seed: int = 0, bits: int = 8):
        n_streams = integer("n_streams", n_streams, 1, MAX_STREAMS)
        seed = integer("seed", seed, lo=0)
        bits = integer("bits", bits, 1, 32, "LFSR steps per draw, into a 32-bit word")
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x1F5B]))
        self.a = rng.integers(1, 2**32, n_streams, dtype=np.uint64).astype(np.uint32)
        self.b = rng.integers(1, 2**32, n_streams, dtype=np.uint64).astype(np.uint32)
        self.bits = int(bits)

    @staticmethod
    def _step(s, taps):
        lsb = s & np.uint32(1)
        s >>= np.uint32(1)
        s ^= np.where(lsb.astype(bool), taps, np.uint32(0))
        return lsb

    def uniform(self, shape) -> np.ndarray:
        """Draw numbers of ``shape`` whose last axis equals ``n_streams`` (float32 in [0, 1))."""
        n = self.a.size
        shape = tuple(int_list("shape", shape, lo=0))
        if shape[-1] != n:
            raise InputError(f"shape {shape}: its last axis must equal the {n} streams")
        draws = int(np.prod(shape[:-1]))
        out = np.zeros((draws, n), np.float32)
        for d in range(draws):
            v = np.zeros(n, np.uint32)
            for _ in range(self.bits):
                v = (v << np.uint32(1)) | (self._step(self.a, _TAPS_A) ^ self._step(self.b, _TAPS_B))
            out[d] = v / np.float32(2**self.bits)
        return out.reshape(shape)
