"""Maximal-length linear feedback shift register with leap-forward.

The register holds ``width`` consecutive bits of an m-sequence. With the characteristic polynomial
``c(x) = x**width + sum(x**t for t in taps) + 1`` the sequence obeys
``a[n + width] = a[n] ^ XOR(a[n + t] for t in taps)`` and the state at time ``n`` is
``sum(a[n + i] << i for i in range(width))``.

Stepping ``steps`` times per clock (leap-forward) is one multiplication by the GF(2) matrix
``A**steps``, which :func:`leap_matrix` computes in Python; each next-state bit is then the XOR of a
few current bits, so the gateware never unrolls the step function symbolically. With
``steps == width`` every clock yields ``width`` bits of the sequence that no earlier state held.
The leap keeps the full period ``2**width - 1`` whenever ``gcd(steps, 2**width - 1) == 1``, which
the constructor checks.

The all-zero state is the one state outside the cycle. A zero seed is therefore never loaded: it
is mapped to :data:`ZERO_SEED_REPLACEMENT` (masked to the width), in the gateware and in
:class:`LFSRModel` alike.
"""

from math import gcd

from amaranth.hdl import Assert, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..common.gf2 import gf2_product

__all__ = [
    "MAXIMAL_TAPS",
    "ZERO_SEED_REPLACEMENT",
    "leap_matrix",
    "is_primitive",
    "LFSRModel",
    "LFSR",
]

#: Minimal-weight primitive characteristic polynomials: ``width -> taps`` (exponents strictly
#: between 0 and ``width``; the terms ``x**width`` and ``1`` are implied). For each width the first
#: primitive trinomial in order of its middle exponent, else the lexicographically first
#: pentanomial. Generated and re-checked by :func:`is_primitive` (see
#: ``tests/hdl/engine/test_lfsr.py``).
MAXIMAL_TAPS = {
    3: (1,), 4: (1,), 5: (2,), 6: (1,), 7: (1,), 8: (1, 2, 7), 9: (4,), 10: (3,), 11: (2,),
    12: (1, 2, 8), 13: (1, 2, 5), 14: (1, 2, 12), 15: (1,), 16: (1, 3, 12), 17: (3,), 18: (7,),
    19: (1, 2, 5), 20: (3,), 21: (2,), 22: (1,), 23: (5,), 24: (1, 2, 7), 25: (3,),
    26: (1, 2, 6), 27: (1, 2, 5), 28: (3,), 29: (2,), 30: (1, 2, 23), 31: (3,), 32: (1, 2, 22),
    33: (13,), 34: (1, 2, 27), 35: (2,), 36: (11,), 37: (1, 2, 9), 38: (1, 3, 13), 39: (4,),
    40: (1, 2, 35), 41: (3,), 42: (1, 2, 29), 43: (1, 2, 12), 44: (1, 3, 38), 45: (1, 3, 4),
    46: (1, 3, 9), 47: (5,), 48: (1, 3, 28), 49: (9,), 50: (1, 2, 16), 51: (1, 2, 28), 52: (3,),
    53: (1, 2, 6), 54: (1, 2, 17), 55: (24,), 56: (1, 2, 42), 57: (7,), 58: (19,),
    59: (1, 2, 24), 60: (1,), 61: (1, 2, 5), 62: (1, 3, 28), 63: (1,), 64: (1, 2, 11),
}  # fmt: skip

#: Loaded instead of a zero seed (masked to the register width).
ZERO_SEED_REPLACEMENT = 0x9E3779B97F4A7C15


def _feedback_mask(width, taps):
    mask = 1
    for tap in taps:
        if not 0 < tap < width:
            raise ValueError(f"Tap {tap} is outside 1..{width - 1}")
        mask |= 1 << tap
    return mask


def _step(state, width, feedback_mask):
    new_bit = (state & feedback_mask).bit_count() & 1
    return (state >> 1) | (new_bit << (width - 1))


def leap_matrix(width, taps, steps):
    """Rows of the GF(2) matrix that advances the register by ``steps``.

    Returns a list of ``width`` integers: next-state bit ``i`` is the parity of
    ``state & rows[i]``.
    """
    feedback_mask = _feedback_mask(width, taps)
    columns = []
    for bit in range(width):
        state = 1 << bit
        for _ in range(steps):
            state = _step(state, width, feedback_mask)
        columns.append(state)
    return [sum(((columns[col] >> row) & 1) << col for col in range(width)) for row in range(width)]


def _poly_mulmod(a, b, modulus, width):
    result = 0
    while b:
        if b & 1:
            result ^= a
        b >>= 1
        a <<= 1
        if (a >> width) & 1:
            a ^= modulus
    return result


def _x_pow_mod(exponent, modulus, width):
    result, base = 1, 2
    while exponent:
        if exponent & 1:
            result = _poly_mulmod(result, base, modulus, width)
        base = _poly_mulmod(base, base, modulus, width)
        exponent >>= 1
    return result


def is_primitive(width, taps, prime_factors):
    """Whether ``x**width + sum(x**taps) + 1`` is primitive over GF(2).

    ``prime_factors`` are the distinct prime factors of ``2**width - 1``. The polynomial is
    primitive iff ``x`` has multiplicative order exactly ``2**width - 1`` modulo it.
    """
    modulus = (1 << width) | _feedback_mask(width, taps)
    order = (1 << width) - 1
    if _x_pow_mod(order, modulus, width) != 1:
        return False
    return all(_x_pow_mod(order // q, modulus, width) != 1 for q in prime_factors)


def _check_parameters(width, steps):
    if not isinstance(width, int) or width not in MAXIMAL_TAPS:
        raise ValueError(f"LFSR width must be an integer from 3 to 64, not {width!r}")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"LFSR steps per clock must be a positive integer, not {steps!r}")
    if gcd(steps, (1 << width) - 1) != 1:
        raise ValueError(
            f"Leaping {steps} steps shortens the period of a {width}-bit LFSR: "
            f"gcd({steps}, 2**{width} - 1) != 1"
        )


def seed_state(width, seed):
    """The state that loading ``seed`` produces: the seed masked to ``width``, zero mapped."""
    state = seed & ((1 << width) - 1)
    if state == 0:
        state = ZERO_SEED_REPLACEMENT & ((1 << width) - 1) or 1
    return state


class LFSRModel:
    """Bit-exact Python model of :class:`LFSR`.

    Parameters
    ----------
    width : int
        Register width, 3 to 64.
    steps : int
        Sequence steps per :meth:`next` call (leap-forward).
    seed : int
        Initial seed; zero is mapped as in the gateware.
    """

    def __init__(self, width, steps=1, seed=1):
        _check_parameters(width, steps)
        self.width = width
        self.steps = steps
        self.taps = MAXIMAL_TAPS[width]
        self._rows = leap_matrix(width, self.taps, steps)
        self._feedback_mask = _feedback_mask(width, self.taps)
        self.state = seed_state(width, seed)

    def seed(self, seed):
        self.state = seed_state(self.width, seed)

    def next(self):
        """Advance by ``steps`` and return the new state."""
        state = self.state
        if self.steps == 1:
            self.state = _step(state, self.width, self._feedback_mask)
            return self.state
        self.state = sum(
            ((state & row).bit_count() & 1) << bit for bit, row in enumerate(self._rows)
        )
        return self.state

    def generate(self, count):
        """The next ``count`` states (each after one advance)."""
        return [self.next() for _ in range(count)]


class LFSR(wiring.Component):
    """Maximal-length Fibonacci LFSR advancing ``steps`` sequence steps per enabled clock.

    Parameters
    ----------
    width : int
        Register width, 3 to 64; the polynomial comes from :data:`MAXIMAL_TAPS`.
    steps : int
        Leap-forward distance per clock. ``steps == width`` gives fully fresh state each clock.
    reset_seed : int
        State after reset (zero mapped like any seed).

    Members
    -------
    enable : In(1)
        Advance the register on this clock.
    seed : In(stream.Signature(width))
        Load a seed; always ready, takes priority over ``enable``; one clock of latency. The
        payload must be held from the clock before ``valid`` (asserted): whether the seed is zero
        is registered then, so that a ``width``-bit comparison is not in front of the state.
    state : Out(width)
        The register. Never zero (asserted in every simulation and proved formally).

    Resources: ``width`` flip-flops and, per bit, an XOR of the ones in one row of
    :func:`leap_matrix` behind the seed multiplexer (64-bit, 64 steps: 4 inputs for 53 bits,
    5 to 8 for the other 11; 165 LUT4s on the iCE40 with the multiplexer).
    """

    FAULTS = {"zero_seed": "a zero seed is loaded as is"}
    fault = None  # see memgen.hdl.common.faults

    def __init__(self, width, steps=1, reset_seed=1):
        _check_parameters(width, steps)
        self.width = width
        self.steps = steps
        self.taps = MAXIMAL_TAPS[width]
        self.reset_seed = seed_state(width, reset_seed)
        super().__init__(
            {
                "enable": In(1),
                "seed": In(stream.Signature(width, always_ready=True)),
                "state": Out(width, init=self.reset_seed),
            }
        )

    def elaborate(self, platform):
        m = Module()
        next_state = Signal(self.width)
        m.d.comb += next_state.eq(
            gf2_product(leap_matrix(self.width, self.taps, self.steps), self.state)
        )

        seed_value = self.seed.payload
        replacement = seed_state(self.width, 0)
        # Three LUT levels for 64 bits, then the state's multiplexer: on the UP5K that path from
        # the core's argument register was the design's slowest. The payload is held the clock
        # before the load, so the comparison is made and registered then.
        seed_is_zero, seed_was_zero = seed_value == 0, Signal()
        m.d.sync += seed_was_zero.eq(seed_is_zero)
        m.d.comb += Assert(
            ~self.seed.valid | (seed_was_zero == seed_is_zero),
            "seed payload not held from the clock before valid",
        )
        with m.If(self.seed.valid):
            with m.If(seed_was_zero & (self.fault is None)):
                m.d.sync += self.state.eq(replacement)
            with m.Else():
                m.d.sync += self.state.eq(seed_value)
        with m.Elif(self.enable):
            m.d.sync += self.state.eq(next_state)

        m.d.sync += Assert(self.state != 0, "LFSR state is zero")
        return m
