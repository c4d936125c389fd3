"""Frame checking: SLIP symbols in, a frame's body written to the frame buffer and then committed
or rolled back.

A frame body is ``sequence | payload | length | crc`` (:mod:`memgen.hdl.link.protocol`). Every body
byte is written to the buffer as it arrives (one symbol every other clock at most: a UART byte
takes tens of clocks); the CRC register runs over it, so a good frame, CRC included, leaves it at
zero (CRC-16/CCITT-FALSE has no final XOR). Between two symbols the checks of the frame so far
settle into flags (length field, CRC, size), so the closing END only chooses among flops; the
clock after, the frame is either committed (its ``sequence | payload``) or rolled back, and a
rejection goes out with its :class:`~memgen.hdl.link.protocol.FrameError`: BAD_ESCAPE, SHORT,
BAD_LENGTH, BAD_CRC, TOO_LONG, OVERFLOW (the buffer is full: the reader is behind), TIMEOUT (the
line went idle for ``idle_timeout`` clocks in the middle of a frame).
"""

from functools import cache

from amaranth.hdl import Assert, Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..common.gf2 import gf2_product, gf2_rows
from .frame_buffer import BufferWriteSignature
from .protocol import FRAME_OVERHEAD, IDLE_TIMEOUT, MAX_BODY, FrameError, crc16
from .slip import SlipSymbol

__all__ = ["FrameChecker", "crc16_update", "rejection_signature"]


@cache
def _crc_rows():
    """GF(2) rows of one byte's CRC update over the input ``Cat(crc, byte)`` (24 bits)."""
    crc_columns = [crc16(b"\x00", 1 << bit) for bit in range(16)]
    byte_columns = [crc16(bytes([1 << bit]), 0) for bit in range(8)]
    columns = crc_columns + byte_columns
    return gf2_rows(columns, 16)


def crc16_update(crc, byte):
    """Amaranth value: ``crc`` after one more ``byte`` (CRC-16/CCITT-FALSE step)."""
    return gf2_product(_crc_rows(), Cat(crc, byte))


def rejection_signature():
    """Frames dropped: a one-clock ``valid`` with the :class:`FrameError` (never stalled)."""
    return stream.Signature(3, always_ready=True)


class FrameChecker(wiring.Component):
    """Checks each frame's symbols and commits or rolls back its body in the buffer.

    Parameters
    ----------
    idle_timeout : int
        Clocks without a symbol after which a half-received frame is dropped.

    Members
    -------
    symbols : In(stream.Signature(SlipSymbol))
        Ready every other clock at most (a symbol's checks settle for a clock).
    escaping : In(1)
        The decoder holds half an escape (the frame has begun).
    flush : Out(1)
        The frame is over: the decoder forgets a half escape.
    buffer : Out(BufferWriteSignature())
        Body bytes, commits and rollbacks.
    rejections : Out(rejection_signature())
    """

    def __init__(self, idle_timeout=IDLE_TIMEOUT):
        self.idle_timeout = idle_timeout
        super().__init__(
            {
                "symbols": In(stream.Signature(SlipSymbol)),
                "escaping": In(1),
                "flush": Out(1),
                "buffer": Out(BufferWriteSignature()),
                "rejections": Out(rejection_signature()),
            }
        )

    def elaborate(self, platform):
        m = Module()
        buffer = self.buffer
        body_length = Signal(range(MAX_BODY + 1))
        # body_length - FRAME_OVERHEAD, 16 bits wrapping: the length field a frame of this many
        # bytes must carry
        excess = Signal(16, init=-FRAME_OVERHEAD % (1 << 16))
        tail = Signal(32)  # the last four body bytes: length and CRC once the frame ends
        length_field = tail[16:]
        crc = Signal(16, init=0xFFFF)
        failure = Signal(3)  # FrameError of the frame in progress, 0 while fine
        idle = Signal(range(self.idle_timeout + 2))
        idle_expired = Signal()  # idle reached idle_timeout, a clock ago

        # A symbol is taken into a register with what it will do decided from the frame's state
        # (which only the symbol's own processing changes; none is taken the clock a timeout
        # fires): store it, start an escape, or fail the frame with a code. At most one holds,
        # and ``will_store`` never for END, so storing is two flops ANDed. It is processed the
        # clock after, and none is taken in that clock nor while ``settling`` (the clock after
        # a frame's reset), so the frame's checks below are settled flops when the next comes.
        byte, byte_valid = Signal(8), Signal()
        is_end, ends_escape_badly = Signal(), Signal()
        will_store, will_escape, will_fail = Signal(), Signal(), Signal(3)
        settling = Signal()
        # The verdict on a frame is taken when its END is processed and carried out the clock
        # after (commit, roll back, or just reset for an idle END).
        verdict_pending = Signal()
        verdict_reject = Signal()
        verdict_commit = Signal()
        verdict_code = Signal(3)
        symbols = self.symbols
        m.d.comb += symbols.ready.eq(~byte_valid & ~settling & ~verdict_pending & ~idle_expired)
        with m.If(symbols.valid & symbols.ready):
            symbol = symbols.payload
            at_limit_now = body_length == MAX_BODY
            fine = (failure == 0) & ~symbol.bad_escape & ~symbol.escape
            m.d.sync += [
                byte_valid.eq(1),
                byte.eq(symbol.data),
                is_end.eq(symbol.end),
                ends_escape_badly.eq(symbol.bad_escape),
                will_store.eq(fine & ~at_limit_now & ~buffer.full & ~symbol.end),
                will_escape.eq((failure == 0) & symbol.escape),
            ]
            with m.If(failure != 0):
                m.d.sync += will_fail.eq(0)  # already failed: discard until END
            with m.Elif(symbol.bad_escape):
                m.d.sync += will_fail.eq(FrameError.BAD_ESCAPE)
            with m.Elif(symbol.escape):
                m.d.sync += will_fail.eq(0)
            with m.Elif(at_limit_now):
                m.d.sync += will_fail.eq(FrameError.TOO_LONG)
            with m.Elif(buffer.full):
                m.d.sync += will_fail.eq(FrameError.OVERFLOW)
            with m.Else():
                m.d.sync += will_fail.eq(0)
        with m.If(byte_valid):
            m.d.sync += byte_valid.eq(0)
        arriving = byte_valid

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
        in_frame = ~empty | self.escaping | (failure != 0)

        def reset_frame():
            m.d.comb += self.flush.eq(1)
            m.d.sync += [
                body_length.eq(0),
                excess.eq(-FRAME_OVERHEAD % (1 << 16)),
                crc.eq(0xFFFF),
                failure.eq(0),
                idle.eq(0),
                settling.eq(1),
            ]

        def decide(reject=0, commit=0, code=0):
            m.d.sync += [
                verdict_pending.eq(1),
                verdict_reject.eq(reject),
                verdict_commit.eq(commit),
                verdict_code.eq(code),
            ]

        m.d.sync += self.rejections.valid.eq(0)
        # A symbol is processed only while no verdict is pending (``symbols.ready`` waits for
        # both), so storing and the verdict below never meet.
        m.d.comb += [buffer.data.eq(byte), buffer.length.eq(body_length - 4)]
        m.d.sync += Assert(~(arriving & verdict_pending), "byte processed during a verdict")
        with m.If(arriving & will_store):
            m.d.comb += buffer.write.eq(1)
            m.d.sync += [
                body_length.eq(body_length + 1),
                excess.eq(excess + 1),
                crc.eq(crc16_update(crc, byte)),
                tail.eq(Cat(byte, tail[:24])),
            ]
        with m.If(verdict_pending):
            m.d.sync += verdict_pending.eq(0)
            reset_frame()
            with m.If(verdict_reject):
                m.d.comb += buffer.rollback.eq(1)
                m.d.sync += [self.rejections.valid.eq(1), self.rejections.payload.eq(verdict_code)]
            with m.Elif(verdict_commit):
                m.d.comb += buffer.commit.eq(1)  # length and CRC are not passed on
        with m.Elif(arriving & is_end):
            # (the buffer's length queue only drains meanwhile, so room now is room next clock)
            with m.If(failure != 0):
                decide(reject=1, code=failure)
            with m.Elif(ends_escape_badly):
                decide(reject=1, code=FrameError.BAD_ESCAPE)
            with m.Elif(empty):
                decide()  # idle fill
            with m.Elif(short):
                decide(reject=1, code=FrameError.SHORT)
            with m.Elif(~length_ok):
                decide(reject=1, code=FrameError.BAD_LENGTH)
            with m.Elif(~crc_ok):
                decide(reject=1, code=FrameError.BAD_CRC)
            with m.Elif(~buffer.room):
                decide(reject=1, code=FrameError.OVERFLOW)
            with m.Else():
                decide(commit=1)
        with m.Elif(arriving):
            m.d.sync += idle.eq(0)
            with m.If(will_fail != 0):
                m.d.sync += failure.eq(will_fail)
        with m.Elif(in_frame & idle_expired & ~settling):
            decide(reject=1, code=FrameError.TIMEOUT)
        with m.Elif(in_frame):
            m.d.sync += idle.eq(idle + 1)
        return m
