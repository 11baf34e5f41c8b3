"""CIFAR-10 in its two official layouts, read with numpy and a restricted unpickler.

- python layout (``cifar-10-batches-py``): ``test_batch``, ``data_batch_1`` ..
  ``data_batch_5`` and ``batches.meta``; each batch a pickle of a dict with
  ``data`` (n, 3072) uint8, every row 1024 red, 1024 green, 1024 blue values
  (row-major 32 x 32), and ``labels`` (n,);
- binary layout (``cifar-10-batches-bin``): ``test_batch.bin``,
  ``data_batch_1.bin`` .. ``data_batch_5.bin`` (and ``batches.meta.txt``),
  records of 1 label byte and the same 3072 pixel bytes.

The pickles are read with an unpickler that builds only dicts, lists, strings,
bytes and numpy arrays: a file that asks for anything else is refused instead
of running code.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np

from ..validate import choice, dir_path, optional_integer
from ..errors import InputError

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
IMAGE_SHAPE = (32, 32, 3)
_PIXELS = 3072
_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
# the globals a numpy-array pickle needs; nothing else is constructed
_SAFE_GLOBALS = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                 ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
                 ("numpy._core.multiarray", "scalar"), ("_codecs", "encode")}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR-10 batch")


def cifar10_layout(data_dir) -> str:
    """``"python"`` or ``"binary"``: which official layout ``data_dir`` holds (its test batch decides).

    Raises
    ------
    InputError
        No ``test_batch`` (python) or ``test_batch.bin`` (binary) in the folder.
    """
    d = dir_path("data", data_dir)
    if (d / "test_batch").is_file():
        return "python"
    if (d / "test_batch.bin").is_file():
        return "binary"
    raise InputError(f"data: {d} holds no CIFAR-10 test set: neither test_batch (python layout) nor test_batch.bin "
                     f"(binary layout)")


def _read_python(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as f:
            d = _Unpickler(io.BytesIO(f.read()), encoding="bytes").load()
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError,
            IndexError, KeyError) as exc:
        raise InputError(f"{path} is not a CIFAR-10 python batch ({type(exc).__name__}: {exc})") from None
    if not isinstance(d, dict):
        raise InputError(f"{path} is not a CIFAR-10 python batch (a pickled {type(d).__name__}, not a dict)")
    d = {k.decode() if isinstance(k, bytes) else k: v for k, v in d.items()}
    if "data" not in d or "labels" not in d:
        raise InputError(f"{path} is not a CIFAR-10 python batch: keys {sorted(map(str, d))}, need data and labels")
    data = np.asarray(d["data"])
    try:
        labels = np.asarray(d["labels"], np.int64)
    except (TypeError, ValueError):
        raise InputError(f"{path}: labels are not integers") from None
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != _PIXELS:
        raise InputError(f"{path}: data is {data.dtype} {data.shape}, a CIFAR-10 batch holds uint8 (n, {_PIXELS})")
    if labels.shape != (data.shape[0],):
        raise InputError(f"{path}: {data.shape[0]} images but labels of shape {labels.shape}")
    return data, labels


def _read_binary(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        raw = np.fromfile(path, np.uint8)
    except OSError as exc:
        raise InputError(f"cannot read {path} ({exc})") from None
    if raw.size == 0 or raw.size % (_PIXELS + 1):
        raise InputError(f"{path} is not a CIFAR-10 binary batch: {raw.size} bytes is not a whole number of "
                         f"{_PIXELS + 1}-byte records")
    rec = raw.reshape(-1, _PIXELS + 1)
    return rec[:, 1:], rec[:, 0].astype(np.int64)


def load_cifar10(data_dir, split: str = "test", limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 (n, 32, 32, 3) HWC and labels uint8 (n,) of a CIFAR-10 split.

    Parameters
    ----------
    data_dir : path
        A folder in the python or the binary layout (see the module doc).
    split : {"test", "train"}
        ``"train"`` concatenates the ``data_batch_*`` files present (at least one).
    limit : int, optional
        Keep the first ``limit`` images.

    Raises
    ------
    InputError
        A missing folder or batch, a damaged batch, labels outside 0..9.
    """
    limit = optional_integer("limit", limit, lo=1)
    split = choice("split", split, ("test", "train"))
    layout = cifar10_layout(data_dir)
    d = Path(data_dir).expanduser()
    ext, read = ("", _read_python) if layout == "python" else (".bin", _read_binary)
    names = ["test_batch"] if split == "test" else [n for n in _TRAIN if (d / (n + ext)).is_file()]
    if not names:
        raise InputError(f"data: {d} holds no CIFAR-10 training batch (data_batch_1{ext} .. data_batch_5{ext})")
    parts = [read(d / (n + ext)) for n in names]
    data = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        bad = int(labels[(labels < 0) | (labels > 9)][0])
        raise InputError(f"data: a CIFAR-10 label in {d} is {bad}, outside 0..9")
    if limit is not None:
        data, labels = data[:limit], labels[:limit]
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.astype(np.uint8)


def has_training_batches(data_dir) -> bool:
    """True when the folder holds at least one ``data_batch_*`` of its layout."""
    ext = "" if cifar10_layout(data_dir) == "python" else ".bin"
    d = Path(data_dir).expanduser()
    return any((d / (n + ext)).is_file() for n in _TRAIN)


def class_names(data_dir) -> tuple:
    """Label names from ``batches.meta`` (python) or ``batches.meta.txt`` (binary); the standard ten otherwise.

    ``data_dir`` must be an existing folder (InputError otherwise)."""
    d = dir_path("data", data_dir)
    if (d / "batches.meta").is_file():
        try:
            with open(d / "batches.meta", "rb") as f:
                meta = _Unpickler(io.BytesIO(f.read()), encoding="bytes").load()
            names = meta.get(b"label_names", meta.get("label_names"))
            names = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names)
        except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError,
                IndexError, KeyError) as exc:
            raise InputError(f"{d / 'batches.meta'} is not a CIFAR-10 meta file ({type(exc).__name__})") from None
        if len(names) != 10:
            raise InputError(f"{d / 'batches.meta'}: {len(names)} label names, CIFAR-10 has 10")
        return names
    if (d / "batches.meta.txt").is_file():
        names = tuple(n.strip() for n in (d / "batches.meta.txt").read_text(errors="replace").splitlines() if n.strip())
        if len(names) == 10:
            return names
    return CLASSES
