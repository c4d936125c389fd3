"""The request side of the command processor: checked frames in, core commands and reply
requests out.

It runs one frame at a time:

* sequence numbers (go-back-N): a frame runs only if its number is the expected one (STATUS runs
  whatever its number); any other is drained and answered REJECTED SEQUENCE;
* APPEND batches: each record of the frame becomes one APPEND packet for the core; after each the
  side waits for the core's verdict, and on a refusal stops, drains the rest of the frame and
  asks for a DONE with the number of the frame's records stored. Lengths that do not parse
  (zero, or past the end of the frame, which is known from its first byte) end the frame with
  MALFORMED before a byte of that record reaches the core;
* other opcodes pass to the core as they are;
* every executed frame ends with one reply request for its DONE: after a command the side asks
  the core for STATUS (a barrier: every response of the command has passed by then) unless the
  core failed the command (its ERROR, waiting at the reply side, takes STATUS's place);
* rejected frames (from the deframer, or out of sequence) get a REJECTED reply request with the
  code; while a command runs, further rejections wait, and the latest is answered after it.

A reply request is held until the reply side has sent the reply, so nothing the reply reads
(``sequence``, ``expected``, ``seed``) moves while it is sent.
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..common.checks import assert_stream_stable
from ..common.serialiser import StreamJoin
from ..common.skid import HalfRateSlice
from ..engine.protocol import DEFAULT_SEED, ErrorCode, Opcode
from ..engine.records import RecordWord
from .append_batch import AppendBatch
from .frame_buffer import FrameByte
from .frame_checker import rejection_signature
from .frame_intake import FrameIntake
from .protocol import FrameError
from .replies import ReplyRequest

__all__ = ["RequestSide"]


def _latest_rejection(m, rejections, refused, answered):
    """The rejection waiting for its REJECTED, the latest: the deframer's, or SEQUENCE while
    ``refused``; none once ``answered``, unless a new one comes in that clock."""
    pending, code = Signal(name="reject_pending"), Signal(4, name="reject_code")
    with m.If(answered):
        m.d.sync += pending.eq(0)
    with m.If(refused):
        m.d.sync += [pending.eq(1), code.eq(FrameError.SEQUENCE)]
    with m.If(rejections.valid):
        m.d.sync += [pending.eq(1), code.eq(rejections.payload)]
    return pending, code


class RequestSide(wiring.Component):
    """Frames to core commands, one frame at a time, and a reply request for each.

    Parameters
    ----------
    record_format : RecordFormat
        The core's format (fixed-size mode changes how APPEND carries records).

    Members
    -------
    frames : In(stream.Signature(FrameByte))
        ``sequence | payload`` of good frames, each byte with its frame's length.
    rejections : In(rejection_signature())
        Frames the deframer dropped, with the reason.
    commands : Out(stream.Signature(RecordWord))
        Command packets for the core.
    replies : Out(stream.Signature(ReplyRequest))
        A DONE or REJECTED to send; taken once it is sent.
    sequence, expected, seed : Out(8), Out(8), Out(64)
        The sequence number of the frame running, the next one to execute, the last seed set.
    sequence_error : Out(1)
        Strobe: a frame was out of sequence.
    core_idle : In(1)
        The core has done every command it was given, and all its responses are taken.
    reply_idle : In(1)
        The reply side is between records (no DATA record half sent).
    core_failed : In(1)
        The core answered ERROR to the command (the packet waits at the reply side).
    """

    def __init__(self, record_format):
        self.format = record_format
        super().__init__(
            {
                "frames": In(stream.Signature(FrameByte)),
                "rejections": In(rejection_signature()),
                "commands": Out(stream.Signature(RecordWord)),
                "replies": Out(stream.Signature(ReplyRequest)),
                "sequence": Out(8),
                "expected": Out(8),
                "seed": Out(64, init=DEFAULT_SEED),
                "sequence_error": Out(1),
                "core_idle": In(1),
                "reply_idle": In(1),
                "core_failed": In(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        m.submodules.intake = intake = FrameIntake()
        m.submodules.batch = batch = AppendBatch(self.format)
        wiring.connect(m, wiring.flipped(self.frames), intake.frames)
        current, current_valid = intake.bytes.payload, intake.bytes.valid
        in_sequence = Signal()  # the frame in hand carries the expected sequence number
        opcode = Signal(8)
        seed_shift = Signal(64)  # a SEED command's argument, as it passes
        code = Signal(8)  # the reply's code: ErrorCode of a DONE, FrameError of a REJECTED
        rejecting = Signal()  # the reply is a REJECTED
        pending_reject, reject_code = _latest_rejection(
            m, self.rejections, self.sequence_error, self.replies.ready & rejecting
        )
        command, core_done = self._command_path(m, batch)
        command_free = command.ready
        m.d.comb += [
            intake.expected.eq(self.expected),
            intake.in_sequence.eq(in_sequence),
            intake.length_low.eq(batch.length_low),
            batch.more_in_frame.eq(intake.more_in_frame),
            batch.bytes.payload.eq(current),
            batch.core_done.eq(core_done),
            batch.core_failed.eq(self.core_failed),
        ]

        def send(byte, first, last, valid=1):
            """A byte to the core (the frame's, or the side's own); True-valued when it goes."""
            m.d.comb += [
                command.valid.eq(valid),
                command.payload.data.eq(byte),
                command.payload.first.eq(first),
                command.payload.last.eq(last),
            ]
            return valid & command_free

        def forward(first, last):
            return send(current.data, first, last, valid=current_valid)

        def reply():
            """To REPLY: the request's valid is a flop, set on the way in."""
            m.d.sync += self.replies.valid.eq(1)
            m.next = "REPLY"

        with m.FSM() as fsm:
            with m.State("IDLE"):
                with m.If(pending_reject):
                    m.d.sync += [rejecting.eq(1), code.eq(reject_code)]
                    reply()
                with m.Elif(current_valid):
                    m.d.comb += batch.clear.eq(1)
                    m.d.sync += [
                        self.sequence.eq(current.data),
                        in_sequence.eq(current.matches_expected),
                        rejecting.eq(0),
                        code.eq(0),
                    ]
                    with m.If(current.last):  # no opcode
                        with m.If(current.matches_expected):
                            m.d.sync += code.eq(ErrorCode.MALFORMED)
                            m.next = "STATUS_COMMAND"
                    with m.Else():
                        m.next = "OPCODE"

            with m.State("OPCODE"):
                with m.If(current_valid & current.refused):
                    m.next = "DRAIN_TO_IDLE"
                    with m.If(current.last):
                        m.next = "IDLE"
                with m.Elif(current_valid & current.is_status & current.last):
                    m.d.sync += opcode.eq(Opcode.STATUS)  # the side asks the core itself
                    m.next = "STATUS_COMMAND"
                with m.Elif(current_valid & current.is_append):
                    m.d.sync += opcode.eq(Opcode.APPEND)
                    m.d.comb += batch.start.eq(~current.last)
                    m.next = "BATCH"
                    with m.If(current.last):
                        m.next = "STATUS_COMMAND"  # an empty batch
                with m.Else():
                    with m.If(forward(first=1, last=current.last)):
                        m.d.sync += opcode.eq(current.data)
                        m.next = "FORWARD"
                        with m.If(current.last):
                            m.next = "WAIT_CORE"

            with m.State("FORWARD"):
                with m.If(forward(first=0, last=current.last)):
                    m.d.sync += seed_shift.eq(Cat(seed_shift[8:], current.data))
                    with m.If(current.last):
                        m.next = "WAIT_CORE"

            with m.State("WAIT_CORE"):
                with m.If(self.core_failed):
                    reply()
                with m.Elif(core_done & self.reply_idle):
                    with m.If(opcode == Opcode.SEED):
                        m.d.sync += self.seed.eq(seed_shift)
                    m.next = "STATUS_COMMAND"

            with m.State("BATCH"):  # the batch has the frame's bytes until it ends
                ended = batch.outcome.payload
                m.d.comb += [
                    batch.bytes.valid.eq(current_valid),
                    batch.outcome.ready.eq(1),
                ]
                with m.If(batch.outcome.valid):
                    with m.If(ended.malformed):
                        m.d.sync += code.eq(ErrorCode.MALFORMED)
                    with m.Switch(Cat(ended.drain, ended.failed)):
                        with m.Case(0b00):
                            m.next = "STATUS_COMMAND"
                        with m.Case(0b01):
                            m.next = "DRAIN_TO_STATUS"
                        with m.Case(0b10):
                            reply()
                        with m.Case(0b11):
                            m.next = "DRAIN_TO_REPLY"

            with m.State("STATUS_COMMAND"):
                with m.If(send(Opcode.STATUS, first=1, last=1)):
                    reply()

            for state, following in (
                ("DRAIN_TO_IDLE", "IDLE"),
                ("DRAIN_TO_STATUS", "STATUS_COMMAND"),
                ("DRAIN_TO_REPLY", "REPLY"),
            ):
                with m.State(state):
                    with m.If(current_valid & current.last):
                        if following == "REPLY":
                            reply()
                        else:
                            m.next = following

            with m.State("REPLY"):
                with m.If(self.replies.ready):
                    m.d.sync += self.replies.valid.eq(0)
                    m.next = "IDLE"

        reply = self.replies.payload
        m.d.comb += [
            reply.rejected.eq(rejecting),
            reply.code.eq(code),
            reply.stored.eq(batch.stored),
            reply.sequence.eq(Mux(rejecting, self.expected, self.sequence)),
        ]

        self._flat_decisions(m, fsm, intake, batch, pending_reject, command_free)
        assert_stream_stable(m, self.replies, "replies")
        return m

    def _flat_decisions(self, m, fsm, intake, batch, pending_reject, command_free):
        """The decisions taken every clock as flat OR of (state, flag) terms, kept out of the
        states' priorities so each is a few LUTs deep: the expected sequence number's increment
        (a frame that runs moves it, a STATUS does not), the out-of-sequence strobe (the frame
        is counted, and answered once drained), and which byte the parser takes."""
        current, current_valid, expected = intake.bytes.payload, intake.bytes.valid, self.expected
        taking = fsm.ongoing("IDLE") & ~pending_reject & current_valid & current.last
        m.d.comb += self.sequence_error.eq(
            (taking & ~current.matches_expected)
            | (fsm.ongoing("OPCODE") & current_valid & current.refused)
        )
        advance_terms = [
            taking & current.matches_expected,
            fsm.ongoing("OPCODE") & current_valid & current.advances
            & (current.is_append | command_free),
        ]  # fmt: skip
        with m.If(Cat(*advance_terms).any()):
            m.d.sync += expected.eq(expected + 1)
        drains = ("DRAIN_TO_IDLE", "DRAIN_TO_STATUS", "DRAIN_TO_REPLY")
        consume_terms = [
            fsm.ongoing("IDLE") & ~pending_reject,
            fsm.ongoing("OPCODE") & (current.opcode_consumes | command_free),
            fsm.ongoing("FORWARD") & command_free,
            fsm.ongoing("BATCH") & batch.bytes.ready,
            *(fsm.ongoing(state) for state in drains),
        ]
        consume = Signal()  # the parser takes the intake's byte this clock
        m.d.comb += [
            consume.eq(Cat(*consume_terms).any()),
            intake.bytes.ready.eq(consume),
            intake.parser_idle.eq(fsm.ongoing("IDLE")),
        ]

    def _command_path(self, m, batch):
        """Commands leave from a register, so ``commands.ready`` never reaches the parser; the
        batch's APPEND packets join the parser's own there (never both at once). Returns the
        parser's way in, and whether the core has done everything it was given."""
        m.submodules.command_join = join = StreamJoin(RecordWord, 2)
        m.submodules.command_slice = command_slice = HalfRateSlice(RecordWord)
        wiring.connect(m, batch.commands, join.input1)
        wiring.connect(m, join.output, command_slice.input)
        wiring.connect(m, command_slice.output, wiring.flipped(self.commands))
        # ``core_idle`` is registered on the way in (it ends a long chain in the core), the
        # register's emptiness folded in before it, so no command is ever in flight unseen.
        free = command_slice.input.ready
        core_idle_seen = Signal()
        m.d.sync += core_idle_seen.eq(self.core_idle & free)
        return join.input0, core_idle_seen & free
