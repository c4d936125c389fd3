"""Command processor: checked frames in, core commands out; core responses in, reply frames out.

It sits between the :class:`~.framing.Deframer` and :class:`~memgen.hdl.engine.core.MemGen` on
the way in and between the core and the :class:`~.framing.Framer` on the way out, and implements
the command layer of :mod:`memgen.hdl.link.protocol` in two halves joined by a stream of reply
requests:

* the :class:`~.requests.RequestSide` runs one frame at a time: sequence numbers, APPEND
  batches, commands to the core, and a DONE or REJECTED request for each frame;
* the :class:`~.replies.ReplySide` turns the core's responses into DATA frames and each request
  into its reply, the core's STATUS or ERROR inside a DONE;
* :class:`~.replies.LinkCounters` counts the link's errors for DONE.

Flow control toward the host is the host's: it asks for at most as many samples per SAMPLE as it
can take; the device streams them at the line rate.
"""

from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..engine.core import byte_response_layout
from ..engine.records import RecordWord
from .framing import FrameByte, PacketByte, rejection_signature
from .replies import LinkCounters, ReplySide
from .requests import RequestSide

__all__ = ["CommandProcessor"]


class CommandProcessor(wiring.Component):
    """The command layer between the link and the core.

    Parameters
    ----------
    record_format : RecordFormat
        The core's format (fixed-size mode changes how APPEND and DATA carry records).

    Members
    -------
    frames : In(stream.Signature(FrameByte))
        ``sequence | payload`` of good frames (from the deframer).
    rejections : In(rejection_signature())
        Frames the deframer dropped.
    uart_error : In(1)
        Strobe: a UART framing error or overrun.
    commands : Out(stream.Signature(RecordWord))
        To the core.
    responses : In(stream.Signature(byte_response_layout(record_format)))
        From the core.
    core_idle : In(1)
        The core's ``idle``, and no response on the way.
    packets : Out(stream.Signature(PacketByte))
        Reply frame payloads (to the framer).
    """

    def __init__(self, record_format):
        self.format = record_format
        super().__init__(
            {
                "frames": In(stream.Signature(FrameByte)),
                "rejections": In(rejection_signature()),
                "uart_error": In(1),
                "commands": Out(stream.Signature(RecordWord)),
                "responses": In(stream.Signature(byte_response_layout(record_format))),
                "core_idle": In(1),
                "packets": Out(stream.Signature(PacketByte)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        m.submodules.requests = requests = RequestSide(self.format)
        m.submodules.replies = replies = ReplySide(self.format, self.responses.payload.shape())
        m.submodules.counters = counters = LinkCounters()
        wiring.connect(m, wiring.flipped(self.frames), requests.frames)
        wiring.connect(m, requests.commands, wiring.flipped(self.commands))
        wiring.connect(m, wiring.flipped(self.responses), replies.responses)
        wiring.connect(m, requests.replies, replies.replies)
        wiring.connect(m, replies.packets, wiring.flipped(self.packets))
        rejections = self.rejections
        m.d.comb += [
            requests.rejections.valid.eq(rejections.valid),
            requests.rejections.payload.eq(rejections.payload),
            counters.rejections.valid.eq(rejections.valid),
            counters.rejections.payload.eq(rejections.payload),
            counters.sequence_error.eq(requests.sequence_error),
            counters.uart_error.eq(self.uart_error),
            requests.core_idle.eq(self.core_idle),
            requests.reply_idle.eq(replies.idle),
            requests.core_failed.eq(replies.core_failed),
            replies.core_idle.eq(self.core_idle),
            replies.sequence.eq(requests.sequence),
            replies.expected.eq(requests.expected),
            replies.seed.eq(requests.seed),
            replies.counts.eq(counters.counts),
        ]
        return m
