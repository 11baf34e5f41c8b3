"""Tier 3: deploy neural networks on the 48 cores.

- :mod:`.model`: layer graphs with numpy parameters (``.npz`` or a PyTorch ``state_dict``
  plus an architecture dict), exact forward;
- :mod:`.zoo`: architectures of the chip authors' models (and a small CNN to train);
- :mod:`.mapping`: layers to conductance matrices, matrices to cores, the mapping table;
- :mod:`.network`: a mapped model on a board: programming, calibration, batch inference;
- :mod:`.digital`: the FPGA's numpy side (patches, pooling, partial sums, activation quantisation);
- :mod:`.rbm`, :mod:`.lstm`, :mod:`.lfsr`: RBM with stochastic neurons and Gibbs sampling, LSTM cell, LFSR noise;
- :mod:`.datasets`: MNIST IDX files;
- :mod:`.training` (needs torch, the ``train`` extra): noise-injection training, chip-in-the-loop fine-tuning.
"""

from .datasets import load_mnist, read_idx
from .digital import act_quant, im2col, pool
from .lfsr import LFSRNoise
from .lstm import ChipLSTMCell, lstm_reference
from .mapping import Mapping, MatrixCut, cut_layers, map_model, matrix_weights
from .model import Grid, Layer, Model, exact_matmul, load_model, load_state_dict, params_from_state_dict
from .network import ChipNetwork, read_back
from .rbm import RBM, ChipRBM, corrupt, map_rbm, recover
from .zoo import mnist_cnn_7layer, resnet20_v1, small_cnn

__all__ = [
    "load_mnist", "read_idx", "act_quant", "im2col", "pool", "LFSRNoise", "ChipLSTMCell", "lstm_reference",
    "Mapping", "MatrixCut", "cut_layers", "map_model", "matrix_weights", "Grid", "Layer", "Model", "exact_matmul",
    "load_model", "load_state_dict", "params_from_state_dict", "ChipNetwork", "read_back", "RBM", "ChipRBM",
    "corrupt", "map_rbm", "recover", "mnist_cnn_7layer", "resnet20_v1", "small_cnn",
]
