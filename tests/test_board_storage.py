"""Board memory backends in simulation: the iCEBreaker's four SPRAM blocks (the primitive's model)
and registered writes, filled to capacity through the core, refusing the next record, every
record read back; each board's design at its full size against the reference model."""

import random

import pytest
from memgen.boards import BOARDS, board
from memgen.hdl.core import MemGen
from memgen.hdl.protocol import (
    ErrorCode,
    Opcode,
    ResponseKind,
    command_append,
    command_plain,
    command_sample,
)
from memgen.hdl.records import RecordFormat
from memgen.hdl.spram import SPRAM_BLOCK_BYTES, SPRAMStorage
from memgen.hdl.storage import RegisteredWrites
from memgen.host.reference import MemGenReference
from memgen.sim.amaranth_sim import run_simulation
from memgen.sim.core_bench import run_script


def test_spram_fill_refuse_read_back():
    """2,048 records of 64 bytes fill the four blocks exactly; the next is refused FULL; RECITE
    returns every one and SAMPLE the reference's records."""
    fmt = RecordFormat(131072, record_size=64)
    dut = MemGen(fmt, data_storage=RegisteredWrites(SPRAMStorage(4, primitive=False)))
    reference = MemGenReference(fmt)
    rng = random.Random(7)
    records = [rng.randbytes(64) for _ in range(fmt.max_records)]
    packets = [command_append(record) for record in records]
    packets += [command_append(b"x" * 64), command_plain(Opcode.RECITE), command_sample(500)]

    async def testbench(ctx):
        responses = await run_script(ctx, dut, reference, packets)
        ((kind, payload),) = responses[len(records)]
        assert (kind, payload[0]) == (ResponseKind.ERROR, ErrorCode.FULL)
        assert [payload for _, payload in responses[len(records) + 1]] == records

    run_simulation(dut, testbench, name="spram_fill")


def test_spram_lanes_and_blocks():
    """Bytes at both lanes of a word and in every block land where addressed (no aliasing)."""
    storage = SPRAMStorage(4, primitive=False)
    addresses = [0, 1, 2, 32767, 32768, 32769, 65536, 98303, 98304, 131071]

    async def testbench(ctx):
        port = storage.port
        for address in addresses:
            ctx.set(port.address, address)
            ctx.set(port.write_data, (address * 37 + 11) & 0xFF)
            ctx.set(port.write_enable, 1)
            await ctx.tick()
        ctx.set(port.write_enable, 0)
        for address in addresses:
            ctx.set(port.address, address)
            ctx.set(port.read_enable, 1)
            await ctx.tick()
            ctx.set(port.read_enable, 0)
            assert ctx.get(port.read_data) == (address * 37 + 11) & 0xFF, address
            await ctx.tick()  # held while read_enable is low
            assert ctx.get(port.read_data) == (address * 37 + 11) & 0xFF, address

    run_simulation(storage, testbench, name="spram_lanes")


@pytest.mark.parametrize("name", BOARDS)
def test_board_format_uses_the_memory(name):
    """Each board's record format matches the memory it says it has."""
    spec = board(name)
    if name == "icebreaker":
        assert spec.record_format.byte_capacity == 4 * SPRAM_BLOCK_BYTES == 131072
    else:
        assert spec.record_format.byte_capacity >= 384 * 1024
