"""A buffered FIFO whose storage is block RAM on an iCE40 when its words are wide.

The iCE40 has no distributed RAM, so Yosys builds a FIFO of a few words from flops and a read
multiplexer: the readout's queue of 8-byte words (78 bits, four words) takes about 500 of the
UP5K's 5,280 logic cells, and the 8-byte build did not place at every seed. An SB_RAM40_4K holds
16 bits of it and more than half of the UP5K's 30 are spare, so there the storage carries
Yosys's ``ram_style = "block"``. Narrow queues stay in flops (a block RAM's read is slower to
route than a flop's, and the one-byte builds' timing was measured that way), as do queues on
other families (the ECP5 builds them from its distributed RAM).
"""

from amaranth.lib import fifo

from . import family

__all__ = ["BLOCK_RAM_MIN_WIDTH", "BufferedQueue"]

#: The narrowest queue an iCE40 keeps in block RAM: a 4-byte word and 8 bits of flags (the
#: readout's queue at words of 4 bytes and more; 1- and 2-byte words stay in flops).
BLOCK_RAM_MIN_WIDTH = 40


class BufferedQueue(fifo.SyncFIFOBuffered):
    """:class:`amaranth.lib.fifo.SyncFIFOBuffered`, its storage in block RAM where that is
    cheaper (``block_ram=None``: on an iCE40 at :data:`BLOCK_RAM_MIN_WIDTH` bits or more), or
    as ``block_ram`` says."""

    def __init__(self, *, width, depth, block_ram=None):
        super().__init__(width=width, depth=depth)
        self.block_ram = block_ram

    def in_block_ram(self, platform):
        """Whether the storage is marked for block RAM on ``platform``."""
        if self.depth < 2:  # no storage: the output register alone
            return False
        if self.block_ram is not None:
            return self.block_ram
        return family(platform) == "ice40" and self.width >= BLOCK_RAM_MIN_WIDTH

    def elaborate(self, platform):
        m = super().elaborate(platform)
        if self.in_block_ram(platform):
            m.submodules.storage.attrs["ram_style"] = "block"
        return m
