"""The byte widener: each packet's bytes in words of W, a word as it fills or with the packet's
last byte, ``count`` the packet's bytes in it; a ``first`` byte drops a word half gathered, a
``last`` starts the next packet in a new word; under stalls on both sides."""

import random

import pytest
from memgen.hdl.engine.widener import ByteWidener
from memgen.sim.harness.amaranth_sim import (
    STALL_PATTERNS,
    Stalls,
    run_simulation,
    stream_get,
    stream_put,
)


def packets_for(width, rng):
    """(bytes, ends, flagged): packets of every length from 1 to 3W + 1, some cut short (no
    ``last``: the next packet's ``first`` ends them) at every length from 1 to 2W, and after
    packets that end, some whose first byte has no ``first`` (the ``last`` before starts them)."""
    packets = [(rng.randbytes(n), True, True) for n in range(1, 3 * width + 2)]
    packets += [(rng.randbytes(n), False, True) for n in range(1, 2 * width + 1)]
    unflagged = [(rng.randbytes(n), True, False) for n in range(1, 2 * width + 1)]
    rng.shuffle(packets)
    mixed = []
    for packet in packets:
        mixed.append(packet)
        if packet[1] and unflagged:
            mixed.append(unflagged.pop())
    return mixed + [(b"\xff" * width, True, True)]  # the last packet ends


def expected_words(packets, width):
    """(bytes, first, last) of every word the widener sends: a cut packet's full words only."""
    words = []
    for body, ends, flagged in packets:
        chunks = [body[k : k + width] for k in range(0, len(body), width)]
        if not ends and len(chunks[-1]) < width:
            chunks.pop()
        for position, chunk in enumerate(chunks):
            words.append((chunk, flagged and position == 0, ends and position == len(chunks) - 1))
    return words


@pytest.mark.parametrize("width", [2, 4, 8])
@pytest.mark.parametrize("stalls", STALL_PATTERNS)
def test_packets_leave_in_words(width, stalls):
    rng = random.Random(f"{width}{stalls}")
    packets = packets_for(width, rng)
    dut = ByteWidener(width)

    async def sender(ctx):
        in_stalls = Stalls(stalls, 3)
        for body, ends, flagged in packets:
            for position, byte in enumerate(body):
                payload = {"data": byte, "first": flagged and position == 0,
                           "last": ends and position == len(body) - 1}  # fmt: skip
                await stream_put(ctx, dut.bytes, payload, in_stalls)

    async def receiver(ctx):
        out_stalls = Stalls(stalls, 5, rate=0.5)
        for number, (chunk, first, last) in enumerate(expected_words(packets, width)):
            word = await stream_get(ctx, dut.words, out_stalls, patience=100)
            got = word.data.to_bytes(width, "little")[: word.count]
            assert (got, word.first, word.last) == (chunk, first, last), f"word {number}"
        for _ in range(4):
            assert not ctx.get(dut.words.valid)
            await ctx.tick()

    run_simulation(dut, sender, receiver, name=f"widener_{width}_{stalls}")


def test_a_byte_waits_only_for_the_word_it_ends():
    """The word leaves from a register a clock after its last byte; bytes go on gathering the
    next word whatever the word side's ready, and only a byte that ends a word while the last
    one is still held waits."""
    dut = ByteWidener(4)

    async def put(ctx, value, taken):
        ctx.set(dut.bytes.payload, {"data": value, "first": value == 0, "last": 0})
        ctx.set(dut.bytes.valid, 1)
        assert ctx.get(dut.bytes.ready) == taken, f"byte {value}"
        await ctx.tick()

    async def testbench(ctx):
        ctx.set(dut.words.ready, 0)
        for value in range(4):
            assert not ctx.get(dut.words.valid)
            await put(ctx, value, taken=True)
        assert ctx.get(dut.words.valid)
        assert ctx.get(dut.words.payload.data) == 0x03020100
        for value in range(4, 7):
            await put(ctx, value, taken=True)
        await put(ctx, 7, taken=False)  # ends the second word; the first still held
        assert ctx.get(dut.words.payload.data) == 0x03020100
        ctx.set(dut.words.ready, 1)
        assert ctx.get(dut.bytes.ready)  # taken as the first word leaves
        await ctx.tick()
        assert ctx.get(dut.words.valid)
        assert ctx.get(dut.words.payload.data) == 0x07060504

    run_simulation(dut, testbench, name="widener_ready")
