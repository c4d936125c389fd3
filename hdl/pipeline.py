"""Registers for pipelined logic: delay lines carried beside a lock-step pipeline, and down
counters whose end test is a flop kept beside the count."""

from amaranth.hdl import Assert, Signal

__all__ = ["Countdown", "delay_line"]


def delay_line(m, value, clocks, enable, name):
    """Registers ``value`` through ``clocks`` flops, each loading only while ``enable``.

    Returns the list of stages, first to last (empty when ``clocks`` is 0)."""
    stages = []
    for stage in range(clocks):
        delayed = Signal(len(value), name=f"{name}_d{stage}")
        with m.If(enable):
            m.d.sync += delayed.eq(value)
        stages.append(delayed)
        value = delayed
    return stages


class Countdown:
    """A down counter and the flag ``value == end`` in a flop beside it (asserted equal).

    A counter that ends something on its last step would otherwise put a wide comparison in
    front of every decision that waits for the end; the flag is computed the clock before, from
    ``value == end + 1`` or from the value loaded. ``end`` is 1 for a count of items left (the
    flag marks the last one) and 0 for a timer (the flag marks its expiry).

    ``load`` and ``decrement`` add ``sync`` statements under the caller's current conditions.
    """

    def __init__(self, m, shape, name, *, end=1, init=0):
        self._m = m
        self._end = end
        self.value = Signal(shape, name=name, init=init)
        self.at_end = Signal(name=f"{name}_at_end", init=init == end)
        m.d.sync += Assert(self.at_end == (self.value == end), f"{name}_at_end out of step")

    def load(self, value):
        self._m.d.sync += [self.value.eq(value), self.at_end.eq(value == self._end)]

    def decrement(self):
        self._m.d.sync += [
            self.value.eq(self.value - 1),
            self.at_end.eq(self.value == self._end + 1),
        ]
