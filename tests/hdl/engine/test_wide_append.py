"""The wide append memory's own rules (its records against the reference, at every limit, are
in test_memory_path): words that do not fit the layout are refused, and the memory is for words
of more than a byte."""

import pytest
from memgen.hdl.engine.append_memory import AppendMemory
from memgen.hdl.engine.protocol import ErrorCode
from memgen.hdl.engine.records import RecordFormat
from memgen.hdl.engine.wide_append import WideAppendMemory
from memgen.sim.harness.amaranth_sim import refused_component, run_simulation, stream_put

FORMAT = RecordFormat(byte_capacity=64, max_records=8, max_length=16, word_bytes=4)


def word(count, first, last, fill=0xAB):
    return {"data": int.from_bytes(bytes([fill]) * 4, "little"), "count": count,
            "first": first, "last": last}  # fmt: skip


#: records with one word off the layout: (name, words)
MALFORMED = {
    "empty last word": [word(4, 1, 0), word(0, 0, 1)],
    "empty single word": [word(0, 1, 1)],
    "five bytes in a word of four": [word(5, 1, 1)],
    "seven bytes in a last word": [word(4, 1, 0), word(7, 0, 1)],
    "short word before the last": [word(3, 1, 0), word(4, 0, 1)],
    "short word in the middle": [word(4, 1, 0), word(2, 0, 0), word(1, 0, 1)],
}


@pytest.mark.parametrize("name", MALFORMED)
def test_words_off_the_layout_are_refused(name):
    """BAD_COMMAND, nothing counted; a good record after it is stored where it would have
    been (the counts as if the bad one never came)."""
    dut = WideAppendMemory(FORMAT)

    async def testbench(ctx):
        await stream_put(ctx, dut.records, word(4, 1, 1))  # one good record first
        assert (ctx.get(dut.count), ctx.get(dut.bytes_used)) == (1, 4)
        for payload in MALFORMED[name]:
            await stream_put(ctx, dut.records, payload)
        assert ctx.get(dut.refused) and ctx.get(dut.refusal_code) == ErrorCode.BAD_COMMAND
        assert (ctx.get(dut.count), ctx.get(dut.bytes_used)) == (1, 4)
        for payload in (word(4, 1, 0), word(4, 0, 0), word(1, 0, 1)):
            await stream_put(ctx, dut.records, payload)
        assert not ctx.get(dut.refused)
        assert (ctx.get(dut.count), ctx.get(dut.bytes_used)) == (2, 16)

    run_simulation(dut, testbench, name=f"wide_append_{name.replace(' ', '_')}")


def test_each_append_memory_refuses_the_other_width():
    with refused_component(), pytest.raises(ValueError, match="more than one byte"):
        WideAppendMemory(RecordFormat(byte_capacity=8, max_records=2))
    with refused_component(), pytest.raises(ValueError, match="take a WideAppendMemory"):
        AppendMemory(FORMAT)


def test_clear_empties_it_and_the_next_record_starts_at_zero():
    """A clear after records that filled the memory to the byte: no records, no bytes, room for
    the full capacity again (a 16-byte record stored four times over, its first word at 0)."""
    dut = WideAppendMemory(FORMAT)
    record = [word(4, 1, 0, 0x11), word(4, 0, 0), word(4, 0, 0), word(4, 0, 1)]

    async def testbench(ctx):
        for _ in range(4):
            for payload in record:
                await stream_put(ctx, dut.records, payload)
        assert (ctx.get(dut.count), ctx.get(dut.bytes_used)) == (4, 64)
        ctx.set(dut.clear, 1)
        await ctx.tick()
        ctx.set(dut.clear, 0)
        assert (ctx.get(dut.count), ctx.get(dut.bytes_used)) == (0, 0)
        addresses = []
        for _ in range(4):
            for payload in record:
                ctx.set(dut.records.payload, payload)
                ctx.set(dut.records.valid, 1)
                if ctx.get(dut.data_port.write_enable):
                    addresses.append(ctx.get(dut.data_port.address))
                await ctx.tick()
        ctx.set(dut.records.valid, 0)
        assert addresses == list(range(16))
        assert not ctx.get(dut.refused)
        assert (ctx.get(dut.count), ctx.get(dut.bytes_used)) == (4, 64)

    run_simulation(dut, testbench, name="wide_append_clear")
