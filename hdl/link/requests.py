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
from ..common.pipeline import Countdown
from ..common.skid import HalfRateSlice
from ..engine.protocol import DEFAULT_SEED, ErrorCode, Opcode
from ..engine.records import RecordWord
from .framing import FrameByte, rejection_signature
from .protocol import MAX_BODY, MAX_PAYLOAD, FrameError
from .replies import ReplyRequest

__all__ = ["RequestSide"]


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
        fmt = self.format
        frames, expected = self.frames, self.expected

        opcode = Signal(8)
        frame_remaining = Signal(range(MAX_BODY + 1))  # frame bytes not yet taken in
        frame_end_loaded = Signal()  # the frame's last byte has been taken in
        record_remaining = Countdown(m, range(MAX_PAYLOAD + 1), "record_remaining")
        length_low = Signal(7)  # a two-byte record length's low bits
        stored = Signal(16)  # records of this frame appended
        code = Signal(8)  # the reply's code: ErrorCode of a DONE, FrameError of a REJECTED
        rejecting = Signal()  # the reply is a REJECTED
        seed_shift = Signal(64)  # a SEED command's argument, as it passes
        pending_reject = Signal()
        reject_code = Signal(4)
        in_sequence = Signal()  # the frame in hand carries the expected sequence number

        # Frame bytes are taken into a register (``current``), a byte every other clock at most,
        # with the comparisons the parser needs decoded on the way in, so the parser works on
        # flops only and ``frames.ready`` is two LUTs from flops. No byte of the next frame is
        # taken in before the parser is back in IDLE, so the frame's counts follow the bytes.
        current = Signal(FrameByte)
        current_valid = Signal()
        consume = Signal()  # the parser takes ``current`` this clock
        is_status, is_append, matches_expected = Signal(), Signal(), Signal()
        opcode_consumes = Signal()  # as an opcode, this byte is taken whatever the core does
        short_length_bad, long_length_bad = Signal(), Signal()
        incoming = frames.payload.data
        long_length = Cat(length_low, incoming)
        parser_idle = Signal()
        m.d.comb += frames.ready.eq(~current_valid & (~frame_end_loaded | parser_idle))
        with m.If(frames.valid & frames.ready):
            m.d.sync += [
                current_valid.eq(1),
                current.eq(frames.payload),
                frame_remaining.eq(frame_remaining - 1),
                frame_end_loaded.eq(frames.payload.last),
                is_status.eq(incoming == Opcode.STATUS),
                is_append.eq(incoming == Opcode.APPEND),
                matches_expected.eq(incoming == expected),
                # (``in_sequence`` is set when the sequence byte is parsed, before the opcode
                # byte can be taken in)
                opcode_consumes.eq(
                    ((incoming != Opcode.STATUS) & ~in_sequence)
                    | ((incoming == Opcode.STATUS) & frames.payload.last)
                    | (incoming == Opcode.APPEND)
                ),
                # A record length that is zero or does not fit in the rest of the frame (which
                # counts the length byte itself); nothing these read changes before it is parsed.
                short_length_bad.eq((incoming == 0) | (incoming >= frame_remaining)),
                long_length_bad.eq((long_length == 0) | (long_length >= frame_remaining)),
            ]
        with m.If(current_valid & consume):
            m.d.sync += current_valid.eq(0)
        more_in_frame = ~frame_end_loaded | current_valid  # bytes the parser has not finished

        # Commands leave from a register, so ``commands.ready`` never reaches the parser.
        m.submodules.command_slice = command_slice = HalfRateSlice(RecordWord)
        wiring.connect(m, command_slice.output, wiring.flipped(self.commands))
        command = command_slice.input
        command_free = command.ready
        forwarded = current_valid & command_free

        def forward(first, last):
            """Pass the frame's byte to the core (``forwarded`` is true when it goes)."""
            m.d.comb += [
                command.valid.eq(current_valid),
                command.payload.data.eq(current.data),
                command.payload.first.eq(first),
                command.payload.last.eq(last),
            ]

        def send(byte, first, last):
            """A byte of the side's own to the core; True-valued when it goes."""
            m.d.comb += [
                command.valid.eq(1),
                command.payload.data.eq(byte),
                command.payload.first.eq(first),
                command.payload.last.eq(last),
            ]
            return command_free

        # The core has done everything it was given: nothing waits in the command register.
        # ``core_idle`` is registered on the way in (it ends a long chain in the core), the
        # command register folded in before the register so no command is ever in flight unseen.
        core_idle_seen = Signal()
        m.d.sync += core_idle_seen.eq(self.core_idle & command_free)
        core_done = core_idle_seen & command_free

        def refuse():
            """This frame is out of sequence: count it and answer it after draining it."""
            m.d.comb += self.sequence_error.eq(1)
            m.d.sync += [pending_reject.eq(1), reject_code.eq(FrameError.SEQUENCE)]

        next_record = "RECORD_OPCODE" if fmt.fixed else "LENGTH"

        def start_record(length, bad):
            """A record length was just read; ``bad``: zero or past the end of the frame."""
            last = current.last
            with m.If(bad | last):
                m.d.sync += code.eq(ErrorCode.MALFORMED)
                m.next = "DRAIN_TO_STATUS"
                with m.If(last):
                    m.next = "STATUS_COMMAND"
            with m.Else():
                record_remaining.load(length)
                m.next = "RECORD_OPCODE"

        with m.FSM(name="request") as fsm:
            with m.State("IDLE"):
                with m.If(pending_reject):
                    m.d.sync += [rejecting.eq(1), code.eq(reject_code)]
                    m.next = "REPLY"
                with m.Elif(current_valid):
                    m.d.sync += [
                        self.sequence.eq(current.data),
                        in_sequence.eq(matches_expected),
                        frame_remaining.eq(current.length - 1),
                        rejecting.eq(0),
                        code.eq(0),
                        stored.eq(0),
                    ]
                    with m.If(current.last):  # no opcode
                        with m.If(matches_expected):
                            m.d.sync += [expected.eq(expected + 1), code.eq(ErrorCode.MALFORMED)]
                            m.next = "STATUS_COMMAND"
                        with m.Else():
                            refuse()
                    with m.Else():
                        m.next = "OPCODE"

            with m.State("OPCODE"):
                with m.If(current_valid & ~is_status & ~in_sequence):
                    refuse()
                    m.next = "DRAIN_TO_IDLE"
                    with m.If(current.last):
                        m.next = "IDLE"
                with m.Elif(current_valid & is_status & current.last):
                    m.d.sync += opcode.eq(Opcode.STATUS)  # the side asks the core itself
                    m.next = "STATUS_COMMAND"
                with m.Elif(current_valid & is_append):
                    m.d.sync += [opcode.eq(Opcode.APPEND), expected.eq(expected + 1)]
                    m.next = next_record
                    with m.If(current.last):
                        m.next = "STATUS_COMMAND"  # an empty batch
                with m.Else():
                    forward(first=1, last=current.last)
                    with m.If(forwarded):
                        m.d.sync += opcode.eq(current.data)
                        with m.If(~is_status):
                            m.d.sync += expected.eq(expected + 1)
                        m.next = "FORWARD"
                        with m.If(current.last):
                            m.next = "WAIT_CORE"

            with m.State("FORWARD"):
                forward(first=0, last=current.last)
                with m.If(forwarded):
                    m.d.sync += seed_shift.eq(Cat(seed_shift[8:], current.data))
                    with m.If(current.last):
                        m.next = "WAIT_CORE"

            with m.State("WAIT_CORE"):
                with m.If(self.core_failed):
                    m.next = "REPLY"
                with m.Elif(core_done & self.reply_idle):
                    with m.If(opcode == Opcode.SEED):
                        m.d.sync += self.seed.eq(seed_shift)
                    m.next = "STATUS_COMMAND"

            if not fmt.fixed:
                with m.State("LENGTH"):
                    with m.If(current_valid):
                        with m.If(current.data[7]):
                            m.d.sync += length_low.eq(current.data[:7])
                            m.next = "LENGTH_HIGH"
                            with m.If(current.last):
                                m.d.sync += code.eq(ErrorCode.MALFORMED)
                                m.next = "STATUS_COMMAND"
                        with m.Else():
                            start_record(current.data, short_length_bad)

                with m.State("LENGTH_HIGH"):
                    with m.If(current_valid):
                        start_record(Cat(length_low, current.data), long_length_bad)

            with m.State("RECORD_OPCODE"):
                with m.If(send(Opcode.APPEND, first=1, last=0)):
                    if fmt.fixed:
                        record_remaining.load(fmt.record_size)
                    m.next = "RECORD"

            with m.State("RECORD"):
                record_last = record_remaining.at_end | current.last
                forward(first=0, last=record_last)
                with m.If(forwarded):
                    record_remaining.decrement()
                    with m.If(record_last):
                        m.next = "APPEND_WAIT"

            with m.State("APPEND_WAIT"):  # the core's verdict on the record
                with m.If(self.core_failed):
                    m.next = "REPLY"
                    with m.If(more_in_frame):
                        m.next = "DRAIN_TO_REPLY"
                with m.Elif(core_done):
                    m.d.sync += stored.eq(stored + 1)
                    m.next = next_record
                    with m.If(~more_in_frame):
                        m.next = "STATUS_COMMAND"

            with m.State("STATUS_COMMAND"):
                with m.If(send(Opcode.STATUS, first=1, last=1)):
                    m.next = "REPLY"

            for state, following in (
                ("DRAIN_TO_IDLE", "IDLE"),
                ("DRAIN_TO_STATUS", "STATUS_COMMAND"),
                ("DRAIN_TO_REPLY", "REPLY"),
            ):
                with m.State(state):
                    with m.If(current_valid & current.last):
                        m.next = following

            with m.State("REPLY"):
                m.d.comb += self.replies.valid.eq(1)
                with m.If(self.replies.ready):
                    with m.If(rejecting):
                        m.d.sync += pending_reject.eq(0)
                    m.next = "IDLE"

        reply = self.replies.payload
        m.d.comb += [
            reply.rejected.eq(rejecting),
            reply.code.eq(code),
            reply.stored.eq(stored),
            reply.sequence.eq(Mux(rejecting, expected, self.sequence)),
        ]

        # ``consume`` as one flat OR of (state, condition) terms, so it stays a few LUTs deep.
        drains = ("DRAIN_TO_IDLE", "DRAIN_TO_STATUS", "DRAIN_TO_REPLY")
        consumes_always = drains + (() if fmt.fixed else ("LENGTH", "LENGTH_HIGH"))
        consume_terms = [
            fsm.ongoing("IDLE") & ~pending_reject,
            fsm.ongoing("OPCODE") & (opcode_consumes | command_free),
            (fsm.ongoing("FORWARD") | fsm.ongoing("RECORD")) & command_free,
            *(fsm.ongoing(state) for state in consumes_always),
        ]
        m.d.comb += [
            consume.eq(Cat(*consume_terms).any()),
            parser_idle.eq(fsm.ongoing("IDLE")),
        ]

        rejection = self.rejections
        with m.If(rejection.valid):  # after the clear above, so a new rejection is never lost
            m.d.sync += [pending_reject.eq(1), reject_code.eq(rejection.payload)]

        assert_stream_stable(m, self.replies, "replies")
        return m
