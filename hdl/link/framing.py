"""Deframer and framer: SLIP frames from the UART in, checked frame bodies out; reply packets
in, SLIP frames out.

The wire format is :mod:`memgen.hdl.link.protocol`'s: ``END escaped(sequence | payload | length |
crc) END``. The :class:`Deframer` is three rooms joined by streams: a
:class:`~.slip.SlipDecoder`, a :class:`~.frame_checker.FrameChecker` that writes each body into a
:class:`~.frame_buffer.FrameBuffer` and commits or rolls it back, and the buffer's reader, which
streams each good frame's ``sequence | payload``. The :class:`Framer` streams: no buffer, the
length and CRC are counted as the payload passes.
"""

from amaranth.hdl import Assert, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..common.checks import assert_stream_stable
from .frame_buffer import FrameBuffer, FrameByte
from .frame_checker import FrameChecker, crc16_update, rejection_signature
from .protocol import IDLE_TIMEOUT, SLIP_END, SLIP_ESC, SLIP_ESC_END, SLIP_ESC_ESC
from .slip import SlipDecoder

__all__ = ["Deframer", "FrameByte", "Framer", "PacketByte", "rejection_signature"]

#: A byte of a reply frame's payload, with the sequence number the frame carries.
PacketByte = data.StructLayout({"data": 8, "first": 1, "last": 1, "sequence": 8})


class Deframer(wiring.Component):
    """Checked frames out of a byte stream.

    Parameters
    ----------
    buffer_depth : int
        Frame buffer bytes (see :class:`~.frame_buffer.FrameBuffer`).
    idle_timeout : int
        Clocks without a byte after which a half-received frame is dropped.
    length_slots : int
        Committed frames the buffer can queue.
    buffer_memory : Component or None
        The buffer's backend (see :class:`~.frame_buffer.FrameBuffer`), None for ``lib.memory``.

    Members
    -------
    bytes : In(stream.Signature(8))
        Bytes from the line; ready every other clock at most (a byte's checks settle for a clock).
    frames : Out(stream.Signature(FrameByte))
        ``sequence | payload`` of each good frame, first/last marked, with its length.
    rejections : Out(rejection_signature())
        Frames dropped, each with its :class:`~.protocol.FrameError`.
    """

    def __init__(
        self, buffer_depth=1024, idle_timeout=IDLE_TIMEOUT, length_slots=8, *, buffer_memory=None
    ):
        self.decoder = SlipDecoder()
        self.checker = FrameChecker(idle_timeout)
        self.buffer = FrameBuffer(buffer_depth, length_slots, buffer_memory)
        super().__init__(
            {
                "bytes": In(stream.Signature(8)),
                "frames": Out(stream.Signature(FrameByte)),
                "rejections": Out(rejection_signature()),
            }
        )

    def elaborate(self, platform):
        m = Module()
        m.submodules.decoder = decoder = self.decoder
        m.submodules.checker = checker = self.checker
        m.submodules.buffer = buffer = self.buffer
        wiring.connect(m, wiring.flipped(self.bytes), decoder.bytes)
        wiring.connect(m, decoder.symbols, checker.symbols)
        wiring.connect(m, checker.buffer, buffer.writes)
        wiring.connect(m, buffer.frames, wiring.flipped(self.frames))
        wiring.connect(m, checker.rejections, wiring.flipped(self.rejections))
        m.d.comb += [checker.escaping.eq(decoder.escaping), decoder.flush.eq(checker.flush)]
        return m


class Framer(wiring.Component):
    """Frames a packet stream onto the line: ``END escaped(sequence | payload | length | crc) END``.

    Streams: no buffer, the length and CRC are counted as the payload passes. One wire byte
    every other clock at most (an escaped byte takes two clocks of the line); a UART byte takes
    tens of clocks. Packets must have at least one byte.

    Members
    -------
    packets : In(stream.Signature(PacketByte))
        Payload bytes, first/last marked; the frame's sequence number is taken from its first.
    bytes : Out(stream.Signature(8))
        Wire bytes (to the UART transmitter).
    """

    FAULTS = {"drop_hold": "a wire byte is withdrawn before it is taken"}
    fault = None  # see memgen.hdl.common.faults

    def __init__(self):
        super().__init__(
            {
                "packets": In(stream.Signature(PacketByte)),
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
                    m.d.sync += [
                        sequence.eq(self.packets.payload.sequence),
                        crc.eq(0xFFFF),
                        length.eq(0),
                    ]
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
