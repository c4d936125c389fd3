"""iCE40UP5K single-port RAM as a storage backend: all four SB_SPRAM256KA blocks, 128 KiB of bytes.

``lib.memory`` cannot reach SPRAM (it always has an initialiser, which SPRAM cannot load), so the
blocks are instantiated directly. :class:`SPRAM256KA` is one block: on an iCE40 platform the
primitive itself, otherwise (the Amaranth simulator, Verilog exported for cocotb or Verilator) a
model of it with the same ports and the behaviour of Yosys's ``SB_SPRAM256KA`` simulation model,
so every simulation runs the same backend the board does.
"""

from amaranth.hdl import Cat, ClockSignal, Const, Instance, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..engine.storage import StorageSignature
from . import family

__all__ = ["SPRAM256KA", "SPRAMStorage", "SPRAM_BLOCK_BYTES"]

#: One SB_SPRAM256KA: 16,384 words of 16 bits.
SPRAM_WORDS = 16384
SPRAM_BLOCK_BYTES = 2 * SPRAM_WORDS


class SPRAM256KA(wiring.Component):
    """One SB_SPRAM256KA (the ports this design uses; STANDBY, SLEEP, POWEROFF tied inactive).

    ``dataout`` updates one clock after a read (``chipselect`` high, ``wren`` low) and holds
    otherwise. A write stores the nibbles ``maskwren`` selects; the primitive's ``dataout`` is
    undefined after it, which the model shows as the inverted write data. The storage never reads
    the output after a write without a read first.
    """

    address: In(14)
    datain: In(16)
    maskwren: In(4)
    wren: In(1)
    chipselect: In(1)
    dataout: Out(16)

    def __init__(self, *, primitive=None):
        self.primitive = primitive
        super().__init__()

    def _use_primitive(self, platform):
        if self.primitive is not None:
            return self.primitive
        return family(platform) == "ice40"

    def elaborate(self, platform):
        m = Module()
        if self._use_primitive(platform):
            m.submodules.spram = Instance(
                "SB_SPRAM256KA",
                i_ADDRESS=self.address,
                i_DATAIN=self.datain,
                i_MASKWREN=self.maskwren,
                i_WREN=self.wren,
                i_CHIPSELECT=self.chipselect,
                i_CLOCK=ClockSignal(),
                i_STANDBY=Const(0),
                i_SLEEP=Const(0),
                i_POWEROFF=Const(1),
                o_DATAOUT=self.dataout,
            )
            return m
        m.submodules.memory = memory = Memory(shape=16, depth=SPRAM_WORDS, init=[])
        write = memory.write_port(granularity=4)
        read = memory.read_port(domain="comb")
        writing = self.chipselect & self.wren
        m.d.comb += [
            write.addr.eq(self.address),
            write.data.eq(self.datain),
            write.en.eq(Mux(writing, self.maskwren, 0)),
            read.addr.eq(self.address),
        ]
        with m.If(self.chipselect & ~self.wren):
            m.d.sync += self.dataout.eq(read.data)
        with m.Elif(writing):
            m.d.sync += self.dataout.eq(~self.datain)
        return m


class SPRAMStorage(wiring.Component):
    """Storage in ``blocks`` SB_SPRAM256KA (4 on the UP5K: 131,072 bytes), in words of
    ``word_bytes``.

    Bytes (``word_bytes`` 1): address ``a`` is block ``a >> 15``, word ``(a >> 1) & 0x3FFF``,
    byte lane ``a & 1`` (the lane's two nibbles are written, the word's other byte is kept).
    Words of W = 2, 4 or 8 bytes: W / 2 blocks side by side make one word (the first byte in the
    lowest block's low byte), and the groups of them are stacked; the whole word is written.
    Read latency one clock; the lane and block of the last read are registered, so
    ``read_data`` holds while ``read_enable`` is low (every block's output holds while it is
    not read).

    Parameters
    ----------
    blocks : int
        1 to 4.
    primitive : bool or None
        Force the primitive (True) or the model (False); by default the primitive on an iCE40
        platform and the model elsewhere.
    word_bytes : int
        1, or 2 to twice ``blocks`` (a power of two).
    """

    def __init__(self, blocks=4, *, primitive=None, word_bytes=1):
        if not 1 <= blocks <= 4:
            raise ValueError(f"The UP5K has 1 to 4 SPRAM blocks, not {blocks}")
        widths = [1] + [w for w in (2, 4, 8) if w // 2 <= blocks and blocks % (w // 2) == 0]
        if word_bytes not in widths:
            raise ValueError(
                f"{blocks} SPRAM blocks make words of {widths} bytes, not {word_bytes}"
            )
        self.blocks = blocks
        self.primitive = primitive
        self.word_bytes = word_bytes
        self.byte_capacity = blocks * SPRAM_BLOCK_BYTES
        address_width = (self.byte_capacity // word_bytes - 1).bit_length()
        super().__init__({"port": In(StorageSignature(address_width, 8 * word_bytes))})

    def elaborate(self, platform):
        if self.word_bytes > 1:
            return self._elaborate_words()
        m = Module()
        port = self.port
        lane = port.address[0]
        word = port.address[1:15]
        block = port.address[15:] if self.blocks > 1 else Const(0)
        read_lane = Signal()
        read_block = Signal(range(self.blocks))
        with m.If(port.read_enable):
            m.d.sync += [read_lane.eq(lane), read_block.eq(block)]
        words = Signal(16)
        for index in range(self.blocks):
            spram = SPRAM256KA(primitive=self.primitive)
            m.submodules[f"spram{index}"] = spram
            m.d.comb += [
                spram.address.eq(word),
                spram.datain.eq(port.write_data.replicate(2)),
                spram.maskwren.eq(Mux(lane, 0b1100, 0b0011)),
                spram.wren.eq(port.write_enable),
                spram.chipselect.eq((block == index) & (port.write_enable | port.read_enable)),
            ]
            with m.If(read_block == index):
                m.d.comb += words.eq(spram.dataout)
        m.d.comb += port.read_data.eq(Mux(read_lane, words[8:], words[:8]))
        return m

    def _elaborate_words(self):
        """Words of W bytes: W / 2 blocks side by side per group, the groups stacked."""
        m = Module()
        port = self.port
        side = self.word_bytes // 2
        groups = self.blocks // side
        word = port.address[:14]
        group = port.address[14:] if groups > 1 else Const(0)
        read_group = Signal(range(groups))
        with m.If(port.read_enable):
            m.d.sync += read_group.eq(group)
        for g in range(groups):
            outputs = []
            for k in range(side):
                spram = SPRAM256KA(primitive=self.primitive)
                m.submodules[f"spram{g * side + k}"] = spram
                m.d.comb += [
                    spram.address.eq(word),
                    spram.datain.eq(port.write_data.word_select(k, 16)),
                    spram.maskwren.eq(0b1111),
                    spram.wren.eq(port.write_enable),
                    spram.chipselect.eq((group == g) & (port.write_enable | port.read_enable)),
                ]
                outputs.append(spram.dataout)
            with m.If(read_group == g):
                m.d.comb += port.read_data.eq(Cat(*outputs))
        return m
