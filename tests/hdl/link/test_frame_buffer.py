"""The frame buffer: commits keep exactly a frame's first ``length`` bytes, rollbacks keep none,
``full`` and ``room`` at their boundaries, and only two-port backends of the right shape."""

import random

import pytest
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out
from memgen.hdl.common.faults import with_fault
from memgen.hdl.engine.storage import LibMemoryStorage
from memgen.hdl.fpga.dp16kd import DP16KDBuffer
from memgen.hdl.link.frame_buffer import (
    BufferWriteSignature,
    FrameBuffer,
    TwoPortBuffer,
    buffer_members,
)
from memgen.hdl.link.protocol import MAX_BODY
from memgen.sim.harness.amaranth_sim import (
    STALL_PATTERNS,
    Stalls,
    refused_component,
    run_simulation,
    stream_get,
    unused,
)


def run_buffer(actions, reads, registered=False, stalls="none", depth=1024, slots=4, fault=None):
    """Apply ``actions`` (("write", byte), ("commit", length), ("rollback",)), one every other
    clock as the checker does, then read ``reads`` frames. Returns the frames (bytes, with the
    length each byte carried), ``full`` as seen before each write and ``room`` before each
    commit."""
    memory = DP16KDBuffer(8, depth, primitive=False) if registered else None
    dut = with_fault(FrameBuffer, fault)(depth, slots, memory)
    frames, fulls, rooms = [], [], []

    async def writer(ctx):
        for action in actions:
            kind = action[0]
            if kind == "write":
                fulls.append(ctx.get(dut.writes.full))
                ctx.set(dut.writes.data, action[1])
            elif kind == "commit":
                rooms.append(ctx.get(dut.writes.room))
                ctx.set(dut.writes.length, action[1])
            ctx.set(getattr(dut.writes, kind), 1)
            await ctx.tick()
            ctx.set(getattr(dut.writes, kind), 0)
            await ctx.tick()

    async def reader(ctx):
        out_stalls = Stalls(stalls, 5, rate=0.5)
        for _ in range(reads):
            got, lengths = bytearray(), set()
            while True:
                word = await stream_get(ctx, dut.frames, out_stalls)
                assert word.first == (not got)
                got.append(word.data)
                lengths.add(word.length)
                if word.last:
                    break
            frames.append((bytes(got), lengths))

    run_simulation(dut, writer, reader, name="frame_buffer")
    return frames, fulls, rooms


def writes(payload):
    return [("write", byte) for byte in payload]


@pytest.mark.parametrize("registered", [False, True])
@pytest.mark.parametrize("stalls", STALL_PATTERNS)
def test_commit_keeps_the_first_length_bytes_and_rollback_none(registered, stalls):
    rng = random.Random(stalls)
    actions, want = [], []
    # 3 + 508 and 511 + 37 share bits: a commit must add the length to the end, not OR it
    for length in (1, 2, MAX_BODY - 4, 37, 3, 6):
        body = rng.randbytes(length + 4)  # a frame's length and CRC are written, then dropped
        if length in (2, 3):
            actions += writes(rng.randbytes(9)) + [("rollback",)]
        actions += writes(body) + [("commit", length)]
        want.append((body[:length], {length}))
    frames, _, rooms = run_buffer(actions, len(want), registered, stalls)
    assert frames == want
    assert all(rooms)


def test_full_at_depth_minus_one_and_no_room_past_the_slots():
    """Nothing committed, so nothing read: ``full`` rises once ``depth - 1`` bytes are held (the
    byte after is the first refused), and ``room`` falls with the length queue."""
    depth = 1024
    _, fulls, _ = run_buffer(writes(bytes(range(256)) * 4), 0, depth=depth)
    assert len(fulls) == depth
    assert fulls[: depth - 1] == [0] * (depth - 1)  # up to 1,022 held: room for one more
    assert fulls[-1] == 1  # 1,023 held: the next byte is refused
    frame = writes(b"12345") + [("commit", 1)]
    _, _, rooms = run_buffer(frame * 6, 0, slots=4)
    assert rooms == [1] * 5 + [0]  # four queued, and the first taken by the (stalled) reader


def test_full_counts_from_the_reader_after_a_wrap():
    """A 100-byte frame committed and read, then bytes written on past the end of the memory:
    ``full`` rises once ``depth - 1`` bytes beyond the reader are held."""
    depth = 1024
    frame = writes(bytes(104)) + [("commit", 100)]
    more = writes(bytes(range(256)) * 4)
    frames, fulls, _ = run_buffer(frame + more, 1, depth=depth)
    assert frames == [(bytes(100), {100})]
    assert fulls[104:] == [0] * (depth - 1) + [1]


@pytest.mark.parametrize("registered", [False, True])
def test_output_that_ignores_stalls_is_caught(registered):
    """The planted fault: the read port moves while the output is stalled, and the payload
    changes under the stall."""
    actions = writes(bytes(range(40))) + [("commit", 36)]
    with pytest.raises(AssertionError, match="payload changed"):
        run_buffer(actions, 1, registered, "random", fault="unstable_output")


def test_backends_are_checked():
    for depth in (1000, 640, MAX_BODY, MAX_BODY // 2):  # not a power of two, or not above 512
        with refused_component(), pytest.raises(ValueError, match="power of two above 512"):
            FrameBuffer(depth)
    with refused_component(), pytest.raises(TypeError, match="'writes' and 'reads' sides"):
        FrameBuffer(1024, memory=TwoPortBuffer(2048))  # a wrong address width
    with refused_component(), pytest.raises(TypeError, match="StorageSignature"):
        FrameBuffer(1024, memory=LibMemoryStorage(1024, 8))  # one port, not two
    slow = unused(wiring.Component(buffer_members(1024, read_latency=3)))
    with refused_component(), pytest.raises(TypeError, match="read latency of 1 or 2"):
        FrameBuffer(1024, memory=slow)  # the reader registers flags for at most two stages
    registered = unused(FrameBuffer(1024, memory=unused(DP16KDBuffer(8, 1024))))
    assert registered.read_latency == 2
    default = FrameBuffer()
    unused(default, default.memory)
    assert (default.depth, default.length_slots, default.read_latency) == (1024, 8, 1)


def test_ports_are_as_documented():
    """A frame's length (up to MAX_BODY) travels with each byte; the writer's strobes are one
    bit; the frame bytes carry a data byte and one-bit packet flags."""
    length = range(MAX_BODY + 1)
    assert (
        BufferWriteSignature().members
        == wiring.Signature(
            {
                "data": Out(8),
                "write": Out(1),
                "length": Out(length),
                "commit": Out(1),
                "rollback": Out(1),
                "full": In(1),
                "room": In(1),
            }
        ).members
    )
    frame_byte = data.StructLayout({"data": 8, "first": 1, "last": 1, "length": length})
    buffer = FrameBuffer(1024)
    members = unused(buffer, buffer.memory)[0].signature.members
    assert members["frames"] == Out(stream.Signature(frame_byte))
    writer = members["writes"]
    assert (writer.flow, type(writer.signature.flip())) == (In, BufferWriteSignature)


@pytest.mark.parametrize("verdict", ["commit", "rollback"])
def test_a_write_at_a_verdict_is_caught(verdict):
    """The checker never writes a byte in the clock it commits or rolls back; the buffer's
    assertion says so if it does."""
    dut = FrameBuffer(1024)

    async def testbench(ctx):
        ctx.set(dut.writes.write, 1)
        ctx.set(getattr(dut.writes, verdict), 1)
        await ctx.tick()
        await ctx.tick()

    with pytest.raises(AssertionError, match="write at a verdict"):
        run_simulation(dut, testbench, name="frame_buffer_misuse")
