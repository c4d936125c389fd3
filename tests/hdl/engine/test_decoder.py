"""The command decoder against the protocol's table: every opcode at every argument length from
none to one past its own (and far past, where a wrapping count would alias), bodies passed on
byte for byte, under stalls on all three streams."""

import random

import pytest
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out
from memgen.hdl.engine.decoder import CommandDecoder, Operation
from memgen.hdl.engine.protocol import ARGUMENT_BYTES, Opcode
from memgen.sim.harness.amaranth_sim import (
    STALL_PATTERNS,
    Stalls,
    run_simulation,
    stream_get,
    stream_put,
    unused,
)

SIMPLE = {Opcode.RECITE: Operation.RECITE, Opcode.CLEAR: Operation.CLEAR,
          Opcode.STATUS: Operation.STATUS}  # fmt: skip
WITH_ARGUMENT = {Opcode.SAMPLE: Operation.SAMPLE, Opcode.INDICES: Operation.INDICES,
                 Opcode.SEED: Operation.SEED}  # fmt: skip


def expected(packet, recall):
    """(operation, argument bytes or None, body) the protocol gives a packet."""
    opcode, rest = packet[0], bytes(packet[1:])
    if opcode == Opcode.APPEND and rest or (recall and opcode == Opcode.RECALL and rest):
        return (Operation.APPEND if opcode == Opcode.APPEND else Operation.RECALL), None, rest
    if not rest and opcode in SIMPLE:
        return SIMPLE[opcode], None, b""
    if opcode in WITH_ARGUMENT and len(rest) == ARGUMENT_BYTES[opcode]:
        return WITH_ARGUMENT[opcode], rest, b""
    return Operation.BAD, None, b""


def packets(rng, recall):
    """Every opcode (and unknown ones) with 0 .. 9 argument bytes and a long tail."""
    found = []
    # unknown ones too: below, above and each opcode with its top bit set (an 8-bit compare)
    for opcode in [*Opcode, 0x00, 0x09, 0xFF, *(0x80 | code for code in Opcode)]:
        for length in [*range(10), 24, 64]:
            found.append(bytes([opcode, *(rng.getrandbits(8) for _ in range(length))]))
    found.append(bytes([Opcode.APPEND, 0, 0, 0]))  # zeros in a body
    found.append(bytes([Opcode.SEED, *[0xFF] * 8]))  # all ones in an argument
    rng.shuffle(found)
    return found


@pytest.mark.parametrize("recall", [False, True])
@pytest.mark.parametrize("stalls", STALL_PATTERNS)
def test_packets_decode_as_the_protocol_says(stalls, recall):
    dut = CommandDecoder(recall)
    rng = random.Random(f"{stalls} {recall}")
    sent = packets(rng, recall)

    async def put(ctx):
        for packet in sent:
            for index, byte in enumerate(packet):
                last = index == len(packet) - 1
                word = {"data": byte, "first": int(index == 0), "last": int(last)}
                await stream_put(ctx, dut.commands, word, Stalls(stalls, 1))
        ctx.set(dut.commands.valid, 0)

    async def get(ctx):
        for packet in sent:
            operation, argument, body = expected(packet, recall)
            decoded = await stream_get(ctx, dut.decoded, Stalls(stalls, 2))
            assert decoded.operation == operation, packet.hex()
            if argument is not None:  # shifted in from the top; the bits below are not read
                top = decoded.argument >> 8 * (8 - len(argument))
                assert top == int.from_bytes(argument, "little"), packet.hex()
            received = []
            for index in range(len(body)):
                word = await stream_get(ctx, dut.body, Stalls(stalls, 3))
                assert (word.first, word.last) == (index == 0, index == len(body) - 1)
                received.append(word.data)
            assert bytes(received) == body, packet.hex()

    run_simulation(dut, put, get, name=f"decoder_{stalls}_{recall}")


def test_idle_only_between_commands():
    """``idle`` is high before a command and after its decoded word and body are taken, and low
    from its first byte until then."""
    dut = CommandDecoder(recall=False)

    async def testbench(ctx):
        assert ctx.get(dut.idle)
        ctx.set(dut.commands.payload, {"data": Opcode.APPEND, "first": 1, "last": 0})
        ctx.set(dut.commands.valid, 1)
        await ctx.tick()
        ctx.set(dut.commands.payload, {"data": 7, "first": 0, "last": 1})
        for _ in range(3):
            assert not ctx.get(dut.idle)
            await ctx.tick()
        ctx.set(dut.decoded.ready, 1)
        await ctx.tick()
        ctx.set(dut.decoded.ready, 0)
        assert not ctx.get(dut.idle)
        ctx.set(dut.body.ready, 1)
        await ctx.tick()
        ctx.set(dut.commands.valid, 0)
        assert ctx.get(dut.idle)

    run_simulation(dut, testbench, name="decoder_idle")


def test_ports_and_operations_are_as_documented():
    """Command and body words of a byte and two flags; each operation its own code within the
    decoded word's 4 bits (an alias would make two commands one)."""
    word = data.StructLayout({"data": 8, "first": 1, "last": 1})
    decoded = data.StructLayout({"operation": 4, "argument": 64})
    assert (
        unused(CommandDecoder(recall=False)).signature.members
        == wiring.Signature(
            {
                "commands": In(stream.Signature(word)),
                "decoded": Out(stream.Signature(decoded)),
                "body": Out(stream.Signature(word)),
                "idle": Out(1),
            }
        ).members
    )
    names = ["BAD", "APPEND", "SAMPLE", "INDICES", "RECITE", "CLEAR", "SEED", "STATUS", "RECALL"]
    assert [operation.name for operation in Operation] == names  # aliases are not listed
    assert all(0 <= operation < 16 for operation in Operation)
