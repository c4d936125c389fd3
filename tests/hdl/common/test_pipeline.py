"""Down counters with their end flag beside them: loads, decrements across the borrows of a
segmented count, and the flag, against plain integer arithmetic."""

import random

import pytest
from amaranth.hdl import Elaboratable, Module, Signal
from memgen.hdl.common.pipeline import Countdown
from memgen.sim.amaranth_sim import run_simulation


class _Counter(Elaboratable):
    """A 12-bit countdown driven by ``load`` (with ``value``) and ``step`` inputs."""

    def __init__(self, segment):
        self.segment = segment
        self.load, self.step = Signal(), Signal()
        self.loaded = Signal(12)
        self.count = self.at_end = None

    def elaborate(self, platform):
        m = Module()
        counter = Countdown(m, 12, "count", segment=self.segment)
        self.count, self.at_end = counter.value, counter.at_end
        with m.If(self.load):
            counter.load(self.loaded)
        with m.Elif(self.step):
            counter.decrement()
        return m


@pytest.mark.parametrize("segment", [None, 4, 5, 12])
def test_countdown_matches_integers(segment):
    """Random loads and decrements, including through 0 (wrapping) and across every piece's
    borrow; the count and ``at_end`` (count == 1) follow integer arithmetic modulo 2**12. The
    countdown's own assertions (flag and borrow flags equal to their comparisons) run too."""
    dut = _Counter(segment)  # its count and flag exist once the simulator elaborates it
    rng = random.Random(segment or 0)

    async def testbench(ctx):
        expected = 0
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
            assert ctx.get(dut.at_end) == (expected == 1)

    run_simulation(dut, testbench, name=f"countdown_{segment}")


def test_segment_must_be_unsigned():
    m = Module()
    m._MustUse__silence = True  # never elaborated: the constructor refuses first
    with pytest.raises(ValueError, match="unsigned"):
        Countdown(m, range(-4, 4), "signed", segment=2)
