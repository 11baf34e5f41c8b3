"""Model import from PyTorch-layout state_dicts; the optional training path (only where torch is installed)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from neurram_lab.deploy import load_mnist, load_model
from neurram_lab.deploy.model import load_state_dict, params_from_state_dict
from neurram_lab.errors import InputError

SHARED = Path(os.environ["NEURRAM_SHARED"])  # set by tests/conftest.py
CNN = SHARED / "models" / "mnist_cnn_7layer_3bit_wnoise0.15.npz"
MNIST = SHARED / "datasets" / "mnist"


def _as_state_dict(model):
    """The authors' CNN written the way PyTorch stores it (OIHW conv, (out, in) linear)."""
    sd = {}
    for lay in model.layers:
        p = lay.params
        if lay.op == "conv2d":
            sd[f"{lay.name}.weight"] = np.transpose(p["kernel"], (3, 2, 0, 1))
            sd[f"{lay.name}.bias"] = p["bias"]
        elif lay.op == "dense":
            sd[f"{lay.name}.weight"] = p["kernel"].T
            sd[f"{lay.name}.bias"] = p["bias"]
        elif lay.op == "act_quant":
            sd[f"{lay.name}.max"] = np.asarray(p["max"]).reshape(1)
    return sd


def test_state_dict_layout_is_converted():
    model = load_model(CNN)
    back = load_state_dict(model.arch(), _as_state_dict(model))
    x = model.quantize_input(load_mnist(MNIST, "test", limit=20)[0])
    np.testing.assert_allclose(back.forward(x), model.forward(x), atol=1e-5)
    with pytest.raises(InputError, match="not in the architecture"):
        params_from_state_dict(model.arch(), dict(_as_state_dict(model), stray=np.zeros(1)))


def test_torch_state_dict_and_training_path():
    torch = pytest.importorskip("torch")
    from neurram_lab.deploy.training import TorchNet, init_params, train
    from neurram_lab.deploy.model import Model
    from neurram_lab.deploy.zoo import small_cnn

    model = load_model(CNN)
    sd = {k: torch.tensor(v) for k, v in _as_state_dict(model).items()}
    back = load_state_dict(model.arch(), sd)
    x = model.quantize_input(load_mnist(MNIST, "test", limit=20)[0])
    np.testing.assert_allclose(back.forward(x), model.forward(x), atol=1e-5)
    net = TorchNet(model)
    net.eval()
    with torch.no_grad():
        out = net(torch.tensor(x)).numpy()
    assert np.mean(out.argmax(1) == model.forward(x).argmax(1)) >= 0.95  # same graph in torch
    arch = small_cnn()
    imgs, labels = load_mnist(MNIST, "train-5k")
    pick = np.random.default_rng(0).permutation(len(imgs))[:1000]
    init = Model.from_arch(arch, init_params(arch))
    trained = train(init, imgs[pick], labels[pick], epochs=2, noise=0.1)
    xt, yt = load_mnist(MNIST, "test", limit=300)
    assert np.mean(trained.predict(xt).argmax(1) == yt) > 0.4  # chance is 0.1; 32 Adam steps
