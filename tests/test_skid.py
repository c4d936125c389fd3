"""The stream register slice: same words in the same order under any stalls, one word per clock
when nothing stalls, and ``ready`` toward the source independent of the sink in the same clock."""

import random

import pytest
from memgen.hdl.skid import SkidBuffer
from memgen.sim.amaranth_sim import STALL_PATTERNS, Stalls, run_simulation, stream_get, stream_put


@pytest.mark.parametrize("sink", STALL_PATTERNS)
@pytest.mark.parametrize("source", STALL_PATTERNS)
def test_order_under_stalls(source, sink):
    dut = SkidBuffer(8)
    words = [random.Random(3).getrandbits(8) for _ in range(300)]

    async def put(ctx):
        for word in words:
            await stream_put(ctx, dut.input, word, Stalls(source, 1))

    async def get(ctx):
        for index, word in enumerate(words):
            assert await stream_get(ctx, dut.output, Stalls(sink, 2)) == word, index

    run_simulation(dut, put, get, name=f"skid_{source}_{sink}")


def test_full_rate_and_registered_ready():
    """With the sink always ready, 100 words pass in 100 clocks plus the latency; ``input.ready``
    does not follow ``output.ready`` combinationally."""
    dut = SkidBuffer(8)
    clocks = {}

    async def testbench(ctx):
        ctx.set(dut.output.ready, 1)
        ctx.set(dut.input.valid, 1)
        received, clock = [], 0
        while len(received) < 100:
            ctx.set(dut.input.payload, min(clock, 99))
            if ctx.get(dut.output.valid):
                received.append(ctx.get(dut.output.payload))
            await ctx.tick()
            clock += 1
        clocks["n"] = clock
        assert received == list(range(100))
        ready = ctx.get(dut.input.ready)
        ctx.set(dut.output.ready, 0)  # a change at the sink alone, in the same clock
        assert ctx.get(dut.input.ready) == ready

    run_simulation(dut, testbench, name="skid_rate")
    assert clocks["n"] <= 101
