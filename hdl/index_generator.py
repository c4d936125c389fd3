"""Random record indices, exactly uniform on ``[0, N)`` for every ``N``, at about one per clock.

Engine
    A 64-bit maximal-length LFSR (:class:`~memgen.hdl.lfsr.LFSR`) leaping 64 steps per clock, so
    every word is built from 64 sequence bits no earlier word used. Seedable; never zero.

Output stage (``generator``)
    ``"scrambled"`` (default): ``word = rotl(lo + hi, 7) + lo`` on the two 32-bit halves of the
    state, the xoshiro128++ scrambler (Blackman and Vigna, "Scrambled linear pseudorandom number
    generators", ACM TOMS 47(4), 2021). The carries make every output bit non-linear in the state,
    so the stream passes binary-rank and linear-complexity tests. Two pipeline stages, one 32-bit
    adder each; about 64 LUT4s more than the plain option.

    ``"lfsr"``: ``word = lo`` for minimum area. F2-linear: it fails binary-rank and
    linear-complexity tests, and is kept for comparison and for the smallest parts.

Range reduction
    Multiply with rejection (D. Lemire, "Fast random integer generation in an interval",
    ACM TOMACS 29(1), 2019): with ``r`` the top ``b`` bits of the word, ``r * N`` splits into
    ``index = (r * N) >> b`` and ``low = (r * N) mod 2**b``; the word is rejected when
    ``low < 2**b mod N``. Every index then has exactly ``floor(2**b / N)`` accepted words, so the
    output is exactly uniform. ``b = count_width + 8``, so a word is rejected with probability
    below ``N / 2**b < 2**-8``: at least 0.996 indices per clock for every ``N``.
    The threshold ``2**b mod N`` is computed by a ``b``-cycle shift-subtract whenever ``count``
    changes (about 70 LUT4s); requests wait for it.

Requests
    A request of ``n`` indices runs the pipeline in lock step (every stage advances together when
    the output is empty or taken), so the output holds under backpressure. When the ``n``-th index
    is taken, the :data:`PIPELINE_DEPTH` words in flight are discarded. The sequence of indices
    is thus a function of the seed and the ``(n, N)`` of each request only, never of timing;
    :class:`IndexGeneratorModel` reproduces it bit for bit.

Latency: a request's first index appears ``PIPELINE_DEPTH + 1`` clocks after it is accepted.
"""

from amaranth.hdl import Assert, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .checks import assert_stream_stable
from .lfsr import LFSR, LFSRModel
from .pipeline import Countdown

__all__ = [
    "GENERATORS",
    "PIPELINE_DEPTH",
    "STATE_WIDTH",
    "WORD_WIDTH",
    "IndexGenerator",
    "IndexGeneratorModel",
    "fraction_bits",
    "scramble",
]

#: Output stages: ``"scrambled"`` (non-linear, default) and ``"lfsr"`` (plain, minimum area).
GENERATORS = ("scrambled", "lfsr")
#: LFSR engine width; it leaps this many steps per clock.
STATE_WIDTH = 64
#: Random word width after the output stage.
WORD_WIDTH = 32
#: Words in flight between the LFSR and the accept decision; discarded after each request.
PIPELINE_DEPTH = 4
#: Bits of a request's amount field.
AMOUNT_WIDTH = 32

_MASK32 = (1 << 32) - 1


def fraction_bits(count_width):
    """Random bits used per candidate index: ``count_width + 8`` (rejection below 2**-8)."""
    return count_width + 8


def scramble(state, generator="scrambled"):
    """The 32-bit word the output stage makes of a 64-bit engine state."""
    lo, hi = state & _MASK32, state >> 32
    if generator == "lfsr":
        return lo
    total = (lo + hi) & _MASK32
    rotated = ((total << 7) | (total >> 25)) & _MASK32
    return (rotated + lo) & _MASK32


def _check_parameters(max_count, generator):
    if not isinstance(max_count, int) or not 1 <= max_count < (1 << 24):
        raise ValueError(
            f"Record capacity must be an integer from 1 to 2**24 - 1, not {max_count!r}"
        )
    if generator not in GENERATORS:
        raise ValueError(f"Generator must be one of {GENERATORS}, not {generator!r}")


class IndexGeneratorModel:
    """Bit-exact model of :class:`IndexGenerator` (and the reference for range reduction).

    Parameters
    ----------
    max_count : int
        Largest ``N`` (the record capacity); fixes ``count_width`` and ``b``.
    generator : str
        One of :data:`GENERATORS`.
    seed : int
        Engine seed (zero is mapped, see :mod:`memgen.hdl.lfsr`).
    """

    def __init__(self, max_count, generator="scrambled", seed=1):
        _check_parameters(max_count, generator)
        self.count_width = max_count.bit_length()
        self.fraction_bits = fraction_bits(self.count_width)
        self.generator = generator
        self.lfsr = LFSRModel(STATE_WIDTH, steps=STATE_WIDTH, seed=seed)
        self.words_used = 0

    def seed(self, seed):
        self.lfsr.seed(seed)

    def next_word(self):
        """The next engine word (the one the current state makes), then advance."""
        word = scramble(self.lfsr.state, self.generator)
        self.lfsr.next()
        self.words_used += 1
        return word

    def reduce(self, word, count):
        """Range reduction of one word: the index, or ``None`` when the word is rejected."""
        candidate = word >> (WORD_WIDTH - self.fraction_bits)
        product = candidate * count
        low = product & ((1 << self.fraction_bits) - 1)
        if low < (1 << self.fraction_bits) % count:
            return None
        return product >> self.fraction_bits

    def request(self, amount, count):
        """The indices one request of ``amount`` returns while the memory holds ``count``."""
        if not 1 <= count < (1 << self.count_width):
            raise ValueError(f"Count must be 1 to {(1 << self.count_width) - 1}, not {count}")
        indices = []
        while len(indices) < amount:
            index = self.reduce(self.next_word(), count)
            if index is not None:
                indices.append(index)
        if amount:
            for _ in range(PIPELINE_DEPTH):
                self.next_word()
        return indices


class IndexGenerator(wiring.Component):
    """Uniform random indices on ``[0, count)``, one per clock on average (at least 0.996).

    Parameters
    ----------
    max_count : int
        Largest ``count`` (the record capacity), below 2**24.
    generator : str
        ``"scrambled"`` (default) or ``"lfsr"``, see the module documentation.
    reset_seed : int
        Engine state after reset.

    Members
    -------
    count : In(count_width)
        ``N``, the number of records. Must stay constant while ``busy`` and in the clock a
        request is taken (asserted).
    request : In(stream.Signature(32))
        Amount of indices wanted. Taken when idle, ``count`` is not zero and the threshold for
        ``count`` is ready. An amount of zero completes at once.
    indices : Out(stream.Signature(index_width))
        The indices. Valid and payload hold until taken.
    seed : In(stream.Signature(64))
        Loads the engine; always ready; only while idle, the payload held from the clock
        before ``valid`` (both asserted; see :class:`~memgen.hdl.lfsr.LFSR`).
    busy : Out(1)
        A request is in progress.
    """

    def __init__(self, max_count, generator="scrambled", reset_seed=1, *, fault=None):
        _check_parameters(max_count, generator)
        self.max_count = max_count
        self.generator = generator
        self.reset_seed = reset_seed
        self.count_width = max_count.bit_length()
        self.index_width = max(1, (max_count - 1).bit_length())
        self.fraction_bits = fraction_bits(self.count_width)
        # Test-only mutants that the property tests must catch.
        if fault not in (None, "no_rejection", "index_overflow", "unstable_output"):
            raise ValueError(f"Unknown fault {fault!r}")
        self._fault = fault
        super().__init__(
            {
                "count": In(self.count_width),
                "request": In(stream.Signature(AMOUNT_WIDTH)),
                "indices": Out(stream.Signature(self.index_width)),
                "seed": In(stream.Signature(STATE_WIDTH, always_ready=True)),
                "busy": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        b = self.fraction_bits

        # Threshold 2**b mod count: remainder of a 1 followed by b zeros, by shift-subtract.
        threshold = Signal(self.count_width)
        threshold_count = Signal(self.count_width)  # the count `threshold` belongs to
        threshold_steps = Signal(range(b + 1))
        threshold_ready = Signal()
        doubled = Signal(self.count_width + 1)
        count_changed = Signal()  # count != threshold_count, a clock ago
        m.d.comb += doubled.eq(threshold << 1)
        m.d.sync += count_changed.eq(self.count != threshold_count)
        with m.If(count_changed):
            m.d.sync += [
                threshold_count.eq(self.count),
                threshold.eq(self.count > 1),  # 2**0 mod count
                threshold_steps.eq(b),
                threshold_ready.eq(0),
            ]
        with m.Elif(threshold_steps != 0):
            with m.If(doubled >= self.count):
                m.d.sync += threshold.eq(doubled - self.count)
            with m.Else():
                m.d.sync += threshold.eq(doubled)
            m.d.sync += threshold_steps.eq(threshold_steps - 1)
        with m.Else():
            m.d.sync += threshold_ready.eq(1)

        m.submodules.lfsr = lfsr = LFSR(STATE_WIDTH, steps=STATE_WIDTH, reset_seed=self.reset_seed)
        wiring.connect(m, wiring.flipped(self.seed), lfsr.seed)

        # Request control. "The threshold belongs to the count" is a flop (one clock behind the
        # comparison), so a request is taken on flops alone; the count must therefore not change
        # in the clock a request is taken (asserted; the core samples long after any append).
        # In two 16-bit pieces: a 32-bit carry chain was the design's slowest path.
        remaining = Countdown(m, AMOUNT_WIDTH, "remaining", segment=16)
        running = Signal()
        settled = Signal()  # last clock: threshold ready for a nonzero count
        m.d.sync += settled.eq(
            threshold_ready & ~count_changed & (self.count == threshold_count) & (self.count != 0)
        )
        m.d.comb += [
            self.busy.eq(running),
            self.request.ready.eq(~running & settled & ~self.seed.valid),
        ]

        # Lock-step pipeline: engine -> s1 (sum) -> s2 (word) -> s3 (product) -> s4 (index and
        # decision). The decision is registered so that the output's valid is a flop: the
        # advance strobe that enables every stage and the LFSR (a global buffer) is then one
        # LUT away from flops.
        advance = Signal()
        valid_1, valid_2, valid_3, valid_4 = Signal(), Signal(), Signal(), Signal()
        low_1, sum_1 = Signal(WORD_WIDTH), Signal(WORD_WIDTH)
        word_2 = Signal(WORD_WIDTH)
        product_3 = Signal(b + self.count_width)
        accepted = Signal()
        index_4 = Signal(self.index_width)
        accepted_4 = Signal()

        lo, hi = lfsr.state[:WORD_WIDTH], lfsr.state[WORD_WIDTH:]
        index = index_4
        m.d.comb += [
            # threshold < count <= 2**count_width: any bit above count_width accepts, so the
            # carry chain compares count_width bits only
            accepted.eq(
                product_3[self.count_width : b].any() | (product_3[: self.count_width] >= threshold)
            ),
            self.indices.valid.eq(valid_4 & accepted_4),
            self.indices.payload.eq(index),
            advance.eq(running & (~self.indices.valid | self.indices.ready)),
            lfsr.enable.eq(advance),
        ]
        if self._fault == "no_rejection":
            m.d.comb += accepted.eq(1)
        if self._fault == "index_overflow":
            m.d.comb += self.indices.payload.eq(index + (index == self.count - 1))
        if self._fault == "unstable_output":
            m.d.comb += advance.eq(running)

        with m.If(advance):
            m.d.sync += [
                valid_1.eq(1),
                low_1.eq(lo),
                valid_2.eq(valid_1),
                valid_3.eq(valid_2),
                product_3.eq(word_2[WORD_WIDTH - b :] * self.count),
                valid_4.eq(valid_3),
                index_4.eq(product_3[b:]),
                accepted_4.eq(accepted),
            ]
            if self.generator == "scrambled":
                m.d.sync += [
                    sum_1.eq(lo + hi),
                    word_2.eq(sum_1.rotate_left(7) + low_1),
                ]
            else:
                m.d.sync += word_2.eq(low_1)

        with m.If(running):
            with m.If(self.indices.valid & self.indices.ready):
                remaining.decrement()
                with m.If(remaining.at_end):
                    # Done: discard the words in flight.
                    m.d.sync += [
                        running.eq(0),
                        valid_1.eq(0),
                        valid_2.eq(0),
                        valid_3.eq(0),
                        valid_4.eq(0),
                    ]
        with m.Elif(self.request.valid & self.request.ready):
            remaining.load(self.request.payload)
            m.d.sync += running.eq(self.request.payload != 0)

        # Properties, checked in every simulation and proved formally.
        assert_stream_stable(m, self.indices, "indices")
        m.d.sync += [
            Assert(~self.indices.valid | (self.indices.payload < self.count), "index >= count"),
            Assert(~running | (self.count == threshold_count), "count changed during a request"),
            Assert(~running | (self.count != 0), "request while the memory is empty"),
            Assert(
                ~(self.request.valid & self.request.ready) | (self.count == threshold_count),
                "count changed as a request was taken",
            ),
            Assert(
                ~settled | (threshold_count != 0) & (threshold_steps == 0),
                "settled while the threshold is not ready",
            ),
            Assert(~self.seed.valid | ~running, "seed loaded during a request"),
            # invariants that make the properties above inductive
            Assert(~threshold_ready | (threshold_steps == 0), "threshold ready while computing"),
            Assert(~running | threshold_ready, "request running without its threshold"),
            Assert(~valid_3 | (product_3[b:] < self.count), "product beyond count"),
            Assert(~valid_4 | (index_4 < self.count), "candidate index >= count"),
            Assert(
                running | ~(valid_1 | valid_2 | valid_3 | valid_4), "words in flight while idle"
            ),
        ]
        return m
