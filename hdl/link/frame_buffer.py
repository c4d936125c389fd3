"""The frame buffer: checked frame bodies are written in as they arrive and read out once
committed.

The checker writes each body byte as it arrives, then commits the frame's first ``length`` bytes
(its ``sequence | payload``) or rolls it back; a committed frame's length goes into a small queue
and the reader streams the frame with first/last marked and its length beside every byte. The
memory is a two-port backend (one side writes, the other reads) with the flipped
:class:`~memgen.hdl.engine.storage.StorageSignature` on ``writes`` and ``reads``, its read latency
1 (:class:`TwoPortBuffer`, the default) or 2 (a block RAM with its output register, such as
:class:`~memgen.hdl.fpga.dp16kd.DP16KDBuffer`): a board passes its own, as it passes record
storage.
"""

from amaranth.hdl import Assert, Module, Signal
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..common.checks import assert_stream_stable
from ..common.pipeline import Countdown
from ..engine.storage import StorageSignature, storage_sides
from .protocol import MAX_BODY

__all__ = ["BufferWriteSignature", "FrameBuffer", "FrameByte", "TwoPortBuffer", "buffer_members"]

#: A byte of a good frame's ``sequence | payload``, with the frame's length (known from its
#: first byte).
FrameByte = data.StructLayout({"data": 8, "first": 1, "last": 1, "length": range(MAX_BODY + 1)})


class BufferWriteSignature(wiring.Signature):
    """The writer's side: a body byte (``write``), the frame's first ``length`` bytes kept
    (``commit``; ``room`` says a commit is possible) or all dropped (``rollback``); ``full``: no
    byte may be written (a flop, from the occupancy a clock back)."""

    def __init__(self):
        super().__init__(
            {
                "data": Out(8),
                "write": Out(1),
                "length": Out(range(MAX_BODY + 1)),
                "commit": Out(1),
                "rollback": Out(1),
                "full": In(1),
                "room": In(1),
            }
        )


def _port(depth, read_latency):
    return StorageSignature((depth - 1).bit_length(), 8, read_latency=read_latency)


def buffer_members(depth, read_latency):
    """Members of a two-port byte memory backend of ``depth`` bytes."""
    port = _port(depth, read_latency)
    return {"writes": In(port), "reads": In(port)}


class TwoPortBuffer(wiring.Component):
    """``depth`` bytes of ``lib.memory``, written on one side and read on the other, read
    latency 1."""

    def __init__(self, depth):
        self.depth = depth
        super().__init__(buffer_members(depth, read_latency=1))

    def elaborate(self, platform):
        m = Module()
        m.submodules.memory = memory = Memory(shape=8, depth=self.depth, init=[])
        write, read = memory.write_port(), memory.read_port()
        m.d.comb += [
            write.addr.eq(self.writes.address),
            write.data.eq(self.writes.write_data),
            write.en.eq(self.writes.write_enable),
            read.addr.eq(self.reads.address),
            read.en.eq(self.reads.read_enable),
            self.reads.read_data.eq(read.data),
        ]
        return m


class FrameBuffer(wiring.Component):
    """Committed frames out of written bytes.

    Parameters
    ----------
    depth : int, default 1024
        Bytes, a power of two above ``MAX_BODY`` (a byte is refused when the buffer held
        ``depth - 1`` bytes the clock before, so one frame of ``MAX_BODY`` always fits).
    length_slots : int, default 8
        Committed frames the buffer can queue.
    memory : Component or None
        The backend (:func:`buffer_members` of ``depth``, read latency 1 or 2); None builds a
        :class:`TwoPortBuffer`.

    Members
    -------
    writes : In(BufferWriteSignature())
    frames : Out(stream.Signature(FrameByte))
    """

    FAULTS = {"unstable_output": "the read port (and output register) ignore stalls"}
    fault = None  # see memgen.hdl.common.faults

    def __init__(self, depth=1024, length_slots=8, memory=None):
        if depth <= MAX_BODY or depth & (depth - 1):
            raise ValueError(f"Buffer depth must be a power of two above {MAX_BODY}, not {depth}")
        memory = TwoPortBuffer(depth) if memory is None else memory
        sides, port = storage_sides(memory)
        wanted = _port(depth, port.read_latency)
        if sides != ("writes", "reads") or port != wanted or port.read_latency > 2:
            raise TypeError(
                f"A frame buffer backend of {depth} bytes has 'writes' and 'reads' sides of "
                f"{wanted!r} with a read latency of 1 or 2; {type(memory).__name__} has "
                f"{sides} of {port!r}"
            )
        self.depth = depth
        self.length_slots = length_slots
        self.memory = memory
        self.read_latency = port.read_latency
        super().__init__(
            {"writes": In(BufferWriteSignature()), "frames": Out(stream.Signature(FrameByte))}
        )

    def elaborate(self, platform):
        m = Module()
        depth, writes = self.depth, self.writes
        pointer_width = depth.bit_length()  # one wrap bit more than the address
        m.submodules.memory = memory = self.memory
        m.submodules.lengths = lengths = fifo.SyncFIFOBuffered(
            width=MAX_BODY.bit_length(), depth=self.length_slots
        )
        committed = Signal(pointer_width)  # end of the last committed frame
        write_pointer = Signal(pointer_width)
        read_pointer = Signal(pointer_width)  # next byte the reader will issue
        # At most one byte is written every other clock, so a flop of the occupancy a clock back
        # never lets the buffer overrun; at the boundary a byte may be refused early.
        m.d.sync += writes.full.eq((write_pointer - read_pointer)[:pointer_width] >= depth - 1)
        m.d.comb += [
            writes.room.eq(lengths.w_rdy),
            memory.writes.address.eq(write_pointer),
            memory.writes.write_data.eq(writes.data),
            memory.writes.write_enable.eq(writes.write),
        ]
        with m.If(writes.write):
            m.d.sync += write_pointer.eq(write_pointer + 1)
        with m.If(writes.commit):
            end = committed + writes.length
            m.d.comb += [lengths.w_en.eq(1), lengths.w_data.eq(writes.length)]
            m.d.sync += [committed.eq(end), write_pointer.eq(end)]
        with m.If(writes.rollback):
            m.d.sync += write_pointer.eq(committed)
        m.d.sync += Assert(
            ~(writes.write & (writes.commit | writes.rollback)), "write at a verdict"
        )
        self._reader(m, lengths, read_pointer)
        return m

    def _reader(self, m, lengths, read_pointer):
        """Stream each committed frame, first/last marked. Stage 1 is the read port with the
        byte's flags; with a read latency of 2 the memory's register is a stage 2, and the flags
        are registered once more beside it. The stages advance together, only when the output is
        empty or taken, so the read port holds while stalled."""
        frames, reads = self.frames, self.memory.reads
        remaining = Countdown(m, range(MAX_BODY + 1), "remaining")
        remaining_any = Signal()  # remaining != 0, a flop beside the count
        first = Signal()
        read_valid, read_first, read_last = Signal(), Signal(), Signal()
        read_length = Signal.like(frames.payload.length)  # of the frame being read
        advance = Signal()
        if self.read_latency == 2:  # the byte is in the memory's register: so are its flags
            out_valid, out_first, out_last = Signal(), Signal(), Signal()
            out_length = Signal.like(read_length)
            with m.If(advance):
                m.d.sync += [
                    out_valid.eq(read_valid),
                    out_first.eq(read_first),
                    out_last.eq(read_last),
                    out_length.eq(read_length),
                ]
        else:
            out_valid, out_first, out_last = read_valid, read_first, read_last
            out_length = read_length
        m.d.comb += [
            advance.eq(~out_valid | frames.ready),
            reads.address.eq(read_pointer),
            reads.read_enable.eq(advance if self.fault is None else 1),
            frames.valid.eq(out_valid),
            frames.payload.data.eq(reads.read_data),
            frames.payload.first.eq(out_first),
            frames.payload.last.eq(out_last),
            frames.payload.length.eq(out_length),
        ]
        with m.If(advance):
            m.d.sync += read_valid.eq(remaining_any)
            with m.If(remaining_any):
                m.d.sync += [
                    read_first.eq(first),
                    read_last.eq(remaining.at_end),
                    read_pointer.eq(read_pointer + 1),
                    remaining_any.eq(~remaining.at_end),
                    first.eq(0),
                ]
                remaining.decrement()
            with m.Elif(lengths.r_rdy):
                m.d.comb += lengths.r_en.eq(1)
                remaining.load(lengths.r_data)
                m.d.sync += [
                    remaining_any.eq(lengths.r_data != 0),
                    read_length.eq(lengths.r_data),
                    first.eq(1),
                ]
        assert_stream_stable(m, frames, "frames")
        m.d.sync += Assert(
            remaining_any == (remaining.value != 0), "frame buffer remaining flag out of step"
        )
        return m
