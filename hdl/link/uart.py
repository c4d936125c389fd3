"""8N1 UART receiver and transmitter with a divisor set at run time.

``divisor`` is clocks per bit (for example 42 MHz / 3 Mbaud = 14). The receiver passes ``rx``
through a two-flop synchroniser, detects the falling edge of the start bit, re-checks the start bit
at its middle (a glitch that ends before that sample, half a bit less the clock of uncertainty
in the edge, is ignored: 2 clocks of the 7 at 6 Mbaud), then samples each data bit and the
stop bit at their middles. The synchroniser and the edge detection take two clocks, which the
wait for mid-start gives back, so the samples are centred. A sender whose bits are off by a
fraction ``e`` has drifted ``9.5 e`` bits by the stop bit's sample, which must stay within half a
bit less the one-clock uncertainty of the edge: back-to-back bytes are received for ``e`` within
+-4.5 % at 14 and 16 clocks per bit, +-5 % at 33, -5.5 % to +3 % at 7 and -4.5 % to +2.5 % at 4
(tests/hdl/link/test_uart.py sweeps these in steps of 0.5 %).

Errors are one-clock strobes and never stop the receiver:

* ``framing_error``: the stop bit was 0 (noise, wrong baud rate, or a break). The receiver then
  waits for the line to return high before it looks for the next start bit, so a break counts
  once, however long it lasts.
* ``overrun``: a byte completed while the previous one had not been taken; the new byte is lost,
  the held one stays.
"""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

from ..common.checks import assert_stream_stable
from ..common.pipeline import Countdown

__all__ = ["UARTReceiver", "UARTTransmitter", "divisor_for"]


def divisor_for(clock_hz, baud):
    """Clocks per bit for ``baud`` at ``clock_hz``, rounded; refuses rates the UART cannot do."""
    divisor = round(clock_hz / baud)
    if divisor < 4:
        raise ValueError(
            f"{baud} baud needs at least 4 clocks per bit; {clock_hz} Hz gives {divisor}"
        )
    return divisor


class UARTReceiver(wiring.Component):
    """Receives 8N1 bytes from ``rx``.

    Parameters
    ----------
    divisor_width : int
        Bits of the ``divisor`` input.

    Members
    -------
    rx : In(1)
        The line (asynchronous; idles high).
    divisor : In(divisor_width)
        Clocks per bit, at least 4.
    bytes : Out(stream.Signature(8))
        Received bytes; one-byte buffer.
    framing_error, overrun : Out(1)
        Strobes, see the module documentation.
    """

    def __init__(self, divisor_width=16):
        self.divisor_width = divisor_width
        super().__init__(
            {
                "rx": In(1, init=1),
                "divisor": In(divisor_width),
                "bytes": Out(stream.Signature(8)),
                "framing_error": Out(1),
                "overrun": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        line = Signal(init=1)
        m.submodules.rx_sync = FFSynchronizer(self.rx, line, init=1)

        # clocks left in the current bit; ``at_end`` (timer == 0) is a flop, not a 16-bit compare
        timer = Countdown(m, self.divisor_width, "rx_timer", end=0)
        bit_index = Signal(range(8))
        shifter = Signal(8)
        m.d.sync += [self.framing_error.eq(0), self.overrun.eq(0)]
        with m.If(self.bytes.ready):
            m.d.sync += self.bytes.valid.eq(0)

        with m.FSM():
            with m.State("IDLE"):
                with m.If(~line):
                    timer.load((self.divisor >> 1) - 2)  # the two clocks the edge took to get here
                    m.next = "START"
            with m.State("START"):
                timer.decrement()
                with m.If(timer.at_end):
                    with m.If(line):  # a glitch, not a start bit
                        m.next = "IDLE"
                    with m.Else():
                        timer.load(self.divisor - 1)
                        m.d.sync += bit_index.eq(0)
                        m.next = "DATA"
            with m.State("DATA"):
                timer.decrement()
                with m.If(timer.at_end):
                    timer.load(self.divisor - 1)
                    m.d.sync += [
                        shifter.eq(Cat(shifter[1:], line)),  # LSB first
                        bit_index.eq(bit_index + 1),
                    ]
                    with m.If(bit_index == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                timer.decrement()
                with m.If(timer.at_end):
                    with m.If(line):
                        with m.If(self.bytes.valid & ~self.bytes.ready):
                            m.d.sync += self.overrun.eq(1)
                        with m.Else():
                            m.d.sync += [self.bytes.payload.eq(shifter), self.bytes.valid.eq(1)]
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += self.framing_error.eq(1)
                        m.next = "WAIT_HIGH"
            with m.State("WAIT_HIGH"):
                with m.If(line):
                    m.next = "IDLE"

        assert_stream_stable(m, self.bytes, "uart_rx")
        return m


class UARTTransmitter(wiring.Component):
    """Sends 8N1 bytes on ``tx``, one byte every ``10 * divisor`` clocks.

    Members
    -------
    bytes : In(stream.Signature(8))
        Bytes to send; taken in the last clock of the previous byte's stop bit, so a stream of
        bytes leaves no idle time on the line.
    divisor : In(divisor_width)
        Clocks per bit, at least 4.
    tx : Out(1)
        The line; idles high.
    """

    def __init__(self, divisor_width=16):
        self.divisor_width = divisor_width
        super().__init__(
            {
                "bytes": In(stream.Signature(8)),
                "divisor": In(divisor_width),
                "tx": Out(1, init=1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        frame = Signal(10, init=0x3FF)  # stop bit, data LSB first, start bit; shifted out LSB first
        bits_left = Signal(range(11))
        timer = Countdown(m, self.divisor_width, "tx_timer", end=0)
        last_clock = (bits_left == 1) & timer.at_end
        m.d.comb += [self.tx.eq(frame[0]), self.bytes.ready.eq((bits_left == 0) | last_clock)]
        with m.If(self.bytes.valid & self.bytes.ready):
            m.d.sync += [
                frame.eq((1 << 9) | (self.bytes.payload << 1)),
                bits_left.eq(10),
            ]
            timer.load(self.divisor - 1)
        with m.Elif(bits_left != 0):
            timer.decrement()
            with m.If(timer.at_end):
                m.d.sync += [
                    frame.eq((1 << 9) | (frame >> 1)),
                    bits_left.eq(bits_left - 1),
                ]
                timer.load(self.divisor - 1)
        return m
