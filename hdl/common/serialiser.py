"""Byte streams out of wide words: a serialiser that sends a vector one byte per clock, and a
multiplexer that lets several packet sources share one stream."""

from amaranth.hdl import Assert, Cat, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .checks import assert_stream_stable
from .skid import HalfRateSlice

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
    loaded the clock after it arrives. With ``copy`` the vector is first copied into a register
    (a :class:`~.skid.HalfRateSlice`): ``ready`` is then a flop, so the sink's ``ready`` reaches
    nothing of the source, for a clock more per vector.

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
        m = Module()
        vectors, out = self.vectors, self.bytes
        if self.copy:
            m.submodules.copy = register = HalfRateSlice(self.vectors.payload.shape())
            wiring.connect(m, wiring.flipped(self.vectors), register.input)
            vectors = register.output
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
            self.busy.eq(loaded | (vectors.valid if self.copy else 0)),
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
