"""The USB link: LUNA's CDC-ACM device and the clock-crossing FIFOs, played by the host
controller model of :mod:`memgen.host.usb_link` (LUNA's packet helpers on its UTMI interface).

An echo device behind the link sends back every byte it gets: what the host reads must be what it
wrote, in order, whatever the packet sizes and however long the host leaves the bytes unread
(the OUT endpoint NAKs, nothing is lost). The link device's answers through USB equal the
reference model's in tests/host/test_driver.py."""

import pytest
from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out
from memgen.hdl.engine.protocol import Opcode
from memgen.hdl.engine.records import RecordFormat
from memgen.hdl.link.top import LinkDevice
from memgen.host.codec import command_plain, encode_frame
from memgen.host.link_reference import LinkReference
from memgen.host.usb_link import MAX_PACKET, SimulatedUSBLink


class Echo(wiring.Component):
    """Sends back the bytes it gets, through a FIFO of ``depth``."""

    rx_bytes: In(stream.Signature(8))
    tx_bytes: Out(stream.Signature(8))

    def __init__(self, depth=4):
        self.depth = depth
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.fifo = fifo = SyncFIFOBuffered(width=8, depth=self.depth)
        wiring.connect(m, wiring.flipped(self.rx_bytes), fifo.w_stream)
        wiring.connect(m, fifo.r_stream, wiring.flipped(self.tx_bytes))
        return m


def drain(link, expected, limit=40_000, step=400):
    got = bytearray()
    for _ in range(0, limit, step):
        link.run(step)
        got += link.read()
        if len(got) >= expected and not link.pending_input:
            break
    return bytes(got)


@pytest.mark.parametrize(
    "length", [1, MAX_PACKET - 1, MAX_PACKET, MAX_PACKET + 1, 3 * MAX_PACKET + 7]
)
def test_bytes_come_back_in_order(length):
    """Packets of 64 bytes and a short last one each way; a single byte is sent at once."""
    link = SimulatedUSBLink(Echo())
    data = bytes((7 * i + length) % 256 for i in range(length))
    link.write(data)
    assert drain(link, length) == data
    assert link.packets["OUT"] == -(-length // MAX_PACKET)


def test_unread_bytes_back_up_and_nothing_is_lost():
    """With the host not reading, the echo's FIFO, the link's FIFOs and the IN endpoint's two
    packets fill; then the OUT endpoint NAKs. Reading again, every byte comes back."""
    link = SimulatedUSBLink(Echo())
    data = bytes(range(256)) * 3
    link.reading = False
    link.write(data)
    link.run(30_000)
    assert link.naks["OUT"] > 0 and link.pending_input > 0
    assert link.read() == b""
    link.reading = True
    assert drain(link, len(data), limit=200_000) == data


def test_a_status_frame_through_usb():
    fmt = RecordFormat(240, record_size=3)
    link = SimulatedUSBLink(LinkDevice(fmt, idle_timeout=2000))
    wire = encode_frame(1, command_plain(Opcode.STATUS))
    want = LinkReference(fmt).receive(wire)
    link.write(wire)
    assert drain(link, len(want)) == want
