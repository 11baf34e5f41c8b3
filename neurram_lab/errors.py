"""One exception hierarchy for the whole project, rooted in :class:`NeuRRAMError`.

Every message names the offending value and the limit or call it broke, so the
CLI can print it as one line.
"""

from __future__ import annotations


class NeuRRAMError(Exception):
    """Base of every error raised on purpose by neurram-lab."""


def _detailed(msg: str, detail: str) -> str:
    return f"{msg} ({detail})" if detail else msg


class LimitError(NeuRRAMError, ValueError):
    """A request broke a safety limit or a range; nothing was sent to the board.

    Attributes
    ----------
    name : str
        What was checked (``"v_set"``, ``"width_s"``, ``"core"`` ...).
    value : object
        The offending value (the worst one, for arrays).
    limit : object
        The limit that was broken, e.g. ``(0.0, 4.0)``.
    """

    def __init__(self, name: str, value, limit, detail: str = ""):
        self.name, self.value, self.limit = name, value, limit
        super().__init__(_detailed(f"{name}={value!r} is outside the allowed range {limit!r}", detail))


class CapabilityError(LimitError):
    """A request beyond what this board can do (its :class:`~neurram_lab.board.contract.BoardCapabilities`);
    nothing was sent to the board.

    Attributes
    ----------
    capability : str
        The capability the request needs (``"output_bits"``, ``"directions"``, ``"two_phase"`` ...).
    value : object
        What was asked for.
    limit : object
        What the board declares for that capability, e.g. ``(1, 7)`` or ``False``.
    """

    def __init__(self, capability: str, value, limit, detail: str = ""):
        self.capability = self.name = capability
        self.value, self.limit = value, limit
        msg = f"{capability}={value!r} is beyond this board's capability {capability}: {limit!r}"
        super(LimitError, self).__init__(_detailed(msg, detail))


class InputError(NeuRRAMError, ValueError):
    """Malformed input: wrong shape, dtype, missing field, unreadable file."""


class CalibrationError(InputError):
    """A calibration applied under conditions it was not taken for (bits, signedness, direction,
    placement, operating point, board), or one that cannot be right (NaN offsets, no signal);
    raised before any MVM is sent."""


class FrozenLimitsError(LimitError, AttributeError):
    """An attempt to change a :class:`~neurram_lab.board.limits.SafetyLimits` in place (a field, a rail's
    range, a deletion); nothing changed. Build a new one and apply it with ``Board.set_limits``."""

    def __init__(self, name: str, value):
        self.name, self.value, self.limit = name, value, "frozen"
        super(LimitError, self).__init__(
            f"cannot change {name} (to {value!r}): safety limits cannot be changed in place; build new ones "
            "(dataclasses.replace, SafetyLimits.from_dict) and apply them with board.set_limits(...)")


class DataNotFoundError(InputError):
    """A model or dataset an experiment needs is not where the configuration says (or no place is set).

    The message names what is missing and how to say where it is: the
    ``--model`` / ``--data`` options, or the environment variables
    ``NEURRAM_MODELS``, ``NEURRAM_DATA`` and ``NEURRAM_SHARED``.

    Attributes
    ----------
    what : str
        What is missing (``"models folder"``, ``"MNIST folder"`` ...).
    path : str or None
        Where it was looked for (None when no place was configured).
    """

    def __init__(self, what: str, path, hint: str):
        self.what, self.path = what, None if path is None else str(path)
        where = f" at {path}" if path is not None else ""
        super().__init__(f"{what} not found{where}: {hint}")


class UnknownBoardError(NeuRRAMError, ValueError):
    """A board spec string whose scheme no board registered."""

    def __init__(self, spec: str, known: list[str]):
        self.spec, self.known = spec, known
        super().__init__(
            f"unknown board spec {spec!r}; known schemes: {', '.join(s + '://' for s in known)}"
        )


class BoardError(NeuRRAMError, RuntimeError):
    """A board failed to do what it was asked, or was used after close."""


class FrontPanelError(BoardError):
    """A FrontPanel call returned a negative error code.

    Attributes
    ----------
    code : int
        The FrontPanel return code (negative).
    name : str
        Its name in the FrontPanel API (``"Timeout"``, ``"DeviceNotOpen"`` ...).
    call : str
        The call that returned it.
    """

    def __init__(self, code: int, name: str, call: str = ""):
        self.code, self.name, self.call = code, name, call
        where = f" in {call}" if call else ""
        super().__init__(f"FrontPanel error {code} ({name}){where}")


class RunLogError(NeuRRAMError, OSError):
    """A run-log file that is not one, has an unknown format version, or is damaged."""


class RunLogDamaged(RunLogError):
    """A run file one of whose parts fails its check (or is missing although its format version requires it).

    Attributes
    ----------
    path : str
        The run file.
    part : str
        The damaged part: ``"record"``, ``"stop record"``, ``"table layout"``,
        ``"table wv_cells/g_final_s"``, ``"checks"``, ``"journal"``, ``"file"`` ...
    check : str
        The check that failed (``"CRC-32"``, ``"missing"``, ``"truncated"`` ...) and what it found.
    row : int or None
        The first bad row of a table column, or the first bad call of the journal.
    """

    def __init__(self, path, part: str, check: str, row: int | None = None):
        self.path, self.part, self.check, self.row = str(path), part, check, row
        at = f" at row {row}" if row is not None and part.startswith("table") else (
            f" at call {row}" if row is not None else "")
        super().__init__(f"{path} is damaged: {part}{at}: {check}")


class ReplayDivergence(NeuRRAMError):
    """A replayed run asked for a call different from the recorded one.

    Attributes
    ----------
    index : int
        Index of the call in the journal.
    recorded, requested : str
        The recorded and the requested operation names.
    detail : str
        How the requested call differs ("" where the operation itself does).
    """

    def __init__(self, index: int, recorded: str, requested: str, detail: str = ""):
        self.index, self.recorded, self.requested, self.detail = index, recorded, requested, detail
        msg = f"replay diverged at call {index}: recorded {recorded!r}, requested {requested!r}"
        super().__init__(_detailed(msg, detail))


class ReplayInterrupted(NeuRRAMError):
    """A replayed run asked for a call past the end of an interrupted recording.

    Attributes
    ----------
    index : int
        Index of the requested call (= the number of calls recorded).
    requested : str
        The requested operation.
    status : str
        Status of the recorded run (``"interrupted"`` or ``"aborted"``).
    """

    def __init__(self, index: int, requested: str, status: str = "interrupted"):
        self.index, self.requested, self.status = index, requested, status
        super().__init__(
            f"the recorded run was {status} after {index} calls; replay cannot serve call {index} ({requested!r})"
        )
