"""A register slice for streams: every output and ``ready`` toward the source come from flops.

A long valid/ready chain (UART transmitter, framer, command processor, readout, storage address)
is one combinational path; a :class:`SkidBuffer` cuts it in two without losing throughput: one
word per clock, two clocks of latency at most, a second register (the skid) catching the word
that arrives in the clock the sink stalls.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .checks import assert_stream_stable

__all__ = ["SkidBuffer"]


class SkidBuffer(wiring.Component):
    """``input`` to ``output``, same order, registered in both directions.

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
