"""The word narrower: every valid byte of every word, in order, with the packet flags moved to
the first and last byte, under stalls on both sides."""

import random

import pytest
from amaranth.lib import data
from memgen.hdl.common.narrower import WordNarrower, narrow_layout, word_bytes_of
from memgen.sim.harness.amaranth_sim import (
    STALL_PATTERNS,
    Stalls,
    run_simulation,
    stream_get,
    stream_put,
)


def layout(width):
    """A word with a field on either side of ``count`` in name order (``address``, ``tag``)."""
    return data.StructLayout(
        {
            "data": 8 * width,
            "first": 1,
            "last": 1,
            "address": 2,
            "tag": 3,
            "count": width.bit_length(),
        }
    )


def packets_for(width, rng):
    """Packets of 1 to 3 words, the last one of every count from 1 to ``width``."""
    packets = []
    for count in list(range(1, width + 1)) * 3:
        words = [(rng.randbytes(width), width) for _ in range(rng.randint(0, 2))]
        packets.append((rng.randrange(8), [*words, (rng.randbytes(width), count)]))
    return packets


@pytest.mark.parametrize("width", [1, 2, 4, 8])
@pytest.mark.parametrize("stalls", STALL_PATTERNS)
def test_every_valid_byte_in_order(width, stalls):
    rng = random.Random(f"{width}{stalls}")
    packets = packets_for(width, rng)
    dut = WordNarrower(layout(width))

    async def sender(ctx):
        for tag, words in packets:
            for position, (word, count) in enumerate(words):
                payload = {
                    "data": int.from_bytes(word, "little"),
                    "first": position == 0,
                    "last": position == len(words) - 1,
                    "address": tag % 4,
                    "tag": tag,
                    "count": count,
                }
                await stream_put(ctx, dut.words, payload, Stalls(stalls, rng.random()))

    async def receiver(ctx):
        out_stalls = Stalls(stalls, 7, rate=0.5)
        for tag, words in packets:
            body = b"".join(word[:count] for word, count in words)
            for position, byte in enumerate(body):
                got = await stream_get(ctx, dut.bytes, out_stalls)
                assert (got.data, got.first, got.last, got.address, got.tag) == (
                    byte,
                    position == 0,
                    position == len(body) - 1,
                    tag % 4,
                    tag,
                ), f"packet tag {tag} byte {position}"

    run_simulation(dut, sender, receiver, name=f"narrower_{width}_{stalls}")


def test_the_narrow_layout_drops_count_and_keeps_the_order():
    assert word_bytes_of(layout(8)) == 8
    assert list(narrow_layout(layout(4))) == list(
        data.StructLayout({"data": 8, "first": 1, "last": 1, "address": 2, "tag": 3})
    )
    with pytest.raises(ValueError, match="data \\(whole bytes\\), count, first and last"):
        word_bytes_of(data.StructLayout({"data": 12, "first": 1, "last": 1, "count": 2}))
    with pytest.raises(ValueError, match="count, first and last"):
        word_bytes_of(data.StructLayout({"data": 16, "first": 1, "last": 1}))
