"""Open boards from spec strings, as PyVISA opens ``...@sim`` resources.

``sim://`` (the twin), ``hil://`` (the real driver on an emulation of the authors' bitstream),
``okusb://SERIAL`` (a real test board), ``replay://run.h5`` (a logged run).
Options go in the query string or as keyword arguments:
``open_board("sim://?seed=3&params=twin.toml")`` equals
``open_board("sim://", seed=3, params="twin.toml")``.
"""

from __future__ import annotations

import importlib
from typing import Callable
from urllib.parse import parse_qsl, urlsplit

from .contract import Board
from ..errors import InputError, UnknownBoardError

# scheme -> "module:callable"; imported only when a board of that scheme is opened,
# so that opening the twin never imports pyusb and friends.
_LAZY: dict[str, str] = {
    "sim": "neurram_lab.sim_backend.board:SimBoard.from_spec",
    "hil": "neurram_lab.drivers.hil:open_hil",
    "okusb": "neurram_lab.drivers.fpga_board:open_okusb",
    "rtl": "neurram_lab.drivers.rtl:open_rtl",
    "replay": "neurram_lab.runlog.replay:ReplayBoard.from_spec",
}
_FACTORIES: dict[str, Callable[..., Board]] = {}


def register_board(scheme: str, factory: Callable[..., Board] | str) -> None:
    """Register a board factory for ``scheme://``.

    ``factory(target, **options)`` gets what follows ``scheme://`` (without the
    query) and the merged options; a ``"module:attr"`` string is imported lazily.
    """
    if not isinstance(scheme, str) or not scheme.isidentifier():
        raise InputError(f"board scheme must be a name like 'sim', got {scheme!r}")
    if not callable(factory) and not (isinstance(factory, str) and factory.count(":") == 1):
        raise InputError(f"board factory must be callable or 'module:attr', got {factory!r}")
    scheme = scheme.lower()
    if isinstance(factory, str):
        _LAZY[scheme] = factory
        _FACTORIES.pop(scheme, None)
    else:
        _FACTORIES[scheme] = factory


def known_schemes() -> list[str]:
    """Schemes that :func:`open_board` accepts."""
    return sorted(set(_LAZY) | set(_FACTORIES))


def parse_spec(spec: str) -> tuple[str, str, dict[str, str]]:
    """Split ``scheme://target?k=v`` into (scheme, target, options); an option given twice is an InputError."""
    if not isinstance(spec, str) or "://" not in spec:
        raise UnknownBoardError(str(spec), known_schemes())
    parts = urlsplit(spec)
    target = (parts.netloc + parts.path) if parts.scheme != "replay" else spec.split("://", 1)[1].split("?", 1)[0]
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError as exc:
        raise InputError(f"malformed options in board spec {spec!r}: {exc}") from exc
    options: dict[str, str] = {}
    for key, value in pairs:
        if key in options:
            raise InputError(f"option {key!r} is given twice in board spec {spec!r} "
                             f"({key}={options[key]!r} and {key}={value!r}); give it once")
        options[key] = value
    return parts.scheme.lower(), target, options


def _factory(scheme: str) -> Callable[..., Board]:
    if scheme in _FACTORIES:
        return _FACTORIES[scheme]
    mod_name, attr = _LAZY[scheme].split(":")
    obj = importlib.import_module(mod_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    _FACTORIES[scheme] = obj
    return obj


def open_board(spec: str = "sim://", **options) -> Board:
    """Open the board named by ``spec``; keyword options override query options.

    Each board's factory checks its options (types, ranges, files) before it
    builds anything or sends a call.

    Raises
    ------
    UnknownBoardError
        The scheme is not registered (the message lists the known ones).
    InputError, LimitError
        A malformed spec, an option given twice in the query, an unknown option or a bad value.
    """
    scheme, target, opts = parse_spec(spec)
    if scheme not in _LAZY and scheme not in _FACTORIES:
        raise UnknownBoardError(spec, known_schemes())
    opts.update({k: v for k, v in options.items() if v is not None})
    return _factory(scheme)(target, spec=spec, **opts)
