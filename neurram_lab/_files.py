"""Reading small parameter files (TOML or JSON) with typed errors."""

from __future__ import annotations

import json
from pathlib import Path

from .errors import InputError


def load_mapping(path: str | Path) -> dict:
    """Read a TOML (any suffix but ``.json``) or JSON file into a dict.

    Raises
    ------
    InputError
        The file cannot be read, does not parse, or does not hold a mapping.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror or exc}") from exc
    is_json = p.suffix.lower() == ".json"
    try:
        if is_json:
            data = json.loads(raw.decode("utf-8"))
        else:
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib
            data = tomllib.loads(raw.decode("utf-8"))
    except Exception as exc:  # noqa: BLE001 - any parse failure is the same user error
        raise InputError(f"{p} is not valid {'JSON' if is_json else 'TOML'}: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(f"{p} must hold a mapping at top level, not {type(data).__name__}")
    return data
