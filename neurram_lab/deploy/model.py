"""Neural-network models as a small graph of layers with numpy parameters.

A model is described by a JSON-able *architecture* dict and a flat mapping
of parameter arrays named ``"<layer>.<param>"`` (``conv0.kernel``,
``act0.max``), the way :func:`numpy.savez` stores them::

    {"name": "mnist_cnn", "input": {"shape": [28, 28, 1], "bits": 3, "max": 1.0},
     "layers": [{"name": "conv0", "op": "conv2d", "padding": "same"},
                {"name": "act0", "op": "act_quant", "bits": 3},
                {"name": "pool0", "op": "max_pool", "size": 2, "padding": "same"},
                {"name": "skip", "op": "add", "inputs": ["act0", "pool0"]}, ...]}

Each layer reads the previous layer's output unless ``inputs`` names others
(``"input"`` is the model input). Tensors are NHWC. Ops and their parameters:

``conv2d``   kernel (kh, kw, in, out) HWIO, bias (out,); ``stride``, ``padding`` same|valid
``dense``    kernel (in, out), bias (out,)
``batch_norm`` gamma, beta, moving_mean, moving_variance; ``eps`` (default 1e-3)
``act_quant`` max (); ``bits``: clip to [0, max], round to 2**bits levels
``relu``, ``softmax``, ``flatten`` (``order`` hwc|chw), ``add``
``max_pool``, ``avg_pool``  ``size``, ``stride`` (default size), ``padding``

Weight layers (conv2d, dense) may carry ``input_quant: {"bits", "max"}`` when
their input is not the output of an act_quant (through pooling/flatten);
otherwise the grid is traced back through the graph (:meth:`Model.input_grid`).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import _jit
from ..validate import _short, array, integer, npz_arrays, positive
from ..errors import InputError, LimitError, NeuRRAMError
from . import digital

_KERNELS = "neurram_lab.deploy._deploy_numba"

WEIGHT_OPS = ("conv2d", "dense")
OPS = WEIGHT_OPS + ("batch_norm", "act_quant", "relu", "softmax", "flatten", "add", "max_pool", "avg_pool")
_PARAMS = {
    "conv2d": ("kernel", "bias"),
    "dense": ("kernel", "bias"),
    "batch_norm": ("gamma", "beta", "moving_mean", "moving_variance"),
    "act_quant": ("max",),
}
# ops through which an act_quant grid passes unchanged (values stay on it)
_GRID_KEEPING = ("max_pool", "flatten", "relu")


@dataclass(frozen=True)
class Grid:
    """Uniform unsigned quantisation grid: values k * max / (2**bits - 1), k = 0..2**bits - 1."""

    bits: int
    max: float

    def __post_init__(self):
        object.__setattr__(self, "bits", integer("bits", self.bits, 1, 16, "quantisation bits"))
        object.__setattr__(self, "max", positive("max", self.max, detail="largest value of the grid"))

    @property
    def levels(self) -> int:
        return 2**self.bits - 1

    @property
    def step(self) -> float:
        return self.max / self.levels

    def codes(self, x) -> np.ndarray:
        """Integer codes of ``x`` (clipped and rounded half up), int16."""
        kern = _jit.kernels(_KERNELS) if self.bits <= 15 else None
        if kern is not None and isinstance(x, np.ndarray) and x.dtype.kind in "fiu" and x.size:
            xc = np.ascontiguousarray(x)
            out = np.empty(xc.shape, np.int16)
            if kern.grid_codes(xc.ravel(), float(self.max), float(self.step), out.ravel()):  # compiled, same codes
                return out
        y = np.array(x, np.float64)  # one float64 copy; the rest in place (same arithmetic, no temporaries)
        np.clip(y, 0.0, self.max, out=y)
        y /= self.step
        y += 0.5
        np.floor(y, out=y)
        return y.astype(np.int16)


@dataclass
class Layer:
    """One layer: its name, op, inputs, settings and parameter arrays."""

    name: str
    op: str
    inputs: tuple
    config: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)

    @property
    def is_weight(self) -> bool:
        return self.op in WEIGHT_OPS

    def matrix(self) -> np.ndarray:
        """The layer's 2-D weight matrix (n_in, n_out): conv kernels flattened (kh, kw, in) by rows."""
        if not self.is_weight:
            raise InputError(f"layer {self.name!r} ({self.op}) has no weight matrix")
        k = np.asarray(self.params["kernel"], np.float64)
        return k.reshape(-1, k.shape[-1])

    def bias(self) -> np.ndarray:
        k = self.params["kernel"]
        b = self.params.get("bias")
        return np.zeros(k.shape[-1]) if b is None else np.asarray(b, np.float64)


@dataclass
class Model:
    """A layer graph with parameters; ``forward`` runs it in exact float arithmetic.

    Attributes
    ----------
    name : str
    input_shape : tuple
        Shape of one input sample (HWC or (n,)).
    input_grid : Grid or None
        Quantisation of the model input (inputs are uint8 pixels / 255 scaled to it).
    layers : list of Layer
        In execution order; the last one is the output.
    """

    name: str
    input_shape: tuple
    input_quant: Grid | None
    layers: list

    def __post_init__(self):
        self._by_name = {}
        for layer in self.layers:
            if layer.name in self._by_name or layer.name == "input":
                raise InputError(f"layer name {layer.name!r} is repeated or reserved")
            for src in layer.inputs:
                if src != "input" and src not in self._by_name:
                    raise InputError(f"layer {layer.name!r} reads {src!r}, which is not an earlier layer")
            self._by_name[layer.name] = layer

    # ------------------------------------------------------------ building
    @classmethod
    def from_arch(cls, arch: dict, params) -> "Model":
        """Build from an architecture dict and a mapping of ``"<layer>.<param>"`` arrays."""
        if not isinstance(arch, dict) or "layers" not in arch:
            raise InputError("architecture must be a dict with a 'layers' list")
        inp = arch.get("input", {})
        if "shape" not in inp:
            raise InputError("architecture needs input.shape")
        grid = Grid(int(inp["bits"]), float(inp.get("max", 1.0))) if inp.get("bits") else None
        params = {k: np.asarray(params[k]) for k in params}
        used, layers, prev = set(), [], "input"
        for spec in arch["layers"]:
            spec = dict(spec)
            name, op = spec.pop("name", None), spec.pop("op", None)
            if not name or op not in OPS:
                raise InputError(f"layer {name!r}: op {op!r} is not one of {OPS}")
            inputs = tuple(spec.pop("inputs", [prev]))
            lp = {}
            for p in _PARAMS.get(op, ()):
                key = f"{name}.{p}"
                if key in params:
                    lp[p] = params[key]
                    used.add(key)
                elif not (p == "bias" or (op == "act_quant" and "max" in spec)):
                    raise InputError(f"layer {name!r} ({op}) needs parameter {key!r}")
            if op == "act_quant" and "max" not in lp:
                lp["max"] = np.asarray(float(spec.pop("max")))
            layers.append(Layer(name, op, inputs, spec, lp))
            prev = name
        extra = sorted(set(params) - used)
        if extra:
            raise InputError(f"parameters not used by the architecture: {extra[:5]}{' ...' if len(extra) > 5 else ''}")
        model = cls(str(arch.get("name", "model")), tuple(int(s) for s in inp["shape"]), grid, layers)
        model.check_shapes()
        return model

    def copy(self) -> "Model":
        return copy.deepcopy(self)

    def layer(self, name: str) -> Layer:
        try:
            return self._by_name[name]
        except KeyError:
            raise InputError(f"no layer {name!r} in model {self.name!r}") from None

    @property
    def weight_layers(self) -> list:
        return [lay for lay in self.layers if lay.is_weight]

    def consumers(self, name: str) -> list:
        return [lay for lay in self.layers if name in lay.inputs]

    # -------------------------------------------------------- transforms
    def fold_batch_norm(self) -> "Model":
        """A copy with every batch_norm that follows a conv/dense folded into its weights and bias.

        W' = W * gamma / sqrt(var + eps), b' = (b - mean) * gamma / sqrt(var + eps) + beta.
        """
        m = self.copy()
        keep = []
        rename = {}
        for layer in m.layers:
            layer.inputs = tuple(rename.get(s, s) for s in layer.inputs)
            if layer.op == "batch_norm":
                (src,) = layer.inputs
                prev = m._by_name.get(src)
                if prev is not None and prev.is_weight and len(m.consumers(src)) == 1:
                    scale = layer.params["gamma"] / np.sqrt(layer.params["moving_variance"] + layer.config.get("eps", 1e-3))
                    prev.params["kernel"] = (prev.params["kernel"] * scale).astype(np.float32)
                    prev.params["bias"] = ((prev.bias() - layer.params["moving_mean"]) * scale
                                           + layer.params["beta"]).astype(np.float32)
                    rename[layer.name] = src
                    continue
            keep.append(layer)
        return Model(m.name, m.input_shape, m.input_quant, keep)

    # ------------------------------------------------------------ analysis
    def input_grid(self, name: str) -> Grid | None:
        """Quantisation grid of a layer's input, traced back through grid-keeping ops; None if off-grid."""
        layer = self.layer(name)
        q = layer.config.get("input_quant")
        if q is not None:
            return Grid(int(q["bits"]), float(q["max"]))
        src = layer.inputs[0]
        while True:
            if src == "input":
                return self.input_quant
            lay = self._by_name[src]
            if lay.op == "act_quant":
                return Grid(int(lay.config.get("bits", 3)), float(lay.params["max"]))
            if lay.op not in _GRID_KEEPING:
                return None
            src = lay.inputs[0]

    def shapes(self) -> dict:
        """Output shape (without batch) of every layer, and of ``"input"``."""
        shp = {"input": self.input_shape}
        for lay in self.layers:
            ins = [shp[s] for s in lay.inputs]
            shp[lay.name] = digital.output_shape(lay, ins)
        return shp

    def check_shapes(self) -> None:
        """Raise :class:`InputError` if parameter shapes do not fit the graph."""
        self.shapes()

    def positions(self) -> dict:
        """MVMs per sample of each weight layer (output pixels for conv, 1 for dense)."""
        shp = self.shapes()
        return {lay.name: int(np.prod(shp[lay.name][:-1])) if lay.op == "conv2d" else 1 for lay in self.weight_layers}

    # ------------------------------------------------------------ running
    def check_images(self, images) -> np.ndarray:
        """``images`` as an array of at least one image of this model's input size (any layout with
        ``input_shape``'s element count per image), finite; an InputError/LimitError naming it otherwise."""
        x = array("images", images, None, dtype=None)  # ragged, non-numeric, empty, NaN or inf refused
        raw = np.asarray(images)
        x = raw if raw.dtype == np.uint8 else x  # pixels stay pixels
        per = int(np.prod(self.input_shape))
        if x.ndim < 2 or int(np.prod(x.shape[1:])) != per:
            raise InputError(f"images of shape {x.shape} do not fit the model's input {self.input_shape}: "
                             f"(n, {', '.join(map(str, self.input_shape))}) or any (n, ...) of {per} values per image")
        return x

    def quantize_input(self, images) -> np.ndarray:
        """uint8 pixels (or floats in [0, 1]) -> network input on the input grid, float32 NHWC."""
        x = self.check_images(images)
        x = x.astype(np.float64) / 255.0 if x.dtype == np.uint8 else x.astype(np.float64)
        x = x.reshape((x.shape[0],) + self.input_shape)
        if self.input_quant is not None:
            x = self.input_quant.codes(x) * self.input_quant.step
        return x.astype(np.float32)

    def forward(self, x, matmul=None, upto: str | None = None, start: dict | None = None) -> np.ndarray:
        """Run the graph on a batch ``x`` (already on the input grid, NHWC float).

        Parameters
        ----------
        matmul : callable(layer, x_in) -> ndarray, optional
            Computes a weight layer (conv2d/dense) from its input tensor; default exact float.
        upto : str, optional
            Stop after this layer and return its output.
        start : dict, optional
            Known tensors by name (e.g. measured outputs of earlier layers) that are not recomputed.
        """
        acts = {"input": x}
        if start:
            acts.update(start)
        mm = matmul or exact_matmul
        last_use = {s: i for i, lay in enumerate(self.layers) for s in lay.inputs}
        for i, lay in enumerate(self.layers):
            if lay.name not in acts:
                ins = [acts[s] for s in lay.inputs]
                acts[lay.name] = mm(lay, ins[0]) if lay.is_weight else digital.apply(lay, ins)
                del ins
            if lay.name == upto:
                return acts[lay.name]
            for s in lay.inputs:  # a tensor no later layer reads goes now (a batch's tensors add up to GBs)
                if last_use[s] == i:
                    acts.pop(s, None)
        return acts[self.layers[-1].name]

    def predict(self, images, matmul=None, batch: int = 1000, progress=None) -> np.ndarray:
        """Class scores for uint8 images, in batches; ``progress(n)`` after each batch."""
        out = []
        images = self.check_images(images)
        batch = integer("batch", batch, 1, None, "images per batch")
        if progress is not None and not callable(progress):
            raise InputError(f"progress must be callable, got {progress!r}")
        for i in range(0, images.shape[0], batch):
            out.append(self.forward(self.quantize_input(images[i : i + batch]), matmul))
            if progress is not None:
                progress(min(i + batch, images.shape[0]))
        return np.concatenate(out)

    def arch(self) -> dict:
        """The architecture dict (JSON-able) this model was built from."""
        layers = []
        prev = "input"
        for lay in self.layers:
            d = {"name": lay.name, "op": lay.op, **lay.config}
            if lay.inputs != (prev,):
                d["inputs"] = list(lay.inputs)
            layers.append(d)
            prev = lay.name
        inp = {"shape": list(self.input_shape)}
        if self.input_quant is not None:
            inp.update(bits=self.input_quant.bits, max=self.input_quant.max)
        return {"name": self.name, "input": inp, "layers": layers}

    def params(self) -> dict:
        return {f"{lay.name}.{k}": v for lay in self.layers for k, v in lay.params.items()}


def exact_matmul(layer: Layer, x: np.ndarray) -> np.ndarray:
    """Float conv2d/dense (weights exactly as stored)."""
    if layer.op == "dense":
        return (x.reshape(x.shape[0], -1) @ layer.matrix() + layer.bias()).astype(np.float32)
    cols, out_hw = digital.im2col(x, layer.params["kernel"].shape[:2], layer.config.get("stride", 1),
                                  layer.config.get("padding", "same"))
    y = np.asarray(cols.reshape(-1, cols.shape[-1]), np.float32) @ layer.matrix().astype(np.float32)  # one copy
    y += layer.bias().astype(np.float32)
    return y.reshape(x.shape[0], *out_hw, -1)


def load_model(weights_path, arch=None) -> Model:
    """Load a model from a ``.npz`` of parameters and an architecture (dict, JSON path, or a bundled name).

    Without ``arch`` the architecture is looked up next to the weights (same stem,
    ``.json``) and then among the bundled architectures by the file name's prefix
    (:func:`neurram_lab.deploy.zoo.arch_for`).
    """
    from . import zoo

    params = npz_arrays("weights_path", weights_path)
    for key, a in params.items():
        if a.dtype.kind in "fc" and not np.all(np.isfinite(a)):
            bad = a[~np.isfinite(a)].flat[0]
            raise LimitError(f"weights {key!r} of {weights_path}", float(np.real(bad)), "finite",
                             "a trained weight is a finite number; the file is damaged")
    path = Path(weights_path).expanduser()
    if arch is None:
        side = path.with_suffix(".json")
        arch = _arch_file(side) if side.exists() else zoo.arch_for(path.name)
    elif isinstance(arch, (str, Path)) and Path(arch).exists():
        arch = _arch_file(Path(arch))
    elif isinstance(arch, str):
        arch = zoo.arch(arch)
    if not isinstance(arch, dict) or not isinstance(arch.get("layers"), list):
        raise InputError(f"arch must be an architecture dict with a 'layers' list, a JSON file of one or a bundled "
                         f"name, got {_short(arch)}")
    try:
        return Model.from_arch(arch, params)
    except NeuRRAMError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise InputError(f"architecture does not describe a model these weights fit ({type(exc).__name__}: "
                         f"{_short(str(exc))})") from None


def _arch_file(path: Path) -> dict:
    """The architecture dict of a JSON file; a damaged one an InputError naming it."""
    try:
        return json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        raise InputError(f"architecture file {path} is not readable JSON ({type(exc).__name__}: {exc})") from None



def params_from_state_dict(arch: dict, state_dict) -> dict:
    """Our ``"<layer>.<param>"`` arrays from a PyTorch ``state_dict`` (tensors or arrays).

    PyTorch layouts are converted: conv ``weight`` (out, in, kh, kw) -> ``kernel``
    (kh, kw, in, out); linear ``weight`` (out, in) -> ``kernel`` (in, out); batch-norm
    ``weight``/``bias``/``running_mean``/``running_var`` -> ``gamma``/``beta``/
    ``moving_mean``/``moving_variance``; an act_quant's clip is ``<layer>.max``.
    Layers are matched by name; a model that flattens NCHW maps should say
    ``"order": "chw"`` on its flatten layer.
    """

    def arr(t):
        if hasattr(t, "detach"):
            t = t.detach().cpu().numpy()
        return np.asarray(t, np.float32)

    sd = {k: v for k, v in state_dict.items() if not k.endswith("num_batches_tracked")}
    out = {}
    for spec in arch["layers"]:
        name, op = spec["name"], spec["op"]
        get = lambda key: sd.pop(f"{name}.{key}", None)  # noqa: E731
        if op in ("conv2d", "dense"):
            w = get("weight")
            if w is None:
                raise InputError(f"state_dict has no {name}.weight")
            w = arr(w)
            out[f"{name}.kernel"] = w.transpose(2, 3, 1, 0) if op == "conv2d" else w.T
            b = get("bias")
            if b is not None:
                out[f"{name}.bias"] = arr(b)
        elif op == "batch_norm":
            for src, dst in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "moving_mean"),
                             ("running_var", "moving_variance")):
                v = get(src)
                if v is None:
                    raise InputError(f"state_dict has no {name}.{src}")
                out[f"{name}.{dst}"] = arr(v)
        elif op == "act_quant":
            v = get("max")
            if v is not None:
                out[f"{name}.max"] = arr(v).reshape(())
    if sd:
        raise InputError(f"state_dict entries not in the architecture: {sorted(sd)[:5]}")
    return out


def load_state_dict(arch: dict, state_dict) -> Model:
    """A :class:`Model` from an architecture dict and a PyTorch ``state_dict``."""
    return Model.from_arch(arch, params_from_state_dict(arch, state_dict))
