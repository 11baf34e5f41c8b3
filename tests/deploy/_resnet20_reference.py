"""An independent numpy forward pass of the authors' ResNet-20, written from its model card
(``shared/models/resnet20_cifar10_act3b_wnoise0.10.md``) without the deploy package:
4-bit input (clip 0.95), TF 'SAME' conv, inference batch norm (eps 1e-3) unfolded,
3-bit act-quant ``floor(clip(x, 0, M) / (M/7) + 0.5) * M/7``, residual adds, 1x1
stride-2 projection shortcuts, 8x8 average pool, dense. ``final_quant`` "before_pool"
is the saved graph."""

from __future__ import annotations

import numpy as np


def quantize_input(images_u8):
    x = np.clip(images_u8.astype(np.float64) / 255.0, 0.0, 0.95)
    return np.round(15 * x / 0.95) / 15 * 0.95


def conv_same(x, kernel, bias, stride):
    n, h, w, c = x.shape
    kh, kw, _, co = kernel.shape
    oh, ow = -(-h // stride), -(-w // stride)
    ph = max((oh - 1) * stride + kh - h, 0)
    pw = max((ow - 1) * stride + kw - w, 0)
    xp = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    out = np.zeros((n, oh, ow, co))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, i : i + (oh - 1) * stride + 1 : stride, j : j + (ow - 1) * stride + 1 : stride, :]
            out += patch @ kernel[i, j].astype(np.float64)
    return out + bias


def bn(x, p, name):
    g, b = p[f"{name}.gamma"], p[f"{name}.beta"]
    m, v = p[f"{name}.moving_mean"], p[f"{name}.moving_variance"]
    return (x - m) / np.sqrt(v + 1e-3) * g + b


def aq(x, m):
    step = float(m) / 7
    return np.floor(np.clip(x, 0, float(m)) / step + 0.5) * step


def logits(p, images_u8, final_quant="before_pool"):
    """Pre-softmax scores (n, 10) of uint8 images (n, 32, 32, 3)."""
    conv = lambda x, name, s=1: conv_same(x, p[f"{name}.kernel"], p[f"{name}.bias"], s)  # noqa: E731
    x = aq(bn(conv(quantize_input(images_u8), "stem.conv"), p, "stem.bn"), p["stem.act.max"])
    for s in range(3):
        for b in range(3):
            q = f"s{s}.b{b}"
            stride = 2 if s > 0 and b == 0 else 1
            y = aq(bn(conv(x, f"{q}.conv1", stride), p, f"{q}.bn1"), p[f"{q}.act1.max"])
            y = bn(conv(y, f"{q}.conv2"), p, f"{q}.bn2")
            short = conv(x, f"{q}.shortcut", 2) if stride == 2 else x
            last = s == 2 and b == 2
            x = np.maximum(short + y, 0) if last and final_quant == "after_flatten" else aq(short + y, p[f"{q}.act_out.max"])
    v = x.mean(axis=(1, 2))
    if final_quant == "after_flatten":
        v = aq(v, p["s2.b2.act_out.max"])
    return v @ p["fc.kernel"] + p["fc.bias"]
