"""RECALL in the core, against the reference model: the k nearest records, under stalls,
with every refusal (k out of range, wrong sizes, empty memory, variable-length records)."""

import random

import pytest
from memgen.hdl.engine.core import MemGen
from memgen.hdl.engine.protocol import Opcode
from memgen.hdl.engine.records import RecordFormat
from memgen.host.codec import command_append, command_plain, command_recall, decode_recall
from memgen.host.reference import MemGenReference
from memgen.sim.harness.amaranth_sim import STALL_PATTERNS, Stalls, run_simulation
from memgen.sim.harness.core_script import run_script

CORE = RecordFormat(byte_capacity=4 * 30, record_size=4)  # 30 records
#: the same records in words of 4 bytes, and packed two to a word of 8, also with lanes
WIDE = {
    "bytes": CORE,
    "words-4": RecordFormat(byte_capacity=4 * 30, record_size=4, word_bytes=4),
    "packed-in-8": RecordFormat(byte_capacity=4 * 32, record_size=4, word_bytes=8),
    # lanes: RECALL scans lane 0's records, slot 0 of the beats
    "words-4-by-2": RecordFormat(byte_capacity=4 * 30, record_size=4, word_bytes=4, lanes=2),
    "packed-in-8-by-4": RecordFormat(byte_capacity=4 * 32, record_size=4, word_bytes=8, lanes=4),
}


def run_core(record_format, packets, stalls="none", seed=0):
    dut = MemGen(record_format)
    reference = MemGenReference(record_format)
    result = {}

    async def testbench(ctx):
        result["responses"] = await run_script(
            ctx, dut, reference, packets, Stalls(stalls, seed), Stalls(stalls, seed + 7, rate=0.5)
        )

    run_simulation(dut, testbench, name=f"core_recall_{stalls}_{seed}")
    return result["responses"]


@pytest.mark.parametrize("stalls", STALL_PATTERNS)
@pytest.mark.parametrize("record_format", WIDE.values(), ids=WIDE.keys())
def test_core_recall_matches_the_reference(stalls, record_format):
    """Every answer as the reference's; a wide core scans its words a byte per clock."""
    rng = random.Random(8)
    size = record_format.record_size
    records = [rng.randbytes(size) for _ in range(30)]
    packets = [command_recall(records[0])]  # empty memory: EMPTY
    packets += [command_append(records[0]), command_recall(bytes(size), k=8)]  # k > N
    packets += [command_append(record) for record in records[1:]]
    packets += [
        command_recall(records[13]),  # a stored record: itself at distance 0
        command_recall(rng.randbytes(size), k=8),
        command_recall(rng.randbytes(size), k=3, mask=rng.randbytes(size)),
        command_recall(bytes(size), k=5, mask=bytes(size)),  # all distances 0
        command_recall(records[0], k=0),  # BAD_COMMAND
        command_recall(records[0], k=9),  # BAD_COMMAND
        command_recall(records[0])[:-1],  # WRONG_SIZE (a byte short)
        command_recall(records[0]) + b"\x00",  # WRONG_SIZE (a byte long)
        bytes([Opcode.RECALL, 1]),  # WRONG_SIZE (no query)
        command_recall(records[0]) + records[0],  # WRONG_SIZE (a record long: positions wrap)
        command_recall(records[0]) + records[0] * 2,  # WRONG_SIZE (two records long)
        bytes([Opcode.RECALL]),  # BAD_COMMAND
        command_plain(Opcode.STATUS),
    ]
    responses = run_core(record_format, packets, stalls, seed=3)
    answers = [decode_recall(b"".join(body for _, body in r), size) for r in responses[32:36]]
    assert answers[0][0] == (13, 0, records[13])
    assert len(answers[1]) == 8 and [d for _, d, _ in answers[1]] == sorted(
        d for _, d, _ in answers[1]
    )
    assert [(i, d) for i, d, _ in answers[3]] == [(i, 0) for i in range(5)]
    assert len(decode_recall(responses[2][0][1], size)) == 1  # k = 8, one record stored


@pytest.mark.parametrize("width", [1, 4])
def test_core_recall_with_equal_records_and_one_byte_records(width):
    fmt = RecordFormat(byte_capacity=12, record_size=1, word_bytes=width)
    packets = [command_append(b"\x0f") for _ in range(12)]
    packets += [command_recall(b"\xf0", k=8), command_recall(b"\x0f", k=2)]
    packets += [command_append(b"\x00")]  # FULL: nothing changes
    packets += [command_recall(b"\x01", k=1)]
    run_core(fmt, packets, "random", seed=5)


def test_variable_records_have_no_recall():
    fmt = RecordFormat(byte_capacity=64, max_records=8, max_length=8)
    run_core(fmt, [command_append(b"abc"), command_recall(b"abc"), bytes([Opcode.RECALL])])
