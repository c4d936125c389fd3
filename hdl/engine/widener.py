"""Bytes into words of several bytes: where a byte-wide producer (APPEND's record from the command
stream) meets a wide one (the wide append memory).

:class:`ByteWidener` gathers each packet's bytes, ``first`` to ``last``, into words of W: a word
leaves with the byte that fills it or with the packet's last byte (then ``count`` says how many
of its bytes are the packet's), so every packet starts in a word of its own. A ``first`` byte
drops a word half gathered (the byte-wide append memory drops its record the same way).

The word leaves from a register, a clock after its last byte, so the wide append memory's checks
start from flops (the 64-byte merge before them cost the ULX3S a quarter of its clock); the next
word gathers meanwhile, and a byte waits only if it ends a word while the last one is still held.
"""

from amaranth.hdl import Assert, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..common.checks import assert_stream_stable
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
        # the same, one-hot: each byte of the word picks on one flop and ``first``, not on a
        # decoder of ``lane`` (the decoder before the 64-byte merge was the ULX3S's slowest path)
        lane_hot = Signal(width, init=1)
        head = Signal()  # the word gathered starts its packet
        current = Mux(byte.first, 0, lane)
        current_hot = Mux(byte.first, 1, lane_hot)
        merged = Signal.like(held)
        for k in range(width):
            pick = current_hot[k]
            m.d.comb += merged.word_select(k, 8).eq(Mux(pick, byte.data, held[8 * k :][:8]))
        ends = byte.last | current_hot[width - 1]
        m.d.comb += self.bytes.ready.eq(~ends | ~self.words.valid | self.words.ready)
        with m.If(self.words.ready):
            m.d.sync += self.words.valid.eq(0)
        with m.If(self.bytes.valid & self.bytes.ready):
            first = Mux(current == 0, byte.first, head)
            m.d.sync += [
                held.eq(merged),
                head.eq(first),
                lane.eq(Mux(byte.last, 0, current + 1)),
                lane_hot.eq(Mux(byte.last, 1, current_hot.rotate_left(1))),
            ]
            with m.If(ends):
                m.d.sync += [
                    self.words.valid.eq(1),
                    word.data.eq(merged),
                    word.count.eq(current + 1),
                    word.first.eq(first),
                    word.last.eq(byte.last),
                ]
        assert_stream_stable(m, self.words, "widened_words")
        m.d.sync += Assert(lane_hot == 1 << lane, "the one-hot lane out of step")
        return m
