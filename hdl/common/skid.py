"""Register slices for streams: every output and ``ready`` toward the source come from flops.

A long valid/ready chain (UART transmitter, framer, command processor, readout, storage address)
is one combinational path; a :class:`SkidBuffer` cuts it in two without losing throughput: one
word per clock, two clocks of latency at most, a second register (the skid) catching the word
that arrives in the clock the sink stalls. Where a word every other clock is enough, a
:class:`HalfRateSlice` cuts it with one register and no path from the sink's ``ready`` to
anything but that register's valid.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .checks import assert_stream_stable

__all__ = ["HalfRateSlice", "SkidBuffer"]


class _Slice(wiring.Component):
    """A stream in, the same stream out.

    Parameters
    ----------
    shape : shape-like
        The payload.
    """

    def __init__(self, shape):
        super().__init__(
            {"input": In(stream.Signature(shape)), "output": Out(stream.Signature(shape))}
        )
        self.shape = shape


class SkidBuffer(_Slice):
    """``input`` to ``output``, same order, registered in both directions."""

    def elaborate(self, platform):
        m = Module()
        skid_valid = Signal()
        skid = Signal(self.shape)
        m.d.comb += self.input.ready.eq(~skid_valid)
        with m.If(self.output.ready | ~self.output.valid):
            with m.If(skid_valid):
                m.d.sync += [self.output.payload.eq(skid), skid_valid.eq(0)]
            with m.Else():
                m.d.sync += [
                    self.output.valid.eq(self.input.valid),
                    self.output.payload.eq(self.input.payload),
                ]
        with m.Elif(self.input.valid & ~skid_valid):
            m.d.sync += [skid.eq(self.input.payload), skid_valid.eq(1)]
        assert_stream_stable(m, self.output, "skid_output")
        return m


class HalfRateSlice(_Slice):
    """``input`` to ``output`` through one register, for streams that need at most one word
    every other clock (the link side: a UART byte takes dozens of clocks).

    ``input.ready`` is "the register is empty", a flop, and the register loads from the input
    whenever it is empty, so the sink's ``ready`` reaches one flop (the register's valid) and
    nothing of the source: the cheapest cut of a valid/ready chain, at half the throughput and
    half the registers of a :class:`SkidBuffer`.
    """

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.input.ready.eq(~self.output.valid)
        with m.If(~self.output.valid):
            m.d.sync += [
                self.output.valid.eq(self.input.valid),
                self.output.payload.eq(self.input.payload),
            ]
        with m.Elif(self.output.ready):
            m.d.sync += self.output.valid.eq(0)
        assert_stream_stable(m, self.output, "half_rate_output")
        return m
