"""The lookahead queue against a list: every entry visible in order at every clock, pushes and
pops from any place in any mix (a push into a full queue that pops, every clock for a while)."""

import random

import pytest
from memgen.hdl.common.lookahead import LookaheadQueue
from memgen.sim.harness.amaranth_sim import refused_component, run_simulation


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_entries_are_the_queue_in_order(depth):
    dut = LookaheadQueue(16, depth)
    rng = random.Random(depth)
    seen = {"full_swap": 0}

    async def testbench(ctx):
        model, next_word = [], 0
        for clock in range(1500):
            phase = clock // 300 % 3  # filling, swapping at full, draining
            push = rng.random() < (0.9, 1.0, 0.2)[phase]
            pop = bool(model) and rng.random() < (0.3, 1.0, 0.9)[phase]
            word = [0, 0xFFFF, 1, 0x8000][next_word] if next_word < 4 else rng.getrandbits(16)
            ctx.set(dut.push.valid, push)
            ctx.set(dut.push.payload, word)
            index = rng.randrange(len(model)) if model and clock % 2 else 0
            ctx.set(dut.pop, pop)
            ctx.set(dut.pop_index, index)
            valid = ctx.get(dut.valid)
            assert valid == (1 << len(model)) - 1
            assert [ctx.get(dut.entries[j]) for j in range(len(model))] == list(model)
            ready = ctx.get(dut.push.ready)
            assert ready == (len(model) < depth or pop)
            seen["full_swap"] += len(model) == depth and push and pop
            if pop:
                del model[index]
            if push and ready:
                model.append(word)
                next_word += 1
            await ctx.tick()

    run_simulation(dut, testbench, name="lookahead")
    assert seen["full_swap"] > 50


def test_a_depth_below_one_is_refused():
    with refused_component(), pytest.raises(ValueError, match="positive integer, not 0"):
        LookaheadQueue(8, 0)
