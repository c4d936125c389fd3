"""The command ROM plays its script once, byte for byte with first/last, under every stall
pattern, then says done; an empty script or packet is refused."""

import random

import pytest
from amaranth.lib import stream
from amaranth.lib.wiring import Out
from memgen.hdl.engine.records import RecordWord
from memgen.hdl.examples.command_rom import CommandROM
from memgen.sim.harness.amaranth_sim import (
    STALL_PATTERNS,
    Stalls,
    refused_component,
    run_simulation,
    stream_get,
    unused,
)


def test_ports_are_as_documented():
    rom = unused(CommandROM([b"\x06"]))
    assert dict(rom.signature.members) == {
        "commands": Out(stream.Signature(RecordWord)),
        "done": Out(1),
    }


@pytest.mark.parametrize("packets", [[], [b""], [b"\x01a", b""]])
def test_an_empty_script_or_packet_is_refused(packets):
    with refused_component(), pytest.raises(ValueError, match="one or more packets"):
        CommandROM(packets)


@pytest.mark.parametrize("pattern", STALL_PATTERNS)
@pytest.mark.parametrize("lengths", [[1], [1, 1, 1], [2, 5, 1, 9], [300]])
def test_the_script_is_played_once(pattern, lengths):
    rng = random.Random(len(lengths))
    packets = [bytes(rng.getrandbits(8) for _ in range(length)) for length in lengths]
    rom = CommandROM(packets)
    stalls = Stalls(pattern, seed=3)

    async def testbench(ctx):
        assert not ctx.get(rom.done)
        got, packet = [], bytearray()
        while len(got) < len(packets):
            word = await stream_get(ctx, rom.commands, stalls, patience=100)
            assert word.first == (not packet)
            packet.append(word.data)
            if word.last:
                got.append(bytes(packet))
                packet.clear()
        assert got == packets
        assert ctx.get(rom.done)
        ctx.set(rom.commands.ready, 1)
        for _ in range(20):  # nothing more
            await ctx.tick()
            assert not ctx.get(rom.commands.valid)

    run_simulation(rom, testbench, name="command_rom", clocks=10 * sum(lengths) + 200)
