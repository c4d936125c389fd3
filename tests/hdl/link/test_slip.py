"""The SLIP decoder against a model written from RFC 1055, on streams dense in its four special
bytes, with a flush in the middle of an escape."""

import itertools
import random

import pytest
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out
from memgen.hdl.link.protocol import SLIP_END, SLIP_ESC, SLIP_ESC_END, SLIP_ESC_ESC
from memgen.hdl.link.slip import SlipDecoder
from memgen.sim.harness.amaranth_sim import STALL_PATTERNS, Stalls, run_simulation, unused

SPECIAL = [SLIP_END, SLIP_ESC, SLIP_ESC_END, SLIP_ESC_ESC]


def model(line, flush_before=()):
    """(data, end, escape, bad_escape) for each line byte; an escape is forgotten before the
    positions in ``flush_before``."""
    symbols, escaped = [], False
    for position, byte in enumerate(line):
        if position in flush_before:
            escaped = False
        if escaped:
            value = {SLIP_ESC_END: SLIP_END, SLIP_ESC_ESC: SLIP_ESC}.get(byte, byte)
            bad = byte not in (SLIP_ESC_END, SLIP_ESC_ESC)
            symbols.append((value, byte == SLIP_END, False, bad))
            escaped = False
        else:
            starts = byte == SLIP_ESC
            symbols.append((byte, byte == SLIP_END, starts, False))
            escaped = starts
    return symbols


def decode(line, stalls="none", flush_before=()):
    dut = SlipDecoder()
    got = []

    async def testbench(ctx):
        feed, take = Stalls(stalls, 1), Stalls(stalls, 2)
        for position, byte in enumerate(line):
            if position in flush_before:
                ctx.set(dut.flush, 1)
                await ctx.tick()
                ctx.set(dut.flush, 0)
            while feed.pause():
                await ctx.tick()
            ctx.set(dut.bytes.valid, 1)
            ctx.set(dut.bytes.payload, byte)
            while True:
                ready = not take.pause()
                ctx.set(dut.symbols.ready, ready)
                assert ctx.get(dut.bytes.ready) == ready, "ready is the checker's"
                assert ctx.get(dut.symbols.valid)
                if ready:
                    symbol = ctx.get(dut.symbols.payload)
                    got.append((symbol.data, symbol.end, symbol.escape, symbol.bad_escape))
                    await ctx.tick()
                    break
                await ctx.tick()
            ctx.set(dut.bytes.valid, 0)
            assert ctx.get(dut.escaping) == (got[-1][2] == 1)

    run_simulation(dut, testbench, name="slip")
    return [tuple(int(x) for x in symbol) for symbol in got]


def test_every_pair_of_special_and_ordinary_bytes():
    """Each special byte and two ordinary ones (0x00, 0xFF) after each other, in every order."""
    alphabet = [*SPECIAL, 0x00, 0xFF]
    line = [byte for pair in itertools.product(alphabet, repeat=2) for byte in pair]
    line += [SLIP_ESC, SLIP_ESC, SLIP_ESC, SLIP_ESC_END]  # an escape of an escape
    assert decode(line) == [tuple(int(x) for x in s) for s in model(line)]


@pytest.mark.parametrize("stalls", STALL_PATTERNS)
def test_random_streams_under_stalls(stalls):
    rng = random.Random(stalls)
    line = [rng.choice(SPECIAL) if rng.random() < 0.5 else rng.getrandbits(8) for _ in range(600)]
    want = [tuple(int(x) for x in s) for s in model(line)]
    assert decode(line, stalls) == want


def test_flush_forgets_half_an_escape():
    """A flush between ESC and ESC_END: the second byte is an ordinary 0xDC, not END's value."""
    line = [SLIP_ESC, SLIP_ESC_END, SLIP_ESC, SLIP_ESC_END]
    got = decode(line, flush_before={3})
    assert got == [tuple(int(x) for x in s) for s in model(line, flush_before={3})]
    assert got[1][0] == SLIP_END and got[3][0] == SLIP_ESC_END


def test_ports_are_as_documented():
    """Line bytes of 8 bits in; symbols of a data byte and three one-bit flags out; one-bit
    ``escaping`` and ``flush``."""
    expected = wiring.Signature(
        {
            "bytes": In(stream.Signature(8)),
            "symbols": Out(
                stream.Signature(
                    data.StructLayout({"data": 8, "end": 1, "escape": 1, "bad_escape": 1})
                )
            ),
            "escaping": Out(1),
            "flush": In(1),
        }
    )
    assert unused(SlipDecoder()).signature == expected
