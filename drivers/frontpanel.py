"""The one layer through which the driver makes FrontPanel calls: return codes checked, calls counted
and handed to observers.

:class:`Link` wraps an ``ok.okCFrontPanel``-compatible object (the vendor's,
or :class:`drivers.hil.okmodule.EmulatedOk`'s) and offers one method per
FrontPanel call. Each method makes the call, raises
:class:`~neurram_lab.errors.FrontPanelError` (with the code's name in the
FrontPanel API and the call) on a negative code, counts the call under the
Board operation in progress (:attr:`Link.board_op`) and, when observers are
attached, calls each ``observer(record)`` with the trace record, e.g.
``{"op": "SetWireInValue", "ep": 1, "value": V, "mask": M, "board_op": "rails"}``,
``{"op": "GetWireOutValue", "ep": 32, "value": V, ...}``,
``{"op": "ActivateTriggerIn", "ep": 64, "bit": 2, ...}``,
``{"op": "WriteToPipeIn", "ep": 128, "bytes": N, ...}``,
``{"op": "ReadFromPipeOut", "ep": 162, "bytes": N, ...}``, and
``{"op": "UpdateWireIns"}``, ``{"op": "UpdateWireOuts"}``, ``{"op": "OpenBySerial"}``,
``{"op": "ConfigureFPGA"}``, ``{"op": "Close"}`` by name.
"""

from __future__ import annotations

from neurram_lab.errors import FrontPanelError

# FrontPanel return codes and their names in the FrontPanel API.
NO_ERROR = 0
FAILED = -1
TIMEOUT = -2
DONE_NOT_HIGH = -3
TRANSFER_ERROR = -4
COMMUNICATION_ERROR = -5
INVALID_BITSTREAM = -6
FILE_ERROR = -7
DEVICE_NOT_OPEN = -8
INVALID_ENDPOINT = -9
INVALID_BLOCK_SIZE = -10
UNSUPPORTED_FEATURE = -15

ERROR_NAMES: dict[int, str] = {
    0: "NoError", -1: "Failed", -2: "Timeout", -3: "DoneNotHigh", -4: "TransferError",
    -5: "CommunicationError", -6: "InvalidBitstream", -7: "FileError", -8: "DeviceNotOpen",
    -9: "InvalidEndpoint", -10: "InvalidBlockSize", -11: "I2CRestrictedAddress", -12: "I2CBitError",
    -13: "I2CNack", -14: "I2CUnknownStatus", -15: "UnsupportedFeature", -16: "FIFOUnderflow",
    -17: "FIFOOverflow", -18: "DataAlignmentError", -19: "InvalidResetProfile", -20: "InvalidParameter",
}
PIPE_BLOCK_BYTES = 16  # USB 3.0 FrontPanel pipes move multiples of 16 bytes
MASK_ALL = 0xFFFFFFFF
BOARD_OPS = ("open", "rails", "select", "read", "pulse", "mvm", "neuron_test", "close")
CALL_OPS = ("OpenBySerial", "ConfigureFPGA", "IsFrontPanelEnabled", "SetWireInValue", "UpdateWireIns", "UpdateWireOuts",
            "GetWireOutValue", "ActivateTriggerIn", "WriteToPipeIn", "ReadFromPipeOut", "Close")


def error_name(code: int) -> str:
    """Name of a FrontPanel return code (``"Unknown(-99)"`` for codes the API does not list)."""
    return ERROR_NAMES.get(int(code), f"Unknown({int(code)})")


def check(code: int, call: str) -> int:
    """Return ``code`` if non-negative, else raise :class:`FrontPanelError` naming it and ``call``."""
    code = int(code)
    if code < 0:
        raise FrontPanelError(code, error_name(code), call)
    return code


def _fail(code: int, call: str):
    raise FrontPanelError(int(code), error_name(code), call)


class Link:
    """Checked, counted, observed FrontPanel calls on one open device.

    Parameters
    ----------
    dev : okCFrontPanel-like
    observers : list of callable, optional
        Each gets every call's record (module docstring), in order.
    timer : BoardTimeModel-like, optional
        Told of every call through its direct hooks (``set_wire(ep, value, mask)``,
        ``update_wire_ins()``, ``update_wire_outs()``, ``get_wire(ep, value)``,
        ``trigger(ep, bit)``, ``call(op, n_bytes)``; attribute ``board_op``), before
        the observers: the same facts as a record, without building one.

    Attributes
    ----------
    board_op : str
        The Board operation the next calls belong to (set by the board).
    calls : dict of str -> dict of str -> int
        Calls counted by Board operation, then by FrontPanel op.
    """

    def __init__(self, dev, observers=(), timer=None):
        self.dev = dev
        self.observers = list(observers)
        self.timer = timer
        self.calls: dict[str, dict[str, int]] = {}
        self._cur: dict[str, int] = {}
        self.board_op = ""
        if timer is not None and hasattr(timer, "share_counts"):
            timer.share_counts(self.calls)  # one count per call, kept here
        self.op("open")

    def op(self, board_op: str) -> None:
        """Count the following calls under ``board_op``."""
        if board_op != self.board_op:
            self.board_op = board_op
            cur = self.calls.get(board_op)
            if cur is None:
                cur = self.calls[board_op] = dict.fromkeys(CALL_OPS, 0)
            self._cur = cur
            if self.timer is not None:
                self.timer.board_op = board_op or "-"

    def _emit(self, rec: dict) -> None:
        rec["board_op"] = self.board_op
        for obs in self.observers:
            obs(rec)

    # --------------------------------------------------------- lifecycle
    def open_by_serial(self, serial: str) -> None:
        code = self.dev.OpenBySerial(serial)
        self._cur["OpenBySerial"] += 1
        if self.timer is not None:
            self.timer.call("OpenBySerial")
        if self.observers:
            self._emit({"op": "OpenBySerial", "serial": serial})
        if code < 0:
            _fail(code, f"OpenBySerial({serial!r})")

    def configure_fpga(self, path: str) -> None:
        code = self.dev.ConfigureFPGA(str(path))
        self._cur["ConfigureFPGA"] += 1
        if self.timer is not None:
            self.timer.call("ConfigureFPGA")
        if self.observers:
            self._emit({"op": "ConfigureFPGA", "path": str(path)})
        if code < 0:
            _fail(code, f"ConfigureFPGA({str(path)!r})")

    def frontpanel_enabled(self) -> bool:
        """``IsFrontPanelEnabled``: True when the configured bitstream has the FrontPanel host interface."""
        ok = bool(self.dev.IsFrontPanelEnabled())
        self._cur["IsFrontPanelEnabled"] += 1
        if self.timer is not None:
            self.timer.call("IsFrontPanelEnabled")
        if self.observers:
            self._emit({"op": "IsFrontPanelEnabled", "value": int(ok)})
        return ok

    def close(self) -> None:
        self._cur["Close"] += 1
        if self.timer is not None:
            self.timer.call("Close")
        if self.observers:
            self._emit({"op": "Close"})
        self.dev.Close()

    # -------------------------------------------------------------- wires
    def set_wire(self, ep: int, value: int, mask: int = MASK_ALL) -> None:
        code = self.dev.SetWireInValue(ep, value, mask)
        self._cur["SetWireInValue"] += 1
        if self.timer is not None:
            self.timer.set_wire(ep, value, mask)
        if self.observers:
            self._emit({"op": "SetWireInValue", "ep": ep, "value": value, "mask": mask})
        if code < 0:
            _fail(code, f"SetWireInValue(0x{ep:02X})")

    def update_wire_ins(self) -> None:
        code = self.dev.UpdateWireIns()
        self._cur["UpdateWireIns"] += 1
        if self.timer is not None:
            self.timer.update_wire_ins()
        if self.observers:
            self._emit({"op": "UpdateWireIns"})
        if code < 0:
            _fail(code, "UpdateWireIns")

    def update_wire_outs(self) -> None:
        code = self.dev.UpdateWireOuts()
        self._cur["UpdateWireOuts"] += 1
        if self.timer is not None:
            self.timer.update_wire_outs()
        if self.observers:
            self._emit({"op": "UpdateWireOuts"})
        if code < 0:
            _fail(code, "UpdateWireOuts")

    def get_wire(self, ep: int) -> int:
        value = int(self.dev.GetWireOutValue(ep))
        self._cur["GetWireOutValue"] += 1
        if self.timer is not None:
            self.timer.get_wire(ep, value)
        if self.observers:
            self._emit({"op": "GetWireOutValue", "ep": ep, "value": value})
        return value

    # --------------------------------------------------- triggers, pipes
    def trigger(self, ep: int, bit: int) -> None:
        code = self.dev.ActivateTriggerIn(ep, bit)
        self._cur["ActivateTriggerIn"] += 1
        if self.timer is not None:
            self.timer.trigger(ep, bit)
        if self.observers:
            self._emit({"op": "ActivateTriggerIn", "ep": ep, "bit": bit})
        if code < 0:
            _fail(code, f"ActivateTriggerIn(0x{ep:02X}, {bit})")

    def pipe_in(self, ep: int, data) -> int:
        """Write ``data`` (a multiple of 16 bytes); every byte must be taken."""
        buf = data if isinstance(data, bytearray) else bytearray(data)
        n = self.dev.WriteToPipeIn(ep, buf)
        self._cur["WriteToPipeIn"] += 1
        if self.timer is not None:
            self.timer.call("WriteToPipeIn", len(buf))
        if self.observers:
            self._emit({"op": "WriteToPipeIn", "ep": ep, "bytes": len(buf)})
        if n < 0:
            _fail(n, f"WriteToPipeIn(0x{ep:02X})")
        if n != len(buf):
            raise FrontPanelError(TRANSFER_ERROR, error_name(TRANSFER_ERROR),
                                  f"WriteToPipeIn(0x{ep:02X}) took {n} of {len(buf)} bytes")
        return n

    def pipe_out(self, ep: int, n_bytes: int) -> bytearray:
        """Read exactly ``n_bytes`` (a multiple of 16) from pipe-out ``ep``."""
        buf = bytearray(n_bytes)
        n = self.dev.ReadFromPipeOut(ep, buf)
        self._cur["ReadFromPipeOut"] += 1
        if self.timer is not None:
            self.timer.call("ReadFromPipeOut", n_bytes)
        if self.observers:
            self._emit({"op": "ReadFromPipeOut", "ep": ep, "bytes": n_bytes})
        if n < 0:
            _fail(n, f"ReadFromPipeOut(0x{ep:02X})")
        if n != n_bytes:
            raise FrontPanelError(TRANSFER_ERROR, error_name(TRANSFER_ERROR),
                                  f"ReadFromPipeOut(0x{ep:02X}) gave {n} of {n_bytes} bytes")
        return buf

    # ----------------------------------------------------------- totals
    def totals(self) -> dict:
        """``{"by_op": {...}, "by_board_op": {...}, "total": N}``, zero counts left out."""
        by_op: dict[str, int] = {}
        by_board: dict[str, int] = {}
        for bop, ops in self.calls.items():
            n = 0
            for op, k in ops.items():
                if k:
                    by_op[op] = by_op.get(op, 0) + k
                    n += k
            if n:
                by_board[bop] = n
        return {"by_op": by_op, "by_board_op": by_board, "total": sum(by_op.values())}
