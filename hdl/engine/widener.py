"""Bytes into words of several bytes: where a byte-wide producer (APPEND's record from the command
stream) meets a wide one (the wide append memory).

:class:`ByteWidener` gathers each packet's bytes, ``first`` to ``last``, into words of W: a word
leaves with the byte that fills it or with the packet's last byte (then ``count`` says how many
of its bytes are the packet's), so every packet starts in a word of its own. Combinational: the
word leaves in the clock of its last byte, from the bytes held and that byte; a ``first`` byte
drops a word half gathered (the byte-wide append memory drops its record the same way).
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .records import RecordWord, record_word_layout

__all__ = ["ByteWidener"]


class ByteWidener(wiring.Component):
    """Packets of bytes as packets of ``word_bytes``-byte words.

    Members
    -------
    bytes : In(stream.Signature(RecordWord))
    words : Out(stream.Signature(record_word_layout(word_bytes)))
        The bytes past ``count`` in a packet's last word are left from earlier words.
    """

    def __init__(self, word_bytes):
        self.word_bytes = word_bytes
        super().__init__(
            {
                "bytes": In(stream.Signature(RecordWord)),
                "words": Out(stream.Signature(record_word_layout(word_bytes))),
            }
        )

    def elaborate(self, platform):
        m = Module()
        width = self.word_bytes
        byte, word = self.bytes.payload, self.words.payload
        held = Signal(8 * width)  # the word's bytes so far (and stale ones after them)
        lane = Signal(range(width))  # where the next byte goes
        head = Signal()  # the word gathered starts its packet
        current = Mux(byte.first, 0, lane)
        merged = Signal.like(held)
        for k in range(width):
            m.d.comb += merged.word_select(k, 8).eq(Mux(current == k, byte.data, held[8 * k :][:8]))
        ends = byte.last | (current == width - 1)
        m.d.comb += [
            self.words.valid.eq(self.bytes.valid & ends),
            word.data.eq(merged),
            word.count.eq(current + 1),
            word.first.eq(Mux(current == 0, byte.first, head)),
            word.last.eq(byte.last),
            self.bytes.ready.eq(~ends | self.words.ready),
        ]
        with m.If(self.bytes.valid & self.bytes.ready):
            m.d.sync += [
                held.eq(merged),
                head.eq(word.first),
                lane.eq(Mux(byte.last, 0, current + 1)),
            ]
        return m
