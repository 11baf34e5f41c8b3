"""Tier 3: deploy neural networks on the 48 cores.

- :mod:`.model`: layer graphs with numpy parameters (``.npz`` + architecture dict), exact forward;
- :mod:`.zoo`: architectures of the chip authors' models;
- :mod:`.mapping`: layers to conductance matrices, matrices to cores, the mapping table;
- :mod:`.digital`: the FPGA's numpy side (patches, pooling, partial sums, activation quantisation);
- :mod:`.datasets`: MNIST IDX files.
"""

from .datasets import load_mnist, read_idx
from .digital import act_quant, im2col, pool
from .mapping import Mapping, MatrixCut, cut_layers, map_model, matrix_weights
from .model import Grid, Layer, Model, exact_matmul, load_model
from .zoo import mnist_cnn_7layer, resnet20_v1

__all__ = [
    "load_mnist", "read_idx", "act_quant", "im2col", "pool", "Mapping", "MatrixCut", "cut_layers", "map_model",
    "matrix_weights", "Grid", "Layer", "Model", "exact_matmul", "load_model", "mnist_cnn_7layer", "resnet20_v1",
]
