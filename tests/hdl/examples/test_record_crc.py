"""The running CRC-32 equals zlib's over every RECORD byte, whatever the other packets and the
gaps between bytes; records are counted at their last byte; an ERROR packet is flagged."""

import random
import zlib

import pytest
from amaranth.lib import stream
from amaranth.lib.wiring import In, Out
from memgen.hdl.engine.core import response_layout
from memgen.hdl.engine.protocol import ResponseKind
from memgen.hdl.engine.records import RecordFormat
from memgen.hdl.examples.record_crc import RecordCRC
from memgen.sim.harness.amaranth_sim import run_simulation, unused

FORMAT = RecordFormat(4096, max_records=64, max_length=300)


def test_ports_are_as_documented():
    crc = unused(RecordCRC(FORMAT))
    assert dict(crc.signature.members) == {
        "responses": In(stream.Signature(response_layout(FORMAT))),
        "crc": Out(32),
        "records": Out(32),
        "error": Out(1),
    }


@pytest.mark.parametrize("seed", [1, 2])
def test_crc_of_every_record_byte(seed):
    rng = random.Random(seed)
    records = [b"\x00", b"\xff" * 7, bytes([0x80]), *(rng.randbytes(rng.randrange(1, 40))
                                                    for _ in range(30))]  # fmt: skip
    packets = [(ResponseKind.RECORD, record) for record in records]
    packets += [(ResponseKind.STATUS, rng.randbytes(12)), (ResponseKind.INDEX, rng.randbytes(4))]
    rng.shuffle(packets)
    errors = [(ResponseKind.ERROR, b"\x02" + bytes(12))]
    checksum = RecordCRC(FORMAT)

    async def testbench(ctx):
        assert ctx.get(checksum.crc) == zlib.crc32(b"")
        crc, count = 0, 0
        for kind, payload in packets + errors:
            for index, byte in enumerate(payload):
                while rng.random() < 0.3:  # gaps
                    ctx.set(checksum.responses.valid, 0)
                    await ctx.tick()
                assert ctx.get(checksum.responses.ready)
                ctx.set(checksum.responses.valid, 1)
                ctx.set(checksum.responses.payload, {"data": byte, "first": index == 0,
                        "last": index == len(payload) - 1, "kind": kind, "length": 0})  # fmt: skip
                await ctx.tick()
            if kind == ResponseKind.RECORD:
                crc, count = zlib.crc32(payload, crc), count + 1
            assert ctx.get(checksum.crc) == crc
            assert ctx.get(checksum.records) == count
            assert ctx.get(checksum.error) == (kind == ResponseKind.ERROR)

    run_simulation(checksum, testbench, name="record_crc")
