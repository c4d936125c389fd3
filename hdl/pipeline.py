"""Registers for pipelined logic: delay lines carried beside a lock-step pipeline, and down
counters whose ``== 1`` test is a flop kept beside the count."""

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
    """A down counter and the flag ``value == 1`` in a flop beside it (asserted equal).

    A counter that ends something on its last step would otherwise put a wide comparison in
    front of every decision that waits for the end; the flag is computed the clock before, from
    ``value == 2`` or from the value loaded.

    ``load`` and ``decrement`` add ``sync`` statements under the caller's current conditions.
    """

    def __init__(self, m, shape, name, *, init=0):
        self._m = m
        self.value = Signal(shape, name=name, init=init)
        self.at_one = Signal(name=f"{name}_at_one", init=init == 1)
        m.d.sync += Assert(self.at_one == (self.value == 1), f"{name}_at_one out of step")

    def load(self, value, at_one=None):
        """Set the count to ``value``; ``at_one`` replaces the test ``value == 1`` when the
        caller has a shallower one (a constant, or a flag of its own)."""
        self._m.d.sync += [
            self.value.eq(value),
            self.at_one.eq(value == 1 if at_one is None else at_one),
        ]

    def decrement(self):
        self._m.d.sync += [self.value.eq(self.value - 1), self.at_one.eq(self.value == 2)]
