"""GF(2) matrix-vector products as gateware against integer parity, rows of every shape."""

import random

from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator
from memgen.hdl.common.gf2 import gf2_product


def parity(value):
    return bin(value).count("1") & 1


def test_product_equals_parity_of_each_row():
    """Empty rows (a constant 0), single terms, two terms, dense and all-ones rows, on zero,
    single-bit, all-ones and random vectors."""
    rng = random.Random(5)
    width = 12
    rows = [0, 1, 1 << 11, 0b11, (1 << 12) - 1, 0b1010_0000_0101]
    rows += [rng.getrandbits(width) for _ in range(10)]
    vectors = [0, 1, 1 << 11, (1 << 12) - 1] + [rng.getrandbits(width) for _ in range(40)]
    m = Module()
    vector = Signal(width)
    product = Signal(len(rows))
    m.d.comb += product.eq(gf2_product(rows, vector))

    async def testbench(ctx):
        for value in vectors:
            ctx.set(vector, value)
            got = ctx.get(product)
            want = sum(parity(row & value) << i for i, row in enumerate(rows))
            assert got == want, f"vector {value:#x}: {got:#x} != {want:#x}"

    simulator = Simulator(m)  # combinational: no clock
    simulator.add_testbench(testbench)
    simulator.run()
