"""APPEND batches: the records of an APPEND frame, one core APPEND packet each.

After the request side has taken an APPEND opcode it hands the rest of the frame here. In
variable-length mode each record is ``length (varint) | bytes``, in fixed-size mode the records
are back to back. Each record becomes one APPEND packet for the core, and the batch waits for the
core's verdict before the next; on a refusal it stops (the rest of the frame is to be drained). A
length that is zero or runs past the end of the frame ends the batch MALFORMED before a byte of
its record reaches the core.
"""

from amaranth.hdl import Cat, Module
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..common.pipeline import Countdown
from ..engine.protocol import Opcode
from ..engine.records import RecordWord
from .frame_intake import ParsedByte
from .protocol import MAX_PAYLOAD

__all__ = ["AppendBatch", "BatchOutcome"]

#: How a batch ended: ``malformed`` (a length that does not parse), ``failed`` (the core refused
#: a record), ``drain`` (bytes of the frame remain, to be dropped).
BatchOutcome = data.StructLayout({"malformed": 1, "failed": 1, "drain": 1})


class AppendBatch(wiring.Component):
    """A frame's records to APPEND packets, one at a time.

    Parameters
    ----------
    record_format : RecordFormat

    Members
    -------
    start : In(1)
        Strobe: an APPEND opcode was taken and its frame has more bytes.
    clear : In(1)
        Strobe: a new frame begins (``stored`` to 0).
    bytes : In(stream.Signature(ParsedByte))
        The frame's bytes after the opcode, while the batch runs.
    more_in_frame : In(1)
        Bytes of the frame not yet parsed.
    commands : Out(stream.Signature(RecordWord))
        APPEND packets.
    core_done, core_failed : In(1), In(1)
        The core took the record (idle again), or answered ERROR.
    stored : Out(16)
        Records of this frame the core took.
    length_low : Out(7)
        A two-byte length's low bits, for the intake's check of its high byte.
    outcome : Out(stream.Signature(BatchOutcome))
        The batch ended; taken by the request side.
    """

    def __init__(self, record_format):
        self.format = record_format
        super().__init__(
            {
                "start": In(1),
                "clear": In(1),
                "bytes": In(stream.Signature(ParsedByte)),
                "more_in_frame": In(1),
                "commands": Out(stream.Signature(RecordWord)),
                "core_done": In(1),
                "core_failed": In(1),
                "stored": Out(16),
                "length_low": Out(7),
                "outcome": Out(stream.Signature(BatchOutcome)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        fmt = self.format
        byte, command, outcome = self.bytes.payload, self.commands, self.outcome.payload
        length_low = self.length_low
        record_remaining = Countdown(m, range(MAX_PAYLOAD + 1), "record_remaining")
        next_record = "RECORD_OPCODE" if fmt.fixed else "LENGTH"
        with m.If(self.clear):
            m.d.sync += self.stored.eq(0)

        def end(malformed=0, failed=0, drain=0):
            m.d.sync += [outcome.malformed.eq(malformed), outcome.failed.eq(failed)]
            m.d.sync += outcome.drain.eq(drain)
            m.next = "END"

        def start_record(length, bad):
            """A record length was just read; ``bad``: zero or past the end of the frame."""
            with m.If(bad | byte.last):
                end(malformed=1, drain=~byte.last)
            with m.Else():
                record_remaining.load(length)
                m.next = "RECORD_OPCODE"

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.start):
                    m.next = next_record

            if not fmt.fixed:
                with m.State("LENGTH"):
                    m.d.comb += self.bytes.ready.eq(1)
                    with m.If(self.bytes.valid):
                        with m.If(byte.data[7]):
                            m.d.sync += length_low.eq(byte.data[:7])
                            m.next = "LENGTH_HIGH"
                            with m.If(byte.last):
                                end(malformed=1)
                        with m.Else():
                            start_record(byte.data, byte.short_length_bad)

                with m.State("LENGTH_HIGH"):
                    m.d.comb += self.bytes.ready.eq(1)
                    with m.If(self.bytes.valid):
                        start_record(Cat(length_low, byte.data), byte.long_length_bad)

            with m.State("RECORD_OPCODE"):
                m.d.comb += [
                    command.valid.eq(1),
                    command.payload.data.eq(Opcode.APPEND),
                    command.payload.first.eq(1),
                ]
                with m.If(command.ready):
                    if fmt.fixed:
                        record_remaining.load(fmt.record_size)
                    m.next = "RECORD"

            with m.State("RECORD"):
                m.d.comb += [
                    command.valid.eq(self.bytes.valid),
                    command.payload.data.eq(byte.data),
                    command.payload.last.eq(record_remaining.at_end | byte.last),
                    self.bytes.ready.eq(command.ready),
                ]
                with m.If(self.bytes.valid & command.ready):
                    record_remaining.decrement()
                    with m.If(command.payload.last):
                        m.next = "APPEND_WAIT"

            with m.State("APPEND_WAIT"):  # the core's verdict on the record
                with m.If(self.core_failed):
                    end(failed=1, drain=self.more_in_frame)
                with m.Elif(self.core_done):
                    m.d.sync += self.stored.eq(self.stored + 1)
                    m.next = next_record
                    with m.If(~self.more_in_frame):
                        end()

            with m.State("END"):
                m.d.comb += self.outcome.valid.eq(1)
                with m.If(self.outcome.ready):
                    m.next = "IDLE"
        return m
