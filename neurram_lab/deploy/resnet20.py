"""The authors' CIFAR-10 ResNet-20 from its ``.npz``: checked against the architecture, and its chip form.

The file (``resnet20_cifar10_act3b_wnoise0.10.npz``, described by the ``.md``
beside it) holds 139 arrays named ``stem.conv.kernel``, ``s1.b0.shortcut.bias``,
``s2.b2.act_out.max``, ``fc.kernel`` ...; :func:`resnet20_shapes` lists each
with its shape, and :func:`load_resnet20` refuses a file that differs, naming
the array.

Two models come out of one file:

- the *software* model (:func:`~.zoo.resnet20_v1`): stem conv - BN - 3-bit
  act-quant, nine residual blocks, average pool, dense; the input on a 4-bit
  grid of clip 0.95; it is the exact float forward pass of the ``.md``;
- the *chip* model (:func:`chip_arch`): the same function with every weight
  layer fed from a quantised grid, as the chip needs integer input codes. In
  the saved graph (``final_quant="before_pool"``) the dense layer reads the
  average of 64 values on the 3-bit grid, which no 8-bit input grid holds
  exactly; the chip model therefore runs the dense layer as a 1x1 conv on each
  of the 8 x 8 positions (3-bit inputs, 64 MVM vectors per image) and averages
  its outputs afterwards: ``mean_p(x_p) W + b = mean_p(x_p W + b)``, so the
  function is unchanged (float summation order aside).

After batch-norm folding the chip model has 22 weight layers; cut to fit
256 physical rows (128 differential inputs with their bias rows) they are the
61 conductance matrices the paper maps onto 48 cores (SPEC §5, :func:`~.mapping.map_model`).
"""

from __future__ import annotations

from collections import abc

import numpy as np

from ..validate import choice, npz_arrays, text
from ..errors import InputError, LimitError
from .model import Model
from .zoo import resnet20_v1

FINAL_QUANTS = ("before_pool", "after_flatten")


def resnet20_shapes() -> dict:
    """``{array name: shape}`` of every array of the authors' ResNet-20 file (139 arrays)."""
    shapes = {}

    def conv(p, k, cin, cout):
        shapes[f"{p}.kernel"], shapes[f"{p}.bias"] = (k, k, cin, cout), (cout,)

    def bn(p, c):
        for q in ("gamma", "beta", "moving_mean", "moving_variance"):
            shapes[f"{p}.{q}"] = (c,)

    conv("stem.conv", 3, 3, 16)
    bn("stem.bn", 16)
    shapes["stem.act.max"] = ()
    cin = 16
    for s, width in enumerate((16, 32, 64)):
        for b in range(3):
            p = f"s{s}.b{b}"
            conv(f"{p}.conv1", 3, cin, width)
            bn(f"{p}.bn1", width)
            shapes[f"{p}.act1.max"] = ()
            conv(f"{p}.conv2", 3, width, width)
            bn(f"{p}.bn2", width)
            if s > 0 and b == 0:
                conv(f"{p}.shortcut", 1, cin, width)
            shapes[f"{p}.act_out.max"] = ()
            cin = width
    shapes["fc.kernel"], shapes["fc.bias"] = (64, 10), (10,)
    return shapes


def check_resnet20_arrays(params: dict, source: str = "model") -> None:
    """Refuse (InputError/LimitError naming the array) a parameter set that is not the authors' ResNet-20.

    ``params`` is a dict ``{array name: numpy array}`` (as :func:`~neurram_lab.validate.npz_arrays` reads it);
    anything else is an InputError.
    """
    source = text("source", source)
    if not isinstance(params, abc.Mapping):
        raise InputError(f"{source}: the ResNet-20 parameters must be a dict of arrays, got {type(params).__name__}")
    want = resnet20_shapes()
    missing = [k for k in want if k not in params]
    if missing:
        raise InputError(f"{source}: array {missing[0]!r} of ResNet-20 is missing"
                         f"{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}; is this the ResNet-20 file?")
    extra = sorted(set(params) - set(want))
    if extra:
        raise InputError(f"{source}: array {extra[0]!r} is not part of ResNet-20"
                         f"{f' (and {len(extra) - 1} more)' if len(extra) > 1 else ''}")
    for k, shp in want.items():
        a = params[k]
        if not isinstance(a, np.ndarray):
            raise InputError(f"{source}: array {k!r} is a {type(a).__name__}, not a numpy array")
        if a.dtype.kind not in "fiu":
            raise InputError(f"{source}: array {k!r} is {a.dtype}, not numbers")
        if tuple(a.shape) != shp:
            raise InputError(f"{source}: array {k!r} has shape {tuple(a.shape)}, ResNet-20 needs {shp}")
        if not np.all(np.isfinite(a)):
            raise LimitError(f"{source} array {k!r}", float(a[~np.isfinite(a)].flat[0]), "finite",
                             "a trained weight is a finite number; the file is damaged")
        if k.endswith(".max") and not float(a) > 0:
            raise LimitError(f"{source} array {k!r}", float(a), "> 0", "an act-quant clip value")
        if k.endswith("moving_variance") and np.any(a < 0):
            raise LimitError(f"{source} array {k!r}", float(a.min()), ">= 0", "a batch-norm variance")


def chip_arch(final_quant: str = "before_pool") -> dict:
    """The ResNet-20 architecture as the chip runs it (see the module doc): fc as a 1x1 conv before the pool."""
    final_quant = choice("final_quant", final_quant, FINAL_QUANTS)
    arch = resnet20_v1(final_quant)
    if final_quant == "after_flatten":
        return arch
    layers = arch["layers"]
    names = [lay["name"] for lay in layers]
    i = names.index("pool")
    pool, _, _fc = layers[i : i + 3]
    src = pool["inputs"][0]
    tail = [{"name": "fc", "op": "conv2d", "stride": 1, "padding": "valid", "inputs": [src]},
            {"name": "pool", "op": "avg_pool", "size": 8, "padding": "valid"},
            {"name": "flatten", "op": "flatten"}]
    return dict(arch, name="resnet20_v1_chip", layers=layers[:i] + tail)


def load_resnet20(path, final_quant: str = "before_pool") -> tuple[Model, Model]:
    """``(software, chip)`` models of the authors' ResNet-20 file.

    Parameters
    ----------
    path : path to the ``.npz``
    final_quant : {"before_pool", "after_flatten"}
        Where the last 3-bit act-quant sits (the model's ``.md``): the saved graph's
        (after the last residual add) or the authors' current code's (after flatten).

    Raises
    ------
    InputError, LimitError
        Not an ``.npz``, or an array missing, extra, of another shape, not finite.
    """
    final_quant = choice("final_quant", final_quant, FINAL_QUANTS)
    params = npz_arrays("model", path)
    check_resnet20_arrays(params, f"model {path}")
    software = Model.from_arch(resnet20_v1(final_quant), params)
    chip_params = dict(params)
    if final_quant == "before_pool":
        chip_params["fc.kernel"] = np.asarray(params["fc.kernel"]).reshape(1, 1, 64, 10)
    chip = Model.from_arch(chip_arch(final_quant), chip_params)
    return software, chip
