"""Byte streams out of wide words: a serialiser that sends a vector one byte per clock, and a
multiplexer that lets several packet sources share one stream."""

from amaranth.hdl import Assert, Cat, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .checks import assert_stream_stable

__all__ = ["ByteSerialiser", "StreamJoin", "byte_layout", "vector_layout"]


def vector_layout(size, tag_width):
    """A vector of ``size`` bytes (little-endian) to send from byte ``start``; ``first`` and
    ``last`` say whether its first and final bytes open and close a packet; ``tag`` goes out
    beside every byte."""
    return data.StructLayout(
        {
            "data": 8 * size,
            "start": range(size),
            "first": 1,
            "last": 1,
            "tag": tag_width,
        }
    )


def byte_layout(tag_width):
    """One byte of a serialised vector, its packet flags and the vector's ``tag``."""
    return data.StructLayout({"data": 8, "first": 1, "last": 1, "tag": tag_width})


class ByteSerialiser(wiring.Component):
    """``vectors`` in, their bytes out, one per clock taken, from byte ``start`` to the last.

    A vector is taken (``ready``) with its final byte: it stays on the input while it is sent
    (the stream rule), so each next byte is chosen from it by position, with no shift register
    as wide as the vector. The byte and its flags leave from flops; a vector's first byte is
    loaded the clock after it arrives. With ``copy`` the vector is instead taken at once into a
    shift register (a snapshot): ``ready`` is a flop, so the sink's ``ready`` reaches nothing of
    the source, and each byte is the register's lowest, not a multiplexer as wide as the
    vector; bytes below ``start`` are shifted out unsent, one a clock.

    Parameters
    ----------
    size : int
        Bytes per vector.
    tag_width : int
        Bits of ``tag``.
    copy : bool
        Take the vector into a register of its own first.

    Members
    -------
    vectors : In(stream.Signature(vector_layout(size, tag_width)))
    bytes : Out(stream.Signature(byte_layout(tag_width)))
    busy : Out(1)
        A vector taken in is not all sent.
    """

    def __init__(self, size, tag_width=1, *, copy=False):
        self.size = size
        self.copy = copy
        super().__init__(
            {
                "vectors": In(stream.Signature(vector_layout(size, tag_width))),
                "bytes": Out(stream.Signature(byte_layout(tag_width))),
                "busy": Out(1),
            }
        )

    def elaborate(self, platform):
        if self.copy:
            return self._shift_register()
        m = Module()
        vectors, out = self.vectors, self.bytes
        vector = vectors.payload
        loaded = Signal()  # a byte of the vector is in the output register
        final = Signal()  # that byte is the vector's last
        position = Signal(range(self.size))  # the byte after the one in the register
        chosen = Signal(8)
        with m.Switch(Mux(loaded, position, vector.start)):
            for index in range(self.size):
                with m.Case(index):
                    m.d.comb += chosen.eq(vector.data[8 * index : 8 * index + 8])
        m.d.comb += [
            self.busy.eq(loaded),
            out.valid.eq(loaded),
            out.payload.tag.eq(vector.tag),
            vectors.ready.eq(loaded & final & out.ready),
        ]
        step = Signal()  # load the next byte (or the first)
        m.d.comb += step.eq(Mux(loaded, out.ready & ~final, vectors.valid))
        with m.If(step):
            at = Mux(loaded, position, vector.start)
            ends = at == self.size - 1
            m.d.sync += [
                out.payload.data.eq(chosen),
                out.payload.first.eq(~loaded & vector.first),
                out.payload.last.eq(ends & vector.last),
                final.eq(ends),
                position.eq(Mux(ends, 0, at + 1)),
                loaded.eq(1),
            ]
        with m.Elif(out.ready & final):
            m.d.sync += [loaded.eq(0), final.eq(0)]
        m.d.sync += Assert(~final | loaded, "final byte flag without a byte")
        assert_stream_stable(m, out, "serialised")
        return m

    def _shift_register(self):
        """``copy``: the vector into a register that shifts a byte out per byte sent. Every
        decision reads flops only (``skipping``, ``final`` beside their counts), so the
        register's enable, which fans out to all its bits, is one LUT."""
        m = Module()
        vectors, out = self.vectors, self.bytes
        vector = vectors.payload
        held = Signal()  # the register holds a vector with bytes still to send
        register = Signal.like(vector.data)
        skip = Signal.like(vector.start)  # bytes below ``start`` still to drop
        skipping = Signal()  # skip != 0
        left = Signal(range(self.size + 1))  # bytes to send, the register's lowest first
        final = Signal()  # left == 1
        opens, closes = Signal(), Signal()  # the vector's first and last flags
        opening = Signal()  # the next byte sent is the vector's first
        tag = Signal.like(vector.tag)
        m.d.comb += [vectors.ready.eq(~held), self.busy.eq(held | out.valid)]
        with m.If(out.ready):
            m.d.sync += out.valid.eq(0)
        with m.If(~held):  # loads whenever empty, so its enable is a flop, not the source's valid
            m.d.sync += [
                held.eq(vectors.valid),
                register.eq(vector.data),
                skip.eq(vector.start),
                skipping.eq(vector.start != 0),
                left.eq(self.size - vector.start),
                final.eq(vector.start == self.size - 1),
                opens.eq(vector.first),
                closes.eq(vector.last),
                opening.eq(1),
                tag.eq(vector.tag),
            ]
        with m.Elif(skipping | ~out.valid | out.ready):
            m.d.sync += register.eq(register >> 8)
            with m.If(skipping):
                m.d.sync += [skip.eq(skip - 1), skipping.eq(skip != 1)]
            with m.Else():
                m.d.sync += [
                    out.valid.eq(1),
                    out.payload.data.eq(register[:8]),
                    out.payload.first.eq(opens & opening),
                    out.payload.last.eq(closes & final),
                    out.payload.tag.eq(tag),
                    left.eq(left - 1),
                    final.eq(left == 2),
                    opening.eq(0),
                    held.eq(~final),
                ]
        m.d.sync += [
            Assert(~held | (left != 0), "a held vector with nothing to send"),
            Assert(skipping == (skip != 0), "skipping flag out of step"),
            Assert(~held | (final == (left == 1)), "final flag out of step"),
        ]
        assert_stream_stable(m, out, "serialised")
        return m


class StreamJoin(wiring.Component):
    """``count`` streams onto one, for sources of which at most one is ever valid (asserted):
    an AND-OR of the payloads, every source's ``ready`` the sink's.

    Parameters
    ----------
    shape : shape-like
        The payload.
    count : int
        Sources.
    """

    def __init__(self, shape, count):
        self.count = count
        members = {f"input{n}": In(stream.Signature(shape)) for n in range(count)}
        super().__init__({**members, "output": Out(stream.Signature(shape))})

    def inputs(self):
        return [getattr(self, f"input{n}") for n in range(self.count)]

    def elaborate(self, platform):
        m = Module()
        sources = self.inputs()
        width = len(Cat(self.output.payload))
        merged = 0
        for source in sources:
            m.d.comb += source.ready.eq(self.output.ready)
            merged = merged | Mux(source.valid, Cat(source.payload), 0)
        m.d.comb += [
            self.output.valid.eq(Cat(source.valid for source in sources).any()),
            self.output.payload.eq(merged[:width]),
        ]
        m.d.sync += Assert(
            sum(source.valid for source in sources) <= 1, "two packet sources valid at once"
        )
        return m
