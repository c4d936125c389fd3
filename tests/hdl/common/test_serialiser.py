"""The byte serialiser against slicing the vector by hand (every start, packet flags, stalls on
both sides, the vector taken with its final byte), and the stream join's AND-OR."""

import random

import pytest
from amaranth.hdl import Shape, unsigned
from memgen.hdl.common.serialiser import ByteSerialiser, StreamJoin, byte_layout, vector_layout
from memgen.sim.harness.amaranth_sim import (
    STALL_PATTERNS,
    Stalls,
    run_simulation,
    stream_get,
    stream_put,
)

SIZE = 5


def expected_bytes(value, start, first, last, tag):
    """The serialiser's output for one vector: bytes ``start`` .. SIZE - 1, little-endian."""
    chosen = [(value >> (8 * index)) & 0xFF for index in range(start, SIZE)]
    return [
        {"data": byte, "first": int(first and n == 0), "last": int(last and n == len(chosen) - 1),
         "tag": tag}
        for n, byte in enumerate(chosen)
    ]  # fmt: skip


def vectors(rng, count):
    """Random vectors, every start with both flag values, and structured data (zero, all ones,
    single bits) so that a byte from the wrong position shows."""
    structured = [0, (1 << 8 * SIZE) - 1, 1, 1 << (8 * SIZE - 1), 0x0102030405]
    found = []
    for n in range(count):
        value = structured[n] if n < len(structured) else rng.getrandbits(8 * SIZE)
        found.append((value, n % SIZE, rng.random() < 0.5, rng.random() < 0.5, rng.getrandbits(2)))
    return found


@pytest.mark.parametrize("copy", [False, True])
@pytest.mark.parametrize("sink", STALL_PATTERNS)
@pytest.mark.parametrize("source", STALL_PATTERNS)
def test_bytes_follow_the_vectors(source, sink, copy):
    dut = ByteSerialiser(SIZE, tag_width=2, copy=copy)
    sent = vectors(random.Random(f"{source} {sink}"), 60)

    async def put(ctx):
        for value, start, first, last, tag in sent:
            payload = {"data": value, "start": start, "first": first, "last": last, "tag": tag}
            await stream_put(ctx, dut.vectors, payload, Stalls(source, 1))
        ctx.set(dut.vectors.valid, 0)

    async def get(ctx):
        for number, vector in enumerate(sent):
            for want in expected_bytes(*vector):
                got = await stream_get(ctx, dut.bytes, Stalls(sink, 2))
                assert {name: got[name] for name in want} == want, (number, vector)

    run_simulation(dut, put, get, name=f"serialiser_{source}_{sink}_{copy}")


def test_vector_taken_with_its_final_byte_and_rate():
    """With the sink always ready a vector of ``SIZE - start`` bytes takes that many clocks
    plus one to load, and the input's ready rises only in the clock its final byte goes;
    ``busy`` from the vector's arrival to its last byte."""
    dut = ByteSerialiser(SIZE, tag_width=1)

    async def testbench(ctx):
        ctx.set(dut.bytes.ready, 1)
        for start in (0, 2, SIZE - 1):
            ctx.set(dut.vectors.payload, {"data": 0x1122334455, "start": start, "first": 1,
                                          "last": 1, "tag": 0})  # fmt: skip
            ctx.set(dut.vectors.valid, 1)
            clocks, taken = 0, []
            while True:
                ready, valid = ctx.get(dut.vectors.ready), ctx.get(dut.bytes.valid)
                assert ctx.get(dut.busy) == (clocks > 0)
                if valid:
                    taken.append(ctx.get(dut.bytes.payload.data))
                await ctx.tick()
                clocks += 1
                if ready:
                    break
                assert clocks < 20
            assert clocks == SIZE - start + 1
            assert taken == [(0x1122334455 >> 8 * i) & 0xFF for i in range(start, SIZE)]
            ctx.set(dut.vectors.valid, 0)
            await ctx.tick()
            assert not ctx.get(dut.bytes.valid) and not ctx.get(dut.busy)

    run_simulation(dut, testbench, name="serialiser_rate")


def test_copy_rate_and_skipped_bytes():
    """With ``copy`` and the sink always ready: a vector is taken in one clock, its bytes below
    ``start`` shift out unsent (a clock each), then one byte per clock; ``busy`` until its last
    byte is taken, and the next vector is taken the clock after the last byte is loaded."""
    dut = ByteSerialiser(SIZE, tag_width=1, copy=True)

    async def testbench(ctx):
        ctx.set(dut.bytes.ready, 1)
        for start in (0, 2, SIZE - 1):
            ctx.set(dut.vectors.payload, {"data": 0x1122334455, "start": start, "first": 1,
                                          "last": 1, "tag": 1})  # fmt: skip
            ctx.set(dut.vectors.valid, 1)
            assert ctx.get(dut.vectors.ready)
            await ctx.tick()
            ctx.set(dut.vectors.valid, 0)
            clocks, taken = 0, []
            while ctx.get(dut.busy):
                if ctx.get(dut.bytes.valid):
                    taken.append(ctx.get(dut.bytes.payload))
                await ctx.tick()
                clocks += 1
                assert clocks < 20
            assert clocks == start + (SIZE - start) + 1  # skipped, sent, the last one taken
            assert [byte.data for byte in taken] == [
                (0x1122334455 >> 8 * i) & 0xFF for i in range(start, SIZE)
            ]
            assert [(byte.first, byte.last) for byte in taken] == expected_flags(SIZE - start)
            assert all(byte.tag == 1 for byte in taken)

    run_simulation(dut, testbench, name="serialiser_copy_rate")


def expected_flags(count):
    return [(int(n == 0), int(n == count - 1)) for n in range(count)]


def test_copy_takes_the_vector_at_once():
    """With ``copy`` the input is ready whenever the register is empty (a flop, whatever the
    sink does) and the bytes come from the copy after the source has moved on; ``busy`` covers
    the clock the copy waits to load."""
    dut = ByteSerialiser(SIZE, tag_width=1, copy=True)

    async def testbench(ctx):
        assert ctx.get(dut.vectors.ready)
        ctx.set(dut.vectors.payload, {"data": 0xAABBCCDDEE, "start": 0, "first": 1, "last": 1,
                                      "tag": 1})  # fmt: skip
        ctx.set(dut.vectors.valid, 1)
        await ctx.tick()
        ctx.set(dut.vectors.valid, 0)
        ctx.set(dut.vectors.payload, {"data": 0, "start": 3, "first": 0, "last": 0, "tag": 0})
        assert ctx.get(dut.busy) and not ctx.get(dut.vectors.ready)
        taken = []
        for clock in range(12):
            ctx.set(dut.bytes.ready, clock % 2)  # the sink stalls every other clock
            if ctx.get(dut.bytes.valid) and ctx.get(dut.bytes.ready):
                taken.append(ctx.get(dut.bytes.payload.data))
            await ctx.tick()
        assert taken == [0xEE, 0xDD, 0xCC, 0xBB, 0xAA]
        assert not ctx.get(dut.busy) and ctx.get(dut.vectors.ready)

    run_simulation(dut, testbench, name="serialiser_copy")


def test_join_passes_the_valid_source():
    dut = StreamJoin(8, 3)
    rng = random.Random(5)

    async def testbench(ctx):
        for _ in range(200):
            chosen = rng.choice([None, 0, 1, 2])
            ready = rng.random() < 0.5
            ctx.set(dut.output.ready, ready)
            for number, port in enumerate(dut.inputs()):
                ctx.set(port.valid, number == chosen)
                ctx.set(port.payload, rng.getrandbits(8))
            assert ctx.get(dut.output.valid) == (chosen is not None)
            if chosen is not None:
                assert ctx.get(dut.output.payload) == ctx.get(dut.inputs()[chosen].payload)
            assert all(ctx.get(port.ready) == ready for port in dut.inputs())
            await ctx.tick()

    run_simulation(dut, testbench, name="join")


def test_join_asserts_one_source_at_a_time():
    dut = StreamJoin(8, 2)

    async def testbench(ctx):
        ctx.set(dut.input0.valid, 1)
        ctx.set(dut.input1.valid, 1)
        await ctx.tick()
        await ctx.tick()

    with pytest.raises(AssertionError, match="two packet sources"):
        run_simulation(dut, testbench, name="join_two")


def test_layouts_are_the_streams_contract():
    """The payloads other components build and read: a vector of ``size`` bytes with a start
    below ``size``, and a byte; flags of one bit, the tag as wide as asked."""
    widths = {name: Shape.cast(field.shape) for name, field in vector_layout(5, 3)}
    assert widths == {"data": unsigned(40), "start": Shape.cast(range(5)), "first": unsigned(1),
                      "last": unsigned(1), "tag": unsigned(3)}  # fmt: skip
    widths = {name: Shape.cast(field.shape) for name, field in byte_layout(2)}
    assert widths == {"data": unsigned(8), "first": unsigned(1), "last": unsigned(1),
                      "tag": unsigned(2)}  # fmt: skip
