"""Two links to one device: a board reached over its UART and over USB with one bitstream.

:class:`LinkSwitch` passes the bytes of both links to the device (one a clock: in a clock where
both have one, the first link's goes first and the second's waits) and sends the device's bytes to
the link that last sent one. It turns only while the device offers no byte, so a reply is never
split between the links. One host at a time: bytes from both at once mix into frames that fail
their CRC, and the device says so.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..common.checks import assert_stream_stable

__all__ = ["LinkSwitch"]


class LinkSwitch(wiring.Component):
    """Two byte links (the UART's, USB's) in front of one device.

    Members
    -------
    first_rx, second_rx : In(stream.Signature(8))
        Each link's bytes from its host (``first_rx`` always ready).
    first_tx, second_tx : Out(stream.Signature(8))
        Each link's bytes to its host.
    rx_bytes : Out(stream.Signature(8))
        To the device (its ``rx_bytes``).
    tx_bytes : In(stream.Signature(8))
        From the device.
    to_second : Out(1)
        The device's bytes go to the second link (after reset: the first).
    """

    first_rx: In(stream.Signature(8))
    first_tx: Out(stream.Signature(8))
    second_rx: In(stream.Signature(8))
    second_tx: Out(stream.Signature(8))
    rx_bytes: Out(stream.Signature(8))
    tx_bytes: In(stream.Signature(8))
    to_second: Out(1)

    def elaborate(self, platform):
        m = Module()
        first, second, out = self.first_rx, self.second_rx, self.rx_bytes
        m.d.comb += [
            out.valid.eq(first.valid | second.valid),
            first.ready.eq(out.ready),
            second.ready.eq(out.ready & ~first.valid),
        ]
        with m.If(first.valid):
            m.d.comb += out.payload.eq(first.payload)
        with m.Else():
            m.d.comb += out.payload.eq(second.payload)

        last_second = Signal()  # the link that sent the latest byte
        with m.If(first.valid & first.ready):
            m.d.sync += last_second.eq(0)
        with m.Elif(second.valid & second.ready):
            m.d.sync += last_second.eq(1)
        with m.If(~self.tx_bytes.valid):  # between the device's bytes only
            m.d.sync += self.to_second.eq(last_second)

        links = (
            ("first", self.first_tx, ~self.to_second),
            ("second", self.second_tx, self.to_second),
        )
        for name, link, chosen in links:
            m.d.comb += [
                link.payload.eq(self.tx_bytes.payload),
                link.valid.eq(self.tx_bytes.valid & chosen),
            ]
            with m.If(chosen):
                m.d.comb += self.tx_bytes.ready.eq(link.ready)
            assert_stream_stable(m, link, f"{name}_tx")
        return m
