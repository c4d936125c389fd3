"""Words of several bytes into a stream of bytes: where a wide core meets a byte-wide consumer
(the link's reply side, the recall matcher).

The input word carries ``data`` (8 x W bits, the first byte lowest), ``count`` (how many of its
bytes are valid, 1 to W) and packet flags ``first``/``last``; any other fields travel with every
byte. Combinational: a byte per clock straight from the held word, the word taken with its last
valid byte.
"""

from amaranth.hdl import Module, Mux, Shape, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .checks import assert_stream_stable

__all__ = ["WordNarrower", "narrow_layout", "word_bytes_of"]


def narrow_layout(layout):
    """``layout`` with one byte of ``data`` and no ``count``: what :class:`WordNarrower` sends."""
    fields = {}
    for name, field in layout:
        if name != "count":
            fields[name] = 8 if name == "data" else field.shape
    return data.StructLayout(fields)


def word_bytes_of(layout):
    """The bytes of a word of ``layout``; ValueError unless it has ``data`` (whole bytes),
    ``count``, ``first`` and ``last``."""
    fields = {name: Shape.cast(field.shape).width for name, field in layout}
    missing = {"data", "count", "first", "last"} - set(fields)
    if missing or fields["data"] % 8:
        raise ValueError(f"A word has data (whole bytes), count, first and last: {layout!r}")
    return fields["data"] // 8


class WordNarrower(wiring.Component):
    """Sends each word's valid bytes one per clock, ``first`` on the first byte of a ``first``
    word, ``last`` on the last valid byte of a ``last`` word.

    Parameters
    ----------
    layout : StructLayout
        The words: ``data`` (a whole number of bytes), ``count``, ``first``, ``last`` and any
        other fields.

    Members
    -------
    words : In(stream.Signature(layout))
    bytes : Out(stream.Signature(narrow_layout(layout)))
    """

    def __init__(self, layout):
        self.word_bytes = word_bytes_of(layout)
        super().__init__(
            {
                "words": In(stream.Signature(layout)),
                "bytes": Out(stream.Signature(narrow_layout(layout))),
            }
        )

    def elaborate(self, platform):
        m = Module()
        word, byte = self.words.payload, self.bytes.payload
        lane = Signal(range(max(2, self.word_bytes)))
        final = Signal()  # the word's last valid byte
        m.d.comb += [
            final.eq(lane == word.count - 1),
            byte.data.eq(word.data.word_select(lane, 8)),
            byte.first.eq(word.first & (lane == 0)),
            byte.last.eq(word.last & final),
            self.bytes.valid.eq(self.words.valid),
            self.words.ready.eq(self.bytes.ready & final),
        ]
        for name, _ in narrow_layout(word.shape()):
            if name not in ("data", "first", "last"):
                m.d.comb += getattr(byte, name).eq(getattr(word, name))
        with m.If(self.bytes.valid & self.bytes.ready):
            m.d.sync += lane.eq(Mux(final, 0, lane + 1))
        assert_stream_stable(m, self.bytes, "narrowed")
        return m
