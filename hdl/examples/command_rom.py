"""Command packets from a ROM: a fixed script played into the core once after reset."""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import Out

from ..common.skid import SkidBuffer
from ..engine.records import RecordWord

__all__ = ["CommandROM"]


class CommandROM(wiring.Component):
    """Sends ``packets`` (byte strings, one command each) in order on ``commands``, then stops.

    The script is a block RAM initialised at build time, read one word ahead: each word holds a
    byte with its packet's ``first`` and ``last`` flags, so the stream runs at one byte per
    clock whenever the consumer is ready. The words leave through a skid buffer: a block RAM's
    output is slow (5.6 ns on the ECP5), and the consumer's decisions start from flops.

    Members
    -------
    commands : Out(stream.Signature(RecordWord))
    done : Out(1)
        Every byte of the script has been taken.
    """

    def __init__(self, packets):
        if not packets or not all(packets):
            raise ValueError("A command script needs one or more packets, none of them empty")
        self.words = [
            byte | (index == 0) << 8 | (index == len(packet) - 1) << 9
            for packet in packets
            for index, byte in enumerate(packet)
        ]
        super().__init__({"commands": Out(stream.Signature(RecordWord)), "done": Out(1)})

    def elaborate(self, platform):
        m = Module()
        count = len(self.words)
        m.submodules.rom = rom = Memory(shape=RecordWord.size, depth=count, init=self.words)
        read = rom.read_port()
        m.submodules.out = out = SkidBuffer(RecordWord)
        address = Signal(range(count + 1))  # the word on the read port's output
        primed = Signal()  # the read port has its first word
        following = Signal.like(address)
        words = out.input
        m.d.comb += [
            following.eq(address + (words.valid & words.ready)),
            read.addr.eq(following),
            words.payload.eq(read.data),
            words.valid.eq(primed & (address != count)),
            self.done.eq((address == count) & ~out.output.valid),
        ]
        m.d.sync += [address.eq(following), primed.eq(1)]
        wiring.connect(m, out.output, wiring.flipped(self.commands))
        return m
