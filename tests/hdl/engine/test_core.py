"""MemGen core against the reference model, through the command stream, under stalls."""

import random

import pytest
from amaranth.lib import data, stream
from amaranth.lib.wiring import In, Out
from memgen.hdl.engine.core import MemGen
from memgen.hdl.engine.decoder import Decoded
from memgen.hdl.engine.protocol import ErrorCode, Opcode, ResponseKind
from memgen.hdl.engine.records import RecordFormat, RecordWord
from memgen.hdl.engine.sequencer import Sequencer, StatusRequest
from memgen.hdl.engine.storage import BankedStorage
from memgen.host.codec import (
    command_append,
    command_plain,
    command_sample,
    command_seed,
    decode_status,
)
from memgen.host.reference import MemGenReference
from memgen.sim.harness.amaranth_sim import (
    STALL_PATTERNS,
    Stalls,
    refused_component,
    run_simulation,
    unused,
)
from memgen.sim.harness.core_script import receive_packet, run_script, send_packet

VARIABLE = RecordFormat(byte_capacity=256, max_records=40, max_length=24)
FIXED = RecordFormat(byte_capacity=200, record_size=8)  # 25 records
#: wide cores: records padded to words of 4 or 8 bytes, small fixed ones packed into them
WIDE = {
    "variable-4": RecordFormat(byte_capacity=256, max_records=40, max_length=24, word_bytes=4),
    "variable-8": RecordFormat(byte_capacity=256, max_records=60, max_length=24, word_bytes=8),
    "fixed-8-in-4": RecordFormat(byte_capacity=200, record_size=8, word_bytes=4),
    "fixed-1-in-4": RecordFormat(byte_capacity=64, record_size=1, word_bytes=4),
    "fixed-3-in-8": RecordFormat(byte_capacity=96, record_size=3, word_bytes=8),
    "fixed-5-in-4": RecordFormat(byte_capacity=96, record_size=5, word_bytes=4),
}

#: cores of lanes: records of at most a word, one copy of the memory per lane
LANES = {
    "1-by-2": RecordFormat(byte_capacity=64, record_size=1, lanes=2),
    "1-by-4": RecordFormat(byte_capacity=64, record_size=1, lanes=4),
    "1-in-4-by-4": RecordFormat(byte_capacity=64, record_size=1, word_bytes=4, lanes=4),
    "8-in-8-by-2": RecordFormat(byte_capacity=192, record_size=8, word_bytes=8, lanes=2),
    "3-in-4-by-8": RecordFormat(byte_capacity=96, record_size=3, word_bytes=4, lanes=8),
    "1-by-16": RecordFormat(byte_capacity=64, record_size=1, lanes=16),
}


def run(record_format, packets, stalls="none", seed=0, generator="trivium", data_storage=None):
    dut = MemGen(record_format, generator=generator, data_storage=data_storage)
    reference = MemGenReference(record_format, generator=generator)

    async def testbench(ctx):
        await run_script(
            ctx, dut, reference, packets, Stalls(stalls, seed), Stalls(stalls, seed + 7, rate=0.5)
        )

    run_simulation(dut, testbench, name=f"core_{stalls}_{seed}")
    return reference


def records_for(record_format, count, rng):
    if record_format.fixed:
        return [rng.randbytes(record_format.record_size) for _ in range(count)]
    lengths = [1, 2, record_format.max_length] + [rng.randint(1, 9) for _ in range(count)]
    return [rng.randbytes(length) for length in lengths[:count]]


def growing_script(record_format, rng):
    """Append records one by one, sampling at N = 1, 2, 3, 2**k - 1, 2**k, 2**k + 1, capacity."""
    checkpoints = {1, 2, 3, 7, 8, 9, 15, 16, 17}
    packets = [command_sample(3), command_plain(Opcode.RECITE)]  # empty memory: errors
    for number, record in enumerate(records_for(record_format, 400, rng), start=1):
        packets.append(command_append(record))
        if number in checkpoints:
            packets += [command_sample(5), command_plain(Opcode.STATUS)]
    # memory is full now (refusals included above); everything stored must still read back
    packets += [command_plain(Opcode.RECITE), command_sample(60), command_plain(Opcode.STATUS)]
    return packets


def test_ports_are_as_documented():
    """The core speaks record words in and response words out (a 24-byte record's length is 5
    bits); its sequencer's sides carry a 40-record count (6 bits), 64-bit seeds, 32-bit
    amounts, decoded commands of a 4-bit operation and a 64-bit argument, and status requests
    of an error flag and a code byte."""
    word = stream.Signature(RecordWord)
    response = data.StructLayout({"data": 8, "first": 1, "last": 1, "kind": 2, "length": 5})
    core = unused(MemGen(VARIABLE))
    assert dict(core.signature.members) == {
        "commands": In(word),
        "responses": Out(stream.Signature(response)),
        "idle": Out(1),
    }
    assert StatusRequest == data.StructLayout({"error": 1, "code": 8})
    assert dict(unused(Sequencer(VARIABLE)).signature.members) == {
        "decoded": In(stream.Signature(Decoded)),
        "body": In(word),
        "records": Out(word),
        "appended": In(1),
        "count": In(6),
        "refused": In(1),
        "refusal_code": In(3),
        "clear": Out(1),
        "seed": Out(stream.Signature(64, always_ready=True)),
        "request": Out(stream.Signature(32)),
        "recite": Out(1),
        "divert": Out(1),
        "recall_body": Out(word),
        "checked": In(stream.Signature(8)),
        "answer": Out(1),
        "answered": In(1),
        "status": Out(stream.Signature(StatusRequest)),
        "reading": Out(1),
        "scanning": Out(1),
        "answering": Out(1),
        "busy": In(1),
        "idle": Out(1),
    }


@pytest.mark.parametrize("record_format", [VARIABLE, FIXED], ids=["variable", "fixed"])
@pytest.mark.parametrize("stalls", STALL_PATTERNS)
@pytest.mark.parametrize("seed", [1, 2])
def test_core_matches_reference(record_format, stalls, seed):
    rng = random.Random(seed)
    reference = run(record_format, growing_script(record_format, rng), stalls, seed)
    # the script filled the memory: either every record slot or every byte is used
    assert (
        len(reference.memory) == record_format.max_records
        or reference.bytes_used > record_format.byte_capacity - record_format.max_length
    )


@pytest.mark.parametrize("record_format", WIDE.values(), ids=WIDE.keys())
@pytest.mark.parametrize("stalls", ["none", "random"])
def test_wide_core_matches_reference(record_format, stalls):
    """Words of W bytes: the same answers byte for byte, STATUS counting each record's padding;
    the memory fills to its last word or slot."""
    reference = run(record_format, growing_script(record_format, random.Random(3)), stalls, 3)
    assert (
        len(reference.memory) == record_format.max_records
        or reference.bytes_used > record_format.byte_capacity - record_format.max_length
    )
    assert reference.bytes_used % record_format.alignment == 0


@pytest.mark.parametrize(
    "name,stalls",
    [("1-by-4", "none"), ("1-by-4", "random"), ("1-by-2", "random"), ("1-in-4-by-4", "random"),
     ("8-in-8-by-2", "none"), ("3-in-4-by-8", "random")],
)  # fmt: skip
def test_core_of_lanes_matches_reference(name, stalls):
    """L lanes: SAMPLEs of 5 and 60 (not multiples of L, so each starts at another lane) give
    the reference's records, sample j from lane j mod L; the memory fills every copy."""
    record_format = LANES[name]
    reference = run(record_format, growing_script(record_format, random.Random(4)), stalls, 4)
    assert len(reference.memory) == record_format.max_records


def banked(record_format, read_ports):
    """A copy of the records in banks of four words, as the ULX3S has it in 192 DP16KDs."""
    words, width = record_format.words, 8 * record_format.word_bytes
    return BankedStorage(words, width, bank_depth=4, fan_in=2, read_ports=read_ports)


@pytest.mark.parametrize(
    "name,ports",
    [("1-by-2", (2,)), ("1-in-4-by-4", (1, 2, 1)), ("3-in-4-by-8", (2,) * 4),
     ("1-by-16", (2,) * 8)],
)  # fmt: skip
def test_core_of_lanes_on_two_port_copies(name, ports):
    """Lanes that share copies of the records, two to a copy read on both its ports (the ULX3S's
    DP16KD ports A and B: one copy for two lanes, four for eight, eight for sixteen), in the
    copies' order and ``reads`` before ``reads_b``, also between copies of one side: every copy
    takes every record and each lane reads its own side, as the reference says, under stalls."""
    record_format = LANES[name]
    copies = [banked(record_format, count) for count in ports]
    packets = growing_script(record_format, random.Random(6))
    reference = run(record_format, packets, "random", 6, data_storage=copies)
    assert len(reference.memory) == record_format.max_records


def test_core_takes_as_many_read_sides_as_lanes():
    """A core of L lanes refuses copies whose read sides are not L in all, in one line."""
    record_format = LANES["1-by-4"]
    for ports in ((2,), (2, 2, 1), (1, 1, 1)):
        copies = [unused(banked(record_format, count)) for count in ports]
        refusal = (
            f"4 lane\\(s\\) need data storage with 4 read side\\(s\\) in all, not {sum(ports)}"
        )
        with refused_component(), pytest.raises(ValueError, match=refusal):
            MemGen(record_format, data_storage=copies)


def test_refusals_and_bad_commands():
    rng = random.Random(5)
    packets = [
        command_append(b""),  # empty record
        command_append(bytes(VARIABLE.max_length + 1)),  # too long
        command_append(b"kept"),
        bytes([0x7F]),  # unknown opcode
        bytes([0x7F, 1, 2]),  # unknown opcode with arguments
        bytes([Opcode.SAMPLE, 1, 0]),  # short argument
        bytes([Opcode.SEED]),  # missing argument
        bytes([Opcode.STATUS, 0]),  # unexpected argument
        command_sample(0),
        command_seed(0),
        command_sample(4),
        command_seed(12345),
        command_sample(4),
        command_plain(Opcode.CLEAR),
        command_sample(1),  # empty again
        command_append(rng.randbytes(3)),
        command_plain(Opcode.RECITE),
    ]
    run(VARIABLE, packets)
    fixed = [command_append(bytes(7)), command_append(bytes(9)), command_append(bytes(8))]
    run(FIXED, fixed + [command_plain(Opcode.RECITE)])


@pytest.mark.parametrize(
    "record_format",
    [VARIABLE, FIXED, LANES["1-by-4"]],
    ids=["variable", "fixed", "lanes"],
)
@pytest.mark.parametrize("stalls", ["none", "random"])
def test_indices_are_the_sampled_records(record_format, stalls):
    """INDICES n names the records SAMPLE n would send, from the same stream: with distinct
    records, the records of one run are the recited records at the indices of a rerun."""
    records = [bytes([i]) * (record_format.record_size or 1 + i % 5) for i in range(20)]
    seeding = [command_append(record) for record in records] + [command_seed(99)]
    split = [command_sample(7, indices=True), command_sample(0, indices=True)]
    split += [command_sample(5), command_sample(13, indices=True)]  # the stream goes on
    packets = seeding + [command_sample(25)] + [command_seed(99)] + split
    packets += [bytes([Opcode.INDICES, 1, 0, 0]), bytes([Opcode.INDICES, 1, 0, 0, 0, 0])]
    packets += [command_plain(Opcode.CLEAR), command_sample(3, indices=True)]  # empty: EMPTY
    dut = MemGen(record_format)
    responses = []

    async def testbench(ctx):
        reference = MemGenReference(record_format)
        stalls_in, stalls_out = Stalls(stalls, 3), Stalls(stalls, 4, rate=0.5)
        responses.extend(await run_script(ctx, dut, reference, packets, stalls_in, stalls_out))

    run_simulation(dut, testbench, name=f"core_indices_{stalls}")
    answers = responses[len(seeding) :]
    sampled = [body for _, body in answers[0]]
    first, none, middle, last = answers[2:6]
    assert none == [] and {kind for kind, _ in first + last} == {ResponseKind.INDEX}
    indices = [int.from_bytes(body, "little") for _, body in first + last]
    assert [records[i] for i in indices] == sampled[:7] + sampled[12:]
    assert [body for _, body in middle] == sampled[7:12]
    for bad in answers[6:8]:
        assert bad[0][0] == ResponseKind.ERROR and bad[0][1][0] == ErrorCode.BAD_COMMAND
    assert answers[-1][0][1][0] == ErrorCode.EMPTY


def test_lfsr_generator_option():
    rng = random.Random(9)
    packets = [command_append(rng.randbytes(rng.randint(1, 5))) for _ in range(13)]
    run(VARIABLE, packets + [command_sample(50)], generator="lfsr")


def test_full_memory_keeps_every_record():
    """Fill to capacity, get FULL for the next record, then every stored record reads back."""
    fmt = RecordFormat(byte_capacity=64, max_records=64, max_length=8)
    dut = MemGen(fmt)
    stored = [bytes([n]) * (1 + n % 3) for n in range(32)]

    async def testbench(ctx):
        used = 0
        kept = []
        for record in stored:
            await send_packet(ctx, dut.commands, command_append(record))
            if used + len(record) > fmt.byte_capacity:
                kind, body = await receive_packet(ctx, dut.responses)
                assert (kind, body[0]) == (ResponseKind.ERROR, ErrorCode.FULL)
                status = decode_status(body[1:])
                assert (status["records"], status["bytes_used"]) == (len(kept), used)
                continue
            used += len(record)
            kept.append(record)
        await send_packet(ctx, dut.commands, command_plain(Opcode.RECITE))
        for record in kept:
            assert await receive_packet(ctx, dut.responses) == (ResponseKind.RECORD, record)

    run_simulation(dut, testbench, name="core_full")


@pytest.mark.parametrize(
    "record_format",
    [RecordFormat(byte_capacity=1, max_records=2), RecordFormat(byte_capacity=2, max_records=3)],
    ids=["1-byte", "2-byte"],
)
def test_tiny_memory_full_cleared_and_full_again(record_format):
    """A memory of one or two bytes, where the flags beside its counters start at or next to
    their limits: filled, refused, cleared, and filled again, against the reference."""
    fill = [command_append(bytes([n])) for n in range(record_format.byte_capacity + 1)]
    packets = fill + [command_plain(Opcode.RECITE), command_plain(Opcode.CLEAR)]
    packets += [command_append(b"\xff" * (record_format.byte_capacity + 1))]  # too long
    packets += fill + [command_sample(3), command_plain(Opcode.STATUS)]
    run(record_format, packets)


@pytest.mark.parametrize(
    "record_format",
    [
        RecordFormat(byte_capacity=4, max_records=3, max_length=5, word_bytes=4),
        RecordFormat(byte_capacity=8, max_records=3, max_length=5, word_bytes=4),
        RecordFormat(byte_capacity=4, record_size=1, word_bytes=4),
        RecordFormat(byte_capacity=4, record_size=2, word_bytes=4),
        RecordFormat(byte_capacity=8, record_size=3, word_bytes=4),
        RecordFormat(byte_capacity=1, record_size=1, lanes=2),
        RecordFormat(byte_capacity=4, record_size=1, word_bytes=4, lanes=4),
    ],
    ids=[
        "one-word",
        "two-words",
        "fixed-1-in-one-word",
        "fixed-2-in-one-word",
        "fixed-3",
        "one-byte-two-lanes",
        "one-word-four-lanes",
    ],
)
def test_tiny_wide_memory_full_cleared_and_full_again(record_format):
    """Memories of one or two words, where a record's padding decides FULL: records of every
    length up to one past the longest, filled, refused, cleared and filled again."""
    longest = record_format.max_length
    lengths = [n % (longest + 1) + 1 for n in range(2 * longest + 4)]
    if record_format.fixed:
        lengths = [longest, longest - 1, longest + 1] * 2 + [longest] * 5
    fill = [command_append(bytes([0xFF * (n % 2)]) * length) for n, length in enumerate(lengths)]
    packets = fill + [command_plain(Opcode.RECITE), command_plain(Opcode.STATUS)]
    packets += (
        [command_plain(Opcode.CLEAR)] + fill + [command_sample(9), command_plain(Opcode.RECITE)]
    )
    reference = run(record_format, packets, "random", 2)
    assert reference.memory and reference.bytes_used <= record_format.byte_capacity
