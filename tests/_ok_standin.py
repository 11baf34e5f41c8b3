"""A stand-in for Opal Kelly's ``ok`` module (not installable here), speaking the FrontPanel API
to the emulated firmware in-process, so OkFrontPanel's own code runs in tests."""

from __future__ import annotations

import numpy as np

from drivers import endpoints as ep


class _Module:
    def __init__(self, firmwares: dict):
        self.firmwares = firmwares  # serial -> EmulatedFirmware
        outer = self

        class okCFrontPanel:  # noqa: N801 - the vendor's name
            def __init__(self):
                self.fw = None
                self.serial = ""
                self.wi = np.zeros(32, np.uint32)
                self.wo = np.zeros(32, np.uint32)

            def GetDeviceCount(self):
                return len(outer.firmwares)

            def GetDeviceListSerial(self, i):
                return sorted(outer.firmwares)[i]

            def OpenBySerial(self, serial=""):
                serial = serial or sorted(outer.firmwares)[0]
                if serial not in outer.firmwares:
                    return -8  # DeviceNotOpen, as the SDK reports a missing board
                self.fw, self.serial = outer.firmwares[serial], serial
                return 0

            def IsOpen(self):
                return self.fw is not None

            def GetSerialNumber(self):
                return self.serial

            def Close(self):
                self.fw = None

            def ConfigureFPGA(self, path):
                return 0

            def SetWireInValue(self, addr, value, mask=0xFFFFFFFF):
                self.wi[addr] = (int(self.wi[addr]) & ~mask) | (value & mask)
                return 0

            def UpdateWireIns(self):
                return self.fw.set_wire_ins(self.wi.copy())

            def UpdateWireOuts(self):
                self.wo[:] = self.fw.wire_outs()
                return 0

            def GetWireOutValue(self, addr):
                return int(self.wo[addr - 0x20])

            def ActivateTriggerIn(self, addr, bit):
                return self.fw.trigger(addr, bit)

            def WriteToPipeIn(self, addr, data):
                return self.fw.pipe_in(addr, bytes(data))

            def ReadFromPipeOut(self, addr, buf):
                code, data = self.fw.pipe_out(addr, len(buf))
                if code < 0:
                    return code
                buf[:] = data
                return len(buf)

        self.okCFrontPanel = okCFrontPanel


def ok_module(firmwares: dict):
    return _Module(firmwares)


assert ep.WIRE_OUT_RANGE[0] == 0x20
