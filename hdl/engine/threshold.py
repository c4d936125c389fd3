"""The rejection threshold of the range reduction: ``2**bits mod count``, by shift-subtract.

The remainder of a 1 followed by ``bits`` zeros is found one bit per clock (double, subtract
``count`` if it fits), ``bits`` clocks after ``count`` changes: about 70 LUT4s instead of a
divider. :mod:`memgen.sim.harness.threshold_check` runs it on Verilator for every ``count``
a design can hold.
"""

from amaranth.hdl import Assert, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Threshold"]


class Threshold(wiring.Component):
    """``2**bits mod count``, recomputed whenever ``count`` changes.

    Members
    -------
    count : In(count_width)
        ``N``.
    threshold : Out(count_width)
        ``2**bits mod count_of`` while ``ready``.
    count_of : Out(count_width)
        The count the threshold belongs to (or is being computed for).
    changed : Out(1)
        ``count`` differed from ``count_of`` a clock ago (a flop).
    ready : Out(1)
        The threshold is computed; low from the clock after ``count`` changes.
    """

    def __init__(self, count_width, bits):
        self.count_width = count_width
        self.bits = bits
        super().__init__(
            {
                "count": In(count_width),
                "threshold": Out(count_width),
                "count_of": Out(count_width),
                "changed": Out(1),
                "ready": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        steps = Signal(range(self.bits + 1))  # doublings left
        doubled = Signal(self.count_width + 1)
        m.d.comb += doubled.eq(self.threshold << 1)
        m.d.sync += self.changed.eq(self.count != self.count_of)
        with m.If(self.changed):
            m.d.sync += [
                self.count_of.eq(self.count),
                self.threshold.eq(self.count > 1),  # 2**0 mod count
                steps.eq(self.bits),
                self.ready.eq(0),
            ]
        with m.Elif(steps != 0):
            with m.If(doubled >= self.count):
                m.d.sync += self.threshold.eq(doubled - self.count)
            with m.Else():
                m.d.sync += self.threshold.eq(doubled)
            m.d.sync += steps.eq(steps - 1)
        with m.Else():
            m.d.sync += self.ready.eq(1)
        m.d.sync += Assert(~self.ready | (steps == 0), "threshold ready while computing")
        return m
