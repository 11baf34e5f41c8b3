"""``deploy mnist-cnn`` reports each layer's normalised chip-vs-software error (issue 19 item 4), as ResNet-20 does."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neurram_lab import open_board
from neurram_lab.experiments import deploy_mnist_cnn


def test_summary_has_the_per_layer_error_of_every_weight_layer(tmp_path):
    s = deploy_mnist_cnn.run(open_board("sim://?seed=4"), tmp_path, limit=40, calibration_images=40,
                             mvm="measured-weights", settle_s=60.0, iterations=1)
    err = s["layer_error"]
    assert list(err) == ["conv0", "conv1", "conv2", "conv3", "conv4", "conv5", "dense"]
    v = np.array(list(err.values()))
    # read-back conductances differ from the targets, so no layer is exact; none is garbage either
    assert np.all(np.isfinite(v)) and np.all(v > 1e-3) and np.all(v < 0.5)
    assert Path(s["figure"]).exists()
