"""Hardware-aware training and chip-in-the-loop fine-tuning (optional extra ``train``: CPU PyTorch).

- :class:`TorchNet` runs a :class:`~.model.Model` graph in PyTorch with the
  model's own parameter layout (HWIO kernels, NHWC tensors), weight noise on
  every conv/dense kernel and bias in training (std = ``noise`` x max|W| of
  the layer, SPEC §5) and activation quantisers with a straight-through
  gradient and a trainable clip;
- :func:`train` fits a model on images (noise-injection training);
- :func:`progressive_finetune` programs the weight layers on a board one at a
  time; after each, it runs the training images through the chip up to that
  layer and fine-tunes the layers not yet programmed in software on those
  measured activations (learning rate 1/100 of the original, same noise and
  quantisation). Test data is never touched.

Import this module only where torch is installed (``pip install torch==2.13.0``).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..validate import boolean, integer, number, optional_integer, positive
from ..errors import InputError
from . import digital
from .model import Model


class _RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.floor(x + 0.5)

    @staticmethod
    def backward(ctx, g):
        return g


def _same_pad(x, k, stride):
    """Pad NCHW ``x`` the TF 'SAME' way (extra pad at the bottom/right)."""
    (t, b, _), (l, r, _) = (digital.same_pads(x.shape[2], k[0], stride), digital.same_pads(x.shape[3], k[1], stride))
    return F.pad(x, (l, r, t, b)) if t + b + l + r else x


class TorchNet(torch.nn.Module):
    """A model graph in PyTorch, parameters named and shaped as in :class:`Model`.

    Parameters
    ----------
    model : Model
    noise : float
        Training weight noise, relative to each layer's max |W|.
    """

    def __init__(self, model: Model, noise: float = 0.0):
        super().__init__()
        self.model = model
        self.noise = float(noise)
        self.p = torch.nn.ParameterDict()
        self.buffers_ = {}
        for lay in model.layers:
            for k, v in lay.params.items():
                t = torch.tensor(np.asarray(v, np.float32))
                key = f"{lay.name}.{k}".replace(".", "__")
                if lay.op == "batch_norm" and k in ("moving_mean", "moving_variance"):
                    self.register_buffer(key, t)
                else:
                    self.p[key] = torch.nn.Parameter(t)

    def _get(self, layer, k):
        key = f"{layer}.{k}".replace(".", "__")
        return self.p[key] if key in self.p else getattr(self, key)

    def _noisy(self, w, scale):
        if self.training and self.noise > 0:
            return w + torch.randn_like(w) * (self.noise * scale)
        return w

    def forward(self, x, start: dict | None = None, first: str | None = None):
        """Run the graph on NHWC ``x``; ``start`` gives known tensors (by layer name) and
        ``first`` names the first layer to compute (earlier layers are skipped)."""
        acts = {"input": x}
        if start:
            acts.update(start)
        running = first is None
        for lay in self.model.layers:
            running = running or lay.name == first
            if not running or lay.name in acts and lay.name != first:
                continue
            ins = [acts[s] for s in lay.inputs]
            acts[lay.name] = self._layer(lay, ins)
        return acts[self.model.layers[-1].name]

    def _layer(self, lay, ins):
        x, cfg, op = ins[0], lay.config, lay.op
        if op in ("conv2d", "dense"):
            k = self._get(lay.name, "kernel")
            scale = k.detach().abs().max()
            k = self._noisy(k, scale)
            b = self._noisy(self._get(lay.name, "bias"), scale) if "bias" in lay.params else None
            if op == "dense":
                y = x.reshape(x.shape[0], -1) @ k
                return y + b if b is not None else y
            stride = int(cfg.get("stride", 1))
            xc = x.permute(0, 3, 1, 2)
            if cfg.get("padding", "same") == "same":
                xc = _same_pad(xc, k.shape[:2], stride)
            y = F.conv2d(xc, k.permute(3, 2, 0, 1), b, stride=stride)
            return y.permute(0, 2, 3, 1)
        if op == "act_quant":
            m = self._get(lay.name, "max")
            levels = 2 ** int(cfg.get("bits", 3)) - 1
            y = torch.minimum(torch.relu(x), m)
            return _RoundSTE.apply(y * levels / m) * m / levels
        if op == "relu":
            return torch.relu(x)
        if op in ("max_pool", "avg_pool"):
            size = int(cfg.get("size", 2))
            stride = int(cfg.get("stride") or size)
            xc = x.permute(0, 3, 1, 2)
            if cfg.get("padding", "valid") == "same":
                (t, b, _), (l, r, _) = digital.same_pads(xc.shape[2], size, stride), digital.same_pads(xc.shape[3], size, stride)
                xc = F.pad(xc, (l, r, t, b), value=float("-inf") if op == "max_pool" else 0.0)
            y = F.max_pool2d(xc, size, stride) if op == "max_pool" else F.avg_pool2d(xc, size, stride)
            return y.permute(0, 2, 3, 1)
        if op == "flatten":
            if cfg.get("order", "hwc") == "chw" and x.dim() == 4:
                x = x.permute(0, 3, 1, 2)
            return x.reshape(x.shape[0], -1)
        if op == "add":
            return sum(ins)
        if op == "softmax":
            return torch.softmax(x, -1)
        if op == "batch_norm":
            g, be = self._get(lay.name, "gamma"), self._get(lay.name, "beta")
            mu, var = self._get(lay.name, "moving_mean"), self._get(lay.name, "moving_variance")
            return (x - mu) / torch.sqrt(var + cfg.get("eps", 1e-3)) * g + be
        raise InputError(f"op {op!r} not supported in training")

    def to_model(self) -> Model:
        """The trained parameters as a numpy :class:`Model` (same architecture)."""
        params = {}
        for lay in self.model.layers:
            for k in lay.params:
                params[f"{lay.name}.{k}"] = self._get(lay.name, k).detach().cpu().numpy().astype(np.float32)
        return Model.from_arch(self.model.arch(), params)


def init_params(arch: dict, seed: int = 0) -> dict:
    """He-initialised parameters for an architecture (act_quant clips start at 3.0)."""
    rng = np.random.default_rng(seed)
    shapes = Model.from_arch(arch, _placeholder(arch)).shapes()
    params, prev = {}, "input"
    for spec in arch["layers"]:
        name = spec["name"]
        src = spec.get("inputs", [prev])[0]
        if spec["op"] == "conv2d":
            cin = shapes[src][-1]
            k = spec.get("kernel_size", 3)
            out = spec["filters"]
            params[f"{name}.kernel"] = (rng.standard_normal((k, k, cin, out)) * np.sqrt(2 / (k * k * cin))).astype(np.float32)
            params[f"{name}.bias"] = np.zeros(out, np.float32)
        elif spec["op"] == "dense":
            n_in = int(np.prod(shapes[src]))
            params[f"{name}.kernel"] = (rng.standard_normal((n_in, spec["units"])) * np.sqrt(2 / n_in)).astype(np.float32)
            params[f"{name}.bias"] = np.zeros(spec["units"], np.float32)
        elif spec["op"] == "act_quant":
            params[f"{name}.max"] = np.float32(3.0)
        prev = name
    return params


def _placeholder(arch):
    """Zero parameters of the right shapes (to get layer shapes before initialisation)."""
    params, shapes, prev = {}, {"input": tuple(arch["input"]["shape"])}, "input"
    for spec in arch["layers"]:
        name, op = spec["name"], spec["op"]
        s = shapes[spec.get("inputs", [prev])[0]]
        if op == "conv2d":
            k = spec.get("kernel_size", 3)
            params[f"{name}.kernel"] = np.zeros((k, k, s[-1], spec["filters"]), np.float32)
            params[f"{name}.bias"] = np.zeros(spec["filters"], np.float32)
        elif op == "dense":
            params[f"{name}.kernel"] = np.zeros((int(np.prod(s)), spec["units"]), np.float32)
            params[f"{name}.bias"] = np.zeros(spec["units"], np.float32)
        elif op == "act_quant":
            params[f"{name}.max"] = np.float32(3.0)
        m = Model.from_arch({**arch, "layers": arch["layers"][: arch["layers"].index(spec) + 1]}, params)
        shapes[name] = m.shapes()[name]
        prev = name
    return params


def train(model: Model, images, labels, epochs: int = 5, noise: float = 0.0, lr: float = 1e-3, batch: int = 64,
          seed: int = 0, start=None, first: str | None = None, progress=None) -> Model:
    """Fit ``model`` to uint8 images (or, with ``start``/``first``, to activations entering layer ``first``).

    ``start`` is an array (the input of ``first``) or a dict ``{layer name: array}`` of every known
    tensor the layers from ``first`` on read (graphs with residual adds), all with one row per label.
    Adam on cross-entropy, weight noise ``noise`` x max|W| per layer in every
    forward pass. Returns a new :class:`Model`.
    """
    torch.manual_seed(seed)
    net = TorchNet(model, noise)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    if start is None:
        known = {"input": torch.tensor(model.quantize_input(images))}
    elif isinstance(start, dict):
        known = {k: torch.tensor(np.asarray(v, np.float32)) for k, v in start.items()}
    else:
        known = {model.layer(first).inputs[0] if first else "input": torch.tensor(np.asarray(start, np.float32))}
    y_all = torch.tensor(np.asarray(labels, np.int64))
    gen = torch.Generator().manual_seed(seed)
    for ep in range(int(epochs)):
        net.train()
        perm = torch.randperm(len(y_all), generator=gen)
        for i in range(0, len(perm), batch):
            idx = perm[i : i + batch]
            xb = {k: v[idx] for k, v in known.items()}
            out = net(xb.get("input"), start=xb, first=first)
            loss = F.cross_entropy(out, y_all[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        if progress is not None:
            progress(ep + 1)
    net.eval()
    return net.to_model()


def _run_layers(chip_net, layers, acts, batch):
    """Compute ``layers`` (weight layers on the chip, the rest digital) into ``acts``, ``batch`` rows at a time."""
    for lay in layers:
        ins = [acts[s] for s in lay.inputs]
        n = ins[0].shape[0]
        parts = []
        for a in range(0, n, batch):
            xb = [x[a : a + batch] for x in ins]
            parts.append(chip_net.matmul(lay, xb[0]) if lay.is_weight else digital.apply(lay, xb))
        acts[lay.name] = np.concatenate(parts)


def progressive_finetune(chip_net, images, labels, epochs: int = 3, noise: float = 0.1, lr: float = 1e-5,
                         calibration_images: int = 500, relax_s: float = 1800.0, progress=None,
                         settle_s: float = 1.0, per_column: bool = True, iterations: int = 3,
                         batch: int = 100, threads: int | None = 1) -> dict:
    """Chip-in-the-loop progressive fine-tuning (SPEC §5) of a model graph (residual adds included).

    ``chip_net`` is a :class:`~.network.ChipNetwork` whose mapping holds the
    model (already-programmed layers are programmed again with their present
    weights). For each weight layer in graph order: program it (with the
    weights as fine-tuned so far, ``iterations`` write-verify passes, each
    settling ``settle_s`` before its re-read), leave it to relax ``relax_s`` of
    board time, calibrate it on its measured input of the first
    ``calibration_images`` training images, run the training images through
    the chip up to the next weight layer, and fine-tune every later layer in
    software (:func:`train`: ``epochs``, learning rate ``lr``, weight noise
    ``noise``, the same act-quantisers) on the measured tensors those layers
    read (the shortcut branches of residual adds included). ``per_column``
    False calibrates with the paper's operating point and offsets only.
    Returns the training accuracy of the fine-tuned tail after each step
    (keyed by the first software layer). Test data is never touched.
    ``threads``: PyTorch threads while fine-tuning (restored after; None leaves them): one by default, so
    the weights programmed, and a replay of the run, do not depend on how many cores the host has.
    """
    epochs = integer("epochs", epochs, 0, 1000, "fine-tuning epochs per layer")
    noise = number("noise", noise, 0.0, 1.0, "training weight noise, a fraction of max|W|")
    lr = positive("lr", lr, 10.0, "learning rate")
    calibration_images = integer("calibration_images", calibration_images, 1, None, "calibration images")
    relax_s, settle_s = number("relax_s", relax_s, 0.0), number("settle_s", settle_s, 0.0)
    per_column = boolean("per_column", per_column)
    batch = integer("batch", batch, 1, None, "images per batch")
    threads = optional_integer("threads", threads, 1, 1024, "PyTorch threads")
    n = chip_net.mapping.model.check_images(images).shape[0] if hasattr(chip_net, "mapping") else None
    if n is None:
        raise InputError(f"chip_net must be a ChipNetwork, got {type(chip_net).__name__}")
    labels = np.asarray(labels)
    if labels.shape != (n,) or labels.dtype.kind not in "iu":
        raise InputError(f"labels must be {n} integer class indices (one per image), got shape {labels.shape} "
                         f"of {labels.dtype}")
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    try:
        return _progressive(chip_net, images, labels, epochs, noise, lr, calibration_images, relax_s, progress,
                            settle_s, per_column, iterations, batch)
    finally:
        torch.set_num_threads(before)


def _progressive(chip_net, images, labels, epochs, noise, lr, calibration_images, relax_s, progress, settle_s,
                 per_column, iterations, batch) -> dict:
    model = chip_net.mapping.model
    names = [lay.name for lay in model.layers]
    weights = model.weight_layers
    acts = {"input": model.quantize_input(images)}
    cal = slice(0, min(int(calibration_images), len(acts["input"])))
    report, pos = {}, 0
    for wi, wl in enumerate(weights):
        chip_net.program_layers([wl.name], iterations=iterations, settle_s=settle_s)
        if chip_net.board is not None:
            chip_net.board.wait(relax_s)  # measure relaxed conductances, as at inference
        chip_net.calibrate_layer(wl.name, acts[wl.inputs[0]][cal], per_column)
        end = names.index(weights[wi + 1].name) if wi + 1 < len(weights) else len(names)
        _run_layers(chip_net, model.layers[pos:end], acts, batch)  # measured, up to the next weight layer
        pos = end
        later = model.layers[end:]
        needed = {s for lay in later for s in lay.inputs}
        acts = {k: v for k, v in acts.items() if k in needed}  # what the rest of the graph still reads
        if later:
            nxt = later[0].name
            tuned = train(model, None, labels, epochs, noise, lr, start=acts, first=nxt)
            for lay in later:
                lay.params = tuned.layer(lay.name).params
            net = TorchNet(model)
            net.eval()
            with torch.no_grad():
                known = {k: torch.tensor(v) for k, v in acts.items()}
                out = net(known.get("input"), start=known, first=nxt)
            report[nxt] = float((out.argmax(1).numpy() == np.asarray(labels)).mean())
        if progress is not None:
            progress(wi + 1)
    return report
