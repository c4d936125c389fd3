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
from luna.gateware.interface.utmi import UTMIInterface
from memgen.hdl.engine.protocol import Opcode
from memgen.hdl.engine.records import RecordFormat
from memgen.hdl.link.top import LinkDevice, MemGenTop
from memgen.hdl.link.usb import USB_IDS, USBSerialLink
from memgen.host.codec import command_plain, encode_frame
from memgen.host.link_reference import LinkReference
from memgen.host.usb_link import MAX_PACKET, SimulatedUSBLink, USBHost, usb_simulator
from memgen.sim.harness.uart_line import line_bytes, line_levels

FIXED = RecordFormat(240, record_size=3)


class Echo(wiring.Component):
    """Sends back the bytes it gets, through a FIFO of ``depth``, while ``release`` is high
    (its reset value)."""

    rx_bytes: In(stream.Signature(8))
    tx_bytes: Out(stream.Signature(8))
    release: In(1, init=1)

    def __init__(self, depth=4):
        self.depth = depth
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.fifo = fifo = SyncFIFOBuffered(width=8, depth=self.depth)
        wiring.connect(m, wiring.flipped(self.rx_bytes), fifo.w_stream)
        m.d.comb += [
            self.tx_bytes.payload.eq(fifo.r_data),
            self.tx_bytes.valid.eq(fifo.r_rdy & self.release),
            fifo.r_en.eq(self.tx_bytes.ready & self.release),
        ]
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

    simulator = usb_simulator(top, 4e6)
    simulator.add_testbench(uart)
    simulator.add_testbench(host.run, background=True)
    simulator.run()


@pytest.mark.parametrize(("byte", "stuffed"), [(0x00, 0), (0xFF, 64 * 8 // 6)])
def test_the_full_speed_line_takes_its_bit_times(byte, stuffed):
    """At a clock a bit, back-to-back 64-byte IN packets are as far apart as the bus makes
    them: token, data packet and handshake with their SYNC, EOP and gaps (the link bench's
    FULL_SPEED_PACKET_BITS), a bit more for every six 1s, plus the device's turnaround."""
    from memgen.sim.bench.link import FULL_SPEED_PACKET_BITS

    echo = Echo(depth=256)
    link = SimulatedUSBLink(echo, 24_000_000, byte_clocks=8)
    released = []

    async def hold_then_release(ctx):  # the bytes leave in one burst, faster than the line
        ctx.set(echo.release, 0)
        while link.pending_input or not released:
            await ctx.tick()
        ctx.set(echo.release, 1)

    link._simulator.add_testbench(hold_then_release, background=True)
    link.write(bytes([byte]) * 3 * MAX_PACKET)
    for _ in range(100):
        link.run(4000)
        if not link.pending_input:
            break
    assert not link.pending_input
    released.append(True)
    drain(link, 3 * MAX_PACKET, limit=200_000, step=2000)
    arrivals = [clock for clock, size in link.host.arrivals if size == MAX_PACKET]
    spacings = [later - earlier for earlier, later in zip(arrivals, arrivals[1:], strict=False)]
    assert len(spacings) == 2
    for spacing in spacings:
        assert FULL_SPEED_PACKET_BITS + stuffed <= spacing <= FULL_SPEED_PACKET_BITS + stuffed + 24


def test_the_device_presents_itself_as_a_cdc_acm_serial_port():
    """Its pull-up on (a host sees a full-speed device), its device descriptor with memgen's
    vendor and product IDs, and a configuration of a CDC-ACM control interface and a CDC data
    interface, read with GET_DESCRIPTOR as a host enumerating it does."""
    utmi = UTMIInterface()
    link = USBSerialLink(utmi)
    host = USBHost(utmi)
    read = {}

    async def testbench(ctx):
        ctx.set(utmi.line_state, 0b01)
        await ctx.tick("usb").repeat(4)
        assert ctx.get(utmi.term_select) == 1 and ctx.get(utmi.op_mode) == 0
        read["device"] = await host.get_descriptor(ctx, 1, 18)
        read["configuration"] = await host.get_descriptor(ctx, 2, 255)

    simulator = usb_simulator(link, 24e6)
    simulator.add_testbench(testbench)
    simulator.run()
    device = read["device"]
    assert len(device) == 18 and device[1] == 1
    assert int.from_bytes(device[8:10], "little") == USB_IDS["idVendor"] == 0x1209
    assert int.from_bytes(device[10:12], "little") == USB_IDS["idProduct"] == 0x0001
    configuration, interfaces, at = read["configuration"], [], 0
    assert int.from_bytes(configuration[2:4], "little") == len(configuration)
    while at < len(configuration):  # the descriptors one after another, each its own length
        size, kind = configuration[at], configuration[at + 1]
        if kind == 4:  # INTERFACE: class, subclass, protocol
            interfaces.append(tuple(configuration[at + 5 : at + 8]))
        at += size
    assert interfaces == [(0x02, 0x02, 0x01), (0x0A, 0x00, 0x00)]
