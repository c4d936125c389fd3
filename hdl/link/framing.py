"""Deframer and framer: SLIP frames from the UART in, checked frame bodies out.

The wire format is :mod:`memgen.hdl.link.protocol`'s: ``END escaped(sequence | payload | length |
crc) END``. Bytes are unescaped and written into a frame buffer as they arrive (one byte every
other clock at most: a UART byte takes tens of clocks); the CRC register runs over every body
byte, so a good frame, CRC included, leaves it at zero (CRC-16/CCITT-FALSE has no final XOR).
Between two bytes the checks of the frame so far settle into flags (length field, CRC, size), so
the closing END only chooses among flops; the clock after, the frame is either committed, so the
reader streams ``sequence | payload`` with first/last, or rolled back, so nothing of it is ever
seen. Rejections are one-clock strobes with a :class:`~memgen.hdl.link.protocol.FrameError` code:
BAD_ESCAPE, SHORT, BAD_LENGTH, BAD_CRC, TOO_LONG, OVERFLOW (the buffer is full: the reader is
behind), TIMEOUT (the line went idle for ``idle_timeout`` clocks in the middle of a frame; the
half frame is dropped).

Resources: a ``buffer_depth``-byte memory (one block RAM), a 16-bit CRC as an XOR matrix (each bit
XORs at most 8 inputs), a small FIFO of committed frame lengths.
"""

from functools import cache
from types import SimpleNamespace

from amaranth.hdl import Assert, Cat, Const, Module, Mux, Signal
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..common.checks import assert_stream_stable
from ..common.gf2 import gf2_product
from ..common.pipeline import Countdown
from ..engine.records import RecordWord
from ..fpga.dp16kd import DP16KDBuffer
from .protocol import (
    FRAME_OVERHEAD,
    IDLE_TIMEOUT,
    MAX_BODY,
    SLIP_END,
    SLIP_ESC,
    SLIP_ESC_END,
    SLIP_ESC_ESC,
    FrameError,
    crc16,
)

__all__ = ["Deframer", "Framer", "crc16_update"]


@cache
def _crc_rows():
    """GF(2) rows of one byte's CRC update over the input ``Cat(crc, byte)`` (24 bits)."""
    crc_columns = [crc16(b"\x00", 1 << bit) for bit in range(16)]
    byte_columns = [crc16(bytes([1 << bit]), 0) for bit in range(8)]
    columns = crc_columns + byte_columns
    return tuple(sum(((c >> i) & 1) << j for j, c in enumerate(columns)) for i in range(16))


def crc16_update(crc, byte):
    """Amaranth value: ``crc`` after one more ``byte`` (CRC-16/CCITT-FALSE step)."""
    return gf2_product(_crc_rows(), Cat(crc, byte))


class Deframer(wiring.Component):
    """Checked frames out of a byte stream.

    Parameters
    ----------
    buffer_depth : int
        Frame buffer bytes, a power of two above ``MAX_BODY`` (a byte is refused when the
        buffer held ``buffer_depth - 1`` bytes the clock before, so one frame of ``MAX_BODY``
        always fits).
    idle_timeout : int
        Clocks without a byte after which a half-received frame is dropped.
    length_slots : int
        Committed frames the buffer can queue.
    output_register : bool
        Read the buffer through a register (one clock more of latency, same throughput): on an ECP5
        the DP16KD's own (:class:`~memgen.hdl.fpga.dp16kd.DP16KDBuffer`). For a part whose block RAM
        is slow to its output and may sit far from the reader: on the ULX3S, whose records take
        nearly every DP16KD, the read took 5.8 ns and the route 4.3 to 5 ns of a 10 ns clock, and a
        flop after the block was placed beside the reader, not the block.

    Members
    -------
    bytes : In(stream.Signature(8))
        Bytes from the line; ready every other clock at most (a byte's checks settle for a clock).
    frames : Out(stream.Signature(RecordWord))
        ``sequence | payload`` of each good frame, first/last marked.
    frame_length : Out(range(MAX_BODY + 1))
        Bytes of the frame on ``frames`` (sequence and payload), known from its first byte.
    rejected : Out(1)
        Strobe: a frame was dropped, for the reason in ``rejection``.
    rejection : Out(3)
        A :class:`FrameError`.
    """

    FAULTS = {"unstable_output": "the buffer read port (and output register) ignore stalls"}
    fault = None  # see memgen.hdl.common.faults

    def __init__(
        self,
        buffer_depth=1024,
        idle_timeout=IDLE_TIMEOUT,
        length_slots=8,
        *,
        output_register=False,
    ):
        if buffer_depth <= MAX_BODY or buffer_depth & (buffer_depth - 1):
            raise ValueError(
                f"buffer_depth must be a power of two above {MAX_BODY}, not {buffer_depth}"
            )
        self.buffer_depth = buffer_depth
        self.idle_timeout = idle_timeout
        self.length_slots = length_slots
        self.output_register = output_register
        super().__init__(
            {
                "bytes": In(stream.Signature(8)),
                "frames": Out(stream.Signature(RecordWord)),
                "frame_length": Out(range(MAX_BODY + 1)),
                "rejected": Out(1),
                "rejection": Out(3),
            }
        )

    def elaborate(self, platform):
        m = Module()
        depth = self.buffer_depth
        pointer_width = depth.bit_length()  # one wrap bit more than the address
        if self.output_register:
            m.submodules.buffer = buffer = DP16KDBuffer(8, depth)
            # the buffer's ports under the names of a lib.memory port's
            write_port = SimpleNamespace(
                addr=buffer.write_address, data=buffer.write_data, en=buffer.write_enable
            )
            read_port = SimpleNamespace(
                addr=buffer.read_address, en=buffer.read_enable, data=buffer.read_data
            )
        else:
            m.submodules.buffer = buffer = Memory(shape=8, depth=depth, init=[])
            write_port = buffer.write_port()
            read_port = buffer.read_port()
        m.submodules.lengths = lengths = fifo.SyncFIFOBuffered(
            width=MAX_BODY.bit_length(), depth=self.length_slots
        )

        # Writer: unescape, buffer, check, commit or roll back. A byte from the line is first
        # taken into a register with its class decoded (END, ESC, the two escape codes); it is
        # processed the clock after, and the register takes no byte in the clock a byte is
        # processed (nor while ``settling``, the clock after a frame's reset), so the checks of
        # the frame so far (below) are settled flops when the next byte is processed.
        committed = Signal(pointer_width)  # end of the last committed frame
        write_pointer = Signal(pointer_width)
        read_pointer = Signal(pointer_width)  # next byte the reader will issue
        body_length = Signal(range(MAX_BODY + 1))
        # body_length - FRAME_OVERHEAD, 16 bits wrapping: the length field a frame of this many
        # bytes must carry
        excess = Signal(16, init=-FRAME_OVERHEAD % (1 << 16))
        tail = Signal(32)  # the last four body bytes: length and CRC once the frame ends
        length_field = tail[16:]
        crc = Signal(16, init=0xFFFF)
        escaped = Signal()
        failure = Signal(3)  # FrameError of the frame in progress, 0 while fine
        idle = Signal(range(self.idle_timeout + 2))
        idle_expired = Signal()  # idle reached idle_timeout, a clock ago

        # "Full" comes from a flop: the occupancy one clock back was at least depth - 1. At most
        # one byte is written every other clock, so the buffer is never overrun; at the boundary
        # a byte may be refused early (the frame answers OVERFLOW and is sent again).
        full = Signal()
        m.d.sync += full.eq((write_pointer - read_pointer)[:pointer_width] >= depth - 1)

        byte, byte_valid = Signal(8), Signal()
        is_end, is_esc_end, is_esc_esc = Signal(), Signal(), Signal()
        # What a byte other than END will do, decided as it is taken in from the frame's state
        # (which only the byte's own processing changes; no byte is taken in the clock a
        # timeout fires): store it, start an escape, or fail the frame with a code. At most one
        # holds, and ``will_store`` never for END, so storing is two flops ANDed.
        will_store, will_escape, will_fail = Signal(), Signal(), Signal(3)
        settling = Signal()
        # The verdict on a frame is taken when its END is processed and carried out the clock
        # after (commit, roll back, or just reset for an idle END).
        verdict_pending = Signal()
        verdict_reject = Signal()
        verdict_commit = Signal()
        verdict_code = Signal(3)
        m.d.comb += self.bytes.ready.eq(~byte_valid & ~settling & ~verdict_pending & ~idle_expired)
        with m.If(self.bytes.valid & self.bytes.ready):
            incoming = self.bytes.payload
            esc_end, esc_esc = incoming == SLIP_ESC_END, incoming == SLIP_ESC_ESC
            bad_escape = escaped & ~esc_end & ~esc_esc
            starts_escape = ~escaped & (incoming == SLIP_ESC)
            at_limit_now = body_length == MAX_BODY
            m.d.sync += [
                byte_valid.eq(1),
                byte.eq(incoming),
                is_end.eq(incoming == SLIP_END),
                is_esc_end.eq(esc_end),
                is_esc_esc.eq(esc_esc),
                will_store.eq(
                    (failure == 0)
                    & ~bad_escape
                    & ~starts_escape
                    & ~at_limit_now
                    & ~full
                    & (incoming != SLIP_END)
                ),
                will_escape.eq((failure == 0) & starts_escape),
            ]
            with m.If(failure != 0):
                m.d.sync += will_fail.eq(0)  # already failed: discard until END
            with m.Elif(bad_escape):
                m.d.sync += will_fail.eq(FrameError.BAD_ESCAPE)
            with m.Elif(starts_escape):
                m.d.sync += will_fail.eq(0)
            with m.Elif(at_limit_now):
                m.d.sync += will_fail.eq(FrameError.TOO_LONG)
            with m.Elif(full):
                m.d.sync += will_fail.eq(FrameError.OVERFLOW)
            with m.Else():
                m.d.sync += will_fail.eq(0)
        with m.If(byte_valid):
            m.d.sync += byte_valid.eq(0)
        arriving = byte_valid

        decoded = Signal(8)
        m.d.comb += [
            decoded.eq(byte),
            write_port.addr.eq(write_pointer),
            write_port.data.eq(decoded),
        ]
        with m.If(escaped & is_esc_end):
            m.d.comb += decoded.eq(SLIP_END)
        with m.Elif(escaped & is_esc_esc):
            m.d.comb += decoded.eq(SLIP_ESC)

        # The frame's checks, registered every clock from the frame's state.
        empty = Signal(init=1)
        short = Signal(init=1)
        length_ok = Signal()
        crc_ok = Signal()
        m.d.sync += [
            settling.eq(0),
            empty.eq(body_length == 0),
            short.eq(body_length < FRAME_OVERHEAD),
            length_ok.eq(length_field == excess),
            crc_ok.eq(crc == 0),
            idle_expired.eq(idle == self.idle_timeout),
        ]
        in_frame = ~empty | escaped | (failure != 0)

        def reset_frame(rollback):
            m.d.sync += [
                body_length.eq(0),
                excess.eq(-FRAME_OVERHEAD % (1 << 16)),
                crc.eq(0xFFFF),
                escaped.eq(0),
                failure.eq(0),
                idle.eq(0),
                settling.eq(1),
            ]
            if rollback:
                m.d.sync += write_pointer.eq(committed)

        def reject(code):
            m.d.sync += [self.rejected.eq(1), self.rejection.eq(code)]
            reset_frame(rollback=True)

        def decide(reject=0, commit=0, code=0):
            m.d.sync += [
                verdict_pending.eq(1),
                verdict_reject.eq(reject),
                verdict_commit.eq(commit),
                verdict_code.eq(code),
            ]

        m.d.sync += self.rejected.eq(0)
        # A byte is processed only while no verdict is pending (``bytes.ready`` waits for both),
        # so storing and the verdict below never meet; the verdict's statements come later.
        storing = arriving & will_store
        m.d.sync += Assert(~(arriving & verdict_pending), "byte processed during a verdict")
        with m.If(storing):
            m.d.comb += write_port.en.eq(1)
            m.d.sync += [
                escaped.eq(0),
                write_pointer.eq(write_pointer + 1),
                body_length.eq(body_length + 1),
                excess.eq(excess + 1),
                crc.eq(crc16_update(crc, decoded)),
                tail.eq(Cat(decoded, tail[:24])),
            ]
        with m.If(verdict_pending):
            m.d.sync += verdict_pending.eq(0)
            with m.If(verdict_reject):
                reject(verdict_code)
            with m.Elif(verdict_commit):
                end = write_pointer - 4  # length and CRC are not passed on
                m.d.comb += [lengths.w_en.eq(1), lengths.w_data.eq(body_length - 4)]
                m.d.sync += [committed.eq(end), write_pointer.eq(end)]
                reset_frame(rollback=False)
            with m.Else():
                reset_frame(rollback=False)  # idle fill
        with m.Elif(arriving & is_end):
            # (the length FIFO only drains meanwhile, so a slot free now is free next clock)
            with m.If(failure != 0):
                decide(reject=1, code=failure)
            with m.Elif(escaped):
                decide(reject=1, code=FrameError.BAD_ESCAPE)
            with m.Elif(empty):
                decide()
            with m.Elif(short):
                decide(reject=1, code=FrameError.SHORT)
            with m.Elif(~length_ok):
                decide(reject=1, code=FrameError.BAD_LENGTH)
            with m.Elif(~crc_ok):
                decide(reject=1, code=FrameError.BAD_CRC)
            with m.Elif(~lengths.w_rdy):
                decide(reject=1, code=FrameError.OVERFLOW)
            with m.Else():
                decide(commit=1)
        with m.Elif(arriving):
            m.d.sync += idle.eq(0)
            with m.If(will_escape):
                m.d.sync += escaped.eq(1)
            with m.Elif(will_fail != 0):
                m.d.sync += failure.eq(will_fail)
        with m.Elif(in_frame & idle_expired & ~settling):
            decide(reject=1, code=FrameError.TIMEOUT)
        with m.Elif(in_frame):
            m.d.sync += idle.eq(idle + 1)

        # Reader: stream each committed frame, first/last marked; read port holds while stalled.
        # Stage 1 is the read port with the byte's flags; with ``output_register`` the buffer's
        # register is a stage 2, and the flags are registered once more beside it. The stages
        # advance together (lock step), only when the output is empty or taken.
        remaining = Countdown(m, range(MAX_BODY + 1), "remaining")
        remaining_any = Signal()  # remaining != 0, a flop beside the count
        first = Signal()
        if self.output_register:  # the byte is in the buffer's register: so are its flags
            read_valid, read_first, read_last = Signal(), Signal(), Signal()
            advance = Signal()
            read_length = Signal.like(self.frame_length)  # of the frame being read
            out_valid, out_first, out_last = Signal(), Signal(), Signal()
            with m.If(advance):
                m.d.sync += [
                    out_valid.eq(read_valid),
                    out_first.eq(read_first),
                    out_last.eq(read_last),
                    self.frame_length.eq(read_length),
                ]
        else:  # created (and named) as before the option existed: the default netlist is unchanged
            read_valid, read_first, out_last = Signal(), Signal(), Signal()
            read_last = out_last
            advance = Signal()
            read_length = self.frame_length
            out_valid, out_first = read_valid, read_first
        out_data = read_port.data
        m.d.comb += [
            advance.eq(~out_valid | self.frames.ready),
            read_port.addr.eq(read_pointer),
            read_port.en.eq(advance if self.fault is None else 1),
            self.frames.valid.eq(out_valid),
            self.frames.payload.data.eq(out_data),
            self.frames.payload.first.eq(out_first),
            self.frames.payload.last.eq(out_last),
        ]
        with m.If(advance):
            m.d.sync += read_valid.eq(remaining_any)
            with m.If(remaining_any):
                m.d.sync += [
                    read_first.eq(first),
                    read_last.eq(remaining.at_end),
                    read_pointer.eq(read_pointer + 1),
                    remaining_any.eq(~remaining.at_end),
                    first.eq(0),
                ]
                remaining.decrement()
            with m.Elif(lengths.r_rdy):
                m.d.comb += lengths.r_en.eq(1)
                remaining.load(lengths.r_data)
                m.d.sync += [
                    remaining_any.eq(lengths.r_data != 0),
                    read_length.eq(lengths.r_data),
                    first.eq(1),
                ]

        assert_stream_stable(m, self.frames, "frames")
        m.d.sync += [
            Assert(remaining_any == (remaining.value != 0), "deframer remaining flag out of step"),
        ]
        return m


class Framer(wiring.Component):
    """Frames a packet stream onto the line: ``END escaped(sequence | payload | length | crc) END``.

    Streams: no buffer, the length and CRC are counted as the payload passes. One wire byte
    every other clock at most (an escaped byte takes two clocks of the line); a UART byte takes
    tens of clocks. Packets must have at least one byte.

    Members
    -------
    packets : In(stream.Signature(RecordWord))
        Payload bytes, first/last marked.
    sequence : In(8)
        The frame's sequence number, sampled with the packet's first byte.
    bytes : Out(stream.Signature(8))
        Wire bytes (to the UART transmitter).
    """

    FAULTS = {"drop_hold": "a wire byte is withdrawn before it is taken"}
    fault = None  # see memgen.hdl.common.faults

    def __init__(self):
        super().__init__(
            {
                "packets": In(stream.Signature(RecordWord)),
                "sequence": In(8),
                "bytes": Out(stream.Signature(8)),
            }
        )

    def elaborate(self, platform):
        m = Module()

        # Escaper: one logical byte in (from a register the sequencer fills), one or two wire
        # bytes out. Whether the byte needs escaping is decided as it is put in the register
        # (``escape``, ``escape_end``), so the escaper decides on flops alone.
        logical, logical_valid = Signal(8), Signal()
        escape, escape_end = Signal(), Signal()
        out_byte, out_valid = Signal(8), Signal()
        second, second_valid = Signal(8), Signal()
        escaper_ready = Signal()
        m.d.comb += [
            escaper_ready.eq(~second_valid & (~out_valid | self.bytes.ready)),
            self.bytes.valid.eq(out_valid),
            self.bytes.payload.eq(out_byte),
        ]
        with m.If(logical_valid & escaper_ready):
            m.d.sync += [out_valid.eq(1), logical_valid.eq(0)]
            with m.If(escape):
                m.d.sync += [
                    out_byte.eq(SLIP_ESC),
                    second.eq(Mux(escape_end, SLIP_ESC_END, SLIP_ESC_ESC)),
                    second_valid.eq(1),
                ]
            with m.Else():
                m.d.sync += out_byte.eq(logical)
        with m.Elif(out_valid & (self.bytes.ready if self.fault is None else 1)):
            with m.If(second_valid):
                m.d.sync += [out_byte.eq(second), second_valid.eq(0)]
            with m.Else():
                m.d.sync += out_valid.eq(0)

        # Frame sequencer: delimiter, sequence, payload, length, CRC, delimiter. It puts one
        # logical byte into the escaper's register whenever that is empty (``free``, a flop), so
        # neither the line's ready nor the escaper's decision reaches the sequencer's.
        crc = Signal(16)
        length = Signal(16)
        sequence = Signal(8)
        free = ~logical_valid
        # The CRC takes each counted byte from the escaper's register, the clock after it was
        # put there (``crc_pending``), so its update is an XOR of flops, not of the states'
        # byte multiplexer. The register stays full for that clock, so no byte is put before
        # the CRC has taken the one before it (asserted), and CRC_HIGH reads the final value.
        crc_pending = Signal()
        m.d.sync += crc_pending.eq(0)
        with m.If(crc_pending):
            m.d.sync += crc.eq(crc16_update(crc, logical))
        m.d.sync += Assert(~crc_pending | logical_valid, "framer CRC byte left its register")

        def put(value, is_raw=False, counted=True):
            """A logical byte into the escaper's register, into the CRC too when ``counted``;
            a raw one (a delimiter) is never escaped."""
            if is_raw:
                is_end, is_esc = Const(0), Const(0)
            else:
                is_end, is_esc = value == SLIP_END, value == SLIP_ESC
            m.d.sync += [
                logical.eq(value),
                escape.eq(is_end | is_esc),
                escape_end.eq(is_end),
                logical_valid.eq(1),
                crc_pending.eq(counted and not is_raw),
            ]

        with m.FSM():
            with m.State("IDLE"):
                with m.If(free & self.packets.valid):
                    put(SLIP_END, is_raw=True)
                    m.d.sync += [sequence.eq(self.sequence), crc.eq(0xFFFF), length.eq(0)]
                    m.next = "SEQUENCE"
            with m.State("SEQUENCE"):
                with m.If(free):
                    put(sequence)
                    m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                m.d.comb += self.packets.ready.eq(free)
                with m.If(free & self.packets.valid):
                    data = self.packets.payload.data
                    put(data)
                    m.d.sync += length.eq(length + 1)
                    with m.If(self.packets.payload.last):
                        m.next = "LENGTH_HIGH"
            for state, value, following, update in (
                ("LENGTH_HIGH", length[8:], "LENGTH_LOW", True),
                ("LENGTH_LOW", length[:8], "CRC_HIGH", True),
                ("CRC_HIGH", crc[8:], "CRC_LOW", False),
                ("CRC_LOW", crc[:8], "END", False),
            ):
                with m.State(state):
                    with m.If(free):
                        put(value, counted=update)
                        m.next = following
            with m.State("END"):
                with m.If(free):
                    put(SLIP_END, is_raw=True)
                    m.next = "IDLE"

        assert_stream_stable(m, self.bytes, "framer")
        return m
