"""Delay lines and down counters with their end flag beside them: loads, decrements across the
borrows of a segmented count, the flag and the initial state, against plain integer arithmetic."""

import random

import pytest
from amaranth.hdl import Elaboratable, Module, Signal
from memgen.hdl.common.pipeline import Countdown, delay_line
from memgen.sim.harness.amaranth_sim import run_simulation, unused


class _Counter(Elaboratable):
    """A 12-bit countdown driven by ``load`` (with ``value``) and ``step`` inputs."""

    def __init__(self, segment, end=1, init=0):
        self.segment, self.end, self.init = segment, end, init
        self.load, self.step = Signal(), Signal()
        self.loaded = Signal(12)
        self.count = self.at_end = None

    def elaborate(self, platform):
        m = Module()
        counter = Countdown(m, 12, "count", end=self.end, init=self.init, segment=self.segment)
        self.count, self.at_end = counter.value, counter.at_end
        with m.If(self.load):
            counter.load(self.loaded)
        with m.Elif(self.step):
            counter.decrement()
        return m


# (segment, end, init): every segmenting, both ends, and initial values that are the end, one
# off it, and have zero and non-zero pieces below a boundary (0x14: low nibble 4, low 5 bits 20).
CASES = [
    (None, 1, 0), (4, 1, 0), (5, 1, 0), (12, 1, 0), (None, 0, 0), (4, 0, 0),
    (4, 1, 1), (4, 0, 1), (None, 1, 2), (4, 1, 0x14), (5, 1, 0x14), (4, 1, 0x100), (5, 0, 0x40),
]  # fmt: skip


@pytest.mark.parametrize(("segment", "end", "init"), CASES)
def test_countdown_matches_integers(segment, end, init):
    """From its initial value, random loads and decrements, including through 0 (wrapping) and
    across every piece's borrow; the count and ``at_end`` (count == end) follow integer
    arithmetic modulo 2**12. The countdown's own assertions (flag and borrow flags equal to
    their comparisons) run too, from the first clock."""
    dut = _Counter(segment, end, init)  # its count and flag exist once the simulator elaborates
    rng = random.Random(f"{segment} {end} {init}")

    async def testbench(ctx):
        expected = init
        assert ctx.get(dut.count) == init and ctx.get(dut.at_end) == (init == end)
        for _ in range(3000):
            action = rng.random()
            if action < 0.02:
                expected = rng.choice([0, 1, 2, 16, 32, 256, 4095, rng.getrandbits(12)])
                ctx.set(dut.load, 1)
                ctx.set(dut.loaded, expected)
            else:
                ctx.set(dut.load, 0)
                ctx.set(dut.step, action < 0.8)
                if action < 0.8:
                    expected = (expected - 1) % 4096
            await ctx.tick()
            assert ctx.get(dut.count) == expected
            assert ctx.get(dut.at_end) == (expected == end)

    run_simulation(dut, testbench, name=f"countdown_{segment}_{end}_{init}")


def test_segment_must_be_unsigned():
    m = unused(Module())  # never elaborated: the constructor refuses first
    with pytest.raises(ValueError, match="unsigned"):
        Countdown(m, range(-4, 4), "signed", segment=2)


class _Delay(Elaboratable):
    """``delay_line`` of an 8-bit input through ``clocks`` stages, loading while ``enable``."""

    def __init__(self, clocks):
        self.clocks = clocks
        self.value, self.enable = Signal(8), Signal()
        self.stages = None

    def elaborate(self, platform):
        m = Module()
        self.stages = delay_line(m, self.value, self.clocks, self.enable, "delay")
        ticks = Signal()  # a clock domain even when the line has no stages
        m.d.sync += ticks.eq(~ticks)
        return m


@pytest.mark.parametrize("clocks", [0, 1, 3])
def test_delay_line_shifts_only_while_enabled(clocks):
    """Each stage holds what the stage before it held at the last enabled clock: a shift
    register of ``clocks`` stages (none for 0), against a list."""
    dut = _Delay(clocks)
    rng = random.Random(clocks)

    async def testbench(ctx):
        assert len(dut.stages) == clocks
        expected = [0] * clocks
        for _ in range(400):
            value, enable = rng.getrandbits(8), rng.random() < 0.6
            ctx.set(dut.value, value)
            ctx.set(dut.enable, enable)
            await ctx.tick()
            if enable:
                expected = [value, *expected[:-1]][:clocks]
            assert [ctx.get(stage) for stage in dut.stages] == expected

    run_simulation(dut, testbench, name=f"delay_{clocks}")
