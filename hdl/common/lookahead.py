"""A queue whose every entry is visible: a scheduler looks past the oldest to plan ahead.

Entries enter from a stream at the back and leave from anywhere (``pop`` removes
``entries[pop_index]``, and the younger ones close up), so the entries left keep their order;
``entries[j]`` is the j-th oldest and ``valid`` bit j says whether it is there. A push and a
pop may happen in one clock, so a full queue that pops every clock takes a new entry every
clock. Cost: ``depth`` registers of the layout and a 3:1 choice in front of each.
"""

from amaranth.hdl import Const, Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["LookaheadQueue"]


class LookaheadQueue(wiring.Component):
    """Up to ``depth`` entries of ``layout``, oldest first.

    Members
    -------
    push : In(stream.Signature(layout))
        Ready while the queue has room, or pops this clock.
    entries : Out(data.ArrayLayout(layout, depth))
    valid : Out(depth)
        Bit j: ``entries[j]`` holds an entry (the valid bits are a run from bit 0).
    pop : In(1)
        Removes ``entries[pop_index]`` at the clock edge (only while it is valid).
    pop_index : In(range(depth))
    """

    def __init__(self, layout, depth):
        if not isinstance(depth, int) or depth < 1:
            raise ValueError(f"Depth must be a positive integer, not {depth!r}")
        self.depth = depth
        super().__init__({
            "push": In(stream.Signature(layout)),
            "entries": Out(data.ArrayLayout(layout, depth)),
            "valid": Out(depth),
            "pop": In(1),
            "pop_index": In(range(depth)),
        })  # fmt: skip

    def elaborate(self, platform):
        m = Module()
        count = Signal(range(self.depth + 1))
        m.d.comb += [
            self.push.ready.eq((count != self.depth) | self.pop),
            self.valid.eq((Const(1, self.depth + 1) << count) - 1),
        ]
        taking = self.push.valid & self.push.ready
        back = count - self.pop  # where a new entry lands
        for j in range(self.depth):
            with m.If(taking & (back == j)):
                m.d.sync += self.entries[j].eq(self.push.payload)
            if j + 1 < self.depth:
                with m.Elif(self.pop & (self.pop_index <= j)):
                    m.d.sync += self.entries[j].eq(self.entries[j + 1])
        m.d.sync += count.eq(count + taking - self.pop)
        return m
