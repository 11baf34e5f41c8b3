"""Everything that talks to real equipment: the Opal Kelly FrontPanel/USB driver of the
NeuRRAM test board, bench instruments over pyvisa/pyserial, and the hardware-in-the-loop
stub (a virtual USB device with an emulated firmware on the twin)."""
