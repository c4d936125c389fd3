"""Command processor: checked frames in, core commands out; core responses in, reply frames out.

It sits between the :class:`.framing.Deframer` and :class:`~memgen.hdl.engine.core.MemGen`
on the way in and between the core and the :class:`~memgen.hdl.link.framing.Framer` on the way out,
and implements the command layer of :mod:`memgen.hdl.link.protocol`:

* sequence numbers (go-back-N): a frame runs only if its number is the expected one (STATUS runs
  whatever its number); any other is drained and answered REJECTED SEQUENCE;
* APPEND batches: each record of the frame becomes one APPEND packet for the core; after each the
  processor waits for the core's verdict, and on a refusal stops, drains the rest of the frame and
  answers the refusal with the number of the frame's records stored. Lengths that do not parse
  (zero, or past the end of the frame, which is known from its first byte) answer MALFORMED
  before a byte of that record reaches the core;
* other opcodes pass to the core as they are;
* every executed frame ends with one DONE frame: after a command the processor asks the core for
  STATUS (a barrier: every response of the command has passed by then) unless the core already
  answered ERROR, and wraps that packet with the code, the stored count, the expected sequence,
  the last seed and the link counters;
* the record stream of SAMPLE and RECITE goes out in DATA frames of up to ``MAX_PAYLOAD`` bytes,
  each record prefixed by its varint length in variable-length mode; INDICES' stream is the
  indices, 4 bytes each, in either mode. A record's last byte is held
  until the core offers its next byte or is idle, so the last DATA frame ends exactly with the
  stream; no count is needed;
* rejected frames (from the deframer, or out of sequence) answer REJECTED with the code; while a
  command runs, further rejections only count, and one REJECTED (the latest) follows the command.

Flow control toward the host is the host's: it asks for at most as many samples per SAMPLE as it
can take; the device streams them at the line rate.
"""

from amaranth.hdl import Assert, Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..common.checks import assert_stream_stable
from ..common.pipeline import Countdown
from ..engine.core import ResponseWord
from ..engine.protocol import DEFAULT_SEED, ErrorCode, Opcode, ResponseKind
from ..engine.records import RecordWord
from .protocol import LINK_COUNTERS, MAX_BODY, MAX_PAYLOAD, FrameError, Reply

__all__ = ["CommandProcessor"]


def _output_register(m, port, name):
    """A packet-byte stream (``data``, ``first``, ``last``) driven from flops.

    Returns ``(free, put)``: ``put(byte, first, last)`` fills the register and may be called only
    while ``free``; the sink's ``ready`` empties it. Neither the sink's ``ready`` nor anything
    behind it reaches the logic that decides what to put, and a byte goes out every other clock
    at most."""
    valid = Signal(name=f"{name}_valid")
    word = Signal(RecordWord, name=f"{name}_word")
    m.d.comb += [port.valid.eq(valid), port.payload.eq(word)]
    with m.If(valid & port.ready):
        m.d.sync += valid.eq(0)

    def put(byte, first, last, wanted=1):
        """Fill the register; with ``wanted`` a signal, it is filled only if that is set, but
        loads whenever called (so the load enable need not wait for ``wanted``)."""
        m.d.sync += [
            valid.eq(wanted),
            word.data.eq(byte),
            word.first.eq(first),
            word.last.eq(last),
        ]

    return ~valid, put


_COUNTED_REJECTIONS = {
    "crc_errors": (FrameError.BAD_CRC,),
    "malformed_frames": (
        FrameError.BAD_ESCAPE,
        FrameError.SHORT,
        FrameError.BAD_LENGTH,
        FrameError.TOO_LONG,
    ),
    "overflows": (FrameError.OVERFLOW,),
    "timeouts": (FrameError.TIMEOUT,),
}


class CommandProcessor(wiring.Component):
    """The command layer between the link and the core.

    Parameters
    ----------
    record_format : RecordFormat
        The core's format (fixed-size mode changes how APPEND and DATA carry records).

    Members
    -------
    frames : In(stream.Signature(RecordWord))
        ``sequence | payload`` of good frames (from the deframer).
    frame_length : In(range(MAX_BODY + 1))
        Bytes of the frame on ``frames``.
    rejected, rejection : In(1), In(3)
        The deframer's rejection strobe and code.
    uart_error : In(1)
        Strobe: a UART framing error or overrun.
    commands : Out(stream.Signature(RecordWord))
        To the core.
    responses : In(stream.Signature(ResponseWord))
        From the core.
    record_length, core_idle : In(length_width), In(1)
        The core's ``record_length`` and ``idle``.
    packets : Out(stream.Signature(RecordWord))
        Reply frame payloads (to the framer).
    sequence : Out(8)
        The sequence number of the reply on ``packets``.
    """

    def __init__(self, record_format):
        self.format = record_format
        super().__init__(
            {
                "frames": In(stream.Signature(RecordWord)),
                "frame_length": In(range(MAX_BODY + 1)),
                "rejected": In(1),
                "rejection": In(3),
                "uart_error": In(1),
                "commands": Out(stream.Signature(RecordWord)),
                "responses": In(stream.Signature(ResponseWord)),
                "record_length": In(record_format.length_width),
                "core_idle": In(1),
                "packets": Out(stream.Signature(RecordWord)),
                "sequence": Out(8),
            }
        )

    def elaborate(self, platform):
        m = Module()
        fmt = self.format
        frames, commands = self.frames, self.commands
        responses, packets = self.responses, self.packets

        expected = Signal(8)  # next sequence number to execute
        reply_sequence = Signal(8)
        opcode = Signal(8)
        frame_remaining = Signal(range(MAX_BODY + 1))  # frame bytes not yet taken in
        frame_end_loaded = Signal()  # the frame's last byte has been taken in
        record_remaining = Countdown(m, range(MAX_PAYLOAD + 1), "record_remaining")
        length_low = Signal(7)
        stored = Signal(16)
        code = Signal(8)  # ErrorCode of the DONE frame, 0 when fine
        core_error = Signal()  # the core answered ERROR to this frame
        seed = Signal(64, init=DEFAULT_SEED)
        seed_shift = Signal(64)
        pending_reject = Signal()
        reject_code = Signal(4)
        reject_request = Signal()
        reply_sent = Signal()  # the response side finished this frame's DONE or REJECTED
        response_idle = Signal()
        sequence_error = Signal()
        in_sequence = Signal()  # the frame in hand carries the expected sequence number

        # Link counters: 16 bits, saturating.
        counters = {name: Signal(16, name=name) for name in LINK_COUNTERS}
        events = {
            name: self.rejected & Cat(self.rejection == c for c in codes).any()
            for name, codes in _COUNTED_REJECTIONS.items()
        }
        events["sequence_errors"] = sequence_error
        events["uart_errors"] = self.uart_error
        for name, counter in counters.items():
            # "below 0xFFFF" is a flop beside the counter, so no 16-bit compare gates its enable
            below_max = Signal(init=1, name=f"{name}_below_max")
            with m.If(events[name] & below_max):
                m.d.sync += [counter.eq(counter + 1), below_max.eq(counter != 0xFFFE)]
            m.d.sync += Assert(below_max == (counter != 0xFFFF), f"{name} saturation flag")

        # ---- Command side ---------------------------------------------------------------
        # Frame bytes are taken into a register (``current``), a byte every other clock at most,
        # with the comparisons the parser needs decoded on the way in: the parser works on flops
        # only and ``frames.ready`` is two LUTs from flops, so neither the slice's output nor the
        # parser's decisions start a long path. The line brings a byte every few tens of clocks
        # anyway. No byte of the next frame is taken in before the parser is back in IDLE, so
        # the frame's counts can follow the bytes taken in rather than the parser's progress.
        current = Signal(RecordWord)
        current_valid = Signal()
        current_frame_length = Signal.like(self.frame_length)
        consume = Signal()  # the parser takes ``current`` this clock
        is_status, is_append, matches_expected = Signal(), Signal(), Signal()
        opcode_consumes = Signal()  # as an opcode, this byte is taken whatever the core does
        short_length_bad, long_length_bad = Signal(), Signal()
        incoming = frames.payload.data
        long_length = Cat(length_low, incoming)
        parser_idle = Signal()  # the command FSM is in IDLE
        m.d.comb += frames.ready.eq(~current_valid & (~frame_end_loaded | parser_idle))
        with m.If(frames.valid & frames.ready):
            m.d.sync += [
                current_valid.eq(1),
                current.eq(frames.payload),
                current_frame_length.eq(self.frame_length),
                frame_remaining.eq(frame_remaining - 1),
                frame_end_loaded.eq(frames.payload.last),
                is_status.eq(incoming == Opcode.STATUS),
                is_append.eq(incoming == Opcode.APPEND),
                matches_expected.eq(incoming == expected),
                # (``in_sequence`` is set when the frame's sequence byte is parsed, before its
                # opcode byte can be taken in)
                opcode_consumes.eq(
                    ((incoming != Opcode.STATUS) & ~in_sequence)
                    | ((incoming == Opcode.STATUS) & frames.payload.last)
                    | (incoming == Opcode.APPEND)
                ),
                # A record length that is zero or does not fit in the rest of the frame (which
                # counts the length byte itself). ``frame_remaining``, ``length_low`` and
                # ``expected`` do not change between a byte's arrival here and its parsing.
                short_length_bad.eq((incoming == 0) | (incoming >= frame_remaining)),
                long_length_bad.eq((long_length == 0) | (long_length >= frame_remaining)),
            ]
        with m.If(current_valid & consume):
            m.d.sync += current_valid.eq(0)
        # bytes of the frame the parser has not finished with
        more_in_frame = ~frame_end_loaded | current_valid
        # ``consume`` is assembled after the state machine as one flat OR of (state, condition)
        # terms, so it stays a few LUTs deep; the states below test their own conditions.

        # Commands leave from a register too, so ``commands.ready`` never reaches the parser.
        command_free, put_command = _output_register(m, commands, "command")

        forwarded = current_valid & command_free

        def forward(first, last):
            """Pass the frame's byte to the core (``forwarded`` is true when it goes)."""
            with m.If(forwarded):
                put_command(current.data, first, last)

        def send(byte, first, last):
            """Send a byte of the processor's own to the core; True-valued when sent."""
            with m.If(command_free):
                put_command(byte, first, last)
            return command_free

        # The core has done everything it was given: nothing waits in the command register.
        # ``core_idle`` is registered on the way in (it ends a long chain in the core); the
        # command register, which a command leaves the clock the slice takes it, is folded in
        # before the register so no command is ever in flight unseen.
        core_idle_seen = Signal()
        m.d.sync += core_idle_seen.eq(self.core_idle & command_free)
        core_done = core_idle_seen & command_free

        next_record = "RECORD_OPCODE" if fmt.fixed else "LENGTH"

        def start_record(length, bad):
            """A record length was just read (this clock's frame byte ends it); ``bad``: it is
            zero or longer than the rest of the frame."""
            last = current.last
            with m.If(bad | last):
                m.d.sync += code.eq(ErrorCode.MALFORMED)
                m.next = "DRAIN_TO_STATUS"
                with m.If(last):
                    m.next = "STATUS_COMMAND"
            with m.Else():
                record_remaining.load(length)
                m.next = "RECORD_OPCODE"

        with m.FSM(name="command") as command_fsm:
            with m.State("IDLE"):
                m.d.sync += reply_sent.eq(0)
                with m.If(pending_reject):
                    m.next = "REJECT"
                with m.Elif(current_valid):
                    m.d.sync += [
                        reply_sequence.eq(current.data),
                        in_sequence.eq(matches_expected),
                        frame_remaining.eq(current_frame_length - 1),
                        code.eq(0),
                        stored.eq(0),
                        core_error.eq(0),
                    ]
                    with m.If(current.last):  # no opcode
                        with m.If(matches_expected):
                            m.d.sync += [expected.eq(expected + 1), code.eq(ErrorCode.MALFORMED)]
                            m.next = "STATUS_COMMAND"
                        with m.Else():
                            m.d.comb += sequence_error.eq(1)
                            m.d.sync += [pending_reject.eq(1), reject_code.eq(FrameError.SEQUENCE)]
                    with m.Else():
                        m.next = "OPCODE"

            with m.State("OPCODE"):
                with m.If(current_valid & ~is_status & ~in_sequence):
                    m.d.comb += sequence_error.eq(1)
                    m.d.sync += [pending_reject.eq(1), reject_code.eq(FrameError.SEQUENCE)]
                    m.next = "DRAIN_TO_IDLE"
                    with m.If(current.last):
                        m.next = "IDLE"
                with m.Elif(current_valid & is_status & current.last):
                    # the processor asks the core itself
                    m.d.sync += opcode.eq(Opcode.STATUS)
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
                with m.If(core_error):
                    m.next = "DONE_WAIT"
                with m.Elif(core_done & response_idle):
                    with m.If(opcode == Opcode.SEED):
                        m.d.sync += seed.eq(seed_shift)
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
                with m.If(core_error):
                    m.next = "DONE_WAIT"
                    with m.If(more_in_frame):
                        m.next = "DRAIN_TO_DONE"
                with m.Elif(core_done):
                    m.d.sync += stored.eq(stored + 1)
                    m.next = next_record
                    with m.If(~more_in_frame):
                        m.next = "STATUS_COMMAND"

            with m.State("STATUS_COMMAND"):
                with m.If(send(Opcode.STATUS, first=1, last=1)):
                    m.next = "DONE_WAIT"

            for state, following in (
                ("DRAIN_TO_IDLE", "IDLE"),
                ("DRAIN_TO_STATUS", "STATUS_COMMAND"),
                ("DRAIN_TO_DONE", "DONE_WAIT"),
            ):
                with m.State(state):
                    with m.If(current_valid & current.last):
                        m.next = following

            with m.State("DONE_WAIT"):
                with m.If(reply_sent):
                    m.next = "IDLE"

            with m.State("REJECT"):
                m.d.comb += reject_request.eq(~reply_sent)
                with m.If(reply_sent):
                    m.d.sync += pending_reject.eq(0)
                    m.next = "IDLE"

        drains = ("DRAIN_TO_IDLE", "DRAIN_TO_STATUS", "DRAIN_TO_DONE")
        consumes_always = drains + (() if fmt.fixed else ("LENGTH", "LENGTH_HIGH"))
        consume_terms = [
            command_fsm.ongoing("IDLE") & ~pending_reject,
            command_fsm.ongoing("OPCODE") & (opcode_consumes | command_free),
            (command_fsm.ongoing("FORWARD") | command_fsm.ongoing("RECORD")) & command_free,
            *(command_fsm.ongoing(state) for state in consumes_always),
        ]
        m.d.comb += [
            consume.eq(Cat(*consume_terms).any()),
            parser_idle.eq(command_fsm.ongoing("IDLE")),
        ]

        with m.If(self.rejected):  # after the clear above, so a new rejection is never lost
            m.d.sync += [pending_reject.eq(1), reject_code.eq(self.rejection)]

        # ---- Response side --------------------------------------------------------------
        response = responses.payload
        frame_open = Signal()  # a DATA frame is open
        frame_count = Signal(range(MAX_PAYLOAD + 1))  # its payload bytes so far
        held = Signal(8)
        index = Signal(range(32))
        header = Cat(Const(Reply.DONE, 8), code, stored)
        extras = Cat(expected, seed, *counters.values())
        # Reply bytes leave from a register, their frame's sequence number beside them.
        packet_free, put_packet = _output_register(m, packets, "packet")
        packet_sequence = Signal(8)
        m.d.comb += self.sequence.eq(packet_sequence)

        # The states only say which byte they want out (``want``); the register loads from
        # that in one place whenever it is free, its valid becoming ``want``, so its enable is
        # "free" (a flop), not a chain of the states' conditions.
        want = Signal()
        want_byte = Signal(8)
        want_first, want_last = Signal(), Signal()
        # A DATA frame's bookkeeping follows the register a clock later, from flags loaded with
        # it: ``opened`` (the byte put was a DATA header), ``counted`` (a payload byte), and
        # ``closing`` (the frame's last byte). The register stays full in that clock, so the
        # next byte is chosen from the updated count, and the count's enable is a flop.
        want_open, want_data = Signal(), Signal()
        opened, counted, closing = Signal(), Signal(), Signal()
        m.d.sync += [opened.eq(0), counted.eq(0)]
        with m.If(packet_free):
            put_packet(want_byte, want_first, want_last, wanted=want)
            m.d.sync += [
                packet_sequence.eq(Mux(reject_request, expected, reply_sequence)),
                opened.eq(want_open),
                counted.eq(want_data),
                closing.eq(want_last),
            ]
        with m.If(opened):
            m.d.sync += [frame_open.eq(1), frame_count.eq(1)]
        with m.Elif(counted):
            m.d.sync += frame_count.eq(frame_count + 1)
            with m.If(closing):
                m.d.sync += frame_open.eq(0)
        m.d.sync += Assert(~(opened | counted) | ~packet_free, "DATA frame count behind a put")

        def emit(byte, first, last):
            """Put one reply byte out if the register is free; True-valued when put."""
            m.d.comb += [
                want.eq(1),
                want_byte.eq(byte),
                want_first.eq(first),
                want_last.eq(last),
            ]
            return packet_free

        def emit_data(byte, end):
            """Offer one byte of the record stream, opening a DATA frame first if none is open.

            True-valued when the byte itself was taken."""
            sent = Signal(name="data_sent")
            with m.If(~frame_open):
                emit(Reply.DATA, first=1, last=0)
                m.d.comb += want_open.eq(1)
            with m.Else():
                last = end | (frame_count == MAX_PAYLOAD - 1)
                m.d.comb += [want_data.eq(1), sent.eq(emit(byte, first=0, last=last))]
            return sent

        # DONE and REJECTED bytes of the processor's own leave through a shift register loaded
        # in the state's first clock (a snapshot: the counters may move meanwhile), so each
        # byte is a flop, not a wide multiplexer.
        vector_shift = Signal(max(len(header), len(extras), 16))
        vector_loaded = Signal()

        def emit_vector(vector, size, first_at_zero, last_at_end, then):
            """Put ``vector``'s bytes out, one per free register, from ``index`` 0."""
            last = (index == size - 1) if last_at_end else 0
            with m.If(~vector_loaded):
                m.d.sync += [vector_shift.eq(vector), vector_loaded.eq(1)]
            with m.Else():
                first = first_at_zero & (index == 0)
                with m.If(emit(vector_shift[:8], first=first, last=last)):
                    m.d.sync += [index.eq(index + 1), vector_shift.eq(vector_shift[8:])]
                    with m.If(index == size - 1):
                        m.d.sync += [index.eq(0), vector_loaded.eq(0)]
                        m.next = then
                        if last_at_end:
                            m.d.sync += reply_sent.eq(1)

        with m.FSM(name="response"):
            with m.State("IDLE"):
                m.d.comb += response_idle.eq(1)
                with m.If(responses.valid):
                    with m.Switch(response.kind):
                        with m.Case(ResponseKind.RECORD):
                            m.next = "BYTES" if fmt.fixed else "LENGTH_LOW"
                        with m.Case(ResponseKind.INDEX):  # no length: always 4 bytes
                            m.next = "BYTES"
                        with m.Case(ResponseKind.ERROR):
                            m.d.comb += responses.ready.eq(1)
                            m.d.sync += [code.eq(response.data), core_error.eq(1)]
                            m.next = "DONE_HEADER"
                        with m.Default():
                            m.next = "DONE_HEADER"
                with m.Elif(reject_request):
                    m.next = "REJECTED"

            length = self.record_length
            with m.State("LENGTH_LOW"):
                two = length >= 0x80
                with m.If(emit_data(Mux(two, 0x80 | length[:7], length), end=0)):
                    m.next = "BYTES"
                    with m.If(two):
                        m.next = "LENGTH_HIGH"

            with m.State("LENGTH_HIGH"):
                with m.If(emit_data(length[7:], end=0)):
                    m.next = "BYTES"

            with m.State("BYTES"):
                with m.If(response.last):
                    m.d.comb += responses.ready.eq(1)
                    with m.If(responses.valid):
                        m.d.sync += held.eq(response.data)
                        m.next = "HELD"
                with m.Elif(responses.valid):
                    m.d.comb += responses.ready.eq(emit_data(response.data, end=0))

            # A record's last byte waits until the core either offers its next byte (the next
            # record's, or RECALL's next header) or is idle (never both: idle includes an empty
            # response slice); only then is it known whether the byte ends the stream.
            with m.State("HELD"):
                with m.If(self.core_idle | responses.valid):
                    with m.If(emit_data(held, end=self.core_idle)):
                        m.next = "IDLE"

            with m.State("DONE_HEADER"):
                emit_vector(header, 4, first_at_zero=True, last_at_end=False, then="DONE_STATUS")

            with m.State("DONE_STATUS"):
                with m.If(responses.valid):
                    m.d.comb += responses.ready.eq(emit(response.data, first=0, last=0))
                with m.If(responses.valid & responses.ready & response.last):
                    m.next = "DONE_EXTRAS"

            with m.State("DONE_EXTRAS"):
                emit_vector(
                    extras, len(extras) // 8, first_at_zero=False, last_at_end=True, then="IDLE"
                )

            with m.State("REJECTED"):
                reply = Cat(Const(Reply.REJECTED, 8), reject_code, Const(0, 4))
                emit_vector(reply, 2, first_at_zero=True, last_at_end=True, then="IDLE")

        assert_stream_stable(m, packets, "packets")
        assert_stream_stable(m, commands, "commands")
        return m
