"""UART: loopback, baud-rate error, framing errors, breaks, glitches, overrun."""

import random

import pytest
from amaranth.hdl import Elaboratable, Module, Shape, unsigned
from memgen.hdl.link.uart import UARTReceiver, UARTTransmitter, divisor_for
from memgen.sim.harness.amaranth_sim import Stalls, run_simulation, stream_get, stream_put, unused
from memgen.sim.harness.uart_line import line_levels


def receive(levels, divisor, ready=True):
    """Drive ``levels`` into a receiver; return received bytes, framing errors and overruns."""
    dut = UARTReceiver()
    seen = {"bytes": [], "framing": 0, "overrun": 0}

    async def driver(ctx):
        ctx.set(dut.divisor, divisor)
        ctx.set(dut.bytes.ready, int(ready))
        for level in levels + [1] * (30 * divisor):
            ctx.set(dut.rx, level)
            await ctx.tick()

    async def monitor(ctx):
        async for _clk, _rst, valid, ready_now, payload, framing, overrun in ctx.tick().sample(
            dut.bytes.valid, dut.bytes.ready, dut.bytes.payload, dut.framing_error, dut.overrun
        ):
            if valid and ready_now:
                seen["bytes"].append(payload)
            seen["framing"] += framing
            seen["overrun"] += overrun

    run_simulation(dut, driver, processes=[monitor], name="uart_rx")
    return seen


class Loopback(Elaboratable):
    def __init__(self):
        self.tx = UARTTransmitter()
        self.rx = UARTReceiver()

    def elaborate(self, platform):
        m = Module()
        m.submodules.tx, m.submodules.rx = self.tx, self.rx
        m.d.comb += self.rx.rx.eq(self.tx.tx)
        return m


@pytest.mark.parametrize("divisor", [4, 5, 16, 27])
def test_loopback(divisor):
    dut = Loopback()
    rng = random.Random(divisor)
    data = [0x00, 0xFF, 0x55, 0xAA] + [rng.getrandbits(8) for _ in range(40)]

    async def sender(ctx):
        ctx.set(dut.tx.divisor, divisor)
        ctx.set(dut.rx.divisor, divisor)
        for byte in data:
            await stream_put(ctx, dut.tx.bytes, byte, Stalls("random", divisor))

    async def receiver(ctx):
        for byte in data:
            assert (
                await stream_get(ctx, dut.rx.bytes, Stalls("random", divisor + 1, rate=0.3)) == byte
            )

    run_simulation(dut, sender, receiver, name=f"uart_loopback_{divisor}")


@pytest.mark.parametrize("divisor", [4, 16])
def test_transmitter_streams_without_idle_time(divisor):
    """Bytes offered back to back leave the line at exactly 10 bit times per byte, each 8N1 frame
    bit-exact, and the line idles high before and after them (three frame times watched)."""
    dut = UARTTransmitter()
    data = [0x00, 0xFF, 0x5A, 0xC0, 0x01]
    levels = []

    async def sender(ctx):
        ctx.set(dut.divisor, divisor)
        for byte in data:
            await stream_put(ctx, dut.bytes, byte)
        await ctx.tick().repeat(40 * divisor)  # the last byte leaves, then the line idles

    async def line(ctx):
        async for _clk, _rst, tx in ctx.tick().sample(dut.tx):
            levels.append(tx)

    run_simulation(dut, sender, processes=[line], name=f"uart_tx_stream_{divisor}")
    start = levels.index(0)
    want = []
    for byte in data:
        for bit in [0] + [(byte >> i) & 1 for i in range(8)] + [1]:
            want += [bit] * divisor
    assert levels[start : start + len(want)] == want
    assert set(levels[:start]) == {1}
    after = levels[start + len(want) :]
    assert len(after) > 25 * divisor and set(after) == {1}


#: Baud-rate error received without loss, back to back, per divisor: the boards' (7: the
#: iCEBreaker at 6 Mbaud, 33: the ULX3S), the simulated top level's (4), 14 and 16.
TOLERANCE = {
    4: (-0.045, 0.025),
    7: (-0.055, 0.03),
    14: (-0.045, 0.045),
    16: (-0.045, 0.045),
    33: (-0.05, 0.05),
}


def received_intact(divisor, error, count=29):
    rng = random.Random(3)
    data = [rng.getrandbits(8) for _ in range(count)]
    seen = receive(line_levels([(b, 1) for b in data], divisor, error, idle_bits=0.0), divisor)
    return seen == {"bytes": data, "framing": 0, "overrun": 0}


@pytest.mark.parametrize("divisor", TOLERANCE)
def test_baud_error_tolerance_swept(divisor):
    """Back-to-back bytes from a sender fast or slow by up to the stated tolerance, in steps of
    0.5 %, all arrive intact; one step (1 %) beyond it on either side they do not, so the stated
    figure is the true one. (At 16 clocks per bit a sender 4 % fast lost 13 bytes in 29 while
    the documentation claimed about +-5 %: the samples sat two clocks late.)"""
    low, high = TOLERANCE[divisor]
    steps = range(round(low * 200), round(high * 200) + 1)
    failed = [step / 200 for step in steps if not received_intact(divisor, step / 200)]
    assert failed == []
    assert not received_intact(divisor, low - 0.01) and not received_intact(divisor, high + 0.01)


@pytest.mark.parametrize("error", [-0.05, 0.05])
def test_five_percent_error_does_not_hang(error):
    """At +-5% bytes may be lost or garbled (the link CRC rejects them), never more bytes than
    were sent; after one frame time of idle line, bytes at the right rate arrive intact."""
    rng = random.Random(4)
    burst = [rng.getrandbits(8) for _ in range(30)]
    good = [rng.getrandbits(8) for _ in range(10)]
    levels = line_levels([(b, 1) for b in burst], 16, error, idle_bits=0.0)
    levels += [1] * (10 * 16)
    levels += line_levels([(b, 1) for b in good], 16, 0.0)
    seen = receive(levels, 16)
    assert len(seen["bytes"]) + seen["framing"] <= len(burst) + len(good)
    assert seen["bytes"][-len(good) :] == good


def test_framing_error_then_recovery():
    seen = receive(line_levels([(0x41, 0), (0x42, 1)], 16), 16)
    assert seen == {"bytes": [0x42], "framing": 1, "overrun": 0}


def test_break_counts_once():
    seen = receive(line_levels([(0x10, 1), ("break", 50), (0x20, 1)], 16), 16)
    assert seen == {"bytes": [0x10, 0x20], "framing": 1, "overrun": 0}


def test_short_glitch_is_ignored():
    seen = receive(line_levels([("glitch", 5), (0x33, 1)], 16), 16)
    assert seen == {"bytes": [0x33], "framing": 0, "overrun": 0}


def test_overrun_keeps_the_held_byte():
    seen = receive(line_levels([(0x01, 1), (0x02, 1), (0x03, 1)], 16), 16, ready=False)
    assert seen["overrun"] == 2 and seen["framing"] == 0


def test_divisor_for():
    assert divisor_for(48_000_000, 3_000_000) == 16
    assert divisor_for(42_000_000, 6_000_000) == 7  # the iCEBreaker's, exact
    with pytest.raises(ValueError, match="at least 4 clocks"):
        divisor_for(12_000_000, 6_000_000)


def test_ports_are_as_documented():
    """One-bit pins that idle high, and a 16-bit divisor register by default (a board's
    ``clock / baud`` up to 65,535: 9,600 baud at 100 MHz is 10,417)."""
    for component, pin in ((unused(UARTReceiver()), "rx"), (unused(UARTTransmitter()), "tx")):
        member = component.signature.members[pin]
        assert (Shape.cast(member.shape), member.init) == (unsigned(1), 1)
        assert Shape.cast(component.signature.members["divisor"].shape) == unsigned(16)
        assert component.divisor_width == 16
