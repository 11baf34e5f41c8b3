"""The pyvisa base of the bench-instrument drivers: checked writes, float queries, error check, identity.

Each driver speaks one real product's documented command set; the module of
each names the product and the manual. ``data/instruments.yaml`` emulates
exactly those command sets for pyvisa-sim.
"""

from __future__ import annotations

from neurram_lab.errors import BoardError, InputError


class InstrumentError(BoardError):
    """An instrument reported an error, answered something unexpected, or did not answer."""


def open_resource(resource: str, visa_library: str = "", read_termination: str = "\n",
                  write_termination: str = "\n", **kw):
    """Open a pyvisa resource (``visa_library`` e.g. ``"data/instruments.yaml@sim"``; "" for the system VISA)."""
    import pyvisa

    try:
        rm = pyvisa.ResourceManager(visa_library) if visa_library else pyvisa.ResourceManager()
        return rm.open_resource(resource, read_termination=read_termination, write_termination=write_termination, **kw)
    except (ValueError, OSError, pyvisa.errors.Error) as exc:
        raise InstrumentError(f"cannot open VISA resource {resource!r} ({visa_library or 'system VISA'}): {exc}") from exc


class ScpiInstrument:
    """Base of the bench-instrument drivers (IEEE 488.2 ``*IDN?``; SCPI ``SYST:ERR?`` error queue).

    Parameters
    ----------
    resource : pyvisa resource or str
        An open resource, or a resource name to open with ``visa_library``.
    visa_library : str
        pyvisa backend, e.g. ``"/path/instruments.yaml@sim"``; "" for the system VISA.

    Attributes
    ----------
    idn : str
        The instrument's ``*IDN?`` answer.
    MODELS : tuple of str
        Model fields (second field of ``*IDN?``) the driver accepts; others are refused.
    """

    MODELS: tuple = ()
    READ_TERMINATION = "\n"
    WRITE_TERMINATION = "\n"
    ERROR_QUERY = "SYST:ERR?"

    def __init__(self, resource, visa_library: str = ""):
        if isinstance(resource, str):
            resource = open_resource(resource, visa_library, self.READ_TERMINATION, self.WRITE_TERMINATION,
                                     **self._open_options(resource))
        self.inst = resource
        self.idn = self.query("*IDN?")
        fields = [f.strip() for f in self.idn.split(",")]
        if self.MODELS and (len(fields) < 2 or fields[1] not in self.MODELS):
            raise InstrumentError(f"{self.resource_name} answered *IDN? with {self.idn!r}, "
                                  f"not a {' / '.join(self.MODELS)}")

    def _open_options(self, resource: str) -> dict:
        """Extra ``open_resource`` options for ``resource`` (serial settings, for instance)."""
        return {}

    @property
    def resource_name(self) -> str:
        return str(getattr(self.inst, "resource_name", "?"))

    @property
    def model(self) -> str:
        """The model field of ``*IDN?``."""
        fields = self.idn.split(",")
        return fields[1].strip() if len(fields) > 1 else self.idn

    def write(self, command: str) -> None:
        """Send ``command`` and raise :class:`InstrumentError` if the instrument reports an error."""
        self.inst.write(command)
        self.check_errors(command)

    def query(self, command: str) -> str:
        import pyvisa

        try:
            return self.inst.query(command).strip()
        except pyvisa.errors.VisaIOError as exc:
            raise InstrumentError(f"{command!r} got no answer from {self.resource_name}: {exc}") from exc

    def query_float(self, command: str) -> float:
        text = self.query(command)
        try:
            return float(text)
        except ValueError as exc:
            raise InstrumentError(f"{command!r} answered {text!r}, not a number") from exc

    def check_errors(self, after: str = "") -> None:
        """Read one entry of the SCPI error queue; raise unless it is ``0,"No error"``."""
        text = self.query(self.ERROR_QUERY)
        code = text.split(",", 1)[0].strip()
        if code not in ("0", "+0", "-0"):
            raise InstrumentError(f"{self.model} error {text}" + (f" after {after!r}" if after else ""))

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
    if not lo <= v <= hi:  # NaN fails too
        raise LimitError(name, v, (lo, hi), unit)
    return v
