"""The simulation harness's watchdog: a testbench that waits for ever fails at its clock
limit, one that finishes in time is not disturbed."""

import pytest
from amaranth.hdl import Module, Signal
from memgen.sim.harness.amaranth_sim import run_simulation


def counter_design():
    m = Module()
    count = Signal(8)
    m.d.sync += count.eq(count + 1)
    return m, count


@pytest.mark.parametrize(("wanted", "clocks", "fails"), [(20, 100, False), (100, 100, True)])
def test_watchdog(wanted, clocks, fails):
    """Waiting for the count to reach ``wanted``: within the limit passes, at it fails."""
    m, count = counter_design()
    seen = []

    async def testbench(ctx):
        while ctx.get(count) != wanted:
            await ctx.tick()
        seen.append(ctx.get(count))

    if fails:
        with pytest.raises(AssertionError, match="still running after 100 clocks"):
            run_simulation(m, testbench, name="waits", clocks=clocks)
        assert seen == []
    else:
        run_simulation(m, testbench, name="counts", clocks=clocks)
        assert seen == [wanted]
