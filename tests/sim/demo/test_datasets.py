"""The demo's datasets against independent sources: mpmath's pi, the photograph itself."""

import mpmath
import numpy as np
import pytest
from memgen.sim.demo.datasets import cat_tiles, pi_digits, zen_lines
from skimage import data


def test_pi_digits_against_mpmath():
    assert pi_digits(30) == "3.141592653589793238462643383279"
    with mpmath.workdps(20_020):
        expected = mpmath.nstr(mpmath.mp.pi, 20_001, strip_zeros=False)
    assert pi_digits(20_000) == expected


def test_zen_is_embedded():
    lines = zen_lines()
    assert lines[0] == "The Zen of Python, by Tim Peters"
    assert len(lines) == 20 and len(set(lines)) == 20


@pytest.mark.parametrize("scale", [1, 8])
def test_cat_tiles_rebuild_the_photograph(scale):
    tiles, rows, columns = cat_tiles(12, scale)
    image = data.chelsea()[::scale, ::scale]
    assert (rows, columns) == (image.shape[0] // 12, image.shape[1] // 12)
    assert tiles.shape == (rows * columns, 12, 12, 3)
    rebuilt = tiles.reshape(rows, columns, 12, 12, 3).swapaxes(1, 2).reshape(rows * 12, -1, 3)
    assert np.array_equal(rebuilt, image[: rows * 12, : columns * 12])
