"""Sample lanes on their own: a request's shares, the lanes' index streams and their merge
(index j from lane j mod L across requests), and the gather's beats (records in order, slots
from the SAMPLE's first lane), under stalls."""

import random

import pytest
from amaranth.hdl import Shape
from memgen.hdl.engine.index_generator import IndexGeneratorModel
from memgen.hdl.engine.lanes import LaneGather, LaneIndices, beat_layout, lane_share, plan_layout
from memgen.hdl.engine.protocol import DEFAULT_SEED
from memgen.hdl.engine.records import RecordFormat, record_word_layout
from memgen.sim.harness.amaranth_sim import (
    STALL_PATTERNS,
    Stalls,
    run_simulation,
    stream_get,
    stream_put,
)

COUNT = 37  # records stored: an odd range, so rejections happen


@pytest.mark.parametrize("lanes", [1, 2, 4, 8, 16])
def test_lane_shares_count_the_indices_of_each_lane(lanes):
    """Lane i's share is how many of the request's indices j have (first + j) mod L == i, at
    every amount from 0 to 3L + 1 and every first lane."""
    for first in range(lanes):
        for amount in range(3 * lanes + 2):
            owners = [(first + j) % lanes for j in range(amount)]
            shares = [lane_share(amount, first, lane, lanes) for lane in range(lanes)]
            assert shares == [owners.count(lane) for lane in range(lanes)], (first, amount)


def merged(models, first, amount):
    """Index j of a request from lane (first + j) mod L, each lane's stream going on."""
    lanes = len(models)
    return [models[(first + j) % lanes].request(1, COUNT)[0] for j in range(amount)]


AMOUNTS = (5, 7, 1, 16, 3)  # first lanes 0, 1, 0, 1, 1


@pytest.mark.parametrize(
    "lanes,divert,stalls",
    [(4, False, "none"), (4, True, "none"), (4, False, "random"), (4, True, "random"),
     (2, False, "random"), (2, True, "none"), (8, False, "none"), (8, True, "random"),
     (16, True, "random")],
)  # fmt: skip
def test_lane_indices_are_the_lanes_streams_in_order(lanes, divert, stalls):
    """Requests of 5, 7, 1, 16 and 3 indices: each lane gives its own generator's stream (IV =
    lane), merged in order for INDICES, and a SAMPLE's plan names its first lane."""
    fmt = RecordFormat(64, record_size=1, lanes=lanes)
    dut = LaneIndices(fmt, "trivium", DEFAULT_SEED)
    models = [IndexGeneratorModel(64, "trivium", DEFAULT_SEED, i) for i in range(lanes)]
    plans, first = [], 0
    expected = []
    for amount in AMOUNTS:
        plans.append((first, amount))
        expected.append(merged(models, first, amount))
        first = (first + amount) % lanes
    rng = random.Random(4)

    async def testbench(ctx):
        ctx.set(dut.count, COUNT)
        ctx.set(dut.divert, divert)
        for (first, amount), want in zip(plans, expected, strict=True):
            ctx.set(dut.request.payload, amount)
            ctx.set(dut.request.valid, 1)
            for _ in range(200):
                if ctx.get(dut.request.ready):
                    break
                await ctx.tick()
            assert ctx.get(dut.plan.valid) == (not divert)
            if not divert:
                assert ctx.get(dut.plan.payload.first_lane) == first
                assert ctx.get(dut.plan.payload.amount) == amount
            await ctx.tick()
            ctx.set(dut.request.valid, 0)
            if divert:
                assert ctx.get(dut.busy)  # the shares are still on their way to the lanes
                got = [await stream_get(ctx, dut.diverted, Stalls(stalls, amount)) for _ in want]
                assert got == want
                continue
            owed = [want[j] for j in range(amount)]
            drawn = [[] for _ in range(lanes)]
            for _ in range(50 * amount):
                assert ctx.get(dut.busy)  # from the clock after the take to the last index
                for lane, port in enumerate(dut.lanes):
                    ready = stalls == "none" or rng.random() < 0.6
                    ctx.set(port.ready, ready)
                    if ready and ctx.get(port.valid):
                        drawn[lane].append(ctx.get(port.payload))
                assert not ctx.get(dut.diverted.valid)
                await ctx.tick()
                if sum(map(len, drawn)) == amount:
                    break
            for port in dut.lanes:
                ctx.set(port.ready, 0)
            for lane in range(lanes):
                assert drawn[lane] == owed[(lane - first) % lanes :: lanes], lane
        for _ in range(5):
            await ctx.tick()
        assert not ctx.get(dut.busy)

    run_simulation(dut, testbench, name=f"lane_indices_{divert}_{stalls}")


async def take(ctx, port, stalls, patience=100):
    """One payload from ``port``, sampled at the clock edge: the feeders set the lanes' valid
    in the same clock, and the gather passes it on combinationally."""
    for _ in range(patience):
        ready = not stalls.pause()
        ctx.set(port.ready, ready)
        *_, valid, payload = await ctx.tick().sample(port.valid, port.payload)
        if valid and ready:
            ctx.set(port.ready, 0)
            return payload
    raise AssertionError("no beat")


GATHERS = [
    *((4, first, amount) for first, amount in
      [(0, 1), (0, 4), (0, 9), (3, 1), (3, 2), (1, 11), (2, 2), (2, 3)]),
    (2, 0, 1), (2, 1, 1), (2, 1, 2), (2, 0, 5),  # the fewest lanes: a one-bit first slot
    (16, 15, 1), (16, 15, 2), (16, 0, 16), (16, 3, 40),  # the most
]  # fmt: skip


@pytest.mark.parametrize("stalls", STALL_PATTERNS)
@pytest.mark.parametrize("lanes,first,amount", GATHERS)
def test_gather_beats_carry_the_samples_in_order(lanes, first, amount, stalls):
    """Each lane's records arrive at their own pace; the beats carry them in sample order,
    slot k from lane k, the first beat from the SAMPLE's first lane; a recitation's record
    afterwards comes from lane 0 alone."""
    dut = LaneGather(record_word_layout(1), lanes)

    def feeder(lane):
        async def feed(ctx):
            for _ in range(2):  # after the plan
                await ctx.tick()
            for j in range(amount):
                if (first + j) % lanes == lane:
                    word = {"data": j, "first": 1, "last": 1, "count": 1}
                    await stream_put(ctx, dut.words[lane], word, Stalls(stalls, lane))

        return feed

    async def testbench(ctx):
        ctx.set(dut.plan.payload.first_lane, first)
        ctx.set(dut.plan.payload.amount, amount)
        ctx.set(dut.plan.valid, 1)
        await ctx.tick()
        ctx.set(dut.plan.valid, 0)
        assert ctx.get(dut.busy)
        samples, position = [], first
        while len(samples) < amount:
            beat = await take(ctx, dut.beats, Stalls(stalls, 9, rate=0.5))
            slots = [k for k in range(lanes) if beat.slots >> k & 1]
            assert slots == list(range(position, min(lanes, position + amount - len(samples))))
            samples += [beat.data >> (8 * k) & 0xFF for k in slots]
            position = 0
            assert ctx.get(dut.busy) == (len(samples) < amount)  # till the last is gathered
        assert samples == list(range(amount))
        assert not ctx.get(dut.busy)
        ctx.set(dut.words[0].payload, {"data": 0xA5, "first": 1, "last": 1, "count": 1})
        ctx.set(dut.words[0].valid, 1)
        beat = await stream_get(ctx, dut.beats, patience=2)
        ctx.set(dut.words[0].valid, 0)
        assert (beat.slots, beat.data & 0xFF) == (1, 0xA5)

    feeders = [feeder(lane) for lane in range(lanes)]
    run_simulation(dut, testbench, *feeders, name=f"gather_{lanes}_{first}_{amount}_{stalls}")


@pytest.mark.parametrize("lane", [1, 2, 3])
def test_a_lane_record_outside_a_sample_is_caught(lane):
    """Only lane 0 reads outside a SAMPLE (recitation, RECALL): a record from another lane
    then is a fault the gather asserts against."""
    dut = LaneGather(record_word_layout(1), 4)

    async def testbench(ctx):
        ctx.set(dut.words[lane].valid, 1)
        for _ in range(2):  # not tick().repeat(): the failing assertion would close it mid-wait
            await ctx.tick()

    with pytest.raises(AssertionError, match="a lane's record outside a SAMPLE"):
        run_simulation(dut, testbench, name=f"gather_stray_{lane}")


def test_a_record_in_the_clock_after_the_plan_is_caught():
    """The plan waits a clock in registers, so a SAMPLE's records come from the second clock
    after it: one in the first clock is a fault the gather asserts against."""
    dut = LaneGather(record_word_layout(1), 4)

    async def testbench(ctx):
        ctx.set(dut.plan.payload.amount, 3)
        ctx.set(dut.plan.valid, 1)
        await ctx.tick()
        ctx.set(dut.plan.valid, 0)
        ctx.set(dut.words[0].valid, 1)
        for _ in range(2):
            await ctx.tick()

    with pytest.raises(AssertionError, match="a record in the clock after its SAMPLE's plan"):
        run_simulation(dut, testbench, name="gather_early_record")


def test_beats_are_the_lanes_words_side_by_side():
    """A beat of four 1-byte words: 32 bits of data, the word's other fields once, 4 slots."""
    widths = {name: Shape.cast(field.shape).width
              for name, field in beat_layout(record_word_layout(1), 4)}  # fmt: skip
    assert widths == {"data": 32, "first": 1, "last": 1, "count": 1, "slots": 4}
    assert Shape.cast(plan_layout(8)["first_lane"].shape).width == 3
