"""The narrowers: every valid byte of every word, in order, with the packet flags moved to the
first and last byte; every present slot of every beat, in order, with the beat's fields; under
stalls on both sides."""

import random

import pytest
from amaranth.hdl import Shape
from amaranth.lib import data
from memgen.hdl.common.narrower import (
    SlotNarrower,
    WordNarrower,
    narrow_layout,
    slot_layout,
    word_bytes_of,
)
from memgen.sim.harness.amaranth_sim import (
    STALL_PATTERNS,
    Stalls,
    refused_component,
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


def beat_layout_of(slots, size):
    fields = {"data": slots * size, "first": 1, "last": 1, "tag": 3, "slots": slots}
    return data.StructLayout(fields)


@pytest.mark.parametrize("slots", [1, 2, 4, 8, 16])
@pytest.mark.parametrize("stalls", STALL_PATTERNS)
def test_slot_narrower_sends_each_present_word_in_order(slots, stalls):
    """Beats with every pattern of slots present up to 8 slots (of 16: all, the lowest and
    highest runs, alternate slots and 200 random patterns), and single slots (the header bytes'
    case): the words of the slots that are there, lowest first, each with the beat's fields."""
    rng = random.Random(f"{slots}{stalls}")
    size = 12  # not a whole number of bytes: the words are the slots' parts of data
    full = (1 << slots) - 1
    if slots <= 8:
        masks = list(range(1, full + 1))
    else:
        runs = [full >> k for k in range(slots)] + [full << k & full for k in range(slots)]
        masks = [full, 0x5555 & full, 0xAAAA & full, *runs]
        masks += [rng.randrange(1, full + 1) for _ in range(200)]
    masks += [1 << k for k in range(slots)]
    beats = [(mask, rng.getrandbits(slots * size), rng.randrange(8)) for mask in masks]
    dut = SlotNarrower(beat_layout_of(slots, size))

    async def sender(ctx):
        for mask, value, tag in beats:
            payload = {"data": value, "first": tag & 1, "last": tag >> 1 & 1, "tag": tag,
                       "slots": mask}  # fmt: skip
            await stream_put(ctx, dut.beats, payload, Stalls(stalls, rng.random()))

    async def receiver(ctx):
        for mask, value, tag in beats:
            for k in range(slots):
                if mask >> k & 1:
                    word = await stream_get(ctx, dut.words, Stalls(stalls, 5, rate=0.5), 100)
                    assert word.data == value >> (k * size) & ((1 << size) - 1), (mask, k)
                    assert (word.first, word.last, word.tag) == (tag & 1, tag >> 1 & 1, tag)
        for _ in range(4):
            assert not ctx.get(dut.words.valid)
            await ctx.tick()

    run_simulation(dut, sender, receiver, name=f"slot_narrower_{slots}_{stalls}")


def test_slot_layouts_and_chains():
    """A beat's slot is its data divided by the slots; a layout without slots or with data
    not divisible by them is refused; narrow_layout drops count and slots."""
    beat = beat_layout_of(4, 16)
    widths = {name: Shape.cast(field.shape).width for name, field in slot_layout(beat)}
    assert widths == {"data": 16, "first": 1, "last": 1, "tag": 3}
    assert "slots" not in dict(narrow_layout(beat))
    with refused_component(), pytest.raises(ValueError, match="A beat has slots"):
        SlotNarrower(data.StructLayout({"data": 10, "slots": 4}))
    with refused_component(), pytest.raises(ValueError, match="A beat has slots"):
        SlotNarrower(layout(4))
