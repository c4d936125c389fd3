"""Frame intake: each byte of a checked frame into a register, with what the request side will
ask of it decided on the way in.

The request side parses from flops only: a byte is taken from the frame stream into a register,
one every other clock at most (a UART byte takes tens of clocks), with its comparisons decoded as
it arrives: the opcodes, the expected sequence number, whether an opcode byte is taken whatever
the core does, and whether a record length is zero or runs past the end of the frame. So neither
the frame slice's output nor the parser's decisions start a long path. No byte of the next frame
is taken before the parser is back in IDLE, so the frame's counts follow the bytes taken.
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..common.checks import assert_stream_stable
from ..engine.protocol import Opcode
from .frame_buffer import FrameByte
from .protocol import MAX_BODY

__all__ = ["FrameIntake", "ParsedByte"]

#: A frame byte with its decoded comparisons: ``is_status`` and ``is_append`` (as an opcode),
#: ``matches_expected`` (as a sequence number), ``opcode_consumes`` (as an opcode it is taken
#: whatever the core does), ``refused`` (as an opcode, its frame is out of sequence),
#: ``advances`` (as an opcode, it moves the expected sequence number), ``short_length_bad`` and
#: ``long_length_bad`` (as a one-byte length, or as the high byte of a two-byte one: zero or
#: past the end of the frame, which counts the length byte itself).
ParsedByte = data.StructLayout(
    {
        "data": 8,
        "first": 1,
        "last": 1,
        "is_status": 1,
        "is_append": 1,
        "matches_expected": 1,
        "opcode_consumes": 1,
        "refused": 1,
        "advances": 1,
        "short_length_bad": 1,
        "long_length_bad": 1,
    }
)


class FrameIntake(wiring.Component):
    """Frame bytes to :data:`ParsedByte` s through one register.

    Members
    -------
    frames : In(stream.Signature(FrameByte))
    bytes : Out(stream.Signature(ParsedByte))
        A flop's valid; taken (``ready``) by the parser.
    expected, in_sequence, length_low : In(8), In(1), In(7)
        The parser's state the decoding reads: the expected sequence number, whether the frame
        in hand carries it, a two-byte length's low bits. None changes between a byte's arrival
        and its parsing.
    parser_idle : In(1)
        The parser is between frames.
    more_in_frame : Out(1)
        Bytes of the frame the parser has not finished with.
    """

    def __init__(self):
        super().__init__(
            {
                "frames": In(stream.Signature(FrameByte)),
                "bytes": Out(stream.Signature(ParsedByte)),
                "expected": In(8),
                "in_sequence": In(1),
                "length_low": In(7),
                "parser_idle": In(1),
                "more_in_frame": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        frames, parsed = self.frames, self.bytes.payload
        frame_end_loaded = Signal()  # the frame's last byte has been taken in
        remaining = Signal(range(MAX_BODY + 1))  # the frame's bytes from the one arriving on
        incoming = frames.payload.data
        long_length = Cat(self.length_low, incoming)
        m.d.comb += [
            frames.ready.eq(~self.bytes.valid & (~frame_end_loaded | self.parser_idle)),
            self.more_in_frame.eq(~frame_end_loaded | self.bytes.valid),
        ]
        with m.If(self.bytes.valid & self.bytes.ready):
            m.d.sync += self.bytes.valid.eq(0)
        with m.If(frames.valid & frames.ready):
            word = frames.payload
            m.d.sync += [
                self.bytes.valid.eq(1),
                parsed.data.eq(incoming),
                parsed.first.eq(word.first),
                parsed.last.eq(word.last),
                frame_end_loaded.eq(word.last),
                remaining.eq(Mux(word.first, word.length - 1, remaining - 1)),
                parsed.is_status.eq(incoming == Opcode.STATUS),
                parsed.is_append.eq(incoming == Opcode.APPEND),
                parsed.matches_expected.eq(incoming == self.expected),
                parsed.opcode_consumes.eq(
                    ((incoming != Opcode.STATUS) & ~self.in_sequence)
                    | ((incoming == Opcode.STATUS) & word.last)
                    | (incoming == Opcode.APPEND)
                ),
                parsed.refused.eq((incoming != Opcode.STATUS) & ~self.in_sequence),
                parsed.advances.eq((incoming != Opcode.STATUS) & self.in_sequence),
                parsed.short_length_bad.eq((incoming == 0) | (incoming >= remaining)),
                parsed.long_length_bad.eq((long_length == 0) | (long_length >= remaining)),
            ]
        assert_stream_stable(m, self.bytes, "parsed")
        return m
