"""Tier 2, MVM: multi-core MVM in weight units in every direction, calibration, recurrent networks.

- :mod:`.mvm`: :func:`run_mvm`, :class:`MVMCalibration`, code scales;
- :mod:`.calibration`: :func:`calibrate` (operating point and offsets);
- :mod:`.recurrent`: :class:`RecurrentPlacement`, :class:`RecurrentMatrix`, :func:`measure_recurrent`;
- ``_mvm_caps``: fitting a request to what the board declares (host-side splits).
"""

from .calibration import calibrate
from .mvm import MVMCalibration, run_mvm
from .recurrent import RECURRENT_DIRECTIONS, RecurrentMatrix, RecurrentPlacement, measure_recurrent

__all__ = [
    "run_mvm", "calibrate", "MVMCalibration",
    "RECURRENT_DIRECTIONS", "RecurrentMatrix", "RecurrentPlacement", "measure_recurrent",
]
