"""Per-layer fidelity without labels: each weight layer's chip outputs against software on the same inputs.

:class:`LayerErrors` wraps a :class:`~.network.ChipNetwork`'s ``matmul``: for
every weight layer it computes the chip's output and the exact float output of
the same input tensor (the chip's own activations of the layers before, as the
paper measures it) and accumulates the normalised error
``||y_chip - y_soft|| / ||y_soft||`` over every batch it sees. Inference
through it costs no extra MVM; it works on any inputs, labelled or not.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .model import exact_matmul


class LayerErrors:
    """Normalised chip-vs-software error of each weight layer, accumulated over the batches run through ``matmul``.

    Parameters
    ----------
    net : ChipNetwork (or anything with ``matmul(layer, x)`` and ``model``)
    """

    def __init__(self, net):
        if not callable(getattr(net, "matmul", None)) or not hasattr(net, "model"):
            raise InputError(f"net must be a ChipNetwork, got {type(net).__name__}")
        self.net = net
        self._diff2: dict = {}
        self._ref2: dict = {}

    def matmul(self, layer, x) -> np.ndarray:
        """The chip's output of ``layer`` (what inference uses), its error against exact software recorded."""
        y = self.net.matmul(layer, x)
        ref = np.ravel(exact_matmul(layer, x))  # float32, like the chip's outputs: no float64 copies
        d = np.asarray(y, np.float32).ravel() - ref
        self._diff2[layer.name] = self._diff2.get(layer.name, 0.0) + float(np.dot(d, d))
        self._ref2[layer.name] = self._ref2.get(layer.name, 0.0) + float(np.dot(ref, ref))
        return y

    def predict(self, images, batch: int = 1000, progress=None) -> np.ndarray:
        """Class scores of ``images`` on the chip, recording each layer's error."""
        return self.net.model.predict(images, self.matmul, batch=batch, progress=progress)

    def table(self) -> dict:
        """``{layer: normalised error}`` in model order (layers not run yet are left out)."""
        return {lay.name: float(np.sqrt(self._diff2[lay.name] / self._ref2[lay.name])) if self._ref2[lay.name] > 0
                else 0.0 for lay in self.net.model.weight_layers if lay.name in self._diff2}
