"""A small SCPI instrument base over pyvisa: checked writes, float queries, error queue, snapshot."""

from __future__ import annotations

from neurram_lab.errors import BoardError, InputError


class InstrumentError(BoardError):
    """An instrument reported an error in its SCPI error queue, or did not answer."""


def open_resource(resource: str, visa_library: str = "", **kw):
    """Open a pyvisa resource (``visa_library`` e.g. ``"data/instruments.yaml@sim"``)."""
    import pyvisa

    try:
        rm = pyvisa.ResourceManager(visa_library) if visa_library else pyvisa.ResourceManager()
        return rm.open_resource(resource, read_termination="\n", write_termination="\n", **kw)
    except (ValueError, OSError, pyvisa.errors.Error) as exc:
        raise InstrumentError(f"cannot open VISA resource {resource!r} ({visa_library or 'system VISA'}): {exc}") from exc


class ScpiInstrument:
    """Base of the bench-instrument drivers.

    Parameters
    ----------
    resource : pyvisa resource or str
        An open resource, or a resource name to open with ``visa_library``.
    visa_library : str
        pyvisa backend, e.g. ``"/path/instruments.yaml@sim"``; "" for the system VISA.
    """

    IDN_PREFIX = ""

    def __init__(self, resource, visa_library: str = ""):
        self.inst = open_resource(resource, visa_library) if isinstance(resource, str) else resource
        self.idn = self.query("*IDN?")
        if self.IDN_PREFIX and not self.idn.startswith(self.IDN_PREFIX):
            raise InstrumentError(f"{self.inst.resource_name} answered *IDN? with {self.idn!r}, not a {self.IDN_PREFIX}* instrument")

    def write(self, command: str) -> None:
        """Send ``command`` and raise :class:`InstrumentError` if the instrument queued an error."""
        self.inst.write(command)
        self.check_errors(command)

    def query(self, command: str) -> str:
        import pyvisa

        try:
            return self.inst.query(command).strip()
        except pyvisa.errors.VisaIOError as exc:
            raise InstrumentError(f"{command!r} got no answer: {exc}") from exc

    def query_float(self, command: str) -> float:
        text = self.query(command)
        try:
            return float(text)
        except ValueError as exc:
            raise InstrumentError(f"{command!r} answered {text!r}, not a number") from exc

    def check_errors(self, after: str = "") -> None:
        text = self.query("SYST:ERR?")
        code = text.split(",", 1)[0].strip()
        if code not in ("0", "+0"):
            raise InstrumentError(f"instrument error {text}" + (f" after {after!r}" if after else ""))

    def close(self) -> None:
        self.inst.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def check_range(name: str, value: float, lo: float, hi: float, unit: str) -> float:
    """``value`` as float, or :class:`~neurram_lab.errors.LimitError` naming it and the range."""
    from neurram_lab.errors import LimitError

    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a number, got {value!r}") from exc
    if not lo <= v <= hi:
        raise LimitError(name, v, (lo, hi), unit)
    return v
