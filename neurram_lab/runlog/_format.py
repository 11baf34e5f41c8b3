"""What each run-file format version holds, and the checksums of its record and layout.

Shared by the writer (:mod:`.runlog`) and the reader (:mod:`._read`).
"""

from __future__ import annotations

import json
import zlib

import numpy as np

FORMAT_VERSION = 5
# 1: no journal, no checks; 2: no deflated arrays (store z); 3: MVM inputs kept whole;
# 4: no checksum of the stop record or of the layout (units, column order)
READABLE_VERSIONS = (1, 2, 3, 4, 5)
STATUSES = ("success", "failed", "aborted")
CHECK_COLUMNS = {"table": "u2", "column": "u2", "rows": "i8", "crc": "u4"}
RECORD_TEXTS = ("uid", "experiment", "parameters_json", "software_version", "board_json", "start_time_iso")


def required_parts(version: int) -> dict[str, str]:
    """Parts (HDF5 paths) a file of ``version`` must have, each with the part name readers report."""
    parts = {"run/stop_json": "stop record", "tables": "tables"}
    if version >= 2:
        parts.update({"journal": "journal", "run/checks": "checks"})
    if version >= 5:
        parts.update({"run/stop_crc32": "stop record"})
    return parts


def unverifiable_parts(version: int) -> list[str]:
    """Parts a file of ``version`` has no checksum for (empty for the current version)."""
    missing = []
    if version < 2:
        missing += ["journal", "checks"]
    if version < 5:
        missing += ["stop record", "table layout"]
    return missing


def record_crc(texts: dict) -> int:
    """CRC-32 of the record strings (HDF5 keeps variable-length strings in its unchecked global heap)."""
    return zlib.crc32("\x00".join(texts[k] for k in RECORD_TEXTS).encode("utf-8"))


def layout_text(tables: list[tuple[str, int, list[tuple[str, str, str]]]], start_time_unix_s: float) -> str:
    """The layout a format-5 file checksums: per table (name, index, [(column, dtype, units)]) and the start time."""
    return json.dumps({"tables": [[t, int(i), [list(c) for c in cols]] for t, i, cols in tables],
                       "start_time_unix_s": float(start_time_unix_s).hex()}, sort_keys=True)


def layout_crc(tables, start_time_unix_s: float) -> int:
    """CRC-32 of :func:`layout_text`."""
    return zlib.crc32(layout_text(tables, start_time_unix_s).encode("utf-8"))


def stop_crc(raw: np.ndarray) -> int:
    """CRC-32 of the stop record's bytes."""
    return zlib.crc32(np.ascontiguousarray(raw, np.uint8))
