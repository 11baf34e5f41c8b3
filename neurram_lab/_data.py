"""Where the shipped data files are, installed or in a checkout."""

from __future__ import annotations

from pathlib import Path


def data_path(name: str = "") -> Path:
    """Path of a file shipped in ``data/`` (installed as ``neurram_lab.data``)."""
    try:
        from importlib.resources import files

        base = Path(str(files("neurram_lab.data")))
    except ModuleNotFoundError:  # running from a checkout without installing
        base = Path(__file__).resolve().parent.parent / "data"
    return base / name if name else base
