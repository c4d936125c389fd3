"""RECALL k, query, mask: the query into the :class:`~.recall.Matcher`, a recitation through it,
then the min(k, N) nearest, each as a header (index in 4 bytes, distance in 2) before the record.

The core routes the command's bytes after the opcode to ``body``, takes the verdict from
``checked``, recites every record into ``words`` (the scan), strobes ``answer`` once the scan has
drained, and sends the records whose indices leave on ``matches`` until ``done``.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..common.pipeline import Countdown
from ..common.serialiser import ByteSerialiser, byte_layout
from .protocol import RECALL_HEADER, ErrorCode, ResponseKind
from .recall import MAX_K, Matcher
from .records import RecordWord

__all__ = ["RecallUnit"]


class RecallUnit(wiring.Component):
    """The RECALL command's own state: its arguments, the matcher and the answers.

    Parameters
    ----------
    record_format : RecordFormat
        Fixed-size mode.

    Members
    -------
    body : In(stream.Signature(RecordWord))
        The command's bytes after the opcode: k, the query, the mask.
    checked : Out(stream.Signature(8))
        After the body's last byte: 0 to go on, or the ErrorCode the command fails with.
    count : In(count_width)
        Records stored.
    words : In(stream.Signature(RecordWord))
        The scan: every record, index 0 first. Always ready.
    answer : In(1)
        Strobe: the scan is over; answer.
    headers : Out(stream.Signature(byte_layout(2)))
        Each answer's header bytes (``tag``: the response kind, RECORD).
    matches : Out(stream.Signature(index_width))
        Each answer's index, after its header, for the readout.
    record_sent : In(1)
        Strobe: the last byte of an answer's record was taken.
    done : Out(1)
        Strobe: the last answer's record has gone.
    """

    def __init__(self, record_format):
        self.format = record_format
        super().__init__(
            {
                "body": In(stream.Signature(RecordWord)),
                "checked": Out(stream.Signature(8)),
                "count": In(record_format.count_width),
                "words": In(stream.Signature(RecordWord)),
                "answer": In(1),
                "headers": Out(stream.Signature(byte_layout(2))),
                "matches": Out(stream.Signature(record_format.index_width)),
                "record_sent": In(1),
                "done": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        fmt = self.format
        size = fmt.record_size
        m.submodules.matcher = matcher = Matcher(fmt)
        wiring.connect(m, wiring.flipped(self.words), matcher.words)
        m.submodules.serialiser = serialiser = ByteSerialiser(RECALL_HEADER, tag_width=2)
        wiring.connect(m, serialiser.bytes, wiring.flipped(self.headers))
        header = serialiser.vectors.payload
        m.d.comb += [header.first.eq(1), header.last.eq(0), header.tag.eq(ResponseKind.RECORD)]

        byte = self.body.payload
        k = Signal(range(MAX_K + 1))
        k_bad, size_ok, empty = Signal(), Signal(), Signal()
        position = Signal(range(size))  # of the query or mask byte
        writing_mask, past_mask = Signal(), Signal()
        answers = Countdown(m, range(MAX_K + 1), "recall_answers")
        match = Signal(range(MAX_K))  # the entry being answered
        m.d.comb += [
            matcher.query.address.eq(position),
            matcher.query.mask.eq(writing_mask),
            matcher.query.data.eq(byte.data),
            self.checked.payload.eq(
                Mux(k_bad, ErrorCode.BAD_COMMAND,
                    Mux(~size_ok, ErrorCode.WRONG_SIZE, Mux(empty, ErrorCode.EMPTY, 0)))
            ),
        ]  # fmt: skip

        with m.FSM():
            with m.State("K"):
                m.d.comb += [self.body.ready.eq(1), matcher.clear.eq(1)]
                with m.If(self.body.valid):
                    m.d.sync += [
                        k.eq(byte.data),
                        k_bad.eq((byte.data == 0) | (byte.data > MAX_K)),
                        empty.eq(self.count == 0),
                        size_ok.eq(0),
                        position.eq(0),
                        writing_mask.eq(0),
                        past_mask.eq(0),
                    ]
                    m.next = "QUERY"
                    with m.If(byte.last):
                        m.next = "CHECKED"

            with m.State("QUERY"):
                m.d.comb += self.body.ready.eq(1)
                with m.If(self.body.valid):
                    m.d.comb += matcher.query.enable.eq(~past_mask)
                    m.d.sync += position.eq(position + 1)
                    with m.If(position == size - 1):
                        m.d.sync += [position.eq(0), writing_mask.eq(1)]
                        with m.If(writing_mask):
                            m.d.sync += past_mask.eq(1)
                    with m.If(byte.last):
                        m.d.sync += size_ok.eq(writing_mask & (position == size - 1) & ~past_mask)
                        m.next = "CHECKED"

            with m.State("CHECKED"):
                m.d.comb += self.checked.valid.eq(1)
                with m.If(self.checked.ready):
                    answers.load(Mux(self.count < k, self.count, k))
                    m.d.sync += match.eq(0)
                    m.next = "K"
                    with m.If(self.checked.payload == 0):
                        m.next = "SCAN"

            with m.State("SCAN"):
                with m.If(self.answer):
                    m.next = "WAIT"

            with m.State("WAIT"):  # until the last record's distance is in the list
                with m.If(~matcher.busy):
                    m.next = "HEADER"

            entry = matcher.matches[match]
            with m.State("HEADER"):  # a register of the entry, then the serialiser sends it
                with m.If(~serialiser.vectors.valid):
                    m.d.sync += [  # u32 index, u16 distance (zero-extended: the top)
                        header.data.eq(Cat(entry.index.as_unsigned(),
                                           Const(0, 32 - fmt.index_width), entry.distance)),
                        serialiser.vectors.valid.eq(1),
                        self.matches.payload.eq(entry.index),
                    ]  # fmt: skip
                with m.Elif(serialiser.vectors.ready):
                    m.d.sync += [serialiser.vectors.valid.eq(0), self.matches.valid.eq(1)]
                    m.next = "RECORD"

            with m.State("RECORD"):
                with m.If(self.matches.ready):
                    m.d.sync += self.matches.valid.eq(0)
                with m.If(self.record_sent):
                    answers.decrement()
                    with m.If(answers.at_end):
                        m.d.comb += self.done.eq(1)
                        m.next = "K"
                    with m.Else():
                        m.d.sync += match.eq(match + 1)
                        m.next = "HEADER"
        return m
