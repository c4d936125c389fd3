"""LFSR: tap table maximality, leap-forward model, gateware against the model."""

import random

import pytest
import sympy
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from memgen.hdl.engine.lfsr import (
    LFSR,
    MAXIMAL_TAPS,
    LFSRModel,
    is_primitive,
    leap_matrix,
    seed_state,
)
from memgen.sim.harness.amaranth_sim import refused_component, run_simulation, unused


@pytest.mark.parametrize("width", range(3, 21))
def test_exhaustive_full_period(width):
    """Every width up to 20: stepping the model visits all 2**w - 1 nonzero states once."""
    model = LFSRModel(width, steps=1, seed=1)
    seen = bytearray(1 << width)
    for _ in range((1 << width) - 1):
        state = model.next()
        assert state != 0
        assert not seen[state], f"state {state:#x} repeated before the full period"
        seen[state] = 1
    assert model.state == 1, "sequence did not return to the seed after 2**w - 1 steps"


@pytest.mark.parametrize("width", range(3, 65))
def test_primitive_polynomial(width):
    factors = sympy.factorint((1 << width) - 1)
    assert is_primitive(width, MAXIMAL_TAPS[width], factors)


def test_primitivity_check_rejects_non_maximal():
    """The check can fail: x^4 + x^2 + 1 (= (x^2+x+1)^2) and x^5 + x + 1 are not primitive."""
    assert not is_primitive(4, (2,), sympy.factorint(15))
    assert not is_primitive(5, (1,), sympy.factorint(31))
    # and an exhaustive walk agrees: x^4 + x^2 + 1 has period 6, not 15
    state, period = 1, 0
    while True:
        new = ((state & 0b0101).bit_count() & 1) << 3 | state >> 1
        state, period = new, period + 1
        if state == 1:
            break
    assert period == 6


@pytest.mark.parametrize("width,steps", [(8, 7), (16, 16), (33, 5), (64, 64)])
def test_leap_matrix_equals_repeated_steps(width, steps):
    single = LFSRModel(width, steps=1, seed=12345)
    leap = LFSRModel(width, steps=steps, seed=12345)
    for _ in range(50):
        for _ in range(steps):
            single.next()
        assert leap.next() == single.state


def test_leap_that_shortens_period_is_refused():
    with pytest.raises(ValueError, match="shortens the period"):
        LFSRModel(4, steps=3)  # gcd(3, 15) = 3
    with refused_component(), pytest.raises(ValueError, match="width must be"):
        LFSR(2)


@pytest.mark.parametrize("width", range(3, 9))
def test_primitivity_check_agrees_with_the_order_of_x(width):
    """Every polynomial x^w + (taps) + 1 of a small width: primitive exactly when x, multiplied
    up one power at a time, first returns to 1 after 2^w - 1 steps."""
    factors = sympy.factorint((1 << width) - 1)
    for tap_bits in range(1 << (width - 1)):
        taps = tuple(t for t in range(1, width) if tap_bits >> (t - 1) & 1)
        modulus = 1 << width | sum(1 << t for t in taps) | 1
        power, order = 2, 1  # x^1
        while power != 1 and order <= 1 << width:
            power <<= 1
            if power >> width:
                power ^= modulus
            order += 1
        assert is_primitive(width, taps, factors) == (order == (1 << width) - 1), taps


def test_zero_seed_is_mapped():
    """A zero seed loads the golden-ratio constant's low bits instead."""
    assert seed_state(64, 0) == 0x9E3779B97F4A7C15
    assert seed_state(8, 0) == 0x15
    assert seed_state(8, 0) == seed_state(8, 0x100)  # masked to width, then mapped
    assert LFSRModel(16, seed=0).state == seed_state(16, 0)


def test_matrix_rows_are_sparse_for_the_index_generator():
    """The 64-bit, 64-step leap the index generator uses costs few XOR inputs per bit."""
    rows = leap_matrix(64, MAXIMAL_TAPS[64], 64)
    assert max(row.bit_count() for row in rows) <= 8


@pytest.mark.parametrize("width,steps", [(5, 1), (16, 7), (31, 31), (64, 64)])
def test_gateware_matches_model(width, steps):
    dut = LFSR(width, steps=steps, reset_seed=1)
    model = LFSRModel(width, steps=steps, seed=1)
    rng = random.Random(width * 100 + steps)

    async def testbench(ctx):
        for cycle in range(300):
            assert ctx.get(dut.state) == model.state, f"cycle {cycle}"
            action = rng.random()
            if action < 0.05:
                seed = rng.choice([0, rng.getrandbits(width)])
                ctx.set(dut.seed.payload, seed)  # held from the clock before valid
                await ctx.tick()  # enable is low here: the state holds
                assert ctx.get(dut.state) == model.state, f"cycle {cycle}"
                ctx.set(dut.seed.valid, 1)
                ctx.set(dut.enable, rng.getrandbits(1))  # seed load wins over enable
                await ctx.tick()
                ctx.set(dut.seed.valid, 0)
                ctx.set(dut.enable, 0)
                model.seed(seed)
            elif action < 0.7:
                ctx.set(dut.enable, 1)
                await ctx.tick()
                ctx.set(dut.enable, 0)
                model.next()
            else:
                await ctx.tick()

    run_simulation(dut, testbench, name=f"lfsr_{width}_{steps}")


def test_ports_are_as_documented():
    """A one-bit enable, a seed of the register's width (never stalled), the state out, reset
    to the mapped reset seed."""
    lfsr = unused(LFSR(16, reset_seed=0))
    assert (
        lfsr.signature.members
        == wiring.Signature(
            {
                "enable": In(1),
                "seed": In(stream.Signature(16, always_ready=True)),
                "state": Out(16, init=seed_state(16, 0)),
            }
        ).members
    )
