"""The registered product: its model against Python's products clock by clock, where the
MULT18X18D is chosen, and the primitive's port map."""

import random
from types import SimpleNamespace

import pytest
from memgen.hdl.fpga.mult18 import MULT18_WIDTH, RegisteredProduct
from memgen.sim.harness.amaranth_sim import (
    instance_ports,
    instances,
    refused_component,
    run_simulation,
)


def operands(width):
    """Values with structure at ``width`` bits (zero, one, single bits, all ones, the top bit
    alone and below it) and random ones."""
    top = (1 << width) - 1
    rng = random.Random(width)
    return [0, 1, top, top - 1, 1 << (width - 1), (1 << (width - 1)) - 1] + [
        rng.getrandbits(width) for _ in range(10)
    ]


@pytest.mark.parametrize(("a_width", "b_width"), [(1, 1), (3, 17), (18, 17), (18, 18), (25, 19)])
def test_model_multiplies_what_its_registers_hold(a_width, b_width):
    """Each clock a new ``b`` and an ``a`` offered with ``enable`` high or low: the product is
    always the last ``a`` taken (on enable) times the ``b`` of the clock before."""
    dut = RegisteredProduct(a_width, b_width, primitive=False)
    pairs = [(a, b) for a in operands(a_width) for b in operands(b_width)]
    enables = random.Random(a_width * b_width).choices([0, 1], k=len(pairs))

    async def testbench(ctx):
        held_a = held_b = 0
        for (a, b), enable in zip(pairs, enables, strict=True):
            ctx.set(dut.a, a)
            ctx.set(dut.b, b)
            ctx.set(dut.enable, enable)
            await ctx.tick()
            held_a, held_b = (a if enable else held_a), b
            assert ctx.get(dut.product) == held_a * held_b
            assert ctx.get(dut.b_held) == held_b

    run_simulation(dut, testbench, name=f"mult18_{a_width}x{b_width}")


def chosen(unit, platform_family):
    """``"MULT18X18D"`` where the unit instantiates the primitive, else ``"model"``."""
    platform = None if platform_family is None else SimpleNamespace(family=platform_family)
    built = instances(unit, platform)
    return built[0].type if built else "model"


@pytest.mark.parametrize(
    ("platform_family", "a_width", "b_width", "expected"),
    [("ecp5", 18, 18, "MULT18X18D"), ("ECP5", 3, 13, "MULT18X18D"), ("ecp5", 19, 17, "model"),
     ("ecp5", 18, 19, "model"), ("ice40", 18, 17, "model"), (None, 18, 17, "model")],
)  # fmt: skip
def test_primitive_on_an_ecp5_for_operands_that_fit(platform_family, a_width, b_width, expected):
    """The MULT18X18D on an ECP5 (in any case) when both operands have at most 18 bits, one bit
    more on either side and the model; the model on other families and in simulation."""
    assert chosen(RegisteredProduct(a_width, b_width), platform_family) == expected


def test_primitive_is_forced_either_way_and_refuses_wide_operands():
    assert chosen(RegisteredProduct(7, 17, primitive=True), None) == "MULT18X18D"
    assert chosen(RegisteredProduct(7, 17, primitive=False), "ecp5") == "model"
    with refused_component(), pytest.raises(ValueError, match="up to 18 bits, not 19 x 17"):
        RegisteredProduct(19, 17, primitive=True)


@pytest.mark.parametrize(("a_width", "b_width"), [(18, 17), (7, 17), (3, 18)])
def test_mult18_port_map(a_width, b_width):
    """The MULT18X18D as Lattice's sysDSP usage guide (FPGA-TN-02205) configures an unsigned
    18 x 18 multiply with registered inputs: A and B from bit 0 (the bits above the operands
    tied low), both input registers on CLK0, A's clock enable CE0 driven by ``enable`` and B's
    CE1 tied high, no pipeline or output register, the product on P from bit 0, every other
    input (C, the other clocks, enables and resets, the sign and cascade selects) tied low."""
    (block,) = instances(RegisteredProduct(a_width, b_width, primitive=True))
    assert dict(block.parameters) == {
        "REG_INPUTA_CLK": "CLK0", "REG_INPUTA_CE": "CE0", "REG_INPUTA_RST": "RST0",
        "REG_INPUTB_CLK": "CLK0", "REG_INPUTB_CE": "CE1", "REG_INPUTB_RST": "RST0",
        "REG_PIPELINE_CLK": "NONE", "REG_OUTPUT_CLK": "NONE", "GSR": "DISABLED",
        "RESETMODE": "SYNC",
    }  # fmt: skip
    expected = {f"{name}{bit}": "0" for name in "ABC" for bit in range(MULT18_WIDTH)}
    expected |= {f"{name}{n}": "0" for name in ("CLK", "CE", "RST") for n in range(4)}
    expected |= {name: "0" for name in ("SIGNEDA", "SIGNEDB", "SOURCEA", "SOURCEB")}
    expected |= {"CLK0": "(clk sync)", "CE0": "enable[0]", "CE1": "1"}
    expected |= {f"A{bit}": f"a[{bit}]" for bit in range(a_width)}
    expected |= {f"B{bit}": f"b[{bit}]" for bit in range(b_width)}
    expected |= {f"P{bit}": f"product[{bit}]" for bit in range(a_width + b_width)}
    assert instance_ports(block) == expected
