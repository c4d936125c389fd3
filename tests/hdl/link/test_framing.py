"""Gateware deframer against the host codec: good, corrupted (10,000), timed-out, overflowing."""

import random

import pytest
from amaranth.hdl import Elaboratable, Module
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out
from memgen.hdl.fpga.dp16kd import DP16KDBuffer
from memgen.hdl.link.frame_buffer import BufferWriteSignature, FrameByte
from memgen.hdl.link.frame_checker import FrameChecker, rejection_signature
from memgen.hdl.link.framing import Deframer, Framer, PacketByte
from memgen.hdl.link.protocol import SLIP_END, FrameError
from memgen.hdl.link.slip import SlipSymbol
from memgen.hdl.link.uart import UARTReceiver, UARTTransmitter
from memgen.host.codec import FrameDecoder, encode_frame
from memgen.sim.harness.amaranth_sim import (
    STALL_PATTERNS,
    Stalls,
    refused_component,
    run_simulation,
    stream_get,
    stream_put,
    unused,
)


def body(sequence, payload):
    """What the deframer passes on for a good frame: sequence and payload."""
    return bytes([sequence]) + payload


def corrupt(frame, rng):
    """One corruption the protocol must always catch: 1-3 bit flips, a dropped, duplicated or
    truncated tail, or garbage before the closing END."""
    frame = bytearray(frame)
    action = rng.choice(["flip1", "flip2", "flip3", "drop", "duplicate", "truncate", "garbage"])
    inner = range(1, len(frame) - 1)
    original = bytes(frame)
    if action.startswith("flip"):
        flips = min(int(action[-1]), len(inner))
        for position in rng.sample(inner, flips):
            frame[position] ^= 1 << rng.randrange(8)
    elif action == "drop":
        del frame[rng.choice(inner)]
    elif action == "duplicate":
        position = rng.choice(inner)
        frame.insert(position, frame[position])
    elif action == "truncate":
        frame = frame[: rng.choice(inner)] + bytes([SLIP_END])
    else:
        garbage = bytes(rng.choice([b for b in range(256) if b != SLIP_END]) for _ in range(3))
        frame = frame[:-1] + garbage + bytes([SLIP_END])
    assert bytes(frame) != original
    return bytes(frame)


def run_deframer(
    stream_bytes, expected_bodies, stalls="none", seed=0, gap_at=None, spacing=0, **params
):
    """Feed bytes (with a pause after byte ``gap_at``, and ``spacing`` clocks after every byte);
    read frames; return rejection codes."""
    dut = Deframer(**params)
    rejections = []
    feeder = Stalls(stalls, seed)

    async def writer(ctx):
        for position, byte in enumerate(stream_bytes):
            await stream_put(ctx, dut.bytes, byte, feeder)
            await ctx.tick().repeat(spacing) if spacing else None
            if gap_at is not None and position == gap_at[0]:
                for _ in range(gap_at[1]):
                    await ctx.tick()
        for _ in range(50):
            await ctx.tick()

    async def reader(ctx):
        out_stalls = Stalls(stalls, seed + 1, rate=0.5)
        for number, want in enumerate(expected_bodies):
            got = bytearray()
            while True:
                word = await stream_get(ctx, dut.frames, out_stalls)
                assert word.first == (len(got) == 0)
                got.append(word.data)
                if word.last:
                    break
            assert bytes(got) == want, f"frame {number}: {bytes(got).hex()} != {want.hex()}"

    frames_out = []  # the lengths each frame's bytes came with

    async def monitor(ctx):
        samples = ctx.tick().sample(
            dut.rejections.valid,
            dut.rejections.payload,
            dut.frames.valid,
            dut.frames.ready,
            dut.frames.payload,
        )
        lengths = set()
        async for _clk, _rst, rejected, code, valid, ready, word in samples:
            if rejected:
                rejections.append(FrameError(code))
            if valid and ready:
                lengths.add(word.length)
                if word.last:
                    frames_out.append(lengths)
                    lengths = set()

    # every byte has a clock, at most a few of stall and one of spacing (a hang fails, fast)
    clocks = 20 * len(stream_bytes) * (spacing + 1) + (gap_at[1] if gap_at else 0) + 10_000
    run_simulation(
        dut, writer, reader, processes=[monitor], name=f"deframer_{stalls}", clocks=clocks
    )
    assert len(frames_out) == len(expected_bodies), "a frame came out that should not have"
    assert frames_out == [{len(want)} for want in expected_bodies], "frame length out of step"
    return rejections


def buffer_memory(registered):
    """The default frame buffer memory, or the ULX3S's (a DP16KD read through its register)."""
    return DP16KDBuffer(8, 1024, primitive=False) if registered else None


def test_ports_are_as_documented():
    """Bytes in, checked frames and one-clock rejections (a 3-bit code, never stalled) out;
    the checker between the SLIP decoder and the frame buffer; packets in, bytes out."""
    assert rejection_signature() == stream.Signature(3, always_ready=True)
    assert PacketByte == data.StructLayout({"data": 8, "first": 1, "last": 1, "sequence": 8})
    deframer = Deframer()
    unused(deframer, deframer.decoder, deframer.checker, deframer.buffer, deframer.buffer.memory)
    assert dict(deframer.signature.members) == {
        "bytes": In(stream.Signature(8)),
        "frames": Out(stream.Signature(FrameByte)),
        "rejections": Out(rejection_signature()),
    }
    members = unused(FrameChecker()).signature.members
    buffer = members["buffer"]
    assert (buffer.flow, type(buffer.signature)) == (Out, BufferWriteSignature)
    assert dict(members) == {
        "symbols": In(stream.Signature(SlipSymbol)),
        "escaping": In(1),
        "flush": Out(1),
        "buffer": buffer,
        "rejections": Out(rejection_signature()),
    }
    assert dict(unused(Framer()).signature.members) == {
        "packets": In(stream.Signature(PacketByte)),
        "bytes": Out(stream.Signature(8)),
    }


@pytest.mark.parametrize("registered", [False, True])
@pytest.mark.parametrize("stalls", STALL_PATTERNS)
def test_good_frames(stalls, registered):
    """Every good frame's bytes come out in order, first/last marked, each with its frame's
    length, under every stall pattern; with the output register (the ULX3S) too."""
    rng = random.Random(stalls)
    frames = [(n, rng.randbytes(rng.choice([0, 1, 2, 30, 507]))) for n in range(12)]
    frames.append((0xC0, bytes([0xC0, 0xDB] * 20)))  # every byte escaped
    wire = b"".join(encode_frame(s, p) for s, p in frames)
    expected = [body(s, p) for s, p in frames]
    memory = buffer_memory(registered)
    assert run_deframer(wire, expected, stalls, seed=2, buffer_memory=memory) == []


def test_the_first_frame_needs_no_leading_end():
    """Out of reset the deframer is between frames: a first frame without its opening END is
    received, and so is the one after it."""
    wire = encode_frame(3, b"abc")[1:] + encode_frame(4, b"")
    assert run_deframer(wire, [body(3, b"abc"), body(4, b"")]) == []


def test_idle_timeout_drops_a_half_frame():
    frame = encode_frame(5, b"hello")
    half = frame[:6]  # END, sequence, four payload bytes
    # the next frame comes without its leading END: only the timeout can have reset the state
    wire = half + frame[1:]
    rejections = run_deframer(wire, [body(5, b"hello")], gap_at=(5, 300), idle_timeout=200)
    assert rejections == [FrameError.TIMEOUT]


@pytest.mark.parametrize("registered", [False, True])
def test_full_buffer_rejects_then_recovers(registered):
    """Nobody reads: frames beyond the buffer are refused (OVERFLOW), stored ones stay intact."""
    frames = [(n, bytes([n]) * 200) for n in range(8)]
    wire = b"".join(encode_frame(s, p) for s, p in frames)
    memory = buffer_memory(registered)
    rejections = run_deframer(wire, [], buffer_depth=1024, buffer_memory=memory)
    assert rejections and set(rejections) == {FrameError.OVERFLOW}


def test_buffer_depth_is_checked():
    with refused_component(), pytest.raises(ValueError, match="power of two above 512"):
        Deframer(buffer_depth=1000)


class LinkLoopback(Elaboratable):
    """Framer -> UART transmitter -> UART receiver -> deframer: the link as a board has it."""

    def __init__(self, divisor):
        self.divisor = divisor
        self.framer = Framer()
        self.transmitter = UARTTransmitter()
        self.receiver = UARTReceiver()
        self.deframer = Deframer()

    def elaborate(self, platform):
        m = Module()
        m.submodules.framer, m.submodules.deframer = self.framer, self.deframer
        m.submodules.transmitter, m.submodules.receiver = self.transmitter, self.receiver
        wiring.connect(m, self.framer.bytes, self.transmitter.bytes)
        wiring.connect(m, self.receiver.bytes, self.deframer.bytes)
        m.d.comb += [
            self.receiver.rx.eq(self.transmitter.tx),
            self.transmitter.divisor.eq(self.divisor),
            self.receiver.divisor.eq(self.divisor),
        ]
        return m


def framer_packets(rng):
    packets = [bytes([0xC0]), bytes([0xDB, 0xC0, 0x00]), rng.randbytes(507)]
    packets += [rng.randbytes(rng.randint(1, 40)) for _ in range(20)]
    return [(n * 37 & 0xFF, p) for n, p in enumerate(packets)]


async def put_packets(ctx, framer, packets, stalls):
    """Each packet's bytes, its sequence number on the first (the framer must take it from
    there: the later bytes carry a different one)."""
    for sequence, payload in packets:
        for position, byte in enumerate(payload):
            first, last = position == 0, position == len(payload) - 1
            carried = sequence if first else sequence ^ 0xFF
            word = {"data": byte, "first": first, "last": last, "sequence": carried}
            await stream_put(ctx, framer.packets, word, stalls)


@pytest.mark.parametrize("stalls", STALL_PATTERNS)
def test_framer_output_decodes_on_the_host(stalls):
    packets = framer_packets(random.Random(stalls))
    dut = Framer()
    wire = bytearray()

    async def writer(ctx):
        await put_packets(ctx, dut, packets, Stalls(stalls, 1))

    async def reader(ctx):
        out_stalls = Stalls(stalls, 2, rate=0.5)
        expected = b"".join(encode_frame(s, p) for s, p in packets)
        while len(wire) < len(expected):
            wire.append(await stream_get(ctx, dut.bytes, out_stalls))
        assert bytes(wire) == expected  # byte for byte the host encoder's output

    wire_bytes = sum(len(encode_frame(s, p)) for s, p in packets)
    run_simulation(dut, writer, reader, name=f"framer_{stalls}", clocks=20 * wire_bytes + 10_000)
    assert FrameDecoder().feed(bytes(wire)) == packets


def test_link_loopback_through_the_uart():
    packets = framer_packets(random.Random(7))[:12]
    dut = LinkLoopback(divisor=4)

    async def writer(ctx):
        await put_packets(ctx, dut.framer, packets, Stalls("random", 3))

    async def reader(ctx):
        out_stalls = Stalls("random", 4, rate=0.5)
        for sequence, payload in packets:
            got = bytearray()
            while True:
                word = await stream_get(ctx, dut.deframer.frames, out_stalls)
                got.append(word.data)
                if word.last:
                    break
            assert bytes(got) == bytes([sequence]) + payload

    wire_bytes = sum(len(encode_frame(s, p)) for s, p in packets)  # 40 clocks a byte on the line
    run_simulation(dut, writer, reader, name="link_loopback", clocks=wire_bytes * 50)


def test_a_slow_frame_longer_than_the_idle_timeout_is_received():
    """The timeout is for a line gone quiet, not for a long frame: a frame whose bytes come
    with gaps just under the timeout, lasting many timeouts, is received intact; with gaps one
    clock longer it is dropped. The boundary sits within two clocks of ``idle_timeout``."""
    timeout = 40
    frame = encode_frame(7, bytes(range(30)))
    timed_out = {}
    for gap in range(timeout - 4, timeout + 4):
        rejections = run_deframer(frame, [], spacing=gap, idle_timeout=timeout)  # not read out
        timed_out[gap] = FrameError.TIMEOUT in rejections  # and its tail is rejected after
        assert timed_out[gap] or rejections == []
    longest = max(gap for gap, dropped in timed_out.items() if not dropped)
    assert all(timed_out[gap] == (gap > longest) for gap in timed_out)
    assert abs(longest - timeout) <= 2 and len(frame) * longest > 10 * timeout
    expected = [body(7, bytes(range(30)))]
    assert run_deframer(frame, expected, spacing=longest, idle_timeout=timeout) == []


def test_four_thousand_corrupted_frames_are_all_rejected():
    rng = random.Random(2026)
    wire, good, corrupted = bytearray(), [], 0
    for number in range(4_000):
        sequence, payload = number & 0xFF, rng.randbytes(rng.randint(0, 8))
        frame = encode_frame(sequence, payload)
        bad = corrupt(frame, rng)
        # the host decoder is the reference: it must reject it too
        assert not [r for r in FrameDecoder().feed(bad) if not isinstance(r, FrameError)]
        wire += bad
        corrupted += 1
        if number % 4 == 0:  # a good frame after every fourth: each must get through
            wire += frame
            good.append(body(sequence, payload))
    host = FrameDecoder().feed(bytes(wire))
    assert [r for r in host if not isinstance(r, FrameError)] == [(b[0], b[1:]) for b in good], (
        "the host decoder must accept exactly the good frames"
    )
    rejections = run_deframer(bytes(wire), good, "random", seed=9, buffer_depth=1024)
    assert rejections == [r for r in host if isinstance(r, FrameError)]
    assert len(rejections) >= corrupted * 0.95  # a truncation to a bare END leaves nothing
    assert {FrameError.BAD_CRC, FrameError.BAD_LENGTH, FrameError.BAD_ESCAPE} <= set(rejections)
