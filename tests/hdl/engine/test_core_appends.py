"""The core's port of appends: records streamed in a byte or a word per clock, refusals on
``rejected``, the records taken between commands whole, against the reference model."""

import itertools
import random

import pytest
from memgen.hdl.engine.core import MemGen
from memgen.hdl.engine.protocol import ErrorCode, Opcode, ResponseKind
from memgen.hdl.engine.records import RecordFormat
from memgen.host.codec import command_append, command_plain, command_sample
from memgen.host.reference import MemGenReference
from memgen.sim.harness.amaranth_sim import (
    STALL_PATTERNS,
    Stalls,
    run_simulation,
    stream_put,
    unused,
)
from memgen.sim.harness.core_script import (
    offer_back_to_back,
    receive_packet,
    record_words,
    run_script,
    send_packet,
)

FORMATS = {
    "variable-1": RecordFormat(byte_capacity=96, max_records=12, max_length=12),
    "fixed-2-in-1": RecordFormat(byte_capacity=32, record_size=2),
    "variable-4": RecordFormat(byte_capacity=96, max_records=12, max_length=12, word_bytes=4),
    "fixed-1-in-4": RecordFormat(byte_capacity=16, record_size=1, word_bytes=4),
    "fixed-3-in-8": RecordFormat(byte_capacity=48, record_size=3, word_bytes=8),
    "fixed-5-in-4": RecordFormat(byte_capacity=48, record_size=5, word_bytes=4),
}


def records_for(fmt, rng, count):
    """Records of the format's size, or of every length to one past the longest, some of the
    wrong size in fixed mode; bytes with structure (zeros, all ones) and random ones."""
    records = []
    for n in range(count):
        if fmt.fixed:
            length = fmt.record_size + (rng.choice([-1, 1]) if n % 5 == 4 else 0)
        else:
            length = n % (fmt.max_length + 1) + 1
        length = max(length, 1)
        pattern = [b"\x00" * length, b"\xff" * length, rng.randbytes(length)][n % 3]
        records.append(pattern)
    return records


async def stream_records(ctx, dut, records, stalls):
    """Each record's words into ``appends``, pausing as ``stalls`` says."""
    for record in records:
        for payload in record_words(record, dut.format.word_bytes):
            await stream_put(ctx, dut.appends, payload, stalls, patience=2000)


def watch_rejections(dut, codes):
    async def process(ctx):
        async for _, _, valid, code in ctx.tick().sample(dut.rejected.valid, dut.rejected.payload):
            if valid:
                codes.append(ErrorCode(code))

    return process


@pytest.mark.parametrize("name", FORMATS)
@pytest.mark.parametrize("stalls", STALL_PATTERNS)
def test_port_records_are_stored_and_refused_as_the_reference(name, stalls):
    """Records streamed in until the memory refuses them: each refusal's code on ``rejected``
    as the reference's, in order; then STATUS, RECITE and SAMPLE through the commands."""
    fmt = FORMATS[name]
    rng = random.Random(f"{name}{stalls}")
    records = records_for(fmt, rng, 3 * fmt.max_records)
    dut = MemGen(fmt, append_port=True)
    reference = MemGenReference(fmt)
    outcomes = [reference.append(record) for record in records]
    codes = []

    async def testbench(ctx):
        await stream_records(ctx, dut, records, Stalls(stalls, 1))
        for _ in range(3):  # the last refusal strobes a clock after its word
            await ctx.tick()
        assert codes == [code for code in outcomes if code is not None]
        plain = [command_plain(Opcode.STATUS), command_plain(Opcode.RECITE)]
        await run_script(ctx, dut, reference, [*plain, command_sample(40)], Stalls(stalls, 2),
                         Stalls(stalls, 3))  # fmt: skip

    run_simulation(dut, testbench, processes=[watch_rejections(dut, codes)],
                   name=f"core_appends_{name}_{stalls}")  # fmt: skip
    assert ErrorCode.FULL in codes  # the memory was filled


@pytest.mark.parametrize("name", ["variable-1", "variable-4", "fixed-3-in-8"])
@pytest.mark.parametrize("stalls", ["none", "random"])
def test_port_and_appends_interleave_whole_records(name, stalls):
    """The port's records and APPEND commands at once: every record stored once and whole, each
    source's in its order, none refused; with both always waiting, they take turns."""
    fmt = FORMATS[name]
    size = fmt.record_size
    count = fmt.max_records // 2
    # distinct records: a source tag and a number in the first bytes, filler after
    port = [bytes([0xA0 | n % 16]) * (size or n % fmt.max_length + 1) for n in range(count)]
    commands = [bytes([0x50 | n % 16]) * (size or (n + 3) % fmt.max_length + 1)
                for n in range(count)]  # fmt: skip
    dut = MemGen(fmt, append_port=True)
    codes, recited = [], []

    produced = []

    async def producer(ctx):
        await stream_records(ctx, dut, port, Stalls(stalls, 4))
        produced.append(True)

    async def commander(ctx):
        for record in commands:
            await send_packet(ctx, dut.commands, command_append(record), Stalls(stalls, 5))
        while not produced:
            await ctx.tick()
        await ctx.tick().until(dut.idle)
        await send_packet(ctx, dut.commands, command_plain(Opcode.RECITE))
        for _ in range(2 * count):
            kind, body = await receive_packet(ctx, dut.responses, Stalls(stalls, 6))
            assert kind == ResponseKind.RECORD
            recited.append(body)

    run_simulation(dut, producer, commander, processes=[watch_rejections(dut, codes)],
                   name=f"core_interleave_{name}_{stalls}")  # fmt: skip
    assert codes == []
    assert [r for r in recited if r[0] >> 4 == 0xA] == port
    assert [r for r in recited if r[0] >> 4 == 0x5] == commands
    if stalls == "none":  # both always waiting: they take turns, neither starves
        sources = [r[0] >> 4 for r in recited]
        assert all(a != b for a, b in itertools.pairwise(sources)), sources


@pytest.mark.parametrize(
    ("width", "size"), [(1, 1), (4, 4), (4, 8), (8, 8), (64, 64), (4, 1), (64, 1)]
)
def test_port_takes_a_word_every_clock(width, size):
    """Back-to-back records of W bytes or more: a word per clock, W bytes (training at 1/W
    clocks per byte); records below a word: a record per clock."""
    count = 48
    fmt = RecordFormat(byte_capacity=count * max(size, width), record_size=size, word_bytes=width)
    dut = MemGen(fmt, append_port=True)
    rng = random.Random(width)
    records = [rng.randbytes(size) for _ in range(count)]

    taken = []

    async def testbench(ctx):
        taken.append(await offer_back_to_back(ctx, dut.appends, records, width))
        await ctx.tick().until(dut.idle)
        reference = MemGenReference(fmt)
        for record in records:
            reference.append(record)
        await run_script(ctx, dut, reference, [command_plain(Opcode.RECITE)])

    run_simulation(dut, testbench, name=f"core_appends_rate_{width}_{size}")
    assert taken == [1 + count * -(-size // width)]  # a clock to begin, then a word a clock


def test_ports_are_as_documented():
    """The port of appends is the append memory's words; without ``append_port`` there is none."""
    fmt = FORMATS["variable-4"]
    with_port, without = unused(MemGen(fmt, append_port=True), MemGen(fmt))
    members = dict(with_port.signature.members)
    assert members["appends"].signature.members["payload"].shape.size == 32 + 1 + 1 + 3
    assert members["rejected"].signature.always_ready
    assert "appends" not in dict(without.signature.members)
