"""The reply side of the command processor: core responses and reply requests in, reply frame
payloads out; and the link counters that DONE reports.

* the record stream of SAMPLE and RECITE goes out in DATA frames of up to ``MAX_PAYLOAD`` bytes,
  each record prefixed by its varint length in variable-length mode; INDICES' stream is the
  indices, 4 bytes each, in either mode. A record's last byte is held until the core offers its
  next byte or is idle, so the last DATA frame ends exactly with the stream; no count is needed;
* a DONE request is answered once the core's STATUS or ERROR packet arrives: the header (code,
  the records stored), that packet's status fields, then the expected sequence, the last seed
  and the counters. An ERROR's code takes the place of the request's;
* a REJECTED request is answered with its code.

DONE's and REJECTED's own bytes leave through one
:class:`~memgen.hdl.common.serialiser.ByteSerialiser` that copies each vector as it takes it, so
the counters are a snapshot.
"""

from amaranth.hdl import Assert, Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..common.checks import assert_stream_stable
from ..common.serialiser import ByteSerialiser
from ..common.skid import HalfRateSlice
from ..engine.protocol import ResponseKind
from .framing import PacketByte, rejection_signature
from .protocol import DONE_FIELDS, LINK_COUNTERS, MAX_PAYLOAD, FrameError, Reply

__all__ = ["LinkCounters", "ReplyRequest", "ReplySide"]

#: A reply the request side wants sent: DONE (with its code and the records stored) or REJECTED
#: (with its FrameError), and the sequence number its frame carries.
ReplyRequest = data.StructLayout({"rejected": 1, "code": 8, "stored": 16, "sequence": 8})

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

#: Bytes of DONE after the core's status fields: expected, seed and the counters.
_EXTRA_BYTES = sum(size for name, size in DONE_FIELDS[-(2 + len(LINK_COUNTERS)) :])
_HEADER_BYTES = 4  # Reply.DONE, code, stored


def _data_frames(m, emit, free, last_put):
    """DATA frames around the record stream: ``emit_data(byte, end)`` offers one byte, opening a
    frame first if none is open and closing it at ``MAX_PAYLOAD`` bytes or at ``end``; it is
    True-valued when the byte itself was taken. ``emit`` puts a byte in the packet register
    (``free``: it is empty; ``last_put``: the last flag of the byte it holds).

    The bookkeeping follows the register a clock later, from flags loaded with it: ``opened``
    (the byte put was a DATA header), ``counted`` (a payload byte), and ``closing`` (the frame's
    last byte). The register stays full in that clock, so the next byte is chosen from the
    updated count, and the count's enable is a flop."""
    frame_open = Signal()  # a DATA frame is open
    frame_count = Signal(range(MAX_PAYLOAD + 1))  # its payload bytes so far
    want_open, want_data = Signal(), Signal()
    opened, counted, closing = Signal(), Signal(), Signal()
    m.d.sync += [opened.eq(0), counted.eq(0)]
    with m.If(free):
        m.d.sync += [opened.eq(want_open), counted.eq(want_data), closing.eq(last_put)]
    with m.If(opened):
        m.d.sync += [frame_open.eq(1), frame_count.eq(1)]
    with m.Elif(counted):
        m.d.sync += frame_count.eq(frame_count + 1)
        with m.If(closing):
            m.d.sync += frame_open.eq(0)
    m.d.sync += Assert(~(opened | counted) | ~free, "DATA frame count behind a put")

    def emit_data(byte, end):
        taken = Signal(name="data_taken")
        with m.If(~frame_open):
            emit(Reply.DATA, first=1, last=0)
            m.d.comb += want_open.eq(1)
        with m.Else():
            last = end | (frame_count == MAX_PAYLOAD - 1)
            m.d.comb += [want_data.eq(1), taken.eq(emit(byte, first=0, last=last))]
        return taken

    return emit_data


class LinkCounters(wiring.Component):
    """The link's error counters, 16 bits each, saturating, in ``LINK_COUNTERS`` order.

    Members
    -------
    rejections : In(rejection_signature())
    sequence_error, uart_error : In(1)
        Strobes.
    counts : Out(16 * len(LINK_COUNTERS))
    """

    def __init__(self):
        super().__init__(
            {
                "rejections": In(rejection_signature()),
                "sequence_error": In(1),
                "uart_error": In(1),
                "counts": Out(16 * len(LINK_COUNTERS)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        rejection = self.rejections
        events = {
            name: rejection.valid & Cat(rejection.payload == c for c in codes).any()
            for name, codes in _COUNTED_REJECTIONS.items()
        }
        events["sequence_errors"] = self.sequence_error
        events["uart_errors"] = self.uart_error
        for index, name in enumerate(LINK_COUNTERS):
            counter = self.counts[16 * index : 16 * index + 16]
            # "below 0xFFFF" is a flop beside the counter, so no 16-bit compare gates its enable
            below_max = Signal(init=1, name=f"{name}_below_max")
            with m.If(events[name] & below_max):
                m.d.sync += [counter.eq(counter + 1), below_max.eq(counter != 0xFFFE)]
            m.d.sync += Assert(below_max == (counter != 0xFFFF), f"{name} saturation flag")
        return m


class ReplySide(wiring.Component):
    """Core responses and reply requests to reply frame payloads.

    Parameters
    ----------
    record_format : RecordFormat
    response_shape : Layout
        The core's response word (with the record's length).

    Members
    -------
    responses : In(stream.Signature(response_shape))
        From the core.
    core_idle : In(1)
        The core has finished every command and all its responses are taken.
    replies : In(stream.Signature(ReplyRequest))
        DONE and REJECTED to send; each is taken once sent.
    sequence, expected, seed, counts : In(8), In(8), In(64), In(16 * len(LINK_COUNTERS))
        The running frame's sequence number (for DATA frames) and DONE's fields.
    packets : Out(stream.Signature(PacketByte))
        Reply frame payloads, each byte with its frame's sequence number.
    idle : Out(1)
        Between records: no DATA record half sent.
    core_failed : Out(1)
        The core's ERROR waits for its DONE (a flop, a clock behind).
    """

    def __init__(self, record_format, response_shape):
        self.format = record_format
        super().__init__(
            {
                "responses": In(stream.Signature(response_shape)),
                "core_idle": In(1),
                "replies": In(stream.Signature(ReplyRequest)),
                "sequence": In(8),
                "expected": In(8),
                "seed": In(64),
                "counts": In(16 * len(LINK_COUNTERS)),
                "packets": Out(stream.Signature(PacketByte)),
                "idle": Out(1),
                "core_failed": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        fmt = self.format
        responses, request = self.responses, self.replies.payload
        response = responses.payload

        # Reply bytes leave from a register that loads whenever it is empty (its valid becomes
        # ``want``), so its enable is a flop, not a chain of the states' conditions.
        m.submodules.packet_slice = packet_slice = HalfRateSlice(PacketByte)
        wiring.connect(m, packet_slice.output, wiring.flipped(self.packets))
        packet = packet_slice.input
        packet_free = packet.ready
        sequence = Mux(self.replies.valid, request.sequence, self.sequence)
        m.d.comb += packet.payload.sequence.eq(sequence)

        def emit(byte, first, last):
            """Put one reply byte out if the register is free; True-valued when put."""
            m.d.comb += [
                packet.valid.eq(1),
                packet.payload.data.eq(byte),
                packet.payload.first.eq(first),
                packet.payload.last.eq(last),
            ]
            return packet_free

        # DONE's and REJECTED's own bytes. A vector is sent from byte ``start``, so the shorter
        # ones sit at its top.
        m.submodules.vector_bytes = vectors = ByteSerialiser(_EXTRA_BYTES, copy=True)
        vector = vectors.vectors.payload
        sent = vectors.bytes
        with m.If(sent.valid):
            m.d.comb += sent.ready.eq(
                emit(sent.payload.data, sent.payload.first, sent.payload.last)
            )

        def send_vector(value, size, first, last):
            """Hand ``size`` bytes to the serialiser; True-valued when taken."""
            m.d.comb += [
                vectors.vectors.valid.eq(1),
                vector.data.eq(value << (8 * (_EXTRA_BYTES - size))),
                vector.start.eq(_EXTRA_BYTES - size),
                vector.first.eq(first),
                vector.last.eq(last),
            ]
            return vectors.vectors.ready

        emit_data = _data_frames(m, emit, packet_free, packet.payload.last)

        held = Signal(8)  # a record's last byte, until it is known whether the stream ends
        # ``core_idle`` a clock late, a flop: the core does not start while a record is out,
        # and an idle core with an empty slice cannot offer a byte the clock after
        core_idle = Signal()
        m.d.sync += core_idle.eq(self.core_idle)
        failed = responses.valid & (response.kind == ResponseKind.ERROR)
        answered = responses.valid & (
            (response.kind == ResponseKind.STATUS) | (response.kind == ResponseKind.ERROR)
        )
        with m.FSM() as fsm:
            with m.State("IDLE"):
                # registered: the request side's decisions start from flops (the ERROR waits
                # at the head, and the core is not idle, until its DONE takes it)
                m.d.sync += self.core_failed.eq(failed)
                with m.If(responses.valid & (response.kind == ResponseKind.RECORD)):
                    m.next = "BYTES" if fmt.fixed else "LENGTH_LOW"
                with m.Elif(responses.valid & (response.kind == ResponseKind.INDEX)):
                    m.next = "BYTES"  # no length: always 4 bytes
                with m.Elif(self.replies.valid & request.rejected):
                    code = Cat(request.code[:4], Const(0, 4))
                    with m.If(send_vector(Cat(Const(Reply.REJECTED, 8), code), 2, 1, 1)):
                        m.next = "SENDING"
                with m.Elif(self.replies.valid & answered):
                    code = Mux(failed, response.data, request.code)
                    header = Cat(Const(Reply.DONE, 8), code, request.stored)
                    with m.If(send_vector(header, _HEADER_BYTES, first=1, last=0)):
                        m.d.comb += responses.ready.eq(failed)  # the ERROR's code byte
                        m.next = "DONE_STATUS"

            length = response.length
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
                with m.If(core_idle | responses.valid):
                    with m.If(emit_data(held, end=core_idle)):
                        m.next = "IDLE"

            with m.State("DONE_STATUS"):  # the core's status fields, after the header
                with m.If(responses.valid & ~vectors.busy):
                    m.d.comb += responses.ready.eq(emit(response.data, first=0, last=0))
                    with m.If(responses.ready & response.last):
                        m.next = "DONE_EXTRAS"

            with m.State("DONE_EXTRAS"):
                extras = Cat(self.expected, self.seed, self.counts)
                with m.If(send_vector(extras, _EXTRA_BYTES, first=0, last=1)):
                    m.next = "SENDING"

            with m.State("SENDING"):  # the reply is taken once its last byte is out
                # ``ready`` from a flop, so the request side's state never waits on this one's
                sent = Signal()
                m.d.comb += self.replies.ready.eq(sent)
                m.d.sync += sent.eq(~vectors.busy & ~sent)
                with m.If(sent):
                    m.next = "IDLE"

        m.d.comb += self.idle.eq(fsm.ongoing("IDLE"))
        with m.If(~fsm.ongoing("IDLE")):
            m.d.sync += self.core_failed.eq(0)
        assert_stream_stable(m, self.packets, "packets")
        return m
