"""GF(2) matrix-vector products as gateware against integer parity, rows of every shape."""

import random

from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator
from memgen.hdl.common.gf2 import gf2_product, gf2_rows


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


def test_rows_transpose_the_columns():
    """A map given by its columns (the image of each input bit) becomes the rows the product
    takes: a known answer, then every column of an empty, identity, all-ones and random map
    is the image of its input bit under the rows' parities."""
    assert gf2_rows([0b01, 0b11, 0b10], 2) == (0b011, 0b110)
    rng = random.Random(9)
    width, inputs = 16, 13
    maps = [[0] * inputs, [1 << j for j in range(inputs)], [(1 << width) - 1] * inputs]
    maps += [[rng.getrandbits(width) for _ in range(inputs)] for _ in range(5)]
    for columns in maps:
        rows = gf2_rows(columns, width)
        assert len(rows) == width and all(0 <= row < 1 << inputs for row in rows)
        for j, column in enumerate(columns):
            image = sum(parity(row >> j & 1) << i for i, row in enumerate(rows))
            assert image == column, (columns, j)
