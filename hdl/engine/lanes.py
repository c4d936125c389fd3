"""Sample lanes: L index generators and L readouts side by side, merged in a fixed order.

Index ``j`` of the stream since the seed comes from lane ``j mod L`` (lane ``i``'s generator is
Trivium with IV ``i``), whatever the requests and the stalls: a request of ``n`` indices that
starts at lane ``p`` gives lane ``i`` the :func:`lane_share` of them, and the next request
starts at lane ``(p + n) mod L``. :class:`LaneIndices` splits the requests and, for INDICES,
merges the lanes' indices back into one stream in that order; :class:`LaneGather` puts the
lanes' records side by side in beats, a slot per lane, so a beat carries up to L samples in
order (slot ``k`` is lane ``k``; a SAMPLE's first and last beats may leave slots empty).
"""

from amaranth.hdl import Assert, Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..common.checks import assert_stream_stable
from ..common.skid import SkidBuffer
from ..fpga.replica import Replica
from .index_generator import AMOUNT_WIDTH, STATE_WIDTH, IndexGenerator

__all__ = ["LaneGather", "LaneIndices", "beat_layout", "lane_share", "plan_layout"]


def lane_share(amount, first_lane, lane, lanes):
    """How many of a request's ``amount`` indices lane ``lane`` of ``lanes`` makes when the
    request starts at ``first_lane``."""
    offset = (lane - first_lane) % lanes  # the request's first index from this lane
    return max(0, -(-(amount - offset) // lanes))


def plan_layout(lanes):
    """A SAMPLE's plan for the gather: the lane of its first sample and how many samples."""
    return data.StructLayout({"first_lane": (lanes - 1).bit_length(), "amount": AMOUNT_WIDTH})


def beat_layout(word_layout, lanes):
    """``lanes`` words of ``word_layout`` side by side (slot ``k``'s ``data`` in the ``k``-th
    part of ``data``), the other fields those of the beat's first record, and ``slots``, a bit
    per slot that carries a record."""
    fields = {name: field.shape for name, field in word_layout}
    fields["data"] = lanes * fields["data"]
    fields["slots"] = lanes
    return data.StructLayout(fields)


class LaneIndices(wiring.Component):
    """``lanes`` index generators of one seed as one source of indices.

    Parameters
    ----------
    record_format : RecordFormat
        Capacity and ``lanes``.
    generator, reset_seed
        As for :class:`~.index_generator.IndexGenerator`.

    Members
    -------
    seed, request, count
        As the generator's; a request is taken by every lane at once, each its share (with
        more than one lane, the shares wait a clock in registers: the adder that rounds a
        share and the generator's countdown would be one path; the count reaches each lane a
        clock late too, through its own :class:`~memgen.hdl.fpga.replica.Replica`).
    divert : In(1)
        The request's indices go to ``diverted``, merged in order, instead of ``lanes``.
    lanes : Out(stream.Signature(index_width)).array(lanes)
        Each lane's indices (through a register slice).
    diverted : Out(stream.Signature(index_width))
    plan : Out(stream.Signature(plan_layout(lanes), always_ready=True))
        A SAMPLE's first lane and amount, as its request is taken (not for diverted ones).
    busy : Out(1)
    """

    def __init__(self, record_format, generator, reset_seed):
        self.format = record_format
        self.generator = generator
        self.reset_seed = reset_seed
        lanes, width = record_format.lanes, record_format.index_width
        super().__init__(
            {
                "seed": In(stream.Signature(STATE_WIDTH, always_ready=True)),
                "request": In(stream.Signature(AMOUNT_WIDTH)),
                "count": In(record_format.count_width),
                "divert": In(1),
                "lanes": Out(stream.Signature(width)).array(lanes),
                "diverted": Out(stream.Signature(width)),
                "plan": Out(stream.Signature(plan_layout(lanes), always_ready=True)),
                "busy": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        fmt = self.format
        lanes, shift = fmt.lanes, fmt.lane_shift
        amount = self.request.payload
        next_lane = Signal(shift)  # the lane of the next index of the stream
        taken = Signal()
        held = Signal() if lanes > 1 else None  # the shares wait in registers for the generators
        generated = []
        for lane in range(lanes):
            unit = IndexGenerator(fmt.max_records, self.generator, self.reset_seed, lane)
            m.submodules[f"generator{lane}"] = unit
            # A register slice cuts the ready chain from the readout into the generator.
            m.submodules[f"slice{lane}"] = cut = SkidBuffer(unit.indices.payload.shape())
            wiring.connect(m, unit.indices, cut.input)
            generated.append(cut.output)
            offset = Const(lane, shift + 1) - next_lane  # below 0 (wrapped) when lane < first
            extra = offset[:shift] < amount[:shift]  # the share rounded up
            m.d.comb += [
                unit.seed.valid.eq(self.seed.valid),
                unit.seed.payload.eq(self.seed.payload),
            ]
            if lanes == 1:
                m.d.comb += [
                    unit.count.eq(self.count),
                    unit.request.valid.eq(self.request.valid),
                    unit.request.payload.eq((amount >> shift) + extra),
                ]
            else:  # a register between the share's adder and the generator's countdown
                # The count a clock late, as the share: each lane's own copy, so its threshold
                # unit is its own and beside it (Yosys would merge plain copies into one).
                m.submodules[f"count{lane}"] = copy = Replica(len(self.count))
                m.d.comb += [copy.d.eq(self.count), unit.count.eq(copy.q)]
                share = Signal(AMOUNT_WIDTH, name=f"share{lane}")
                with m.If(taken):
                    m.d.sync += share.eq((amount >> shift) + extra)
                m.d.comb += [unit.request.valid.eq(held), unit.request.payload.eq(share)]
        units = [m.submodules[f"generator{lane}"] for lane in range(lanes)]
        # The generators are ready together (same count, seed and warm-up; a request only
        # comes once every lane has finished the last), so lane 0's ready speaks for all and
        # no valid depends on a ready.
        ready = units[0].request.ready
        readies = Cat(unit.request.ready for unit in units)
        if lanes > 1:
            with m.If(held & ready):
                m.d.sync += held.eq(0)
            with m.If(taken):
                m.d.sync += held.eq(1)
        asked, accepted = (self.request.valid, ready) if lanes == 1 else (held, ~held)
        m.d.sync += Assert(~asked | (readies == 0) | readies.all(), "lanes not ready together")
        m.d.comb += [
            self.request.ready.eq(accepted),
            taken.eq(self.request.valid & accepted),
            self.plan.valid.eq(taken & ~self.divert),
            self.plan.payload.first_lane.eq(next_lane),
            self.plan.payload.amount.eq(amount),
        ]
        busy = Cat(unit.busy for unit in units).any() | Cat(cut.valid for cut in generated).any()
        m.d.comb += self.busy.eq(busy | held if lanes > 1 else busy)
        turn = Signal(shift)  # the diverted stream's next lane
        with m.If(self.seed.valid):
            m.d.sync += next_lane.eq(0)
        with m.Elif(taken):
            m.d.sync += [next_lane.eq(next_lane + amount[:shift]), turn.eq(next_lane)]
        with m.Elif(self.diverted.valid & self.diverted.ready):
            m.d.sync += turn.eq(turn + 1)
        for lane, (cut, out) in enumerate(zip(generated, self.lanes, strict=True)):
            mine = turn == lane
            m.d.comb += [
                out.valid.eq(cut.valid & ~self.divert),
                out.payload.eq(cut.payload),
                cut.ready.eq(Mux(self.divert, self.diverted.ready & mine, out.ready)),
            ]
            with m.If(mine):
                m.d.comb += [
                    self.diverted.valid.eq(cut.valid & self.divert),
                    self.diverted.payload.eq(cut.payload),
                ]
        return m


class LaneGather(wiring.Component):
    """The lanes' records side by side: a SAMPLE's as beats of up to ``lanes`` samples in
    order, anything else (recitation, RECALL) from lane 0 alone, a record per beat.

    Parameters
    ----------
    word_layout : StructLayout
        A lane's words (``data`` and the record's fields); each is a whole record.
    lanes : int

    Members
    -------
    words : In(stream.Signature(word_layout)).array(lanes)
    plan : In(stream.Signature(plan_layout(lanes), always_ready=True))
        A SAMPLE starts: its first lane and amount. Only while ``busy`` is low, and its records
        from the second clock after (both asserted): the plan waits a clock in registers.
    beats : Out(stream.Signature(beat_layout(word_layout, lanes)))
        Combinational: a beat waits until every slot it carries has its lane's record.
    busy : Out(1)
        Some of a SAMPLE's records are still to go (a flop).

    The merge order is asserted against a count of the SAMPLE's records still to go, kept for
    the checks alone (a build drops it): every beat's slots run from its first slot up to that
    count, the first beat's from the plan's first lane, later ones' from slot 0.
    """

    FAULTS = {"short_last": "a SAMPLE's last beat leaves out its last slot"}
    fault = None  # see memgen.hdl.common.faults

    def __init__(self, word_layout, lanes):
        self.lanes = lanes
        super().__init__(
            {
                "words": In(stream.Signature(word_layout)).array(lanes),
                "plan": In(stream.Signature(plan_layout(lanes), always_ready=True)),
                "beats": Out(stream.Signature(beat_layout(word_layout, lanes))),
                "busy": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        lanes = self.lanes
        shift = (lanes - 1).bit_length()
        # A SAMPLE of n from lane p is beats of the slots p .. p + n - 1, L to a beat: the first
        # from slot p, full ones, the last up to slot e = (p + n - 1) mod L. Its masks are worked
        # out as it is planned, so a beat's slots are a register and each readout's ready is one
        # AND from flops, and no count is subtracted while beats go.
        gathering = Signal()  # a SAMPLE's beats are going
        start = Signal(shift)  # the beat's first slot
        slots = Signal(lanes, init=1)  # the beat's slots (slot 0 alone outside a SAMPLE)
        more = Signal(AMOUNT_WIDTH)  # the SAMPLE's beats after this one
        last_slots = Signal(lanes)  # the SAMPLE's last beat's slots
        # The plan waits a clock in registers: its adder and the masks would be one path.
        plan = self.plan.payload
        planned = Signal()  # a SAMPLE with records was planned a clock ago
        first = Signal(shift)  # its first lane
        end = Signal(AMOUNT_WIDTH + 1)  # p + n - 1: the slot of the last record, from the first
        m.d.sync += planned.eq(self.plan.valid & (plan.amount != 0))
        with m.If(self.plan.valid):
            m.d.sync += [
                first.eq(plan.first_lane),
                end.eq(plan.first_lane + plan.amount - 1),
            ]
        m.d.comb += self.busy.eq(gathering | planned)
        last = end[:shift]
        short = self.fault == "short_last"
        up_to_last = Cat((k < last) if short else (k <= last) for k in range(lanes))
        from_first = Cat(k >= first for k in range(lanes))
        several = end[shift:] != 0
        beat = self.beats.payload
        m.d.comb += [
            self.beats.valid.eq(
                Cat(word.valid | ~slots[k] for k, word in enumerate(self.words)).all()
            ),
            beat.data.eq(Cat(word.payload.data for word in self.words)),
            beat.slots.eq(slots),
        ]
        for name, _ in beat.shape():
            if name not in ("data", "slots"):
                fields = [getattr(word.payload, name) for word in self.words]
                with m.Switch(start):  # the beat's first record's fields
                    for k, value in enumerate(fields):
                        with m.Case(k):
                            m.d.comb += getattr(beat, name).eq(value)
        sent = self.beats.valid & self.beats.ready
        for k, word in enumerate(self.words):
            m.d.comb += word.ready.eq(sent & slots[k])
        with m.If(planned):
            m.d.sync += [
                gathering.eq(1),
                start.eq(first),
                more.eq(end[shift:]),
                last_slots.eq(up_to_last),
                slots.eq(from_first & Mux(several, -1, up_to_last)),
            ]
        with m.Elif(sent & gathering):
            m.d.sync += [start.eq(0), more.eq(more - 1)]
            with m.If(more == 0):
                m.d.sync += [gathering.eq(0), slots.eq(1)]
            with m.Else():
                m.d.sync += slots.eq(Mux(more == 1, last_slots, -1))
        m.d.sync += [
            Assert(gathering | (slots == 1), "slots outside a SAMPLE"),
            Assert(~gathering | (slots != 0), "a SAMPLE's beat without a slot"),
            Assert(gathering | (start == 0), "a first slot outside a SAMPLE"),
        ]
        self._check_order(m, gathering, start, slots, more, last_slots, sent)
        # The stream rule on what a beat carries: an empty slot's lane may change under it.
        carried = Signal.like(beat, name="beats_carried")
        width = len(beat.data) // lanes
        slot_data = [beat.data[k * width : (k + 1) * width] for k in range(lanes)]
        m.d.comb += [
            carried.eq(beat),
            carried.data.eq(Cat(Mux(slots[k], part, 0) for k, part in enumerate(slot_data))),
        ]
        assert_stream_stable(m, self.beats, "beats", payload=carried)
        m.d.sync += [
            Assert(~self.plan.valid | ~self.busy, "a SAMPLE planned while one is gathered"),
            Assert(
                ~planned | ~Cat(word.valid for word in self.words).any(),
                "a record in the clock after its SAMPLE's plan",
            ),
            Assert(
                gathering | ~Cat(word.valid for word in self.words[1:]).any(),
                "a lane's record outside a SAMPLE",
            ),
        ]
        return m

    def _check_order(self, m, gathering, start, slots, more, last_slots, sent):
        """Asserts each slot of the beats against the SAMPLE's records still to go."""
        lanes, shift = self.lanes, (self.lanes - 1).bit_length()
        left = Signal(AMOUNT_WIDTH)  # the SAMPLE's records not yet sent, for the checks alone
        with m.If(self.plan.valid):
            m.d.sync += left.eq(self.plan.payload.amount)
        with m.Elif(sent & gathering):
            m.d.sync += left.eq(left - sum(slots[k] for k in range(lanes)))
        span = Signal(AMOUNT_WIDTH + 1)  # one past the SAMPLE's last slot, from the beat's first
        m.d.comb += span.eq(start + left)
        final = (span - 1)[:shift]  # the slot of the SAMPLE's last record
        m.d.sync += [
            Assert(self.busy == (left != 0), "a SAMPLE gathered with no records left, or idle"),
            Assert(
                ~gathering | (slots == Cat((k >= start) & (k < span) for k in range(lanes))),
                "a beat's slots are not the next records in order",
            ),
            Assert(~gathering | (more == (span - 1) >> shift), "beats to go miscounted"),
            Assert(
                ~gathering | (more == 0) | (last_slots == Cat(k <= final for k in range(lanes))),
                "the last beat's slots are not the SAMPLE's last records",
            ),
        ]
