"""The readout's indices, from one of three sources at a time: a SAMPLE's from the index
generator, a recitation's ``0 .. N-1``, or RECALL's answers one by one. INDICES diverts the
generator's to a stream of their own, which the core sends as bytes."""

from amaranth.hdl import Assert, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..common.pipeline import Countdown
from .index_generator import AMOUNT_WIDTH, STATE_WIDTH
from .lanes import LaneIndices, plan_layout

__all__ = ["IndexSource"]


class IndexSource(wiring.Component):
    """The index generator, the recitation counter and RECALL's answers, onto ``indices``.

    Parameters
    ----------
    record_format : RecordFormat
        Capacity (the index width).
    generator : str
        Index generator engine.
    reset_seed : int
        Engine seed after reset.

    Members
    -------
    seed, request : In(stream.Signature(64, always_ready=True)), In(stream.Signature(32))
        To the index generator: a new seed; ``n`` indices to make.
    count : In(count_width)
        Records stored (the generator's range and the recitation's end).
    recite : In(1)
        Strobe: recite ``0 .. count - 1`` (``count`` at least 1).
    match : In(stream.Signature(index_width))
        One index to read (RECALL's answers).
    divert : In(1)
        The generator's indices go to ``diverted`` instead of ``indices``.
    indices, diverted : Out(stream.Signature(index_width))
        To lane 0's readout; to the INDICES serialiser (every lane's, merged in order).
    lane_indices : Out(stream.Signature(index_width)).array(lanes - 1)
        With more than one lane: lanes 1 and up's sampled indices, to their readouts.
    plan : Out(stream.Signature(plan_layout(lanes), always_ready=True))
        With more than one lane: each SAMPLE's first lane and amount, to the lane gather.
    busy : Out(1)
        An index is still to come or waiting on an output.
    """

    def __init__(self, record_format, generator, reset_seed):
        self.format = record_format
        self.generator = generator
        self.reset_seed = reset_seed
        width = record_format.index_width
        lanes = record_format.lanes
        more = {}
        if lanes > 1:
            more = {
                "lane_indices": Out(stream.Signature(width)).array(lanes - 1),
                "plan": Out(stream.Signature(plan_layout(lanes), always_ready=True)),
            }
        super().__init__(
            {
                **more,
                "seed": In(stream.Signature(STATE_WIDTH, always_ready=True)),
                "request": In(stream.Signature(AMOUNT_WIDTH)),
                "count": In(record_format.count_width),
                "recite": In(1),
                "match": In(stream.Signature(width)),
                "divert": In(1),
                "indices": Out(stream.Signature(width)),
                "diverted": Out(stream.Signature(width)),
                "busy": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        fmt = self.format
        # The generators make exactly the n indices of a request, so their register slices are
        # empty after each SAMPLE.
        m.submodules.generator = generator = LaneIndices(fmt, self.generator, self.reset_seed)
        wiring.connect(m, wiring.flipped(self.seed), generator.seed)
        wiring.connect(m, wiring.flipped(self.request), generator.request)
        wiring.connect(m, generator.diverted, wiring.flipped(self.diverted))
        m.d.comb += [generator.count.eq(self.count), generator.divert.eq(self.divert)]
        generated = generator.lanes[0]
        if fmt.lanes > 1:
            wiring.connect(m, generator.plan, wiring.flipped(self.plan))
            for lane, indices in enumerate(self.lane_indices, 1):
                wiring.connect(m, generator.lanes[lane], wiring.flipped(indices))

        recite_index = Signal(fmt.index_width + 1)
        recite_left = Countdown(m, fmt.index_width + 1, "recite_left")  # count - recite_index
        recite_more = Signal()  # recite_index < count
        with m.If(self.recite):
            recite_left.load(self.count)
            m.d.sync += [recite_index.eq(0), recite_more.eq(1)]
        with m.Elif(recite_more & self.indices.ready):
            recite_left.decrement()
            m.d.sync += [recite_index.eq(recite_index + 1), recite_more.eq(~recite_left.at_end)]

        # Only one source is ever active (asserted), so the slice's ready needs no state and
        # the readout's ready reaches it one LUT from flops.
        sampled = generated.valid  # not while diverted
        m.d.comb += [
            self.indices.valid.eq(sampled | recite_more | self.match.valid),
            self.indices.payload.eq(
                Mux(
                    self.match.valid,
                    self.match.payload,
                    Mux(recite_more, recite_index, generated.payload),
                )
            ),
            self.match.ready.eq(self.indices.ready),
            generated.ready.eq(self.indices.ready),
            self.busy.eq(generator.busy | recite_more | self.match.valid),
        ]
        m.d.sync += [
            Assert(~(generated.valid & recite_more), "sampled and recited indices at once"),
            Assert(~(self.match.valid & (recite_more | generated.valid)), "a match among others"),
            Assert(~recite_more | (recite_left.value == self.count - recite_index),
                   "recite countdown out of step with the index"),
            Assert(~recite_more | (recite_index < self.count), "recited past the count"),
        ]  # fmt: skip
        return m
