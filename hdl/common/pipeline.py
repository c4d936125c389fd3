"""Registers for pipelined logic: delay lines carried beside a lock-step pipeline, and down
counters whose end test is a flop kept beside the count."""

from itertools import pairwise

from amaranth.hdl import Assert, Signal, Value

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

    ``segment`` (an unsigned width) splits a wide count into pieces of at most that many bits,
    each decremented by its own carry chain: a piece borrows when every piece below it is zero,
    which a flop beside each boundary records (asserted equal), so no carry chain is longer than
    ``segment`` bits.

    ``load`` and ``decrement`` add ``sync`` statements under the caller's current conditions.
    """

    def __init__(self, m, shape, name, *, end=1, init=0, segment=None):
        self._m = m
        self._end = end
        self.value = Signal(shape, name=name, init=init)
        if segment is not None and self.value.shape().signed:
            raise ValueError("A segmented countdown must be unsigned")
        self.at_end = Signal(name=f"{name}_at_end", init=init == end)
        m.d.sync += Assert(self.at_end == (self.value == end), f"{name}_at_end out of step")
        width = len(self.value)
        bounds = list(range(0, width, segment or width)) + [width]
        self._pieces = list(pairwise(bounds))
        # below_zero[k]: every bit below piece k + 1 is zero (so piece k + 1 borrows)
        self._below_zero = []
        for _, stop in self._pieces[:-1]:
            flag = Signal(name=f"{name}_zero_below_{stop}", init=(init % (1 << stop)) == 0)
            m.d.sync += Assert(flag == (self.value[:stop] == 0), f"{name} borrow flag out of step")
            self._below_zero.append(flag)

    def load(self, value):
        value = Value.cast(value)
        self._m.d.sync += [self.value.eq(value), self.at_end.eq(value == self._end)]
        for flag, (_, stop) in zip(self._below_zero, self._pieces[:-1], strict=True):
            self._m.d.sync += flag.eq(value[:stop] == 0)

    def decrement(self):
        m, value = self._m, self.value
        m.d.sync += self.at_end.eq(value == self._end + 1)
        for k, (start, stop) in enumerate(self._pieces):
            piece = value[start:stop]
            if k == 0:
                m.d.sync += piece.eq(piece - 1)
            else:
                with m.If(self._below_zero[k - 1]):
                    m.d.sync += piece.eq(piece - 1)
        for flag, (_, stop) in zip(self._below_zero, self._pieces[:-1], strict=True):
            m.d.sync += flag.eq(value[:stop] == 1)
