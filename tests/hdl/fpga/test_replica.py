"""The replica register: a register in simulation; on an ECP5 TRELLIS_FF cells that Yosys keeps
apart where it merges plain copies, set as Yosys sets its own flip-flops."""

import random
from types import SimpleNamespace

import pytest
from amaranth.back import rtlil
from amaranth.hdl import ClockDomain, Elaboratable, Module, Signal
from memgen.hdl.fpga.replica import TRELLIS_FF_PARAMETERS, Replica
from memgen.sim.harness.amaranth_sim import (
    instance_ports,
    instances,
    run_simulation,
    synthesized_cells,
)


@pytest.mark.parametrize("width", [1, 7, 24])
def test_q_is_d_a_clock_late(width):
    """Values with structure (zero, all ones, single bits) and random ones, each a clock late;
    0 from reset."""
    dut = Replica(width)
    top = (1 << width) - 1
    rng = random.Random(width)
    values = [0, top, 1, 1 << (width - 1), top, 0] + [rng.getrandbits(width) for _ in range(20)]

    async def testbench(ctx):
        assert ctx.get(dut.q) == 0
        before = 0
        for value in values:
            ctx.set(dut.d, value)
            assert ctx.get(dut.q) == before  # not yet
            await ctx.tick()
            assert ctx.get(dut.q) == value
            before = value

    run_simulation(dut, testbench, name=f"replica_{width}")


@pytest.mark.parametrize(
    ("platform_family", "primitive", "cells"),
    [("ecp5", None, 5), ("ECP5", None, 5), ("ice40", None, 0), (None, None, 0),
     ("ice40", True, 5), ("ecp5", False, 0)],
)  # fmt: skip
def test_primitive_where_chosen(platform_family, primitive, cells):
    """TRELLIS_FF per bit on an ECP5 or when asked, each bit's D and Q its own."""
    dut = Replica(5, primitive=primitive)
    platform = None if platform_family is None else SimpleNamespace(family=platform_family)
    built = instances(dut, platform)
    assert [cell.type for cell in built] == ["TRELLIS_FF"] * cells
    for bit, cell in enumerate(built):
        ports = instance_ports(cell)
        assert (ports["DI"], ports["Q"]) == (f"d[{bit}]", f"q[{bit}]")
        assert dict(cell.parameters) == (TRELLIS_FF_PARAMETERS)


def test_primitive_in_a_domain_without_reset():
    """In a clock domain with no reset the flops' LSR is tied low, not refused."""
    m = Module()
    m.domains.sync = ClockDomain(reset_less=True)
    m.submodules.copy = copy = Replica(2, primitive=True)
    text = rtlil.convert(m, ports=[copy.d, copy.q])
    assert text.count("cell \\TRELLIS_FF") == 2
    assert text.count("connect \\LSR 1'0") == 2


class _Copies(Elaboratable):
    """One input registered four times as replicas and four times as plain registers, each
    copy with its own use so none is unused."""

    def __init__(self):
        self.d = Signal(8)
        self.outputs = [Signal(8, name=f"o{i}") for i in range(8)]

    def elaborate(self, platform):
        m = Module()
        for i, out in enumerate(self.outputs):
            if i < 4:
                m.submodules[f"replica{i}"] = copy = Replica(8, primitive=True)
                m.d.comb += [copy.d.eq(self.d), out.eq(copy.q + i)]
            else:
                plain = Signal(8, name=f"plain{i}")
                m.d.sync += plain.eq(self.d)
                m.d.comb += out.eq(plain + i)
        return m


def test_synthesis_keeps_each_replica(tmp_path):
    """synth_ecp5 merges the four plain copies into one register and keeps the four replicas:
    five registers of 8 bits; every flip-flop has the replica's parameters."""
    design = _Copies()
    cells = synthesized_cells(design, [design.d, *design.outputs], "synth_ecp5", tmp_path)
    flops = [cell for cell in cells if cell["type"] == "TRELLIS_FF"]
    assert len(flops) == 5 * 8
    for cell in flops:
        assert {name: cell["parameters"][name].strip() for name in TRELLIS_FF_PARAMETERS} == (
            TRELLIS_FF_PARAMETERS
        )
