"""The whole device: UART, deframer, command processor, MemGen core, framer.

:class:`LinkDevice` is everything between the UART and the memory, with byte streams at both ends
(the ``sim`` device of the host driver runs it in Amaranth's simulator, fed the bytes a board
gets). :class:`MemGenTop` adds the UART receiver and transmitter, so its ports are the two pins.

::

    rx -> UARTReceiver -> Deframer -> CommandProcessor (request side) -> MemGen
                                              | reply requests            |
    tx <- UARTTransmitter <- Framer <- CommandProcessor (reply side) <----+
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..common.narrower import narrow_to_bytes
from ..common.skid import HalfRateSlice
from ..engine.core import MemGen
from ..engine.protocol import DEFAULT_SEED
from .command_processor import CommandProcessor
from .framing import Deframer, Framer
from .protocol import BAUD, IDLE_TIMEOUT, MAX_LINK_RECORD
from .switch import LinkSwitch
from .uart import UARTReceiver, UARTTransmitter, divisor_for
from .usb import USBSerialLink

__all__ = ["LinkDevice", "MemGenTop"]


class LinkDevice(wiring.Component):
    """Deframer, command processor, core and framer, with byte streams at both ends.

    Parameters
    ----------
    record_format : RecordFormat
        Records must fit a frame: ``max_length`` at most ``MAX_LINK_RECORD``.
    generator, reset_seed, data_storage, table_storage
        As for :class:`~memgen.hdl.engine.core.MemGen`.
    idle_timeout : int
        Clocks of silence after which a half-received frame is dropped.
    frame_buffer : Component or None
        The frame buffer's memory (see :class:`~memgen.hdl.link.frame_buffer.FrameBuffer`), None
        for ``lib.memory``.

    Members
    -------
    rx_bytes : In(stream.Signature(8))
        Bytes from the line (always ready).
    tx_bytes : Out(stream.Signature(8))
        Bytes to the line.
    uart_error : In(1)
        Strobe counted in the DONE frame's ``uart_errors``.
    """

    def __init__(
        self,
        record_format,
        generator="trivium",
        reset_seed=DEFAULT_SEED,
        *,
        data_storage=None,
        table_storage=None,
        idle_timeout=IDLE_TIMEOUT,
        frame_buffer=None,
    ):
        if record_format.max_length > MAX_LINK_RECORD:
            raise ValueError(
                f"Records of up to {record_format.max_length} bytes do not fit a frame: "
                f"max_length must be at most {MAX_LINK_RECORD}"
            )
        self.format = record_format
        self.core = MemGen(
            record_format,
            generator,
            reset_seed,
            data_storage=data_storage,
            table_storage=table_storage,
        )
        self.idle_timeout = idle_timeout
        self.frame_buffer = frame_buffer
        super().__init__(
            {
                "rx_bytes": In(stream.Signature(8)),
                "tx_bytes": Out(stream.Signature(8)),
                "uart_error": In(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        m.submodules.deframer = deframer = Deframer(
            idle_timeout=self.idle_timeout, buffer_memory=self.frame_buffer
        )
        m.submodules.processor = processor = CommandProcessor(self.format)
        m.submodules.core = core = self.core
        m.submodules.framer = framer = Framer()

        wiring.connect(m, wiring.flipped(self.rx_bytes), deframer.bytes)
        # Frames reach the processor through a register slice: it cuts the path from the
        # deframer's buffer (a block RAM, slow to its output on both families) into the parsing.
        m.submodules.frame_slice = frame_slice = HalfRateSlice(deframer.frames.payload.shape())
        wiring.connect(m, deframer.frames, frame_slice.input)
        wiring.connect(m, frame_slice.output, processor.frames)
        wiring.connect(m, deframer.rejections, processor.rejections)
        # Commands go straight to the core: the processor sends them from a register that it
        # fills only while empty, so its parsing never meets the core's decoding in one path.
        wiring.connect(m, processor.commands, core.commands)
        # The core's responses reach the processor through a register slice: it cuts the ready
        # chain from the reply logic back through the readout into the index generator. For the
        # processor the core is idle only once the slice is empty too (its valid is a flop).
        response_slice = HalfRateSlice(core.responses.payload.shape())
        m.submodules.response_slice = response_slice
        wiring.connect(m, core.responses, response_slice.input)
        # a wide core's words (and a core of lanes' beats) a byte at a time: the line takes far
        # less than a byte a clock
        replies = narrow_to_bytes(m, response_slice.output, "response")
        core_idle = core.idle & ~response_slice.output.valid
        if replies is not response_slice.output:  # a second slice: the narrowing's mux alone
            m.submodules.reply_slice = reply_slice = HalfRateSlice(replies.payload.shape())
            wiring.connect(m, replies, reply_slice.input)
            replies, core_idle = reply_slice.output, core_idle & ~reply_slice.output.valid
        wiring.connect(m, replies, processor.responses)
        m.d.comb += [
            processor.core_idle.eq(core_idle),
            processor.uart_error.eq(self.uart_error),
        ]
        # The reply packets go straight to the framer: the processor sends them from a register.
        wiring.connect(m, processor.packets, framer.packets)
        wiring.connect(m, framer.bytes, wiring.flipped(self.tx_bytes))
        return m


class MemGenTop(wiring.Component):
    """The device on two pins, and on USB too with ``usb``.

    Parameters
    ----------
    record_format : RecordFormat
    clock_hz : int
        The clock the design runs at.
    baud : int
        Line rate; the UART divisor register resets to ``clock_hz / baud``.
    usb : USB pins, UTMI interface or None
        A second link: LUNA's CDC-ACM device on this bus (see
        :class:`~memgen.hdl.link.usb.USBSerialLink`; it needs the ``usb`` and ``usb_io``
        domains), beside the UART through a :class:`~memgen.hdl.link.switch.LinkSwitch`.
    **kwargs
        Passed to :class:`LinkDevice`.

    Members
    -------
    rx : In(1)
        UART receive pin (idles high).
    tx : Out(1)
        UART transmit pin.
    """

    def __init__(self, record_format, clock_hz, baud=BAUD, usb=None, **kwargs):
        self.clock_hz = clock_hz
        self.baud = baud
        self.usb = usb
        self.divisor = divisor_for(clock_hz, baud)
        self.link = LinkDevice(record_format, **kwargs)
        super().__init__({"rx": In(1, init=1), "tx": Out(1, init=1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.receiver = receiver = UARTReceiver()
        m.submodules.transmitter = transmitter = UARTTransmitter()
        m.submodules.link = link = self.link
        divisor = Signal(16, init=self.divisor)
        if self.usb is None:  # (connected in this order, the default design's netlist is kept)
            wiring.connect(m, receiver.bytes, link.rx_bytes)
        # The transmitter's ready would otherwise start a combinational chain through the framer,
        # the command processor and the readout to the storage address.
        m.submodules.tx_slice = tx_slice = HalfRateSlice(8)
        wiring.connect(m, link.tx_bytes, tx_slice.input)
        if self.usb is None:
            wiring.connect(m, tx_slice.output, transmitter.bytes)
        else:  # the UART and USB, the replies to the one that spoke last
            m.submodules.usb = usb = USBSerialLink(self.usb)
            m.submodules.switch = switch = LinkSwitch()
            wiring.connect(m, receiver.bytes, switch.first_rx)
            wiring.connect(m, usb.rx_bytes, switch.second_rx)
            wiring.connect(m, switch.rx_bytes, link.rx_bytes)
            wiring.connect(m, tx_slice.output, switch.tx_bytes)
            wiring.connect(m, switch.first_tx, transmitter.bytes)
            wiring.connect(m, switch.second_tx, usb.tx_bytes)
        m.d.comb += [
            receiver.rx.eq(self.rx),
            self.tx.eq(transmitter.tx),
            receiver.divisor.eq(divisor),
            transmitter.divisor.eq(divisor),
            link.uart_error.eq(receiver.framing_error | receiver.overrun),
        ]
        return m
