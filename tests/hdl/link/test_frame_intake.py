"""The frame intake's decoded comparisons against a model: opcodes, the expected sequence number,
and record lengths at the end of the frame and one either side."""

import random

import pytest
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out
from memgen.hdl.engine.protocol import Opcode
from memgen.hdl.link.frame_buffer import FrameByte
from memgen.hdl.link.frame_intake import FrameIntake
from memgen.sim.harness.amaranth_sim import (
    STALL_PATTERNS,
    Stalls,
    run_simulation,
    stream_get,
    unused,
)


def model(frame, expected, in_sequence, length_low):
    """The flags of each byte of ``frame`` (the first byte's length checks are not used)."""
    flags = []
    for k, byte in enumerate(frame):
        rest = len(frame) - k  # bytes from this one to the end
        long_length = length_low | byte << 7
        flags.append(
            {
                "data": byte,
                "first": int(k == 0),
                "last": int(k == len(frame) - 1),
                "is_status": int(byte == Opcode.STATUS),
                "is_append": int(byte == Opcode.APPEND),
                "matches_expected": int(byte == expected),
                "opcode_consumes": int(
                    (byte != Opcode.STATUS and not in_sequence)
                    or (byte == Opcode.STATUS and k == len(frame) - 1)
                    or byte == Opcode.APPEND
                ),
                "refused": int(byte != Opcode.STATUS and not in_sequence),
                "advances": int(byte != Opcode.STATUS and in_sequence),
                "short_length_bad": int(byte == 0 or byte >= rest),
                "long_length_bad": int(long_length == 0 or long_length >= rest),
            }
        )
    return flags


def frames_for(rng):
    """Frames whose bytes sit at the length checks' boundary: a byte equal to the bytes left,
    one less and one more, zero, and the opcodes."""
    frames = []
    for length in (1, 2, 3, 9, 130, 512):
        frame = [rng.getrandbits(8) for _ in range(length)]
        for k in range(1, length):
            rest = length - k
            frame[k] = rng.choice([rest - 1, rest, rest + 1, 0, Opcode.STATUS, Opcode.APPEND])
            frame[k] = frame[k] & 0xFF
        frames.append(frame)
    return frames


@pytest.mark.parametrize("stalls", STALL_PATTERNS)
def test_flags_follow_the_model(stalls):
    rng = random.Random(stalls)
    frames = frames_for(rng)
    # a two-byte length's low bits: random for the short frames, 0, 0 and 1 for the 9-, 130- and
    # 512-byte ones (where a zero byte makes a zero length)
    lows = [rng.getrandbits(7) for _ in frames[:-3]] + [0, 0, 1]
    settings = [(rng.getrandbits(8), rng.random() < 0.5, low) for low in lows]
    dut = FrameIntake()
    got = []

    async def writer(ctx):
        feed = Stalls(stalls, 3)
        ctx.set(dut.parser_idle, 1)  # frames back to back (the wait is tested below)
        for frame, (expected, in_sequence, length_low) in zip(frames, settings, strict=True):
            ctx.set(dut.expected, expected)
            ctx.set(dut.in_sequence, in_sequence)
            ctx.set(dut.length_low, length_low)
            for k, byte in enumerate(frame):
                while feed.pause():
                    await ctx.tick()
                word = {"data": byte, "first": k == 0, "last": k == len(frame) - 1,
                        "length": len(frame)}  # fmt: skip
                ctx.set(dut.frames.valid, 1)
                ctx.set(dut.frames.payload, word)
                while True:
                    *_, ready = await ctx.tick().sample(dut.frames.ready)
                    if ready:
                        break
                ctx.set(dut.frames.valid, 0)

    async def reader(ctx):
        take = Stalls(stalls, 4, rate=0.5)
        for frame in frames:
            for _ in frame:
                word = await stream_get(ctx, dut.bytes, take)
                got.append({name: int(getattr(word, name)) for name in model([0], 0, 0, 0)[0]})

    run_simulation(dut, writer, reader, name=f"frame_intake_{stalls}")
    want = [
        flag
        for frame, setting in zip(frames, settings, strict=True)
        for flag in model(frame, *setting)
    ]
    for number, (seen, wanted) in enumerate(zip(got, want, strict=True)):
        if wanted["first"]:  # a frame's first byte is never a length
            for name in ("short_length_bad", "long_length_bad"):
                seen.pop(name), wanted.pop(name)
        assert seen == wanted, number


def test_next_frame_waits_for_the_parser():
    """After a frame's last byte is taken, no byte of the next is taken until the parser is
    back in IDLE; ``more_in_frame`` falls once the last byte has been parsed."""
    dut = FrameIntake()

    async def testbench(ctx):
        ctx.set(dut.bytes.ready, 1)
        ctx.set(dut.frames.valid, 1)
        ctx.set(dut.frames.payload, {"data": 7, "first": 1, "last": 1, "length": 1})
        await ctx.tick()
        assert ctx.get(dut.bytes.valid) and ctx.get(dut.more_in_frame)
        ctx.set(dut.frames.payload, {"data": 8, "first": 1, "last": 1, "length": 1})
        for _ in range(3):
            assert not ctx.get(dut.frames.ready)
            await ctx.tick()
        assert not ctx.get(dut.bytes.valid) and not ctx.get(dut.more_in_frame)
        ctx.set(dut.parser_idle, 1)
        assert ctx.get(dut.frames.ready)

    run_simulation(dut, testbench, name="frame_intake_wait")


def test_more_in_frame_while_a_byte_waits():
    """A two-byte frame's first byte held for the parser (not taken): bytes of the frame are
    still to come and one is waiting, so ``more_in_frame`` stays up until the last is taken."""
    dut = FrameIntake()

    async def testbench(ctx):
        ctx.set(dut.frames.valid, 1)
        ctx.set(dut.frames.payload, {"data": 1, "first": 1, "last": 0, "length": 2})
        await ctx.tick()
        ctx.set(dut.frames.valid, 0)
        for _ in range(3):  # the parser is busy: the byte waits
            assert ctx.get(dut.bytes.valid) and ctx.get(dut.more_in_frame)
            await ctx.tick()
        ctx.set(dut.bytes.ready, 1)
        await ctx.tick()
        assert not ctx.get(dut.bytes.valid) and ctx.get(dut.more_in_frame)  # one more to come

    run_simulation(dut, testbench, name="frame_intake_more")


def test_ports_are_as_documented():
    """Each parsed byte is its data byte and one-bit flags, named as the model names them."""
    flags = {name: 8 if name == "data" else 1 for name in model([0], 0, 0, 0)[0]}
    assert (
        unused(FrameIntake()).signature.members
        == wiring.Signature(
            {
                "frames": In(stream.Signature(FrameByte)),
                "bytes": Out(stream.Signature(data.StructLayout(flags))),
                "expected": In(8),
                "in_sequence": In(1),
                "length_low": In(7),
                "parser_idle": In(1),
                "more_in_frame": Out(1),
            }
        ).members
    )
