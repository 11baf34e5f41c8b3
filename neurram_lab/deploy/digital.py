"""The FPGA side of inference, in numpy: patches, pooling, element-wise ops, activation quantisation.

Everything the chip does not do in its arrays: building conv input patches,
accumulating partial sums, max/average pooling, residual adds, flatten and
the activation quantiser. NHWC tensors, batch first.
"""

from __future__ import annotations

import numpy as np

from ..validate import array, choice, int_pair, integer, number, positive
from ..errors import InputError


MAX_ACT_BITS = 16  # activation quantiser resolution: the chip's inputs take at most 8, the FPGA holds 16


def _nhwc(x) -> np.ndarray:
    """A batch of feature maps (n, h, w, c), its dtype kept (float32 through the network)."""
    keep = x.dtype if isinstance(x, np.ndarray) and x.dtype.kind in "iuf" else np.float64
    return array("x", x, 4, keep)


def _window(name, k, stride, padding, hw):
    """A window ``(kh, kw)`` >= 1 (within the map for 'valid'), a stride >= 1 (None: the window) and the padding."""
    padding = choice("padding", padding, ("same", "valid"))
    kh, kw = int_pair(name, k, lo=1)
    if padding == "valid":
        integer(f"{name} (rows)", kh, 1, hw[0], "a 'valid' window must fit the map")
        integer(f"{name} (cols)", kw, 1, hw[1], "a 'valid' window must fit the map")
    stride = kh if stride is None else integer("stride", stride, lo=1)
    return (kh, kw), stride, padding


def same_pads(size: int, k: int, stride: int) -> tuple[int, int, int]:
    """TF 'SAME' padding: (pad_before, pad_after, out_size); the extra pad goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return total // 2, total - total // 2, out


def _pads(shape_hw, k, stride, padding):
    if padding == "same":
        (t, b, oh), (l, r, ow) = same_pads(shape_hw[0], k[0], stride), same_pads(shape_hw[1], k[1], stride)
    elif padding == "valid":
        t = b = l = r = 0
        oh, ow = (shape_hw[0] - k[0]) // stride + 1, (shape_hw[1] - k[1]) // stride + 1
    else:
        raise InputError(f"padding {padding!r} is not 'same' or 'valid'")
    return (t, b, l, r), (oh, ow)


def conv_geometry(hw, k, stride: int = 1, padding: str = "same"):
    """``((pad_top, pad_bottom, pad_left, pad_right), (oh, ow))`` of a conv window ``k`` over a map of
    ``hw = (h, w)``, as :func:`im2col` pads and strides it."""
    stride = integer("stride", stride, lo=1)
    k, stride, padding = _window("k", k, stride, padding, tuple(hw))
    return _pads(tuple(hw), k, stride, padding)


def im2col(x: np.ndarray, k, stride: int = 1, padding: str = "same", pad_value=0):
    """Conv input patches: (n, oh, ow, kh*kw*c) view-backed array, and (oh, ow).

    Patch element order is (kh, kw, c), matching an HWIO kernel reshaped to (kh*kw*c, out).
    """
    x = _nhwc(x)
    n, h, w, c = x.shape
    stride = integer("stride", stride, lo=1)
    k, stride, padding = _window("k", k, stride, padding, (h, w))
    pad_value = number("pad_value", pad_value)
    (t, b, l, r), (oh, ow) = _pads((h, w), k, stride, padding)
    xp = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=pad_value) if t + b + l + r else x
    win = np.lib.stride_tricks.sliding_window_view(xp, (k[0], k[1]), axis=(1, 2))  # n, H', W', c, kh, kw
    win = win[:, : (oh - 1) * stride + 1 : stride, : (ow - 1) * stride + 1 : stride]
    cols = win.transpose(0, 1, 2, 4, 5, 3).reshape(n, oh, ow, k[0] * k[1] * c)
    return cols, (oh, ow)


def pool(x: np.ndarray, size: int, stride: int | None = None, padding: str = "valid", kind: str = "max"):
    """Max or average pooling, TF semantics (SAME pads with -inf for max, excluded from averages)."""
    x = _nhwc(x)
    n, h, w, c = x.shape
    kind = choice("kind", kind, ("max", "avg"))
    size = integer("size", size, lo=1)
    (size, _), stride, padding = _window("size", size, stride, padding, (h, w))
    (t, b, l, r), (oh, ow) = _pads((h, w), (size, size), stride, padding)
    if kind == "max":
        xp = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=-np.inf) if t + b + l + r else x
        win = np.lib.stride_tricks.sliding_window_view(xp, (size, size), axis=(1, 2))
        win = win[:, : (oh - 1) * stride + 1 : stride, : (ow - 1) * stride + 1 : stride]
        return win.max(axis=(-1, -2)).astype(x.dtype)
    if kind == "avg":
        xp = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0))) if t + b + l + r else x
        ones = np.pad(np.ones((1, h, w, 1), x.dtype), ((0, 0), (t, b), (l, r), (0, 0)))
        s = np.lib.stride_tricks.sliding_window_view(xp, (size, size), axis=(1, 2))
        cnt = np.lib.stride_tricks.sliding_window_view(ones, (size, size), axis=(1, 2))
        sl = (slice(None), slice(0, (oh - 1) * stride + 1, stride), slice(0, (ow - 1) * stride + 1, stride))
        return (s[sl].sum(axis=(-1, -2)) / cnt[sl].sum(axis=(-1, -2))).astype(x.dtype)
    raise InputError(f"pool kind {kind!r} is not 'max' or 'avg'")


def act_quant(x: np.ndarray, max_value: float, bits: int) -> np.ndarray:
    """Clip to [0, max] and round to 2**bits uniform levels (half up): TF fake_quant with min 0."""
    x = array("x", x, None, np.float32, nonempty=False)
    max_value = positive("max_value", max_value)
    bits = integer("bits", bits, 1, MAX_ACT_BITS)
    step = float(max_value) / (2**bits - 1)
    y = np.clip(x, 0.0, max_value, out=np.empty_like(x))  # a new array; the rest in place (same arithmetic)
    y /= step
    y += 0.5
    np.floor(y, out=y)
    y *= step
    return y


def accumulate(partials) -> np.ndarray:
    """Sum of partial outputs of a split matrix (the FPGA adds them in float32)."""
    it = iter(partials)
    total = np.array(next(it), np.float32, copy=True)
    for p in it:
        total += p
    return total


def flatten(x: np.ndarray, order: str = "hwc") -> np.ndarray:
    if order == "chw" and x.ndim == 4:
        x = x.transpose(0, 3, 1, 2)
    elif order not in ("hwc", "chw"):
        raise InputError(f"flatten order {order!r} is not 'hwc' or 'chw'")
    return x.reshape(x.shape[0], -1)


def softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def apply(layer, inputs: list) -> np.ndarray:
    """Run a non-weight layer on its input tensors."""
    op, cfg, x = layer.op, layer.config, inputs[0]
    if op == "act_quant":
        return act_quant(x, float(layer.params["max"]), int(cfg.get("bits", 3)))
    if op == "relu":
        return np.maximum(x, 0)
    if op == "max_pool" or op == "avg_pool":
        return pool(x, int(cfg.get("size", 2)), cfg.get("stride"), cfg.get("padding", "valid"), op[:3])
    if op == "flatten":
        return flatten(x, cfg.get("order", "hwc"))
    if op == "add":
        return accumulate(inputs)
    if op == "softmax":
        return softmax(x)
    if op == "batch_norm":
        p = layer.params
        scale = p["gamma"] / np.sqrt(p["moving_variance"] + cfg.get("eps", 1e-3))
        return ((x - p["moving_mean"]) * scale + p["beta"]).astype(np.float32)
    raise InputError(f"layer {layer.name!r}: op {op!r} is not a digital op")


def output_shape(layer, in_shapes: list) -> tuple:
    """Output shape (no batch) of a layer given its input shapes; checks parameter shapes."""
    op, cfg, s = layer.op, layer.config, tuple(in_shapes[0])
    if op == "conv2d":
        k = np.shape(layer.params["kernel"])
        if len(s) != 3 or len(k) != 4 or k[2] != s[2]:
            raise InputError(f"conv {layer.name!r}: kernel {k} does not fit input {s}")
        _check_bias(layer, k[3])
        _, (oh, ow) = _pads(s[:2], k[:2], int(cfg.get("stride", 1)), cfg.get("padding", "same"))
        return (oh, ow, k[3])
    if op == "dense":
        k = np.shape(layer.params["kernel"])
        if len(k) != 2 or k[0] != int(np.prod(s)):
            raise InputError(f"dense {layer.name!r}: kernel {k} does not fit input {s}")
        _check_bias(layer, k[1])
        return (k[1],)
    if op in ("max_pool", "avg_pool"):
        size = int(cfg.get("size", 2))
        _, (oh, ow) = _pads(s[:2], (size, size), int(cfg.get("stride") or size), cfg.get("padding", "valid"))
        return (oh, ow, s[2])
    if op == "flatten":
        return (int(np.prod(s)),)
    if op == "add":
        if any(tuple(t) != s for t in in_shapes):
            raise InputError(f"add {layer.name!r}: input shapes differ {in_shapes}")
        return s
    if op == "batch_norm":
        if np.shape(layer.params["gamma"]) != (s[-1],):
            raise InputError(f"batch_norm {layer.name!r}: {np.shape(layer.params['gamma'])} does not fit {s}")
    return s


def _check_bias(layer, n_out):
    b = layer.params.get("bias")
    if b is not None and np.shape(b) != (n_out,):
        raise InputError(f"layer {layer.name!r}: bias shape {np.shape(b)} is not ({n_out},)")
