"""Stable type tags: how the journal names the classes of the values it spells out (dataclasses, exceptions).

A journal names a class by a tag that does not change when the class moves
(only :data:`TYPE_TAGS` does): the Board contract's records and the twin's
parameter sections by their name (``"MVMRequest"``, ``"DeviceParams"``), the
exceptions of :mod:`neurram_lab.errors` and Python's built-in ones by theirs
(``"InputError"``, ``"ValueError"``). Every class whose values reach a journal
has a tag (``tests/runlog/test_run_migrate.py`` checks the modules they come from); a
class without one would still be named by its Python path ``module:qualname``,
as every class was before tags, and such paths, from any older run file, are
read through :func:`neurram_lab.runlog.migrate.class_path`, the one migration
path. Only classes of ``neurram_lab`` and ``builtins`` are ever rebuilt.
"""

from __future__ import annotations

import builtins
import importlib

from .migrate import class_path

# tag -> where the class lives now (``module:qualname``)
TYPE_TAGS: dict[str, str] = {
    "BoardInfo": "neurram_lab.board.contract:BoardInfo",
    "MVMRequest": "neurram_lab.board.contract:MVMRequest",
    "BoardCapabilities": "neurram_lab.board.capabilities:BoardCapabilities",
    "AppliedPulse": "neurram_lab.board.capabilities:AppliedPulse",
    "SafetyLimits": "neurram_lab.board.limits:SafetyLimits",
    # the twin's parameters (``params=`` of ``sim://``), which a journal may carry inside a value
    **{name: f"neurram_lab.sim_backend.params:{name}" for name in (
        "TwinParams", "DeviceParams", "RelaxParams", "ReadParams", "DefectParams", "TimingParams", "EnergyParams",
        "CircuitParams")},
}
_BY_PATH = {path: tag for tag, path in TYPE_TAGS.items()}
_NAMED_BY_NAME = ("neurram_lab.errors", "builtins")  # modules whose classes are tagged by their own name
_TRUSTED = ("neurram_lab", "builtins")


def tag_of(cls: type) -> str:
    """The journal's name of ``cls``: its tag, or ``module:qualname`` for a class without one."""
    path = f"{cls.__module__}:{cls.__qualname__}"
    if path in _BY_PATH:
        return _BY_PATH[path]
    if cls.__module__ in _NAMED_BY_NAME and "." not in cls.__qualname__:
        return cls.__qualname__
    return path


def class_of(name: str):
    """The class a journal names ``name`` (a tag, or a Python path from any run file), or None if untrusted/unknown."""
    if ":" in name:
        path = class_path(name)
    elif name in TYPE_TAGS:
        path = TYPE_TAGS[name]
    else:
        from .. import errors

        if isinstance(getattr(errors, name, None), type):
            return getattr(errors, name)
        obj = getattr(builtins, name, None)
        return obj if isinstance(obj, type) else None
    mod_name, _, qual = path.partition(":")
    if mod_name.split(".")[0] not in _TRUSTED:
        return None
    try:
        obj = builtins if mod_name == "builtins" else importlib.import_module(mod_name)
        for part in qual.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return None
    return obj
