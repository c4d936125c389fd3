"""Append memory and readout with the lib.memory backend, against a plain list of records."""

import random

import pytest
from amaranth.hdl import Elaboratable, Module, Signal
from amaranth.lib import stream
from amaranth.lib.wiring import In, Out
from memgen.hdl.engine.append_memory import AppendMemory
from memgen.hdl.engine.protocol import ErrorCode
from memgen.hdl.engine.readout import Readout
from memgen.hdl.engine.records import (
    RecordFormat,
    RecordWord,
    record_word_layout,
    table_entry_layout,
)
from memgen.hdl.engine.storage import (
    BankedStorage,
    LibMemoryStorage,
    StorageSignature,
    share_storage_port,
    storage_latency,
)
from memgen.hdl.engine.wide_append import WideAppendMemory
from memgen.sim.harness.amaranth_sim import (
    STALL_PATTERNS,
    Stalls,
    run_simulation,
    stream_get,
    stream_put,
    unused,
)
from memgen.sim.harness.core_script import record_words


class MemoryPath(Elaboratable):
    """Append memory writing, readout reading, one backend per store (as the core wires them)."""

    def __init__(self, record_format, bank_depth=None, late_credits=False):
        """``bank_depth``: banked backends of that bank depth (read latency 3 and more),
        instead of ``lib.memory`` ones (1)."""
        fmt = self.format = record_format

        def backend(depth, width):
            if bank_depth is None:
                return LibMemoryStorage(depth, width)
            return BankedStorage(depth, width, bank_depth=bank_depth, fan_in=2)

        self.data = backend(fmt.words, 8 * fmt.word_bytes)
        self.table = None if fmt.fixed else backend(fmt.max_records, table_entry_layout(fmt).size)
        wide = fmt.word_bytes > 1
        self.appender = WideAppendMemory(record_format) if wide else AppendMemory(record_format)
        self.readout = Readout(
            record_format,
            read_latency=storage_latency(self.data),
            table_latency=1 if self.table is None else storage_latency(self.table),
            late_credits=late_credits,
        )
        self.reading = Signal()  # the readout owns the ports (the core's SAMPLE/RECITE phase)

    def elaborate(self, platform):
        m = Module()
        m.submodules.appender = self.appender
        m.submodules.readout = self.readout
        m.submodules.data = self.data
        pairs = [(self.data, self.appender.data_port, self.readout.data_port)]
        if self.table is not None:
            m.submodules.table = self.table
            pairs.append((self.table, self.appender.table_port, self.readout.table_port))
        for backend, writer, reader in pairs:
            share_storage_port(m, backend, writer, reader, self.reading)
        return m


def run_path(
    record_format, records, reads, stalls, seed, bank_depth=None, timing=None, late_credits=False
):
    """Append ``records``, read ``reads`` random ones and then all; returns those stored.
    ``timing``: a list that gets the clocks the reading took and the bytes it read."""
    dut = MemoryPath(record_format, bank_depth, late_credits)
    stored, outcomes = [], []
    used = 0
    width = record_format.word_bytes
    fixed_size = record_format.record_size or width
    alignment = 1 << (fixed_size - 1).bit_length() if fixed_size < width else width
    too_long = ErrorCode.WRONG_SIZE if record_format.fixed else ErrorCode.TOO_LONG
    for record in records:  # the expectation, from the format's rules alone
        # bytes are judged as they arrive: the first past the longest record, or past the
        # memory's last byte, refuses the record
        past = (
            too_long if offset == record_format.max_length else ErrorCode.FULL
            for offset in range(len(record))
            if offset == record_format.max_length or used + offset >= record_format.byte_capacity
        )
        if len(stored) == record_format.max_records:
            outcomes.append(ErrorCode.FULL)
        elif (refusal := next(past, None)) is not None:
            outcomes.append(refusal)
        elif record_format.fixed and len(record) != record_format.record_size:
            outcomes.append(ErrorCode.WRONG_SIZE)
        else:
            outcomes.append(None)
            stored.append(record)
            used += -(-len(record) // alignment) * alignment  # the next record starts aligned
    rng = random.Random(seed)
    indices = [rng.randrange(len(stored)) for _ in range(reads)] + list(range(len(stored)))

    async def writer(ctx):
        appender, input_stalls = dut.appender, Stalls(stalls, seed)
        for record, outcome in zip(records, outcomes, strict=True):
            for payload in record_words(record, width):
                await stream_put(ctx, appender.records, payload, input_stalls)
            refused = ctx.get(appender.refused)
            code = ctx.get(appender.refusal_code)
            assert (ErrorCode(code) if refused else None) == outcome
        assert ctx.get(appender.count) == len(stored)
        assert ctx.get(appender.bytes_used) == used

        for _ in range(4):  # a backend with delayed writes settles before it is read
            await ctx.tick()
        ctx.set(dut.reading, 1)
        index_stalls = Stalls(stalls, seed + 1)
        for index in indices:
            await stream_put(ctx, dut.readout.indices, index, index_stalls)

    ticks = [0]

    async def counter(ctx):
        async for _ in ctx.tick():
            ticks[0] += 1

    async def reader(ctx):
        await ctx.tick().until(dut.reading)
        started = ticks[0]
        out_stalls = Stalls(stalls, seed + 2, rate=0.5)
        for index in indices:
            words = split_words(stored[index], width)
            for position, want in enumerate(words):
                word = await stream_get(ctx, dut.readout.words, out_stalls)
                got = word.data.to_bytes(width, "little")[: word.count]
                assert (got, word.first, word.last) == (
                    want,
                    position == 0,
                    position == len(words) - 1,
                ), f"record {index} word {position}"
        if timing is not None:
            timing.append(
                (ticks[0] - started, sum(len(split_words(stored[i], width)) for i in indices))
            )

    counters = [] if timing is None else [counter]
    run_simulation(dut, writer, reader, processes=counters, name=f"memory_path_{stalls}")
    return stored


def split_words(record, width):
    """A record as the readout sends it: its bytes in words of ``width``, the last one short."""
    return [record[start : start + width] for start in range(0, len(record), width)]


def records_for(record_format, rng, count):
    if record_format.fixed:
        size = record_format.record_size
        return [
            rng.randbytes(rng.choice([size, size, size, size - 1, size + 1])) for _ in range(count)
        ]
    lengths = [1, record_format.max_length, record_format.max_length + 1]
    lengths += [rng.randint(1, 6) for _ in range(count)]
    return [rng.randbytes(length) for length in lengths]


@pytest.mark.parametrize(
    ("size", "fixed"),
    [(1, False), (8, False), (None, False), (1, True), (8, True)],
    ids=["variable-1", "variable-8", "variable-mixed", "fixed-1", "fixed-8"],
)
@pytest.mark.parametrize("bank_depth", [None, 8], ids=["latency-1", "banked"])
@pytest.mark.parametrize("width", [1, 4], ids=["byte", "word-4"])
@pytest.mark.parametrize("late_credits", [False, True], ids=["credits", "late-credits"])
def test_readout_streams_a_word_per_clock(size, fixed, bank_depth, width, late_credits):
    """With the output always ready, records leave at one word per clock after the first's
    latency (a byte, or 4 bytes of a record, or a whole small record), 1-byte records too, from
    lib.memory backends and from banked ones (read latency 4 to 6): the read FIFO's credits
    cover the round trip, also when each comes back a clock late (``late_credits``)."""
    lengths = [size or 1 + n % 3 for n in range(16)]
    if fixed:
        fmt = RecordFormat(byte_capacity=8 * 16, record_size=size, word_bytes=width)
    else:
        fmt = RecordFormat(byte_capacity=8 * 16, max_records=16, max_length=8, word_bytes=width)
    records = [bytes([n, 0xFF - n] * 4)[:length] for n, length in enumerate(lengths)]
    timing = []
    stored = run_path(
        fmt, records, 40, "none", seed=3, bank_depth=bank_depth, timing=timing,
        late_credits=late_credits,
    )  # fmt: skip
    assert stored == records
    ((clocks, total),) = timing
    assert total >= 40 + sum(-(-n // width) for n in lengths)  # 40 random records, then all
    assert total <= clocks <= total + 20, timing


TINY = {
    "1-byte memory": RecordFormat(1, max_records=4, max_length=3),
    "2-byte memory": RecordFormat(2, max_records=4, max_length=3),
    "3-byte memory": RecordFormat(3, max_records=4, max_length=3),
    "1-byte records": RecordFormat(8, max_records=8, max_length=1),
    "2-byte records": RecordFormat(8, max_records=8, max_length=2),
    "fixed 1 of 2": RecordFormat(2, record_size=1),
    "fixed 2 of 4": RecordFormat(4, record_size=2),
    "one 4-byte word": RecordFormat(4, max_records=4, max_length=5, word_bytes=4),
    "two 4-byte words": RecordFormat(8, max_records=4, max_length=5, word_bytes=4),
    "three 2-byte words": RecordFormat(6, max_records=4, max_length=3, word_bytes=2),
    "fixed 1 in 4-byte words": RecordFormat(8, record_size=1, word_bytes=4),
    "fixed 3 in 4-byte words": RecordFormat(8, record_size=3, word_bytes=4),
    "fixed 5 in 4-byte words": RecordFormat(16, record_size=5, word_bytes=4),
}


@pytest.mark.parametrize("record_format", TINY.values(), ids=TINY.keys())
def test_tiny_memories_at_every_limit(record_format):
    """Capacities and record lengths of 1, 2 and 3 bytes, where the flags kept beside the
    counters ("at the limit", "one below", "two below") start at or next to their limits:
    records of every length up to one past the longest, until the memory refuses them."""
    longest = record_format.max_length
    lengths = [longest] + [n % (longest + 1) + 1 for n in range(3 * longest + 3)]
    records = [bytes([0xFF if n % 2 else 0]) * length for n, length in enumerate(lengths)]
    stored = run_path(record_format, records, 8, "none", seed=1)
    assert sum(map(len, stored)) <= record_format.byte_capacity
    assert stored and len(stored) < len(records)  # some stored, some refused


@pytest.mark.parametrize("width", [1, 2, 4])
@pytest.mark.parametrize("used", [0, 8, 12, 16, 20])
def test_the_record_limit_against_the_memory_end(width, used):
    """A record one byte past the longest, with the memory's end beyond, at, or before the
    record's limit (8-byte records, 24, 16, 12, 8 or 4 bytes free): TOO_LONG while the limit
    comes no later than the end (the same byte decides at the boundary), FULL after; a record of
    the longest stored while it fits."""
    fmt = RecordFormat(byte_capacity=24, max_records=8, max_length=8, word_bytes=width)
    records = [bytes([0xFF, 0, 1, 0x80])] * (used // 4) + [b"\x5a" * 9, b"\xa5" * 8]
    stored = run_path(fmt, records, 4, "none", seed=2)
    assert len(stored) == used // 4 + (used <= 16)


@pytest.mark.parametrize("fixed", [False, True], ids=["variable", "fixed"])
def test_ports_are_as_documented(fixed):
    """Widths follow the format: 300 bytes of at most 20 records up to 200 bytes long take
    9-bit addresses and byte counts, 5-bit record counts and indices, 8-bit lengths and 17-bit
    table entries (start and length); 16-byte fixed records, 18 of them, need no table."""
    if fixed:
        fmt, length, table = RecordFormat(300, record_size=16), 5, {}
    else:
        fmt, length = RecordFormat(300, max_records=20, max_length=200), 8
        table = {"table_port": Out(StorageSignature(5, 17))}
    appender, readout = unused(AppendMemory(fmt), Readout(fmt, read_latency=2))
    word = stream.Signature(RecordWord)
    assert dict(appender.signature.members) == {
        "records": In(word),
        "clear": In(1),
        "count": Out(5),
        "bytes_used": Out(9),
        "refused": Out(1),
        "refusal_code": Out(3),
        "data_port": Out(StorageSignature(9, 8)),
        **table,
    }
    assert dict(readout.signature.members) == {
        "indices": In(stream.Signature(5)),
        "words": Out(stream.Signature(record_word_layout(1))),
        "length": Out(length),
        "busy": Out(1),
        "data_port": Out(StorageSignature(9, 8, read_latency=2)),
        **table,
    }


@pytest.mark.parametrize(
    "record_format",
    [
        RecordFormat(byte_capacity=64, max_records=16, max_length=9),  # runs out of records
        RecordFormat(byte_capacity=40, max_records=32, max_length=9),  # runs out of bytes
        RecordFormat(byte_capacity=30, record_size=3),
        RecordFormat(byte_capacity=64, max_records=32, max_length=9, word_bytes=4),
        RecordFormat(byte_capacity=64, record_size=2, word_bytes=8),
        RecordFormat(byte_capacity=64, record_size=5, word_bytes=4),
    ],
    ids=["records-bound", "bytes-bound", "fixed", "words-4", "fixed-2-in-8", "fixed-5-in-4"],
)
@pytest.mark.parametrize("stalls", STALL_PATTERNS)
@pytest.mark.parametrize("seed", [4, 5])
def test_append_then_read_back(record_format, stalls, seed):
    rng = random.Random(f"{stalls}{seed}")
    stored = run_path(record_format, records_for(record_format, rng, 40), 60, stalls, seed=seed)
    assert stored, "the test must store something"
