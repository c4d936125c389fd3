"""The core's sequencer: one decoded command at a time, run by starting the parts that do the
work (append memory, index source, recall unit, serialisers) and waiting until they are done."""

from amaranth.hdl import Assert, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .decoder import Decoded, Operation
from .index_generator import AMOUNT_WIDTH, STATE_WIDTH
from .protocol import ErrorCode
from .records import RecordWord

__all__ = ["Sequencer", "StatusRequest"]

#: A STATUS packet, or an ERROR packet with its code.
StatusRequest = data.StructLayout({"error": 1, "code": 8})


class Sequencer(wiring.Component):
    """Runs each command to its end, then takes the next.

    Members
    -------
    decoded, body : In(stream.Signature(Decoded)), In(stream.Signature(RecordWord))
        From the :class:`~.decoder.CommandDecoder`.
    records : Out(stream.Signature(RecordWord))
        APPEND's record, to the append memory from a register (words of more than one byte:
        through the :class:`~.widener.ByteWidener`'s).
    appended : In(1)
        The append memory takes a record's last word this clock (its verdict comes a clock
        later): APPEND waits for it, as an append memory on SDRAM waits for the storage.
    count, refused, refusal_code, clear : In(count_width), In(1), In(3), Out(1)
        The append memory's count and verdict; a strobe that empties it.
    seed, request, recite, divert : Out(...)
        To the :class:`~.index_source.IndexSource`.
    recall_body, checked, answer, answered : Out(...), In(...), Out(1), In(1)
        To and from the :class:`~.recall_unit.RecallUnit` (fixed-size records only).
    status : Out(stream.Signature(StatusRequest))
        A STATUS or ERROR packet to send; taken with its last byte.
    reading, scanning, answering : Out(1)
        The readout owns the storage; its records go to the recall unit; they follow a header.
    busy : In(1)
        An index, a record byte or an INDICES byte is still on its way.
    idle : Out(1)
        Waiting for a command, all the earlier ones done.
    offered, offered_last, intake : In(1), In(1), Out(1)
        With ``append_port``: a record's word waits on the core's port of appends (and is its
        last); the port's words go to the append memory in this clock. Taken between commands,
        a whole record at a time, for as long as they come back to back and no command waits;
        the port and the commands take turns (a record at least, a command).
    """

    def __init__(self, record_format, append_port=False):
        self.format = record_format
        self.append_port = append_port
        port = {"offered": In(1), "offered_last": In(1), "intake": Out(1)} if append_port else {}
        super().__init__(
            {
                **port,
                "decoded": In(stream.Signature(Decoded)),
                "body": In(stream.Signature(RecordWord)),
                "records": Out(stream.Signature(RecordWord)),
                "appended": In(1),
                "count": In(record_format.count_width),
                "refused": In(1),
                "refusal_code": In(3),
                "clear": Out(1),
                "seed": Out(stream.Signature(STATE_WIDTH, always_ready=True)),
                "request": Out(stream.Signature(AMOUNT_WIDTH)),
                "recite": Out(1),
                "divert": Out(1),
                "recall_body": Out(stream.Signature(RecordWord)),
                "checked": In(stream.Signature(8)),
                "answer": Out(1),
                "answered": In(1),
                "status": Out(stream.Signature(StatusRequest)),
                "reading": Out(1),
                "scanning": Out(1),
                "answering": Out(1),
                "busy": In(1),
                "idle": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        decoded, body = self.decoded, self.body
        operation, argument = decoded.payload.operation, decoded.payload.argument
        # "No records", a clock behind the count: the count changes only while appending or on
        # a clear (which sets the flag at once), and no command reads it in the clock after.
        empty = Signal(init=1)
        m.d.sync += [empty.eq((self.count == 0) | self.clear), self.clear.eq(0)]
        # An ERROR's code is loaded every clock outside SEND_ERROR from ``candidate``, the code the
        # state would fail with, so its enable is one state flag, not every failure's condition.
        candidate = Signal(8)
        # APPEND's bytes pass through a register, so the append memory's checks start from
        # flops; ``appending`` is a flop equal to "in APPEND".
        appending = Signal()
        free = ~self.records.valid | self.records.ready  # the register empties or is empty
        m.d.comb += body.ready.eq(Mux(appending, free, self.recall_body.ready))
        with m.If(free):
            m.d.sync += [
                self.records.valid.eq(body.valid & appending),
                self.records.payload.eq(body.payload),
            ]
        m.d.comb += [self.recall_body.valid.eq(body.valid & ~appending),
                     self.recall_body.payload.eq(body.payload)]  # fmt: skip
        # Everything a command started has gone: registered, and low in the first clock of
        # each reading state (``reading`` is set with the transition into it).
        drained = Signal()
        m.d.sync += drained.eq(self.reading & ~self.busy)
        m.d.comb += [self.seed.payload.eq(argument), self.request.payload.eq(argument[32:])]

        fresh = Signal()  # the port's turn has begun: its word is taken whatever waits
        with m.FSM() as fsm:
            with m.State("IDLE"):
                waiting = decoded.valid | self.offered if self.append_port else decoded.valid
                m.d.comb += [
                    self.idle.eq(~waiting),
                    candidate.eq(Mux(operation == Operation.BAD, ErrorCode.BAD_COMMAND,
                                     ErrorCode.EMPTY)),
                ]  # fmt: skip
                if self.append_port:  # a record from the port and a command take turns
                    port_turn = Signal()  # a command ran since the port's last turn
                    with m.If(self.offered & (port_turn | ~decoded.valid)):
                        m.d.sync += [port_turn.eq(0), fresh.eq(1)]
                        m.next = "INTAKE"
                    with m.Elif(decoded.valid):
                        m.d.sync += port_turn.eq(1)
                        self._dispatch(m, operation, empty, appending)
                else:
                    with m.If(decoded.valid):
                        self._dispatch(m, operation, empty, appending)

            if self.append_port:
                with m.State("INTAKE"):
                    self._intake(m, fresh)

            with m.State("SEED"):  # the seed leaves from a state flop, the argument still held
                m.d.comb += [self.seed.valid.eq(1), decoded.ready.eq(1)]
                m.next = "IDLE"

            with m.State("APPEND"):
                with m.If(body.valid & body.ready & body.payload.last):
                    m.d.sync += appending.eq(0)
                    m.next = "APPEND_LAST"

            with m.State("APPEND_LAST"):  # the last byte is on its way to the append memory
                with m.If(self.appended):
                    m.next = "APPEND_RESULT"

            with m.State("APPEND_RESULT"):  # the refusal strobe comes one clock after that
                m.d.comb += candidate.eq(self.refusal_code)
                m.next = "IDLE"
                with m.If(self.refused):
                    m.next = "SEND_ERROR"

            with m.State("REQUEST"):
                m.d.comb += self.request.valid.eq(1)
                with m.If(self.request.ready):
                    m.d.comb += decoded.ready.eq(1)
                    m.d.sync += self.reading.eq(1)
                    m.next = "SAMPLING"

            with m.State("SAMPLING"):  # SAMPLE, INDICES and RECITE
                with m.If(drained):
                    m.d.sync += [self.reading.eq(0), self.divert.eq(0)]
                    m.next = "IDLE"

            with m.State("RECALL_BODY"):
                m.d.comb += [self.checked.ready.eq(1), candidate.eq(self.checked.payload)]
                with m.If(self.checked.valid):
                    m.next = "SEND_ERROR"
                    with m.If(self.checked.payload == 0):
                        m.d.comb += self.recite.eq(1)
                        m.d.sync += self.reading.eq(1)
                        m.next = "RECALL_SCAN"

            with m.State("RECALL_SCAN"):
                m.d.comb += self.scanning.eq(1)
                with m.If(drained):  # the readout keeps the storage for the answers
                    m.d.comb += self.answer.eq(1)
                    m.next = "RECALL_ANSWER"

            with m.State("RECALL_ANSWER"):
                m.d.comb += self.answering.eq(1)
                with m.If(self.answered):
                    m.d.sync += self.reading.eq(0)
                    m.next = "IDLE"

            for state, error in (("SEND_STATUS", 0), ("SEND_ERROR", 1)):
                with m.State(state):
                    m.d.comb += [self.status.valid.eq(1), self.status.payload.error.eq(error)]
                    with m.If(self.status.ready):
                        m.next = "IDLE"

        code = self.status.payload.code
        with m.If(~fsm.ongoing("SEND_ERROR")):
            m.d.sync += code.eq(candidate)
        m.d.sync += [
            Assert(appending == fsm.ongoing("APPEND"), "appending flag out of step"),
            Assert(~self.busy | self.reading, "indices or records outside a reading command"),
        ]
        return m

    def _intake(self, m, fresh):
        """The port's records, back to back, until one ends with a command waiting or no word
        after it; a record once started holds the commands off until its last word."""
        inside = Signal()  # the port's record has started and not ended
        m.d.sync += fresh.eq(0)
        m.d.comb += self.intake.eq(fresh | inside | ~self.decoded.valid)
        with m.If(self.offered & self.intake):
            m.d.sync += inside.eq(~self.offered_last)
        with m.If(~fresh & ~inside & (self.decoded.valid | ~self.offered)):
            m.next = "IDLE"

    def _dispatch(self, m, operation, empty, appending):
        """IDLE's decision on a decoded command: a transition, and the word taken unless the
        state after still reads its argument."""
        decoded = self.decoded
        with m.Switch(operation):
            with m.Case(Operation.APPEND):
                m.d.comb += decoded.ready.eq(1)
                m.d.sync += appending.eq(1)
                m.next = "APPEND"
            with m.Case(Operation.SAMPLE, Operation.INDICES):
                with m.If(empty):
                    m.d.comb += decoded.ready.eq(1)
                    m.next = "SEND_ERROR"
                with m.Else():
                    m.d.sync += self.divert.eq(operation == Operation.INDICES)
                    m.next = "REQUEST"
            with m.Case(Operation.SEED):
                m.next = "SEED"
            with m.Case(Operation.RECITE):
                m.d.comb += decoded.ready.eq(1)
                with m.If(empty):
                    m.next = "SEND_ERROR"
                with m.Else():
                    m.d.comb += self.recite.eq(1)
                    m.d.sync += self.reading.eq(1)
                    m.next = "SAMPLING"
            with m.Case(Operation.CLEAR):
                m.d.comb += decoded.ready.eq(1)
                m.d.sync += self.clear.eq(1)
            with m.Case(Operation.STATUS):
                m.d.comb += decoded.ready.eq(1)
                m.next = "SEND_STATUS"
            with m.Case(Operation.RECALL):
                m.d.comb += decoded.ready.eq(1)
                m.next = "RECALL_BODY"
            with m.Default():
                m.d.comb += decoded.ready.eq(1)
                m.next = "SEND_ERROR"
