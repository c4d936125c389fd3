"""The stream register slices: same words in the same order under any stalls, one word per clock
(skid buffer) or every other clock (half-rate slice) when nothing stalls, and ``ready`` toward the
source independent of the sink in the same clock."""

import random

import pytest
from memgen.hdl.common.skid import HalfRateSlice, SkidBuffer
from memgen.sim.harness.amaranth_sim import (
    STALL_PATTERNS,
    Stalls,
    run_simulation,
    stream_get,
    stream_put,
)


@pytest.mark.parametrize("sink", STALL_PATTERNS)
@pytest.mark.parametrize("source", STALL_PATTERNS)
@pytest.mark.parametrize("slice_class", [SkidBuffer, HalfRateSlice])
def test_order_under_stalls(slice_class, source, sink):
    dut = slice_class(8)
    rng = random.Random(3)
    words = [rng.getrandbits(8) for _ in range(300)]  # distinct neighbours: a lost word shows

    async def put(ctx):
        for word in words:
            await stream_put(ctx, dut.input, word, Stalls(source, 1))

    async def get(ctx):
        for index, word in enumerate(words):
            assert await stream_get(ctx, dut.output, Stalls(sink, 2)) == word, index

    run_simulation(dut, put, get, name=f"{slice_class.__name__}_{source}_{sink}")


@pytest.mark.parametrize("slice_class, clocks_per_word", [(SkidBuffer, 1), (HalfRateSlice, 2)])
def test_rate_and_registered_ready(slice_class, clocks_per_word):
    """With the sink always ready, 100 words pass in 100 clocks (skid buffer) or 200 (half-rate
    slice) plus the latency; ``input.ready`` does not follow ``output.ready`` combinationally."""
    dut = slice_class(8)
    clocks = {}

    async def testbench(ctx):
        ctx.set(dut.output.ready, 1)
        ctx.set(dut.input.valid, 1)
        received, clock = [], 0
        while len(received) < 100:
            ctx.set(dut.input.payload, min(clock // clocks_per_word, 99))
            if ctx.get(dut.output.valid):
                received.append(ctx.get(dut.output.payload))
            await ctx.tick()
            clock += 1
        clocks["n"] = clock
        assert received == list(range(100))
        ready = ctx.get(dut.input.ready)
        ctx.set(dut.output.ready, 0)  # a change at the sink alone, in the same clock
        assert ctx.get(dut.input.ready) == ready

    run_simulation(dut, testbench, name=f"{slice_class.__name__}_rate")
    assert clocks["n"] <= 100 * clocks_per_word + 1
