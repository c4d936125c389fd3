"""The demo's three embedded datasets, nothing downloaded: pi computed here, the Zen of Python
from the standard library, the cat photograph that ships with scikit-image."""

import contextlib
import io
import math
import sys

__all__ = ["TILE", "cat_tiles", "pi_digits", "zen_lines"]

#: Side of a cat tile in pixels.
TILE = 12


def pi_digits(count):
    """``"3.14159..."`` with ``count`` decimals: Chudnovsky's series by binary splitting."""
    c3_over_24 = 640320**3 // 24

    def split(a, b):
        if b - a == 1:
            if a == 0:
                p = q = 1
            else:
                p = (6 * a - 5) * (2 * a - 1) * (6 * a - 1)
                q = a * a * a * c3_over_24
            t = p * (13591409 + 545140134 * a)
            return p, q, -t if a & 1 else t
        middle = (a + b) // 2
        p1, q1, t1 = split(a, middle)
        p2, q2, t2 = split(middle, b)
        return p1 * p2, q1 * q2, t1 * q2 + p1 * t2

    _, q, t = split(0, count // 14 + 2)  # each term adds 14.18 digits
    one = 10 ** (count + 10)
    value = q * 426880 * math.isqrt(10005 * one * one) // t
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        digits = str(value)[: count + 1]
    finally:
        sys.set_int_max_str_digits(limit)
    return digits[0] + "." + digits[1:]


def zen_lines():
    """The 20 non-empty lines of the Zen of Python, from the standard library's ``this``."""
    import codecs

    with contextlib.redirect_stdout(io.StringIO()):
        import this
    return [line for line in codecs.decode(this.s, "rot13").splitlines() if line]


def cat_tiles(tile=TILE, scale=1):
    """The scikit-image cat (every ``scale``-th pixel) cut into ``tile`` x ``tile`` RGB tiles,
    row by row: (tiles, rows, columns), tiles of shape (rows * columns, tile, tile, 3)."""
    from skimage import data

    image = data.chelsea()[::scale, ::scale]
    rows, columns = image.shape[0] // tile, image.shape[1] // tile
    image = image[: rows * tile, : columns * tile]
    tiles = image.reshape(rows, tile, columns, tile, 3).swapaxes(1, 2).reshape(-1, tile, tile, 3)
    return tiles, rows, columns
