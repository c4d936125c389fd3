"""Linear maps over GF(2) as gateware: the shared form of the LFSR leap and the CRC update.

A map is given as rows computed in Python (``rows[i]`` has bit ``j`` set when output bit ``i``
depends on input bit ``j``), so the gateware is a flat XOR per output bit, never an unrolled
step function (whose expression tree grows exponentially).
"""

from amaranth.hdl import Cat, Const, Value

__all__ = ["gf2_product", "gf2_rows"]


def gf2_product(rows, vector):
    """The value whose bit ``i`` is the XOR of the bits of ``vector`` selected by ``rows[i]``."""
    vector = Value.cast(vector)
    bits = []
    for row in rows:
        terms = [vector[j] for j in range(len(vector)) if (row >> j) & 1]
        bit = terms[0] if terms else Const(0, 1)
        for term in terms[1:]:
            bit = bit ^ term
        bits.append(bit)
    return Cat(*bits)


def gf2_rows(columns, width):
    """The ``width`` rows of a map given by its columns (``columns[j]``: the image of input bit
    ``j``), as :func:`gf2_product` takes them."""
    return tuple(
        sum((column >> i & 1) << j for j, column in enumerate(columns)) for i in range(width)
    )
