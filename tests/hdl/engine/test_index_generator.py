"""Index generator: exact uniformity, bit-exact gateware, throughput, injected faults."""

from types import SimpleNamespace

import numpy as np
import pytest
from amaranth.hdl import Const, Fragment
from memgen.hdl.common.faults import with_fault
from memgen.hdl.engine.index_generator import (
    GENERATORS,
    MAX_COUNT,
    PIPELINE_DEPTH,
    IndexGenerator,
    IndexGeneratorModel,
    fraction_bits,
)
from memgen.hdl.engine.trivium import WARMUP_STEPS
from memgen.sim.harness.amaranth_sim import (
    STALL_PATTERNS,
    Stalls,
    refused_component,
    run_simulation,
    stream_get,
    stream_put,
    unused,
)


def accepted_histogram(model, count, reduce=None):
    """How many of all 2**b candidate words map to each index (numpy over every word)."""
    b = model.fraction_bits
    candidates = np.arange(1 << b, dtype=np.uint64)
    product = candidates * np.uint64(count)
    low = product & np.uint64((1 << b) - 1)
    keep = low >= np.uint64((1 << b) % count) if reduce is None else reduce(low, count, b)
    return np.bincount((product[keep] >> np.uint64(b)).astype(np.int64), minlength=count)


@pytest.mark.parametrize("max_count", [1, 2, 3, 7, 8, 9, 100, 1000])
def test_range_reduction_is_exactly_uniform_for_every_count(max_count):
    model = IndexGeneratorModel(max_count)
    for count in range(1, max_count + 1):
        histogram = accepted_histogram(model, count)
        assert len(histogram) == count
        assert histogram.min() == histogram.max() == (1 << model.fraction_bits) // count


@pytest.mark.parametrize("count", [3, 5, 1000, (1 << 17) - 1])
def test_exact_uniformity_check_catches_plain_multiply(count):
    """The same check fails the biased variant (multiply without rejection)."""
    model = IndexGeneratorModel((1 << 17) - 1)
    histogram = accepted_histogram(model, count, reduce=lambda low, c, b: low >= 0)
    assert histogram.max() - histogram.min() == 1


def test_model_reduce_matches_enumeration():
    model = IndexGeneratorModel(50)
    shift = 32 - model.fraction_bits
    for count in (1, 7, 50):
        histogram = np.zeros(count, dtype=np.int64)
        for candidate in range(1 << model.fraction_bits):
            index = model.reduce(candidate << shift, count)
            if index is not None:
                histogram[index] += 1
        assert (histogram == accepted_histogram(model, count)).all()


@pytest.mark.parametrize("max_count", [1, 100, 127, 128])
def test_model_takes_every_count_its_register_holds(max_count):
    """A request's count is 1 to the largest the ``count_width``-bit register holds: 0 and
    one past it are refused."""
    model = IndexGeneratorModel(max_count)
    largest = (1 << max_count.bit_length()) - 1
    assert all(index < largest for index in model.request(5, largest))
    for count in (0, largest + 1):
        with pytest.raises(ValueError, match=f"Count must be 1 to {largest}, not {count}"):
            model.request(1, count)


@pytest.mark.parametrize(
    ("max_count", "generator"),
    [(0, "trivium"), (1 << 27, "trivium"), (8.0, "lfsr"), (8, "xorshift")],
)
def test_bad_parameters_are_refused(max_count, generator):
    """A capacity of 1 to 2**27 - 1 records (an integer), a known engine; 1 and 2**27 - 1 are
    taken (the model, whose check the gateware shares, builds at each)."""
    with pytest.raises(ValueError, match="Record capacity|Generator must be"):
        IndexGeneratorModel(max_count, generator)
    with refused_component(), pytest.raises(ValueError, match="Record capacity|Generator must"):
        IndexGenerator(max_count, generator)
    assert IndexGeneratorModel(1, "lfsr").count_width == 1
    assert IndexGeneratorModel((1 << 24) - 1).count_width == 24
    assert IndexGeneratorModel(MAX_COUNT).count_width == 27 and MAX_COUNT == (1 << 27) - 1


@pytest.mark.parametrize(
    ("max_count", "index_bits", "count_bits"),
    [(1, 1, 1), (2, 1, 2), (3, 2, 2), (4, 2, 3), (5, 3, 3), (255, 8, 8), (256, 8, 9),
     (257, 9, 9), ((1 << 24) - 1, 24, 24), (1 << 24, 24, 25), (1 << 25, 25, 26),
     ((1 << 27) - 1, 27, 27)],
)  # fmt: skip
def test_ports_are_just_wide_enough(max_count, index_bits, count_bits):
    """The indices hold max_count - 1 (at least one bit), the count max_count: at each power of
    two and one either side."""
    dut = unused(IndexGenerator(max_count))
    assert (len(dut.indices.payload), len(dut.count)) == (index_bits, count_bits)


def test_rejection_rate_bound_for_every_count():
    """Throughput bound: rejected fraction (2**b mod N) / 2**b stays below 2**-8 for all N up to
    2**24 - 1 (``b = count_width + 8``); past that ``b`` stops at the word's 32 bits and the
    bound is N / 2**32, below 2**-5 at the largest count."""
    for max_count in (2**10, 2**17 - 1, 393216):
        b = IndexGeneratorModel(max_count).fraction_bits
        counts = np.arange(1, max_count + 1, dtype=np.int64)
        worst = ((1 << b) % counts).max() / (1 << b)
        assert worst < 2**-8
    assert [fraction_bits(width) for width in (1, 23, 24, 25, 27)] == [9, 31, 32, 32, 32]
    for count in ((1 << 24) + 1, (1 << 25) + 1, MAX_COUNT, (1 << 26) + 3):
        assert ((1 << 32) % count) / (1 << 32) < count / (1 << 32) < 2**-5


def test_lfsr_words_are_the_low_half_of_the_state():
    model = IndexGeneratorModel(10, "lfsr", seed=0x1234_5678_9ABC_DEF0)
    assert model.next_word() == 0x9ABCDEF0


def test_split_requests_continue_one_stream():
    """Requests of a and b indices give one request of a + b, for every split (the model
    against itself whole; the gateware is compared with the model below)."""
    whole = IndexGeneratorModel(1000, seed=9).request(40, 777)
    for split in range(41):
        model = IndexGeneratorModel(1000, seed=9)
        assert model.request(split, 777) + model.request(40 - split, 777) == whole


async def run_requests(ctx, dut, plan, model, stalls_in, stalls_out):
    """Drive (count, amount) requests; compare every index with the model."""
    for count, amount in plan:
        ctx.set(dut.count, count)
        await ctx.tick()  # the contract: count settled a clock before the request is taken
        await stream_put(ctx, dut.request, amount, stalls_in)
        expected = model.request(amount, count)
        for position, want in enumerate(expected):
            got = await stream_get(ctx, dut.indices, stalls_out)
            assert got == want, f"N={count} index {position}: {got} != {want}"
        while ctx.get(dut.busy):
            await ctx.tick()


@pytest.mark.parametrize("generator", GENERATORS)
@pytest.mark.parametrize("stalls", STALL_PATTERNS)
@pytest.mark.parametrize("seed", [1, 0xDEADBEEF])
def test_gateware_matches_model(generator, stalls, seed):
    max_count = 300
    dut = IndexGenerator(max_count, generator=generator, reset_seed=seed)
    model = IndexGeneratorModel(max_count, generator=generator, seed=seed)
    # counts grow as records arrive: 1, 2, 3, 2**k - 1, 2**k, 2**k + 1, capacity
    plan = [(1, 5), (2, 9), (3, 7), (3, 1), (127, 20), (128, 20), (129, 40), (300, 60), (5, 0)]

    async def testbench(ctx):
        await run_requests(
            ctx, dut, plan, model, Stalls(stalls, seed), Stalls(stalls, seed + 1, rate=0.5)
        )

    run_simulation(dut, testbench, name=f"index_{generator}_{stalls}")


@pytest.mark.parametrize("stalls", ["none", "random"])
def test_gateware_with_a_split_multiplier_matches_model(stalls):
    """Counts of 17 bits take the product in two registered halves: at 2**16 + 1, the most
    rejected count below 70,000, 70,000, and down to 1 and 2**16 (the halves' edges)."""
    max_count = 70_000
    dut = IndexGenerator(max_count)
    model = IndexGeneratorModel(max_count)
    plan = [(65_537, 20), (69_760, 30), (70_000, 20), (1, 3), (65_536, 20), (131_071 // 2, 9)]

    async def testbench(ctx):
        await run_requests(ctx, dut, plan, model, Stalls(stalls, 3), Stalls(stalls, 4, rate=0.5))

    run_simulation(dut, testbench, name=f"index_split_{stalls}")


@pytest.mark.parametrize(
    ("family", "max_count", "split"),
    [
        ("ECP5", 4096, True),  # 21-bit candidates: wider than an ECP5 DSP's 18-bit inputs
        ("ECP5", 1023, False),  # 18 bits: one DSP
        ("ECP5", 1024, True),
        ("iCE40", 4096, False),  # the iCEBreaker's product unchanged below 17-bit counts
        (None, 4096, False),
        (None, 70_000, True),
    ],
)
def test_the_product_splits_where_a_dsp_is_too_narrow(family, max_count, split):
    """The product is taken in two registered halves for counts of 17 bits, and on an ECP5 for
    candidates wider than 18 bits (the ULX3S's 4,096-record table: 21 bits), where the adder
    joining the DSPs' halves missed 100 MHz."""
    platform = None if family is None else SimpleNamespace(family=family)
    fragment = Fragment.get(IndexGenerator(max_count), platform)
    driven = fragment.statements.values()
    names = {signal.name for block in driven for st in block for signal in st._lhs_signals()}
    assert ("product_high" in names) == split


def test_gateware_continues_one_stream_across_requests():
    """Requests of 1, 2, 5 and 33 indices on the gateware give one model request of 41."""
    dut = IndexGenerator(300)
    expected = IndexGeneratorModel(300).request(41, 299)
    got = []

    async def testbench(ctx):
        ctx.set(dut.count, 299)
        await ctx.tick()
        for amount in (1, 2, 5, 33):
            await stream_put(ctx, dut.request, amount)
            for _ in range(amount):
                got.append(await stream_get(ctx, dut.indices, Stalls("random", amount)))
            while ctx.get(dut.busy):
                await ctx.tick()

    run_simulation(dut, testbench, name="index_continue")
    assert got == expected


@pytest.mark.parametrize("fault", [None, "keep_words"])
def test_count_change_drops_the_words_in_flight(fault):
    """N = 100, then 3 (no request), then 100 again: the words weighed against 100 before the
    change are dropped, as the model says; the mutant that keeps them is caught."""
    dut = with_fault(IndexGenerator, fault)(128)
    model = IndexGeneratorModel(128)

    async def testbench(ctx):
        await run_requests(ctx, dut, [(100, 6)], model, None, None)
        ctx.set(dut.count, 3)
        model.set_count(3)
        for _ in range(20):
            await ctx.tick()
        await run_requests(ctx, dut, [(100, 6), (1, 4)], model, None, None)

    if fault is None:
        run_simulation(dut, testbench, name="index_count_change")
    else:
        with pytest.raises(AssertionError):
            run_simulation(dut, testbench, name="index_count_change_fault")


@pytest.mark.parametrize("generator", GENERATORS)
def test_seed_reloads_the_sequence(generator):
    """Seeds with structure: zero, single bits at each end and in the middle, either half all
    ones, all ones; Trivium warms up after each (the request waits for it). A seed is taken in
    the clock it is valid: the port's ``ready`` is the constant 1."""
    dut = IndexGenerator(1000, generator)
    model = IndexGeneratorModel(1000, generator)
    assert isinstance(dut.seed.ready, Const) and dut.seed.ready.value == 1

    async def testbench(ctx):
        await run_requests(ctx, dut, [(1000, 10)], model, None, None)
        halves = ((1 << 32) - 1, ((1 << 32) - 1) << 32)
        for seed in (0, 1, 1 << 31, 1 << 32, 1 << 63, *halves, (1 << 64) - 1, 77):
            ctx.set(dut.seed.payload, seed)  # held from the clock before valid
            await ctx.tick()
            ctx.set(dut.seed.valid, 1)
            await ctx.tick()
            ctx.set(dut.seed.valid, 0)
            model.seed(seed)
            await run_requests(ctx, dut, [(999, 10)], model, None, None)

    run_simulation(dut, testbench, name="index_seed")


@pytest.mark.parametrize("max_count", [1 << 25, MAX_COUNT])
def test_gateware_at_the_largest_counts_matches_model(max_count):
    """The widest counts, where ``b`` stops at 32 bits and the word's every bit is used: 1-byte
    records filling 32 MiB and the largest count, at the memory's edges and the count whose
    threshold is the largest near them."""
    dut = IndexGenerator(max_count)
    model = IndexGeneratorModel(max_count)
    near = max(range(max_count - 5000, max_count + 1), key=lambda n: (1 << 32) % n)
    plan = [(max_count, 200), (max_count - 1, 50), (near, 300), (1 << 24, 50), (1, 3)]

    async def testbench(ctx):
        await run_requests(ctx, dut, plan, model, Stalls("random", 5), Stalls("random", 6))

    run_simulation(dut, testbench, name=f"index_widest_{max_count}")


def test_gateware_at_the_count_most_often_rejected():
    """100,000 indices from the gateware, bit-exact with the model, at the N whose rejection
    threshold 2**b mod N is the largest of a 4,095-record design: the rejection path taken
    hundreds of times, not a handful."""
    max_count, amount = 4095, 100_000
    model = IndexGeneratorModel(max_count)
    b = model.fraction_bits
    counts = np.arange(1, max_count + 1)
    worst = int(counts[np.argmax((1 << b) % counts)])
    threshold = (1 << b) % worst
    dut = IndexGenerator(max_count)
    words = IndexGeneratorModel(max_count)
    expected = model.request(amount, worst)
    accepted = rejected = 0
    while accepted < amount:  # the model's words again: how many did the reduction reject?
        top = words.next_word() >> (32 - b)
        if (top * worst) % (1 << b) < threshold:
            rejected += 1
        else:
            accepted += 1
    assert rejected > 300 and threshold > worst // 2

    async def testbench(ctx):
        ctx.set(dut.count, worst)
        await ctx.tick()
        await stream_put(ctx, dut.request, amount)
        ctx.set(dut.indices.ready, 1)
        got = []
        while len(got) < amount:
            if ctx.get(dut.indices.valid):
                got.append(ctx.get(dut.indices.payload))
            await ctx.tick()
        assert got == expected

    run_simulation(dut, testbench, name="index_worst_count")


def measure_indices_per_clock(count, amount, max_count):
    """Clocks from the first index to the last of one request, with the output always ready."""
    dut = IndexGenerator(max_count)
    result = {}

    async def testbench(ctx):
        ctx.set(dut.count, count)
        await stream_put(ctx, dut.request, amount)
        ctx.set(dut.indices.ready, 1)
        taken, clocks = 0, 0
        while taken < amount:
            if ctx.get(dut.indices.valid):
                taken += 1
            if taken:
                clocks += 1
            await ctx.tick()
        result["rate"] = amount / clocks

    run_simulation(dut, testbench, name="index_rate")
    return result["rate"]


def test_throughput_near_one_index_per_clock():
    # N = 2**16 + 1 maximises 2**b mod N / 2**b among N near the top for this capacity
    assert measure_indices_per_clock(3, 400, 300) == 1.0
    assert measure_indices_per_clock(65537, 2000, 70000) >= 0.99


PLAN_FOR_FAULTS = [(5, 50), (12, 50), (7, 50)]


class WithoutRejection(IndexGeneratorModel):
    """The model of the no_rejection mutant: every word gives an index."""

    def reduce(self, word, count):
        return ((word >> (32 - self.fraction_bits)) * count) >> self.fraction_bits


def seed_with_a_rejection(max_count, plan):
    """The first seed whose indices for ``plan`` differ without rejection (so that the mutant
    can be caught), found with the model."""

    def indices(model):
        return [model.request(amount, count) for count, amount in plan]

    for seed in range(1, 10_000):
        if indices(IndexGeneratorModel(max_count, seed=seed)) != indices(
            WithoutRejection(max_count, seed=seed)
        ):
            return seed
    raise AssertionError("no seed below 10,000 has a rejection")


@pytest.mark.parametrize("fault", ["no_rejection", "index_overflow", "unstable_output"])
def test_injected_faults_are_caught(fault):
    """Each mutant trips an in-design assertion or the comparison with the model."""
    seed = seed_with_a_rejection(12, PLAN_FOR_FAULTS)
    dut = with_fault(IndexGenerator, fault)(12, reset_seed=seed)
    model = IndexGeneratorModel(12, seed=seed)

    async def testbench(ctx):
        await run_requests(ctx, dut, PLAN_FOR_FAULTS, model, None, Stalls("random", 3, rate=0.5))

    with pytest.raises(AssertionError):
        run_simulation(dut, testbench, name=f"index_fault_{fault}")


def test_first_index_latency_is_the_documented_one():
    """The first index is valid PIPELINE_DEPTH + 1 clocks after its request is taken with the
    pipeline empty, one clock after with its words in flight from the request before."""
    dut = IndexGenerator(10)
    latencies = []

    async def testbench(ctx):
        ctx.set(dut.count, 1)  # N = 1: no word is rejected
        ctx.set(dut.indices.ready, 1)
        for _ in range(2):
            ctx.set(dut.request.valid, 1)
            ctx.set(dut.request.payload, 3)
            while not ctx.get(dut.request.ready):
                await ctx.tick()
            await ctx.tick()  # the request is taken at this edge
            ctx.set(dut.request.valid, 0)
            clocks = 1
            while not ctx.get(dut.indices.valid):
                await ctx.tick()
                clocks += 1
            latencies.append(clocks)
            while ctx.get(dut.busy):
                await ctx.tick()

    run_simulation(dut, testbench, name="index_latency")
    assert latencies == [PIPELINE_DEPTH + 1, 1]


def test_requests_wait_for_the_warmup():
    """After a seed, a request is taken only once Trivium's 1152 warm-up steps are done."""
    dut = IndexGenerator(10)
    result = {}

    async def testbench(ctx):
        ctx.set(dut.count, 5)
        for _ in range(40):
            await ctx.tick()
        ctx.set(dut.seed.payload, 3)
        ctx.set(dut.seed.valid, 1)
        await ctx.tick()
        ctx.set(dut.seed.valid, 0)
        clocks = 0
        while not ctx.get(dut.request.ready):
            await ctx.tick()
            clocks += 1
        result["clocks"] = clocks

    run_simulation(dut, testbench, name="index_warmup")
    assert result["clocks"] == WARMUP_STEPS // 32
