"""Words of several bytes into a stream of bytes: where a wide core meets a byte-wide consumer
(the link's reply side, the recall matcher).

:class:`WordNarrower`: the input word carries ``data`` (8 x W bits, the first byte lowest),
``count`` (how many of its bytes are valid, 1 to W) and packet flags ``first``/``last``; any other
fields travel with every byte. :class:`SlotNarrower`: a beat of L words side by side with
``slots``, a bit per word that is there, into those words one after the other. Both are
combinational: an item per clock straight from the held input, which is taken with its last item.
:func:`narrow_to_bytes` chains what a core's responses need.
"""

import operator
from functools import reduce

from amaranth.hdl import Assert, Module, Mux, Shape, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .checks import assert_stream_stable
from .skid import SkidBuffer

__all__ = [
    "SlotNarrower",
    "WordNarrower",
    "narrow_layout",
    "narrow_to_bytes",
    "slot_layout",
    "word_bytes_of",
]


def narrow_layout(layout):
    """``layout`` with one byte of ``data`` and no ``count`` or ``slots``: what a chain of
    narrowers ends with."""
    fields = {}
    for name, field in layout:
        if name not in ("count", "slots"):
            fields[name] = 8 if name == "data" else field.shape
    return data.StructLayout(fields)


def _fields(layout):
    return {name: Shape.cast(field.shape).width for name, field in layout}


def slot_layout(layout):
    """A beat's ``layout`` one slot at a time: ``data`` divided by the slots, no ``slots``."""
    fields = _fields(layout)
    slots = fields.pop("slots")
    fields["data"] //= slots
    return data.StructLayout(fields)


def narrow_to_bytes(m, source, name):
    """``source``, a stream of beats, words or bytes, as a stream of bytes: a
    :class:`SlotNarrower` when it has ``slots``, then a :class:`WordNarrower` when it has
    ``count``, with a :class:`~.skid.SkidBuffer` between the two (submodules ``{name}_slots``,
    ``{name}_word_slice``, ``{name}_bytes``)."""
    fields = _fields(source.payload.shape())
    if "slots" in fields:
        m.submodules[f"{name}_slots"] = slots = SlotNarrower(source.payload.shape())
        wiring.connect(m, source, slots.beats)
        source = slots.words
        if "count" in fields:  # the slot's pick and the byte's would be one path
            m.submodules[f"{name}_word_slice"] = cut = SkidBuffer(source.payload.shape())
            wiring.connect(m, source, cut.input)
            source = cut.output
    if "count" in fields:
        m.submodules[f"{name}_bytes"] = words = WordNarrower(source.payload.shape())
        wiring.connect(m, source, words.words)
        source = words.bytes
    return source


def word_bytes_of(layout):
    """The bytes of a word of ``layout``; ValueError unless it has ``data`` (whole bytes),
    ``count``, ``first`` and ``last``."""
    fields = _fields(layout)
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


class SlotNarrower(wiring.Component):
    """Sends the words of each beat whose ``slots`` bit is set, lowest slot first, each with the
    beat's other fields.

    Parameters
    ----------
    layout : StructLayout
        The beats: ``data`` (a word per slot, slot 0 lowest), ``slots`` and any other fields.

    Members
    -------
    beats : In(stream.Signature(layout))
    words : Out(stream.Signature(slot_layout(layout)))
    """

    def __init__(self, layout):
        fields = _fields(layout)
        if "slots" not in fields or fields["data"] % fields["slots"]:
            raise ValueError(f"A beat has slots and a data word per slot: {layout!r}")
        self.slots = fields["slots"]
        super().__init__(
            {
                "beats": In(stream.Signature(layout)),
                "words": Out(stream.Signature(slot_layout(layout))),
            }
        )

    def elaborate(self, platform):
        m = Module()
        beat, word = self.beats.payload, self.words.payload
        sent = Signal(self.slots)  # this beat's slots already sent
        left = Signal(self.slots)
        pick = Signal(self.slots)  # the lowest of them, one-hot: a carry chain, no encoder
        m.d.comb += [left.eq(beat.slots & ~sent), pick.eq(left & (~left + 1))]
        width = len(word.data)
        parts = [Mux(pick[k], beat.data[k * width : (k + 1) * width], 0) for k in range(self.slots)]
        final = Signal()  # no slot above the picked one left
        m.d.comb += [
            final.eq((left & ~pick) == 0),
            word.data.eq(reduce(operator.or_, parts)),
            self.words.valid.eq(self.beats.valid),
            self.beats.ready.eq(self.words.ready & final),
        ]
        for name, _ in word.shape():
            if name != "data":
                m.d.comb += getattr(word, name).eq(getattr(beat, name))
        with m.If(self.words.valid & self.words.ready):
            m.d.sync += sent.eq(Mux(final, 0, sent | pick))
        assert_stream_stable(m, self.words, "slot_words")
        m.d.sync += Assert(~self.beats.valid | beat.slots.any(), "a beat without a word")
        return m
