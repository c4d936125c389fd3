"""The link's bytes over full-speed USB: a CDC-ACM serial device from LUNA.

:class:`USBSerialLink` is LUNA's :class:`~luna.gateware.usb.devices.acm.USBSerialDevice` (USB
device core, control endpoint, the CDC-ACM descriptors and a bulk endpoint each way) with two
asynchronous FIFOs that carry its bytes between its ``usb`` domain (12 MHz) and the design's
``sync`` domain. The host sees a serial port (``/dev/ttyACM0`` on Linux) and the frames on it are
the UART's, so the driver talks to either the same way.

The bytes to the host go out in packets of up to 64 bytes; a packet ends early when the FIFO has
no byte after the one it sends (``last``), so a reply never waits for more bytes to fill its
packet, while a stream of samples fills every packet. The bytes from the host leave the OUT
endpoint only as fast as the FIFO takes them: when it is full the endpoint NAKs and the host
sends again, so nothing is lost.

``bus`` is what LUNA's ``USBDevice`` takes: the board's USB pins (``d_p``, ``d_n``, ``pullup``;
LUNA's gateware PHY, which also needs a 48 MHz ``usb_io`` domain) or, in simulation, a
:class:`~luna.gateware.interface.utmi.UTMIInterface`.
"""

from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import AsyncFIFO
from amaranth.lib.wiring import In, Out

__all__ = ["USB_IDS", "USBSerialLink"]

#: pid.codes test IDs (VID 0x1209, PID 0x0001 is its "test PID", for devices not distributed).
USB_IDS = {"idVendor": 0x1209, "idProduct": 0x0001}


class USBSerialLink(wiring.Component):
    """Bytes to and from a USB host, as a CDC-ACM serial port.

    Parameters
    ----------
    bus
        The USB pins or a UTMI interface (see the module documentation).
    depth : int
        Bytes each clock-crossing FIFO holds (a power of two).

    Members
    -------
    rx_bytes : Out(stream.Signature(8))
        Bytes from the host, in ``sync``.
    tx_bytes : In(stream.Signature(8))
        Bytes to the host, in ``sync``.
    """

    def __init__(self, bus, *, depth=16, product="MemGen"):
        self.bus = bus
        self.depth = depth
        self.product = product
        super().__init__(
            {"rx_bytes": Out(stream.Signature(8)), "tx_bytes": In(stream.Signature(8))}
        )

    def elaborate(self, platform):
        from luna.gateware.usb.devices.acm import USBSerialDevice  # a build dependency only

        m = Module()
        m.submodules.serial = serial = USBSerialDevice(
            bus=self.bus, manufacturer_string="memgen", product_string=self.product, **USB_IDS
        )
        m.submodules.rx_fifo = rx = AsyncFIFO(
            width=8, depth=self.depth, r_domain="sync", w_domain="usb"
        )
        m.submodules.tx_fifo = tx = AsyncFIFO(
            width=8, depth=self.depth, r_domain="usb", w_domain="sync"
        )
        m.d.comb += [
            serial.connect.eq(1),
            rx.w_data.eq(serial.rx.payload),
            rx.w_en.eq(serial.rx.valid),
            serial.rx.ready.eq(rx.w_rdy),  # full: the endpoint's buffer fills, then it NAKs
            self.rx_bytes.payload.eq(rx.r_data),
            self.rx_bytes.valid.eq(rx.r_rdy),
            rx.r_en.eq(self.rx_bytes.ready),
            tx.w_data.eq(self.tx_bytes.payload),
            tx.w_en.eq(self.tx_bytes.valid),
            self.tx_bytes.ready.eq(tx.w_rdy),
            serial.tx.payload.eq(tx.r_data),
            serial.tx.valid.eq(tx.r_rdy),
            serial.tx.last.eq(tx.r_level == 1),  # nothing behind it yet: send the packet now
            tx.r_en.eq(serial.tx.ready),
        ]
        return m
