"""The USB link: LUNA's CDC-ACM device and the clock-crossing FIFOs, played by the host
controller model of :mod:`memgen.host.usb_link` (LUNA's packet helpers on its UTMI interface).

An echo device behind the link sends back every byte it gets: what the host reads must be what it
wrote, in order, whatever the packet sizes and however long the host leaves the bytes unread
(the OUT endpoint NAKs, nothing is lost). The link device's answers through USB equal the
reference model's in tests/host/test_driver.py."""

import pytest
from amaranth.hdl import ClockDomain, Module
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator
from luna.gateware.interface.utmi import UTMIInterface
from memgen.hdl.engine.protocol import Opcode
from memgen.hdl.engine.records import RecordFormat
from memgen.hdl.link.top import LinkDevice, MemGenTop
from memgen.host.codec import command_plain, encode_frame
from memgen.host.link_reference import LinkReference
from memgen.host.usb_link import MAX_PACKET, USB_HZ, SimulatedUSBLink, USBHost
from memgen.sim.harness.uart_line import line_bytes, line_levels

FIXED = RecordFormat(240, record_size=3)


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
    assert link.host.packets["OUT"] == -(-length // MAX_PACKET)


def test_unread_bytes_back_up_and_nothing_is_lost():
    """With the host not reading, the echo's FIFO, the link's FIFOs and the IN endpoint's two
    packets fill; then the OUT endpoint NAKs. Reading again, every byte comes back."""
    link = SimulatedUSBLink(Echo())
    data = bytes(range(256)) * 3
    link.host.reading = False
    link.write(data)
    link.run(30_000)
    assert link.host.naks["OUT"] > 0 and link.pending_input > 0
    assert link.read() == b""
    link.host.reading = True
    assert drain(link, len(data), limit=200_000) == data


def test_a_status_frame_through_usb():
    link = SimulatedUSBLink(LinkDevice(FIXED, idle_timeout=2000))
    wire = encode_frame(1, command_plain(Opcode.STATUS))
    want = LinkReference(FIXED).receive(wire)
    link.write(wire)
    assert drain(link, len(want)) == want


def test_one_top_answers_on_the_uart_and_on_usb():
    """The top level with both links (4 clocks a UART bit): a frame on the rx pin is answered
    on the tx pin, then a frame over USB is answered over USB with the tx pin idle."""
    utmi = UTMIInterface()
    top = MemGenTop(FIXED, 4_000_000, 1_000_000, usb=utmi)
    host = USBHost(utmi)
    reference = LinkReference(FIXED)
    frames = [encode_frame(n, command_plain(Opcode.STATUS)) for n in (0, 1)]
    want = [reference.receive(frame) for frame in frames]
    line = []

    async def uart(ctx):
        for level in line_levels([(byte, 1) for byte in frames[0]], 4) + [1] * 3000:
            ctx.set(top.rx, level)
            await ctx.tick()
            line.append(ctx.get(top.tx))
        assert line_bytes(line, 4) == want[0] and host.read() == b""
        host.write(frames[1])
        for _ in range(8000):
            await ctx.tick()
            assert ctx.get(top.tx) == 1, "a USB reply on the UART"
            if host.available >= len(want[1]):
                break
        assert host.read() == want[1]

    m = Module()
    m.domains.usb = ClockDomain("usb")
    m.submodules.top = top
    simulator = Simulator(m)
    simulator.add_clock(1 / 4e6)
    simulator.add_clock(1 / USB_HZ, domain="usb")
    simulator.add_testbench(uart)
    simulator.add_testbench(host.run, background=True)
    simulator.run()
