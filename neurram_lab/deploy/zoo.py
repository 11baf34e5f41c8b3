"""Architecture descriptions of the chip authors' models (weights stay in their ``.npz`` files).

Each function returns the JSON-able architecture dict that
:meth:`neurram_lab.deploy.model.Model.from_arch` takes; parameter names match
the exported ``.npz`` keys (see ``../shared/models/*.md``).
"""

from __future__ import annotations

from ..errors import InputError


def mnist_cnn_7layer() -> dict:
    """The paper's MNIST CNN: 6 conv 3x3 + dense, 3-bit inputs and activations, max-pool after conv 1, 3, 5."""
    layers = []
    for i, filters in enumerate((8, 8, 16, 16, 32, 32)):
        layers.append({"name": f"conv{i}", "op": "conv2d", "stride": 1, "padding": "same"})
        layers.append({"name": f"act{i}", "op": "act_quant", "bits": 3})
        if i % 2:
            layers.append({"name": f"pool{i // 2}", "op": "max_pool", "size": 2, "padding": "same"})
    layers += [{"name": "flatten", "op": "flatten"}, {"name": "dense", "op": "dense"}]
    return {"name": "mnist_cnn_7layer", "input": {"shape": [28, 28, 1], "bits": 3, "max": 1.0}, "layers": layers}


def resnet20_v1(final_quant: str = "before_pool") -> dict:
    """The paper's ResNet-20 (v1, 16 filters) for CIFAR-10, as the exported SavedModel graph runs it.

    ``final_quant="before_pool"`` is the saved graph (act-quant after the last add,
    then average pool and dense); ``"after_flatten"`` is the repository's current
    variant (ReLU after the last add, act-quant after flatten).
    """
    if final_quant not in ("before_pool", "after_flatten"):
        raise InputError(f"final_quant {final_quant!r} is not 'before_pool' or 'after_flatten'")
    L = [{"name": "stem.conv", "op": "conv2d", "padding": "same"},
         {"name": "stem.bn", "op": "batch_norm", "eps": 1e-3},
         {"name": "stem.act", "op": "act_quant", "bits": 3}]
    x = "stem.act"
    for s in range(3):
        for b in range(3):
            p = f"s{s}.b{b}"
            stride = 2 if s > 0 and b == 0 else 1
            L += [{"name": f"{p}.conv1", "op": "conv2d", "stride": stride, "padding": "same", "inputs": [x]},
                  {"name": f"{p}.bn1", "op": "batch_norm", "eps": 1e-3},
                  {"name": f"{p}.act1", "op": "act_quant", "bits": 3},
                  {"name": f"{p}.conv2", "op": "conv2d", "padding": "same"},
                  {"name": f"{p}.bn2", "op": "batch_norm", "eps": 1e-3}]
            short = x
            if stride == 2:
                L.append({"name": f"{p}.shortcut", "op": "conv2d", "stride": 2, "padding": "same", "inputs": [x]})
                short = f"{p}.shortcut"
            L.append({"name": f"{p}.add", "op": "add", "inputs": [f"{p}.bn2", short]})
            last = s == 2 and b == 2
            if last and final_quant == "after_flatten":
                L.append({"name": f"{p}.relu", "op": "relu"})
                x = f"{p}.relu"
            else:
                L.append({"name": f"{p}.act_out", "op": "act_quant", "bits": 3})
                x = f"{p}.act_out"
    L.append({"name": "pool", "op": "avg_pool", "size": 8, "padding": "valid", "inputs": [x]})
    L.append({"name": "flatten", "op": "flatten"})
    if final_quant == "after_flatten":
        L.append({"name": "s2.b2.act_out", "op": "act_quant", "bits": 3})
    L.append({"name": "fc", "op": "dense"})
    return {"name": "resnet20_v1", "input": {"shape": [32, 32, 3], "bits": 4, "max": 0.95}, "layers": L}


def small_cnn() -> dict:
    """A small MNIST CNN to train here: conv 8 - pool - conv 16 - pool - dense 10, 3-bit inputs and activations."""
    return {"name": "small_cnn", "input": {"shape": [28, 28, 1], "bits": 3, "max": 1.0}, "layers": [
        {"name": "conv0", "op": "conv2d", "filters": 8, "padding": "same"},
        {"name": "act0", "op": "act_quant", "bits": 3},
        {"name": "pool0", "op": "max_pool", "size": 2, "padding": "same"},
        {"name": "conv1", "op": "conv2d", "filters": 16, "padding": "same"},
        {"name": "act1", "op": "act_quant", "bits": 3},
        {"name": "pool1", "op": "max_pool", "size": 2, "padding": "same"},
        {"name": "flatten", "op": "flatten"},
        {"name": "dense", "op": "dense", "units": 10}]}


ARCHS = {"mnist_cnn_7layer": mnist_cnn_7layer, "resnet20": resnet20_v1, "small_cnn": small_cnn}


def arch(name: str) -> dict:
    """A bundled architecture by name."""
    if name not in ARCHS:
        raise InputError(f"no bundled architecture {name!r}; known: {sorted(ARCHS)}")
    return ARCHS[name]()


def arch_for(filename: str) -> dict:
    """The bundled architecture whose name starts the file name (``mnist_cnn_7layer_3bit....npz``)."""
    for name in sorted(ARCHS, key=len, reverse=True):
        if filename.startswith(name):
            return ARCHS[name]()
    raise InputError(f"no architecture for {filename!r}: give one (JSON) or name a bundled one {sorted(ARCHS)}")
