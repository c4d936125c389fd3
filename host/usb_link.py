"""The link device behind simulated USB: a host controller model on LUNA's UTMI interface.

:class:`SimulatedUSBLink` runs :class:`~memgen.hdl.link.top.LinkDevice` behind
:class:`~memgen.hdl.link.usb.USBSerialLink` in Amaranth's simulator, the device in ``sync`` at
its board's clock and the USB device in ``usb`` at 12 MHz, and plays the host: bulk OUT
transactions of up to 64 bytes for the bytes written (sent again after a NAK), bulk IN
transactions for the bytes the device has (each data packet's CRC and DATA0/DATA1 toggle
checked, then ACKed). Packets are built with LUNA's own test helpers
(:mod:`luna.gateware.test.contrib.usb_packet`).

A UTMI interface carries a packet's bytes with ``rx_valid``; ``byte_clocks`` sets how many
``usb`` clocks each takes: 8 is the full-speed line, a clock a bit at 12 Mbit/s, each packet's
SYNC, stuffed bits, end of packet and the gap after it included (the 1 ms frames' SOF packets
are not); 1 runs the simulation about eight times faster. It has the interface of
:class:`~memgen.host.sim_device.SimulatedLink` (``write``, ``run``, ``read``), so the driver's
transports use either.
"""

from amaranth.hdl import ClockDomain, Module
from amaranth.lib import wiring
from amaranth.sim import Simulator
from luna.gateware.interface.utmi import UTMIInterface
from luna.gateware.test.contrib import usb_packet
from luna.gateware.usb.usb2 import USBPacketID as PID
from memgen.hdl.link.usb import USBSerialLink

from .sim_device import ByteQueues

__all__ = ["SimulatedUSBLink", "USBError", "USBHost", "usb_simulator"]

#: The CDC-ACM data endpoint of LUNA's USBSerialDevice (bulk, both directions).
DATA_ENDPOINT = 4
MAX_PACKET = 64
USB_HZ = 12_000_000
#: Clocks the host waits for a handshake or data before it calls the device silent.
_TIMEOUT = 64


class USBError(AssertionError):
    """The device broke the USB protocol (a bad CRC, a wrong toggle, no handshake)."""


def _octets(bits):
    """LUNA's packet bit strings (least significant bit first) as bytes."""
    return [int(bits[i : i + 8][::-1], 2) for i in range(0, len(bits), 8)]


def _data_pid(toggle):
    return (PID.DATA0, PID.DATA1)[toggle]


def usb_simulator(design, clock_hz):
    """A simulator of ``design`` (a USB device's ``usb`` domain in it) with ``sync`` at
    ``clock_hz`` and ``usb`` at 12 MHz."""
    m = Module()
    m.domains.usb = ClockDomain("usb")
    m.submodules.design = design
    simulator = Simulator(m)
    simulator.add_clock(1 / clock_hz)
    simulator.add_clock(1 / USB_HZ, domain="usb")
    return simulator


class USBHost(ByteQueues):
    """The host controller: bulk OUT and IN transactions on a UTMI interface (see the module
    documentation). :meth:`run` is its testbench; ``write`` queues bytes for the device and
    ``read`` returns the bytes it sent.

    Attributes
    ----------
    reading : bool
        False stops the IN transactions: the device's bytes wait, and back up to its input.
    naks, packets : dict
        NAKs and data packets so far, by direction (``"OUT"``, ``"IN"``).
    clocks : int
        ``usb`` clocks so far.
    arrivals : list
        (``clocks`` as it ended, bytes) of each IN data packet.
    """

    def __init__(self, utmi, byte_clocks=1):
        super().__init__()
        self.utmi = utmi
        self.byte_clocks = byte_clocks
        self.reading = True
        self.naks = {"OUT": 0, "IN": 0}
        self.packets = {"OUT": 0, "IN": 0}
        self.clocks = 0  # of the usb domain, since the start
        #: (clock, bytes) of each IN data packet, as it ended
        self.arrivals = []
        self._toggles = {"OUT": 0, "IN": 0}

    @property
    def available(self):
        """Bytes received and not yet read."""
        return len(self._output)

    async def _tick(self, ctx):
        await ctx.tick("usb")
        self.clocks += 1

    async def _idle(self, ctx, clocks):
        for _ in range(clocks):  # not tick().repeat(): its generator outlives a stopped run
            await self._tick(ctx)

    def _bits(self, bits, least=0):
        """Clocks for ``bits`` bit times (at 8 clocks a byte, a clock a bit)."""
        return max(least, round(bits * self.byte_clocks / 8))

    async def _after_packet(self, ctx, octets):
        """The rest of a packet's time on the line: the bits stuffed after every six 1s, the
        end of packet (3 bit times) and the gap before the next (2)."""
        ones = stuffed = 0
        for octet in octets:
            for bit in range(8):
                ones = ones + 1 if octet >> bit & 1 else 0
                if ones == 6:
                    stuffed, ones = stuffed + 1, 0
        await self._idle(ctx, self._bits(stuffed) + self._bits(5, least=2))

    async def _send(self, ctx, octets):
        utmi = self.utmi
        ctx.set(utmi.rx_active, 1)
        await self._idle(ctx, self._bits(8, least=1))  # SYNC
        for octet in octets:
            ctx.set(utmi.rx_data, octet)
            ctx.set(utmi.rx_valid, 1)
            await self._tick(ctx)
            ctx.set(utmi.rx_valid, 0)
            await self._idle(ctx, self.byte_clocks - 1)
        ctx.set(utmi.rx_active, 0)
        await self._after_packet(ctx, octets)

    async def _receive(self, ctx):
        """The device's next packet, or None if it sends none in time."""
        utmi, octets = self.utmi, []
        for _ in range(_TIMEOUT):
            if ctx.get(utmi.tx_valid):
                break
            await self._tick(ctx)
        else:
            return None
        await self._idle(ctx, self._bits(8))  # SYNC, sent by the PHY
        while ctx.get(utmi.tx_valid):  # tx_ready pulses once a byte has had its time on the line
            ctx.set(utmi.tx_ready, 1)
            octets.append(ctx.get(utmi.tx_data))
            await self._tick(ctx)
            ctx.set(utmi.tx_ready, 0)
            await self._idle(ctx, self.byte_clocks - 1)
        await self._after_packet(ctx, octets)
        return octets

    async def _token(self, ctx, pid, endpoint=DATA_ENDPOINT):
        await self._send(ctx, _octets(usb_packet.token_packet(pid, 0, endpoint)))

    async def _data_out(self, ctx, token, endpoint, toggle, payload):
        """A token, then a data packet of ``payload``: the device's handshake."""
        await self._token(ctx, token, endpoint)
        await self._send(ctx, _octets(usb_packet.data_packet(_data_pid(toggle), payload)))
        return await self._receive(ctx)

    async def _data_in(self, ctx, endpoint, toggle):
        """An IN token: None for a NAK, else the data packet's bytes, its PID and CRC checked,
        then ACKed."""
        await self._token(ctx, PID.IN, endpoint)
        packet = await self._receive(ctx)
        if packet == [PID.NAK.byte()]:
            return None
        if not packet or packet[0] != _data_pid(toggle).byte():
            raise USBError(f"IN: expected {_data_pid(toggle).name}, got {packet}")
        data, crc = packet[1:-2], packet[-2:]
        if crc != usb_packet.crc16(data) or len(data) > MAX_PACKET:
            raise USBError(f"IN: {len(data)} bytes, CRC {crc} wrong")
        await self._send(ctx, [PID.ACK.byte()])
        return data

    async def get_descriptor(self, ctx, kind, length):
        """A GET_DESCRIPTOR control transfer on endpoint 0 (setup, data in, status out), as a
        host enumerating the device does; returns the descriptor's bytes."""
        setup = [0x80, 0x06, 0, kind, 0, 0, length & 0xFF, length >> 8]
        if await self._data_out(ctx, PID.SETUP, 0, 0, setup) != [PID.ACK.byte()]:
            raise USBError("SETUP not acknowledged")
        data, toggle = [], 1
        while len(data) < length:
            packet = await self._data_in(ctx, 0, toggle)
            if packet is None:
                continue
            data += packet
            toggle ^= 1
            if len(packet) < MAX_PACKET:
                break
        if await self._data_out(ctx, PID.OUT, 0, 1, []) != [PID.ACK.byte()]:  # status stage
            raise USBError("status stage not acknowledged")
        return bytes(data)

    async def _out(self, ctx):
        payload = [self._input[i] for i in range(min(MAX_PACKET, len(self._input)))]
        handshake = await self._data_out(ctx, PID.OUT, DATA_ENDPOINT, self._toggles["OUT"], payload)
        if handshake == [PID.NAK.byte()]:
            self.naks["OUT"] += 1
            return
        if handshake != [PID.ACK.byte()]:
            raise USBError(f"OUT of {len(payload)} bytes: handshake {handshake}, not ACK or NAK")
        for _ in payload:
            self._input.popleft()
        self._toggles["OUT"] ^= 1
        self.packets["OUT"] += 1

    async def _in(self, ctx):
        data = await self._data_in(ctx, DATA_ENDPOINT, self._toggles["IN"])
        if data is None:
            self.naks["IN"] += 1
            return False
        self._toggles["IN"] ^= 1
        self.packets["IN"] += 1
        self.arrivals.append((self.clocks, len(data)))
        self._output += bytes(data)
        return True

    async def run(self, ctx):
        ctx.set(self.utmi.line_state, 0b01)  # J, the idle bus: SE0 would be a bus reset
        await self._idle(ctx, 4)
        while True:  # the bus's 1 ms frames (their SOF packets, 0.3 % of it) are not played
            if self._input:
                await self._out(ctx)
            if not (self.reading and await self._in(ctx)) and not self._input:
                await self._idle(ctx, 8)


class SimulatedUSBLink:
    """A live simulation of a byte-stream device reached over USB (see the module docs).

    Parameters
    ----------
    device : LinkDevice
        Or any component with ``rx_bytes``/``tx_bytes`` streams.
    clock_hz : int
        The ``sync`` clock.
    byte_clocks : int
        ``usb`` clocks per packet byte (8: the full-speed line).

    Attributes
    ----------
    host : USBHost
    """

    def __init__(self, device, clock_hz=100_000_000, *, byte_clocks=1):
        self.device = device
        self.clock_hz = clock_hz
        self.time = 0.0
        self.utmi = UTMIInterface()
        self.usb = USBSerialLink(self.utmi)
        self.host = USBHost(self.utmi, byte_clocks)
        m = Module()
        m.submodules.usb = self.usb
        m.submodules.device = device
        wiring.connect(m, self.usb.rx_bytes, device.rx_bytes)
        wiring.connect(m, device.tx_bytes, self.usb.tx_bytes)
        self._simulator = usb_simulator(m, clock_hz)
        self._simulator.add_testbench(self.host.run, background=True)

    def write(self, data):
        self.host.write(data)

    def run(self, clocks):
        """Run for ``clocks`` of the device's clock."""
        if clocks <= 0:
            return
        self.time += clocks / self.clock_hz
        self._simulator.run_until(self.time)

    def read(self):
        return self.host.read()

    @property
    def pending_input(self):
        return self.host.pending_input
