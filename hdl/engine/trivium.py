"""Trivium, the eSTREAM hardware-portfolio stream cipher, as a random-word engine.

Trivium (C. De Cannière and B. Preneel, "Trivium Specifications", eSTREAM, ECRYPT Stream Cipher
Project, 2005; ISO/IEC 29192-3) keeps 288 bits in three shift registers of 93, 84 and 111 bits
whose feedback is non-linear (one AND per register). Every step shifts each register by one and
yields one keystream bit; no tap is nearer than 66 bits to a register's input, so up to 64 steps
are computed in one clock from the current state alone: ``width`` keystream bits per clock for
about 430 LUT4s on the iCE40 at 32 bits, with the seed load, and 288 flip-flops.

Seeding: a key and an IV of 80 bits each are loaded, then 4 x 288 = 1,152 steps are run without
output. Here the key is the 64-bit seed (its 8 bytes little-endian, then two zero bytes) and the
IV is the lane number (10 bytes little-endian), so every seed, zero included, and every lane of
one seed gives its own stream from the first word.

Bit order is that of the eSTREAM test vectors: the key's bit ``K1`` is the most significant bit
of the key read as a little-endian integer, and keystream bit ``z1`` is bit 0 of the first word
(the first keystream byte's least significant bit). A register is held with its first cell
(``s1`` of its part of the state) in its top bit, so the cell a tap names is a fixed slice of the
register for every step of a clock.
"""

from amaranth.hdl import Assert, Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = [
    "MAX_WIDTH",
    "WARMUP_STEPS",
    "Trivium",
    "TriviumModel",
    "initial_state",
    "integer_steps",
    "loaded_registers",
]

#: Register lengths (the parts ``s1..s93``, ``s94..s177`` and ``s178..s288`` of the state).
LENGTHS = (93, 84, 111)
#: Steps run after a key and IV are loaded, before the first keystream bit.
WARMUP_STEPS = 4 * 288
#: Most steps one clock can compute from the state it starts with (the nearest tap is 66 away).
MAX_WIDTH = 64
SEED_WIDTH = 64
KEY_BITS = IV_BITS = 80


def _check_width(width):
    if not isinstance(width, int) or not 1 <= width <= MAX_WIDTH or WARMUP_STEPS % width:
        raise ValueError(
            f"Trivium steps per clock must divide {WARMUP_STEPS} and be at most {MAX_WIDTH}, "
            f"not {width!r}"
        )


def _check_lane(lane):
    if not isinstance(lane, int) or not 0 <= lane < (1 << IV_BITS):
        raise ValueError(f"Lane must be an integer from 0 to 2**{IV_BITS} - 1, not {lane!r}")


def loaded_registers(key, iv):
    """The three registers after loading an 80-bit key and IV (as little-endian integers)."""
    return key << 13, iv << 4, 0b111


def _steps(registers, width, slice_bits, join, nonlinear=True):
    """``width`` Trivium steps on registers ``a, b, c``; returns ``(a, b, c), z``.

    ``slice_bits(register, length, tap)`` is the ``width`` values cell ``tap`` (1-based, in that
    register) takes over the steps, first step lowest; ``join(register, length, new)`` shifts the
    register by ``width`` and puts the ``width`` new cells in its top. The model and the gateware
    share this one statement of the cipher. ``nonlinear=False`` drops the three AND terms: the
    cipher's linear part, which :mod:`memgen.sim.evidence.quality` analyses.
    """
    a, b, c = registers
    la, lb, lc = LENGTHS

    def tap_a(t):
        return slice_bits(a, la, t)

    def tap_b(t):
        return slice_bits(b, lb, t - la)

    def tap_c(t):
        return slice_bits(c, lc, t - la - lb)

    # the specification's taps, by their cell numbers s1..s288
    t1 = tap_a(66) ^ tap_a(93)
    t2 = tap_b(162) ^ tap_b(177)
    t3 = tap_c(243) ^ tap_c(288)
    z = t1 ^ t2 ^ t3

    def product(x, y):
        return x & y if nonlinear else 0

    t1 = t1 ^ product(tap_a(91), tap_a(92)) ^ tap_b(171)
    t2 = t2 ^ product(tap_b(175), tap_b(176)) ^ tap_c(264)
    t3 = t3 ^ product(tap_c(286), tap_c(287)) ^ tap_a(69)
    return (join(a, la, t3), join(b, lb, t1), join(c, lc, t2)), z


def integer_steps(registers, width, nonlinear=True):
    """``width`` steps on registers held as integers; returns ``(a, b, c), z``."""
    mask = (1 << width) - 1

    def slice_bits(register, length, tap):
        return (register >> (length - tap)) & mask

    def join(register, length, new):
        return (register >> width) | (new << (length - width))

    return _steps(registers, width, slice_bits, join, nonlinear)


def _warmed_up(key, iv):
    registers = loaded_registers(key, iv)
    for _ in range(WARMUP_STEPS // MAX_WIDTH):
        registers, _ = integer_steps(registers, MAX_WIDTH)
    return registers


def initial_state(seed, lane=0):
    """The registers ready to give their first word: seed and lane loaded, warm-up run."""
    return _warmed_up(seed & ((1 << SEED_WIDTH) - 1), lane)


class TriviumModel:
    """Bit-exact model of :class:`Trivium`: ``width`` keystream bits per :meth:`next_word`.

    Parameters
    ----------
    width : int
        Keystream bits per word (steps per clock), dividing 1,152 and at most 64.
    seed : int
        The key's low 64 bits.
    lane : int
        The IV.
    """

    def __init__(self, width=32, seed=0, lane=0):
        _check_width(width)
        _check_lane(lane)
        self.width = width
        self.lane = lane
        # as many words as fit in 64 steps are made at once (one step costs what 64 do)
        self._block = MAX_WIDTH // width * width
        self.seed(seed)

    @classmethod
    def from_key_iv(cls, key, iv, width=64):
        """A model loaded with any 80-bit key and IV given as eSTREAM byte strings."""
        model = cls(width)
        model._load(_warmed_up(int.from_bytes(key, "little"), int.from_bytes(iv, "little")))
        return model

    def seed(self, seed):
        self._load(initial_state(seed, self.lane))

    def _load(self, registers):
        self._registers, self._pending, self._pending_bits = registers, 0, 0

    def next_word(self):
        """The next ``width`` keystream bits, the first in bit 0."""
        if not self._pending_bits:
            self._registers, self._pending = integer_steps(self._registers, self._block)
            self._pending_bits = self._block
        word = self._pending & ((1 << self.width) - 1)
        self._pending >>= self.width
        self._pending_bits -= self.width
        return word

    def keystream(self, count):
        """The next ``count`` keystream bytes (``width`` must be a multiple of 8)."""
        if self.width % 8:
            raise ValueError(
                f"Keystream bytes need a width that is a multiple of 8, not {self.width}"
            )
        per_word = self.width // 8
        words = [self.next_word() for _ in range(-(-count // per_word))]
        return b"".join(word.to_bytes(per_word, "little") for word in words)[:count]


class Trivium(wiring.Component):
    """Trivium stepping ``width`` times per enabled clock; ``word`` is the keystream they yield.

    Parameters
    ----------
    width : int
        Keystream bits per clock, dividing 1,152 and at most 64.
    reset_seed : int
        The seed whose warmed-up state the registers hold after reset (ready at once).
    lane : int
        The IV: lanes of one seed give independent streams.

    Members
    -------
    enable : In(1)
        Step the registers on this clock; ``word`` then moves on to the next ``width`` bits.
        Ignored while warming up.
    seed : In(stream.Signature(64))
        Load a seed: the key and IV go in on the clock ``valid`` is high (always ready), then the
        engine warms up for ``1152 / width`` clocks.
    word : Out(width)
        The keystream bits of the current state (two LUT levels from the registers).
    ready : Out(1)
        Not warming up: ``word`` is keystream.

    Resources: 288 flip-flops for the state, a warm-up counter, and per keystream bit three
    new cells (a 5-input function each) and the output XOR, behind the seed load's multiplexer:
    about 430 LUT4s on the iCE40 at 32 bits.
    """

    def __init__(self, width=32, reset_seed=0, lane=0):
        _check_width(width)
        _check_lane(lane)
        self.width = width
        self.lane = lane
        self.reset_registers = initial_state(reset_seed, lane)
        super().__init__(
            {
                "enable": In(1),
                "seed": In(stream.Signature(SEED_WIDTH, always_ready=True)),
                "word": Out(width),
                "ready": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        width = self.width
        registers = [
            Signal(length, name=name, init=init)
            for length, name, init in zip(LENGTHS, "abc", self.reset_registers, strict=True)
        ]

        def slice_bits(register, length, tap):
            return register[length - tap : length - tap + width]

        def join(register, length, new):
            return Cat(register[width:], new)

        following, z = _steps(registers, width, slice_bits, join)
        warmup = Signal(range(WARMUP_STEPS // width + 1))
        # `ready` is a flop beside the counter: a request waits on it, so no comparison of the
        # counter lies in front of the core's decisions
        ready = Signal(init=1)
        m.d.comb += [self.word.eq(z), self.ready.eq(ready)]

        with m.If(self.seed.valid):
            loaded = (
                Cat(Const(0, 13), self.seed.payload, Const(0, KEY_BITS - SEED_WIDTH)),
                Const(self.lane << 4, LENGTHS[1]),
                Const(0b111, LENGTHS[2]),
            )
            m.d.sync += [reg.eq(value) for reg, value in zip(registers, loaded, strict=True)]
            m.d.sync += [warmup.eq(WARMUP_STEPS // width), ready.eq(0)]
        with m.Elif(self.enable | ~ready):
            m.d.sync += [reg.eq(value) for reg, value in zip(registers, following, strict=True)]
            with m.If(~ready):
                m.d.sync += [warmup.eq(warmup - 1), ready.eq(warmup == 1)]
        m.d.sync += [
            Assert(warmup <= WARMUP_STEPS // width, "warm-up counter out of range"),
            Assert(ready == (warmup == 0), "ready out of step with the warm-up counter"),
        ]
        return m
