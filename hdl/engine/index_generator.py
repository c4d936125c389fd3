"""Random record indices, exactly uniform on ``[0, N)`` for every ``N``, at about one per clock.

Engine (``generator``)
    ``"trivium"`` (default): Trivium (:mod:`.trivium`), 32 keystream bits per clock.
    The seed is its key and the lane number its IV, so every seed and every lane gives its own
    stream from the first word; after a seed is loaded the engine warms up for 36 clocks.

    ``"lfsr"``: the low half of a 64-bit maximal-length LFSR (:mod:`memgen.hdl.engine.lfsr`) leaping
    64 steps per clock, its state loaded with the seed itself. Minimum area; F2-linear, so it fails
    binary-rank, linear-complexity and recurrence tests, and nearby seeds give related streams.

Range reduction
    Multiply with rejection (D. Lemire, "Fast random integer generation in an interval",
    ACM TOMACS 29(1), 2019): with ``r`` the top ``b`` bits of the word, ``r * N`` splits into
    ``index = (r * N) >> b`` and ``low = (r * N) mod 2**b``; the word is rejected when
    ``low < 2**b mod N``. Every index then has exactly ``floor(2**b / N)`` accepted words, so the
    output is exactly uniform. ``b = count_width + 8`` up to the word's 32 bits, so a word is
    rejected with probability below ``N / 2**b``: below ``2**-8`` (at least 0.996 indices per
    clock) for every ``N`` up to 2**24 - 1, below ``2**-5`` (0.969) at the most, 2**27 - 1 (the
    1-byte records of a 64 MiB SDRAM).
    The threshold ``2**b mod N`` is computed by a ``b``-cycle shift-subtract whenever ``count``
    changes (:class:`~memgen.hdl.engine.threshold.Threshold`); requests wait for it.

One continuing stream
    A request of ``n`` indices runs the pipeline in lock step (every stage advances together when
    the output is empty or taken), so the output holds under backpressure. When the ``n``-th index
    is taken the pipeline stops with its :data:`PIPELINE_DEPTH` words in flight, and the next
    request goes on from them: requests of ``a`` and then ``b`` indices give what one request of
    ``a + b`` gives. The words in flight were weighed against ``N``, so they are dropped when
    ``N`` changes, and when a seed is loaded. The indices are thus a function of the seed, the
    requests and the changes of ``N`` only, never of timing; :class:`IndexGeneratorModel`
    reproduces them bit for bit.

Latency: a request's first index appears ``PIPELINE_DEPTH + 1`` clocks after it is accepted when
no words are in flight, one clock after when they are.
"""

from amaranth.hdl import Assert, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..common.checks import assert_stream_stable
from ..common.pipeline import Countdown
from ..fpga import family
from ..fpga.mult18 import MULT18_WIDTH, RegisteredProduct
from .lfsr import LFSR, LFSRModel
from .threshold import Threshold
from .trivium import Trivium, TriviumModel

__all__ = [
    "GENERATORS",
    "MAX_COUNT",
    "PIPELINE_DEPTH",
    "STATE_WIDTH",
    "WORD_WIDTH",
    "IndexGenerator",
    "IndexGeneratorModel",
    "fraction_bits",
]

#: Engines: ``"trivium"`` (default) and ``"lfsr"`` (minimum area).
GENERATORS = ("trivium", "lfsr")
#: The LFSR engine's width; it leaps this many steps per clock.
STATE_WIDTH = 64
#: Random word width: the bits the engine gives per clock.
WORD_WIDTH = 32
#: Words in flight between the engine and the accept decision (word, product, decision).
PIPELINE_DEPTH = 3
#: Bits of a request's amount field.
AMOUNT_WIDTH = 32
#: The largest record count: the 1-byte records of a 64 MiB SDRAM fit.
MAX_COUNT = (1 << 27) - 1

_MASK32 = (1 << 32) - 1


def fraction_bits(count_width):
    """Random bits used per candidate index: ``count_width + 8`` (rejection below 2**-8), at
    most the word's :data:`WORD_WIDTH`."""
    return min(count_width + 8, WORD_WIDTH)


def _check_parameters(max_count, generator):
    if not isinstance(max_count, int) or not 1 <= max_count <= MAX_COUNT:
        raise ValueError(
            f"Record capacity must be an integer from 1 to 2**27 - 1, not {max_count!r}"
        )
    if generator not in GENERATORS:
        raise ValueError(f"Generator must be one of {GENERATORS}, not {generator!r}")


class _LFSRWords:
    """The ``"lfsr"`` engine's words: the low half of the state, then a 64-step leap."""

    def __init__(self, seed):
        self.lfsr = LFSRModel(STATE_WIDTH, steps=STATE_WIDTH, seed=seed)

    def seed(self, seed):
        self.lfsr.seed(seed)

    def next_word(self):
        word = self.lfsr.state & _MASK32
        self.lfsr.next()
        return word


class IndexGeneratorModel:
    """Bit-exact model of :class:`IndexGenerator` (and the reference for range reduction).

    Parameters
    ----------
    max_count : int
        Largest ``N`` (the record capacity); fixes ``count_width`` and ``b``.
    generator : str
        One of :data:`GENERATORS`.
    seed : int
        Engine seed.
    lane : int
        Trivium's IV (ignored by the LFSR).
    """

    def __init__(self, max_count, generator="trivium", seed=1, lane=0):
        _check_parameters(max_count, generator)
        self.count_width = max_count.bit_length()
        self.fraction_bits = fraction_bits(self.count_width)
        self.generator = generator
        if generator == "trivium":
            self.engine = TriviumModel(WORD_WIDTH, seed, lane)
        else:
            self.engine = _LFSRWords(seed)
        self.in_flight = []  # words drawn from the engine and not yet weighed: the pipeline
        self.count = 0

    def seed(self, seed):
        self.engine.seed(seed)
        self.in_flight.clear()

    def set_count(self, count):
        """``N`` is now ``count``: a change drops the words in flight."""
        if count != self.count:
            self.in_flight.clear()
            self.count = count

    def next_word(self):
        """The next word of the stream: the oldest in flight, else a new one from the engine."""
        return self.in_flight.pop(0) if self.in_flight else self.engine.next_word()

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
        self.set_count(count)
        indices = []
        while len(indices) < amount:
            index = self.reduce(self.next_word(), count)
            if index is not None:
                indices.append(index)
        if amount:  # the pipeline stops full
            while len(self.in_flight) < PIPELINE_DEPTH:
                self.in_flight.append(self.engine.next_word())
        return indices


class IndexGenerator(wiring.Component):
    """Uniform random indices on ``[0, count)``, one per clock on average (at least 0.996).

    Parameters
    ----------
    max_count : int
        Largest ``count`` (the record capacity), at most :data:`MAX_COUNT`.
    generator : str
        ``"trivium"`` (default) or ``"lfsr"``, see the module documentation.
    reset_seed : int
        The seed in force after reset.
    lane : int
        Trivium's IV: generators of one seed with different lanes give independent streams.

    Members
    -------
    count : In(count_width)
        ``N``, the number of records. Must stay constant while ``busy`` and in the clock a
        request is taken (asserted).
    request : In(stream.Signature(32))
        Amount of indices wanted. Taken when idle, ``count`` is not zero, the threshold for
        ``count`` is ready and the engine is warm. An amount of zero completes at once.
    indices : Out(stream.Signature(index_width))
        The indices. Valid and payload hold until taken.
    seed : In(stream.Signature(64))
        Loads the engine and drops the words in flight; always ready; only while idle (asserted).
        For ``"lfsr"`` the payload must be held from the clock before ``valid`` (see
        :class:`~memgen.hdl.engine.lfsr.LFSR`).
    busy : Out(1)
        A request is in progress.
    """

    FAULTS = {
        "no_rejection": "every word is accepted",
        "index_overflow": "the index may reach the count",
        "unstable_output": "the output moves while stalled",
        "keep_words": "words in flight are kept when the count changes",
    }
    fault = None  # see memgen.hdl.common.faults

    def __init__(self, max_count, generator="trivium", reset_seed=1, lane=0):
        _check_parameters(max_count, generator)
        self.max_count = max_count
        self.generator = generator
        self.reset_seed = reset_seed
        self.lane = lane
        self.count_width = max_count.bit_length()
        self.index_width = max(1, (max_count - 1).bit_length())
        self.fraction_bits = fraction_bits(self.count_width)
        super().__init__(
            {
                "count": In(self.count_width),
                "request": In(stream.Signature(AMOUNT_WIDTH)),
                "indices": Out(stream.Signature(self.index_width)),
                "seed": In(stream.Signature(STATE_WIDTH, always_ready=True)),
                "busy": Out(1),
            }
        )

    def _engine(self, m):
        """The engine's submodule, its word and whether that word is keystream yet."""
        if self.generator == "trivium":
            m.submodules.engine = engine = Trivium(WORD_WIDTH, self.reset_seed, self.lane)
            return engine, engine.word, engine.ready
        m.submodules.engine = engine = LFSR(
            STATE_WIDTH, steps=STATE_WIDTH, reset_seed=self.reset_seed
        )
        return engine, engine.state[:WORD_WIDTH], 1

    def elaborate(self, platform):
        m = Module()
        b = self.fraction_bits

        m.submodules.threshold = unit = Threshold(self.count_width, b)
        m.d.comb += unit.count.eq(self.count)
        threshold, threshold_count = unit.threshold, unit.count_of
        threshold_ready, count_changed = unit.ready, unit.changed

        engine, word, engine_ready = self._engine(m)
        wiring.connect(m, wiring.flipped(self.seed), engine.seed)

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
            self.request.ready.eq(~running & settled & ~self.seed.valid & engine_ready),
        ]

        # Lock-step pipeline: engine -> s1 (word) -> s2 (product) -> s3 (index and decision).
        # The decision is registered so that the output's valid comes from flops: the advance
        # strobe that enables every stage and the engine is then one LUT away from flops.
        advance = Signal()
        valid_1, valid_2, valid_3 = Signal(), Signal(), Signal()
        # stage 1 (the word's top b bits, and a copy of the count) is the multipliers' operand
        # registers: on an ECP5 inside its DSPs, see memgen.hdl.fpga.mult18
        product_2 = Signal(b + self.count_width)  # the word's top b bits times the count
        accepted = Signal()
        index_3 = Signal(self.index_width)
        accepted_3 = Signal()
        m.d.comb += [
            # threshold < count <= 2**count_width: any bit above count_width accepts, so the
            # carry chain compares count_width bits only
            accepted.eq(
                product_2[self.count_width : b].any() | (product_2[: self.count_width] >= threshold)
            ),
            # words stay in flight between requests; they are offered only while running
            self.indices.valid.eq(running & valid_3 & accepted_3),
            self.indices.payload.eq(index_3),
            advance.eq(running & (~self.indices.valid | self.indices.ready)),
            engine.enable.eq(advance),
        ]
        if self.fault == "no_rejection":
            m.d.comb += accepted.eq(1)
        if self.fault == "index_overflow":
            m.d.comb += self.indices.payload.eq(index_3 + (index_3 == self.count - 1))
        if self.fault == "unstable_output":
            m.d.comb += advance.eq(running)

        split = self.count_width > 16 or (family(platform) == "ecp5" and b > MULT18_WIDTH)
        count_held = self._multiply(m, advance, word[WORD_WIDTH - b :], product_2, split)
        with m.If(advance):
            m.d.sync += [
                valid_1.eq(1),
                valid_2.eq(valid_1),
                valid_3.eq(valid_2),
                index_3.eq(product_2[b:]),
                accepted_3.eq(accepted),
            ]
        # the words in flight were weighed against the old count, or come from the old seed
        with m.If((count_changed | self.seed.valid) & (self.fault != "keep_words")):
            m.d.sync += [valid_1.eq(0), valid_2.eq(0), valid_3.eq(0)]

        # indices.valid holds only while running and request.ready only while not, so neither
        # enable needs ``running`` itself: it stays out of the countdown's clock enables
        with m.If(self.indices.valid & self.indices.ready):
            remaining.decrement()
            with m.If(remaining.at_end):
                m.d.sync += running.eq(0)
        with m.Elif(self.request.valid & self.request.ready):
            remaining.load(self.request.payload)
            m.d.sync += running.eq(self.request.payload != 0)

        # Properties, checked in every simulation and proved formally.
        assert_stream_stable(m, self.indices, "indices")
        m.d.sync += [
            Assert(~self.indices.valid | (self.indices.payload < self.count), "index >= count"),
            Assert(~running | (self.count == threshold_count), "count changed during a request"),
            *(
                Assert(~running | (held == self.count), "multiplier's count out of step")
                for held in count_held
            ),
            Assert(~running | (self.count != 0), "request while the memory is empty"),
            Assert(
                ~(self.request.valid & self.request.ready) | (self.count == threshold_count),
                "count changed as a request was taken",
            ),
            Assert(
                ~settled | (threshold_count != 0) & threshold_ready,
                "settled while the threshold is not ready",
            ),
            Assert(~self.seed.valid | ~running, "seed loaded during a request"),
            Assert(~running | engine_ready, "request running while the engine warms up"),
            # invariants that make the properties above inductive: the pipeline fills in order,
            # and what is in flight was weighed against the count the threshold belongs to
            Assert(~running | threshold_ready, "request running without its threshold"),
            Assert(~valid_2 | valid_1, "stage 2 full behind an empty stage 1"),
            Assert(~valid_3 | valid_2, "stage 3 full behind an empty stage 2"),
            Assert(~valid_2 | (product_2[b:] < threshold_count), "product beyond count"),
            Assert(~valid_3 | (index_3 < threshold_count), "candidate index >= count"),
        ]
        return m

    def _multiply(self, m, advance, candidate, product, split):
        """``product`` = ``candidate * count``, the stage-2 value, loaded on ``advance``, from
        stage 1's registers (the candidate loaded on ``advance``, the count every clock). With
        a count of 17 bits or more, or on an ECP5 a candidate wider than its DSPs' 18-bit inputs,
        it takes two DSP halves and the adder that joins them: on the ULX3S that path missed
        100 MHz, so (``split``) the halves are registered here and added combinationally on the
        way into stage 3 (the pipeline's depth is unchanged). Returns the multipliers' copies
        of the count."""
        pieces = [candidate[:MULT18_WIDTH], candidate[MULT18_WIDTH:]] if split else [candidate]
        units = [RegisteredProduct(len(piece), self.count_width) for piece in pieces]
        for number, (unit, piece) in enumerate(zip(units, pieces, strict=True)):
            m.submodules[f"multiplier{number}"] = unit
            m.d.comb += [unit.a.eq(piece), unit.enable.eq(advance), unit.b.eq(self.count)]
        products = [unit.product for unit in units]
        held = [unit.b_held for unit in units]
        if not split:
            with m.If(advance):
                m.d.sync += product.eq(products[0])
            return held
        low = Signal(MULT18_WIDTH + self.count_width, name="product_low")
        high = Signal(len(product), name="product_high")
        with m.If(advance):
            m.d.sync += [low.eq(products[0]), high.eq(products[1])]
        m.d.comb += product.eq(low + (high << MULT18_WIDTH))
        return held
