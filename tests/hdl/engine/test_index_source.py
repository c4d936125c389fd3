"""The index source on its own: a recitation is 0 .. N-1 exactly, a SAMPLE's indices are the
model's (on ``indices``, or on ``diverted`` for INDICES, never both), a match passes alone, and
``busy`` holds until the last index has left; under stalls at the sink."""

import pytest
from memgen.hdl.engine.index_generator import IndexGeneratorModel
from memgen.hdl.engine.index_source import IndexSource
from memgen.hdl.engine.protocol import DEFAULT_SEED
from memgen.hdl.engine.records import RecordFormat
from memgen.sim.harness.amaranth_sim import (
    STALL_PATTERNS,
    Stalls,
    run_simulation,
    stream_get,
    stream_put,
)

FORMAT = RecordFormat(64, max_records=16, max_length=8)
EIGHT = RecordFormat(64, max_records=8, max_length=8)  # an odd index width (3 bits)


async def drain(ctx, dut, port, count, stalls):
    """``count`` indices from ``port``, checking nothing comes out of the other output and
    that ``busy`` holds while one is still to be taken."""
    other = dut.indices if port is dut.diverted else dut.diverted
    found = []
    for _ in range(count):
        assert not ctx.get(other.valid) and ctx.get(dut.busy)
        found.append(await stream_get(ctx, port, stalls))
    return found


async def settle(ctx, dut):
    """Clocks until ``busy`` falls (bounded), then its value."""
    for _ in range(20):
        if not ctx.get(dut.busy):
            break
        await ctx.tick()
    return ctx.get(dut.busy)


@pytest.mark.parametrize("stalls", STALL_PATTERNS)
@pytest.mark.parametrize(
    "fmt,count",
    [(FORMAT, 1), (FORMAT, 2), (FORMAT, 15), (FORMAT, 16), (EIGHT, 7), (EIGHT, 8)],
    ids=["16-1", "16-2", "16-15", "16-16", "8-7", "8-8"],
)
def test_recitation_is_every_index_once(fmt, count, stalls):
    dut = IndexSource(fmt, "trivium", DEFAULT_SEED)

    async def testbench(ctx):
        ctx.set(dut.count, count)
        assert not ctx.get(dut.busy)
        ctx.set(dut.recite, 1)
        await ctx.tick()
        ctx.set(dut.recite, 0)
        assert ctx.get(dut.busy)
        assert await drain(ctx, dut, dut.indices, count, Stalls(stalls, 1)) == list(range(count))
        assert not await settle(ctx, dut)
        assert not ctx.get(dut.indices.valid)  # nothing past N - 1

    run_simulation(dut, testbench, name=f"recite_{fmt.max_records}_{count}_{stalls}")


@pytest.mark.parametrize("divert", [False, True])
@pytest.mark.parametrize("stalls", STALL_PATTERNS)
def test_samples_are_the_models_on_one_output(stalls, divert):
    """Two requests (the stream continues across them), on ``indices`` or ``diverted``."""
    dut = IndexSource(FORMAT, "trivium", DEFAULT_SEED)
    model = IndexGeneratorModel(FORMAT.max_records, "trivium", DEFAULT_SEED)
    count = 11
    expected = [model.request(amount, count) for amount in (7, 20)]

    async def testbench(ctx):
        ctx.set(dut.count, count)
        ctx.set(dut.divert, divert)
        port = dut.diverted if divert else dut.indices
        for amount, want in zip((7, 20), expected, strict=True):
            await stream_put(ctx, dut.request, amount)
            ctx.set(dut.request.valid, 0)
            assert await drain(ctx, dut, port, amount, Stalls(stalls, 2)) == want
            assert not await settle(ctx, dut)

    run_simulation(dut, testbench, name=f"sample_{stalls}_{divert}")


def test_a_match_passes_alone():
    dut = IndexSource(FORMAT, "trivium", DEFAULT_SEED)

    async def testbench(ctx):
        ctx.set(dut.count, 16)
        for index in (0, 9, 15):
            ctx.set(dut.match.valid, 1)
            ctx.set(dut.match.payload, index)
            assert ctx.get(dut.busy) and ctx.get(dut.indices.valid)
            assert ctx.get(dut.indices.payload) == index
            assert ctx.get(dut.match.ready) == ctx.get(dut.indices.ready)
            assert await stream_get(ctx, dut.indices) == index
            ctx.set(dut.match.valid, 0)
            assert not ctx.get(dut.busy)

    run_simulation(dut, testbench, name="match")
