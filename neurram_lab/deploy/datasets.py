"""MNIST in IDX format (the official files, gzip or plain), read with numpy only."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from ..validate import file_path, optional_integer
from ..errors import InputError

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MNIST_FILES = {
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    "train-5k": ("train-5k-images-idx3-ubyte", "train-5k-labels-idx1-ubyte"),
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
}


def read_idx(path) -> np.ndarray:
    """Read one IDX file (``.gz`` or plain) into an array of its declared type and shape."""
    path = file_path("path", path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"path: cannot read {str(path)!r} ({exc})") from exc
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise InputError(f"{path} is not an IDX file (magic {data[:4].hex()})")
    ndim = data[3]
    if len(data) < 4 + 4 * ndim:
        raise InputError(f"{path}: truncated IDX header ({ndim} dimensions declared, {len(data)} bytes in the file)")
    dims = np.frombuffer(data, ">u4", count=ndim, offset=4).astype(np.int64)
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    n = int(np.prod(dims))
    offset = 4 + 4 * ndim
    if len(data) - offset != n * dtype.itemsize:
        raise InputError(f"{path}: header says {n} items of {dtype}, file holds {len(data) - offset} bytes")
    return np.frombuffer(data, dtype, count=n, offset=offset).reshape(tuple(dims)).astype(dtype.newbyteorder("="))


def load_mnist(data_dir, split: str = "test", limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 (n, 28, 28) and labels uint8 (n,) of an MNIST split.

    ``split`` is ``"test"`` (official 10 000), ``"train-5k"`` (the class-balanced
    sample) or ``"train"``; files may be gzipped. ``limit`` keeps the first n.
    """
    limit = optional_integer("limit", limit, lo=1)
    if split not in MNIST_FILES:
        raise InputError(f"MNIST split {split!r} is not one of {sorted(MNIST_FILES)}")
    d = Path(data_dir)
    out = []
    for stem in MNIST_FILES[split]:
        for name in (stem + ".gz", stem):
            if (d / name).exists():
                out.append(read_idx(d / name))
                break
        else:
            raise InputError(f"no {stem}[.gz] in {d}")
    images, labels = out
    if images.shape[0] != labels.shape[0]:
        raise InputError(f"{d}: {images.shape[0]} images but {labels.shape[0]} labels")
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return images, labels
