"""A twin that declares fewer capabilities, as a real test board does (``restricted://``, tests only).

The physics is the twin's (a :class:`SimBoard` underneath, nothing mocked);
only ``_capabilities`` differs, so the Board contract's own checks and
quantisation, and tier 2/3's adaptation, meet the restrictions a board on the
authors' bitstream has. ``hooks`` lists every hook the contract called, so a
test can see that a refused request reached none.

Profiles (``restricted://?seed=7&profile=NAME``):

- ``bitstream`` (default): what the authors' ``neurram_top`` offers: at most
  7 output bits (100-step readout), forward and backward, no sigmoid/tanh,
  no two-phase, one shared neuron-test voltage, no power gating, a 16-bit
  DAC on 5 V for pulse amplitude and gate, 10 ns width ticks, no ``v_wl_read`` rail;
- ``narrow``: also forward only, 5-bit outputs at most, 2 cores per MVM request.
"""

from __future__ import annotations

from neurram_lab.board.contract import BoardCapabilities
from neurram_lab.errors import InputError
from neurram_lab.board.limits import _default_rails
from neurram_lab.sim_backend.board import SimBoard

_RAILS = tuple(r for r in _default_rails() if r != "v_wl_read")

PROFILES = {
    "bitstream": BoardCapabilities(
        output_bits=(1, 7), directions=("forward", "backward"), activations=("none", "relu", "stochastic"),
        two_phase=False, neuron_test_per_neuron=False, power_gating=False,
        pulse_v_step_v=5.0 / 65536, pulse_width_tick_s=10e-9, rails=_RAILS),
    "narrow": BoardCapabilities(
        output_bits=(2, 5), directions=("forward",), activations=("none",), two_phase=False, max_parallel_cores=2,
        neuron_test_per_neuron=False, power_gating=False, pulse_v_step_v=0.05, pulse_width_tick_s=1e-6,
        rails=_RAILS),
}

_HOOKS = ("_set_rails", "_power_cores", "_pulse", "_read", "_mvm", "_neuron_test", "_wait")


class RestrictedBoard(SimBoard):
    """The twin with a profile's capabilities; ``hooks`` records every hook called (name, in order)."""

    def __init__(self, seed: int = 0, profile: str = "bitstream", spec: str | None = None, **kw):
        if profile not in PROFILES:
            raise InputError(f"restricted:// profile {profile!r} is not one of {sorted(PROFILES)}")
        super().__init__(seed=seed, spec=spec or f"restricted://?seed={seed}&profile={profile}", **kw)
        self.profile = profile
        self.hooks: list[str] = []

    @classmethod
    def from_spec(cls, target: str, spec: str = "restricted://", seed=0, profile="bitstream", **extra):
        if extra:
            raise InputError(f"unknown restricted:// options {sorted(extra)}")
        return cls(seed=int(seed), profile=profile, spec=spec)

    def _capabilities(self) -> BoardCapabilities:
        return PROFILES[self.profile]

    def _info(self):
        info = super()._info()
        return type(info)(kind="restricted", spec=info.spec, serial=info.serial, firmware=info.firmware,
                          extra=dict(info.extra, profile=self.profile))


def _recording(name):
    inner = getattr(SimBoard, name)

    def hook(self, *args, **kwargs):
        self.hooks.append(name)
        return inner(self, *args, **kwargs)

    hook.__name__ = name
    return hook


for _name in _HOOKS:
    setattr(RestrictedBoard, _name, _recording(_name))
