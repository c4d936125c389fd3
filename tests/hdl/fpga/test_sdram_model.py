"""The gateware SDRAM (the Verilator devices' chip) against the Python chip model: both watch one
controller's pins; the gateware answers it, and every word it drives must be the Python
model's (which also judges the timing)."""

import re

import pytest
from amaranth.back import verilog
from amaranth.hdl import Module
from memgen.hdl.fpga.sdram import SDRAMController, SDRAMTiming
from memgen.hdl.fpga.sdram_model import CELLS_MODULE, CELLS_VERILOG, SDRAMModel
from memgen.sim.harness.amaranth_sim import (
    STALL_PATTERNS,
    Stalls,
    refused_component,
    run_simulation,
    stream_get,
    stream_put,
    unused,
)
from memgen.sim.harness.sdram_chip import Geometry, SDRAMChip, Timing
from memgen.sim.harness.sdram_traffic import mixed_traffic

POWER_UP_NS = 1_000  # a hundred clocks

OUTPUTS = ("cs", "ras", "cas", "we", "ba", "a", "dq_o", "dq_oe", "dqm", "cke")


def _run_beside(burst_length, cas_latency, stalls, count=100):
    rows = 16
    dut = SDRAMController(burst_length=burst_length, cas_latency=cas_latency, rows=rows,
                          timing=SDRAMTiming(power_up=POWER_UP_NS))  # fmt: skip
    model = SDRAMModel(rows=rows, cas_latency=cas_latency)
    judge = SDRAMChip(geometry=Geometry(rows=rows), timing=Timing(power_up=POWER_UP_NS))
    top = Module()
    top.submodules.controller, top.submodules.model = dut, model
    top.d.comb += [getattr(model.pins, name).eq(getattr(dut.pins, name)) for name in OUTPUTS]
    top.d.comb += dut.pins.dq_i.eq(model.pins.dq_i)
    requests, expected = mixed_traffic(dut, count, seed=burst_length + cas_latency)
    got, compared = [], [0]

    async def producer(ctx):
        pause = Stalls(stalls, seed=1)
        for address, write, data in requests:
            payload = {"address": address, "write": write, "data": data}
            await stream_put(ctx, dut.requests, payload, stalls=pause)

    async def consumer(ctx):
        pause = Stalls(stalls, seed=2)
        for _ in expected:
            got.append(await stream_get(ctx, dut.responses, stalls=pause))

    async def judge_process(ctx):  # the Python model on the same pins; its DQ compared
        driving = None  # what the Python model drives from the last edge to this one
        pins = [getattr(dut.pins, name) for name in OUTPUTS]
        async for sampled in ctx.tick().sample(model.pins.dq_i, *pins):
            gateware, cs, ras, cas, we, ba, a, dq_o, dq_oe, dqm, cke = sampled[2:]
            if driving is not None:
                assert gateware == driving, f"cycle {judge.cycle}: {gateware:#x} != {driving:#x}"
                compared[0] += 1
            else:  # the bus released: 0, as the Python model's process puts it
                assert gateware == 0, f"cycle {judge.cycle}: {gateware:#x} on a released bus"
            driving = judge.clock(cs, ras, cas, we, ba, a, dq_o if dq_oe else None, dqm, cke)

    run_simulation(top, producer, consumer, processes=[judge_process], name="sdram_model",
                   clocks=200_000)  # fmt: skip
    return got, expected, compared[0]


@pytest.mark.parametrize("stalls", STALL_PATTERNS)
@pytest.mark.parametrize(("burst_length", "cas_latency"), [(1, 2), (8, 2), (4, 3)])
def test_gateware_chip_drives_what_the_python_model_drives(burst_length, cas_latency, stalls):
    got, expected, compared = _run_beside(burst_length, cas_latency, stalls)
    assert got == expected
    assert compared >= len(expected) * burst_length  # every beat of every read compared


def test_cas_latency_is_two_or_three():
    with refused_component(), pytest.raises(ValueError, match="CAS latency must be 2 or 3"):
        SDRAMModel(cas_latency=1)


def test_defaults_are_the_32_mib_chip_at_cas_latency_2():
    model = unused(SDRAMModel())
    assert (model.rows, model.columns, model.cas_latency, model.cells) == (8192, 512, 2, "memory")


@pytest.mark.parametrize(("rows", "columns"), [(2, 16), (8192, 512), (8192, 1024)])
def test_verilog_cells_hold_every_word(rows, columns):
    """With ``cells="verilog"`` the words are an instance of the Verilog array, as deep as the
    chip and addressed by just enough bits; its module is declared once, with no contents."""
    text = verilog.convert(SDRAMModel(rows=rows, columns=columns, cells="verilog"), name="top")
    depth = 4 * rows * columns
    instance = re.search(rf"{CELLS_MODULE} #\((.*?)\) cells", text, re.S).group(1)
    assert f".DEPTH(32'd{depth})" in instance
    assert f".BITS(32'd{(depth - 1).bit_length()})" in instance
    assert "reg [15:0] words [0:DEPTH-1];" in CELLS_VERILOG and "initial" not in CELLS_VERILOG
