"""The link device in Amaranth's simulator, driven like a serial port.

:class:`SimulatedLink` holds a running simulation of :class:`~memgen.hdl.link.top.LinkDevice`:
:meth:`write` queues wire bytes (one enters whenever the device is ready, as from a UART but
faster),
:meth:`run` advances the clock, :meth:`read` returns the wire bytes the device sent. The driver's
``sim`` device and the link tests use it, so both feed the gateware the frame bytes a board gets.
"""

from collections import deque

from amaranth.sim import Simulator

__all__ = ["ByteQueues", "SimulatedLink"]


class ByteQueues:
    """The bytes a simulated host has to send (``write``) and has received (``read``)."""

    def __init__(self):
        self._input = deque()
        self._output = bytearray()

    def write(self, data):
        self._input.extend(bytes(data))

    def read(self):
        data = bytes(self._output)
        self._output.clear()
        return data

    @property
    def pending_input(self):
        return len(self._input)


class SimulatedLink(ByteQueues):
    """A live simulation of a device with ``rx_bytes``/``tx_bytes`` streams.

    Parameters
    ----------
    device : LinkDevice
    stalls : Stalls or None
        Backpressure on ``tx_bytes`` (the line taking the device's bytes), for tests.
    monitors : iterable of async testbenches
        Checks that run beside it, for tests (an assertion they raise ends :meth:`run`).
    """

    def __init__(self, device, stalls=None, monitors=()):
        super().__init__()
        self.device = device
        self.stalls = stalls
        self.clocks = 0
        self._simulator = Simulator(device)
        self._simulator.add_clock(1e-6)
        self._simulator.add_testbench(self._bench, background=True)
        for monitor in monitors:
            self._simulator.add_testbench(monitor, background=True)

    async def _bench(self, ctx):
        rx, tx = self.device.rx_bytes, self.device.tx_bytes
        while True:
            if self._input:
                ctx.set(rx.valid, 1)
                ctx.set(rx.payload, self._input[0])
            else:
                ctx.set(rx.valid, 0)
            ready = self.stalls is None or not self.stalls.pause()
            ctx.set(tx.ready, ready)
            _, _, taken, valid, byte = await ctx.tick().sample(rx.ready, tx.valid, tx.payload)
            if self._input and taken:
                self._input.popleft()
            if valid and ready:
                self._output.append(byte)

    def run(self, clocks):
        if clocks <= 0:
            return
        self.clocks += clocks
        self._simulator.run_until(self.clocks * 1e-6)
