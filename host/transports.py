"""Byte pipes to a MemGen device: the software model, the simulated gateware, a serial port.

Every transport has ``write(data)``, ``read(timeout)`` (the bytes that have arrived, waiting up
to ``timeout`` seconds for the first; ``b""`` if none), ``close()`` and ``timeout``, a sensible
inactivity limit for that device. :func:`open_transport` builds one from a device name:

``reference``
    :class:`~memgen.host.link_reference.LinkReference`, the software model.
``sim``
    :class:`~memgen.hdl.link.top.LinkDevice` (command processor and core, no UART) in Amaranth's
    simulator, fed the same frame bytes a board gets.
``verilator``
    :class:`~memgen.hdl.link.top.MemGenTop` with its UART pins, compiled by Verilator.
``serial:PORT``
    A board on a serial port (pyserial), at ``baud``.

The simulated devices are built for a :class:`~memgen.hdl.engine.records.RecordFormat` given by the
caller; a board has the format it was built with.
"""

import errno
import time

from memgen.hdl.engine.protocol import DEFAULT_SEED
from memgen.hdl.link.protocol import BAUD

from .errors import DeviceNotFound
from .link_reference import LinkReference

__all__ = ["DEVICES", "DeviceNotFound", "check_device", "open_transport"]

#: Device names (``serial:PORT`` takes a port).
DEVICES = ("reference", "sim", "verilator", "serial:PORT")
SIMULATED = ("reference", "sim", "verilator")


def check_device(device):
    """``device`` if it names a device; DeviceNotFound if not (nothing is opened)."""
    if device.startswith("serial:"):
        if not device.removeprefix("serial:"):
            raise DeviceNotFound("serial:PORT needs a port, for example serial:/dev/ttyUSB1")
    elif device not in SIMULATED:
        raise DeviceNotFound(f"unknown device {device!r}: choose one of {', '.join(DEVICES)}")
    return device


class ReferenceTransport:
    timeout = 1.0

    def __init__(self, record_format, generator="trivium", seed=DEFAULT_SEED):
        self.model = LinkReference(record_format, generator, seed)
        self._output = bytearray()

    def write(self, data):
        self._output += self.model.receive(data)

    def read(self, timeout):
        data = bytes(self._output)
        self._output.clear()
        return data

    def close(self):
        pass


class SimTransport:
    """The link device in Amaranth's simulator (about 4,000 clocks per second).

    With ``usb`` (True, or a dict of its options) the bytes cross simulated USB instead
    (:class:`~memgen.host.usb_link.SimulatedUSBLink`): LUNA's CDC-ACM device in front of the
    link device, a host controller model behind the transport."""

    timeout = 30.0
    chunk = 500  # clocks simulated per step while waiting for bytes

    def __init__(
        self, record_format, generator="trivium", seed=DEFAULT_SEED, storage=None, usb=False
    ):
        from memgen.hdl.link.top import LinkDevice
        from memgen.host.sim_device import SimulatedLink

        device = LinkDevice(record_format, generator, seed, **(storage or {}))
        if not usb:
            self.link = SimulatedLink(device)
            return
        from memgen.host.usb_link import SimulatedUSBLink  # LUNA loads only for USB

        self.link = SimulatedUSBLink(device, **(usb if isinstance(usb, dict) else {}))
        self.timeout = 300.0  # the USB device and the host model slow the simulation down

    def write(self, data):
        self.link.write(data)

    def read(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            self.link.run(self.chunk)
            data = self.link.read()
            if data or time.monotonic() > deadline:
                return data

    def close(self):
        pass


class VerilatorTransport:
    """The full top level, UART included, compiled by Verilator (about 10^6 clocks per second).

    ``storage`` (a function that makes the top level's storage backends, and any other
    :class:`~memgen.hdl.link.top.LinkDevice` options of a board) comes with ``storage_name``, what
    they are (such as a board's name): the compiled model is found by the
    design's parameters, without converting the design (see
    :func:`~memgen.host.verilator_device.design_digest`), and the backends are made only when the
    model must be compiled. ``clock_hz`` and ``baud`` (default: the simulated board's 12 MHz and
    3 Mbaud, the fewest clocks per bit) model another board's line."""

    timeout = 10.0

    def __init__(
        self,
        record_format,
        generator="trivium",
        seed=DEFAULT_SEED,
        storage=None,
        stamps=None,
        storage_name=None,
        clock_hz=None,
        baud=None,
    ):
        from memgen.hdl.link.top import MemGenTop
        from memgen.hdl.link.uart import divisor_for
        from memgen.host.verilator_device import (
            SIM_BAUD,
            SIM_CLOCK_HZ,
            ModelBuildError,
            VerilatorLink,
            build_uart_model,
        )

        if storage is not None and storage_name is None:
            raise ValueError("Storage backends need a storage_name to find their compiled model")
        clock_hz = SIM_CLOCK_HZ if clock_hz is None else clock_hz
        baud = SIM_BAUD if baud is None else baud
        self.divisor = divisor_for(clock_hz, baud)  # before the build: a bad rate costs nothing

        def top():
            return MemGenTop(
                record_format,
                clock_hz,
                baud,
                generator=generator,
                reset_seed=seed,
                **(storage() if storage is not None else {}),
            )

        # Looked up without elaborating the design; a design that was built has passed
        # MemGenTop's checks.
        parameters = (record_format, generator, seed, clock_hz, baud, storage_name)
        try:
            executable = build_uart_model(top, repr(parameters))
        except ModelBuildError as error:
            raise DeviceNotFound(f"cannot build the verilator device: {error}") from None
        # A RECALL scans the whole memory without a word on the line: keep the clock running.
        quiet = record_format.byte_capacity + 50_000 if record_format.fixed else None
        self.link = VerilatorLink(executable, self.divisor, stamps=stamps, quiet_clocks=quiet)

    def write(self, data):
        self.link.write(data)

    def read(self, timeout):
        return self.link.read(timeout)

    def close(self):
        self.link.close()


class SerialTransport:
    """A board behind a serial port."""

    timeout = 2.0

    def __init__(self, port, baud):
        import serial

        try:
            self.port = serial.Serial(port, baud, timeout=0, write_timeout=10, exclusive=True)
        except (serial.SerialException, OSError, ValueError) as error:
            reasons = {
                errno.ENOENT: "no such port",
                errno.EACCES: "permission denied (is your user in the dialout group?)",
                errno.EBUSY: "the port is busy",
            }
            reason = reasons.get(getattr(error, "errno", None))
            if reason is None and "lock" in str(error):
                reason = "the port is in use by another program"
            raise DeviceNotFound(f"cannot open serial port {port}: {reason or error}") from None

    def write(self, data):
        self.port.write(bytes(data))

    def read(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            waiting = self.port.in_waiting
            if waiting:
                return self.port.read(waiting)
            if time.monotonic() > deadline:
                return b""
            time.sleep(0.0005)

    def close(self):
        self.port.close()


def open_transport(device, record_format=None, *, baud=BAUD, generator="trivium", board=None):
    """A transport for a device name (see the module documentation).

    With ``board`` (a :class:`~memgen.boards.board.Board`), a simulated device has that board's
    record format, memory backends (simulation models of its primitives) and device options
    instead of ``record_format``."""
    if check_device(device).startswith("serial:"):
        return SerialTransport(device.removeprefix("serial:"), baud)
    simulated = {
        "reference": ReferenceTransport,
        "sim": SimTransport,
        "verilator": VerilatorTransport,
    }
    if board is None:
        return simulated[device](record_format, generator)
    if device == "reference":
        return ReferenceTransport(board.record_format, generator)

    if device == "verilator":  # the backends made only if the model must be compiled
        board = board.for_verilator()
        name = board.name + (f"-sdram{board.sdram_size}" if board.sdram_size else "")
        return VerilatorTransport(
            board.record_format,
            generator,
            storage=lambda: board.device_arguments(primitive=False),
            storage_name=name,
        )
    storage = board.device_arguments(primitive=False)
    return SimTransport(board.record_format, generator, storage=storage)
