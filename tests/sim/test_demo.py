"""``make demo``: its datasets against independent sources, and the main job end to end on the
simulated gateware (small sizes here; ``make demo`` runs the full ones on Verilator)."""

import mpmath
import numpy as np
import pytest
from memgen.sim.demo import binomial_band, cat_tiles, main, pi_digits, zen_lines
from scipy import stats
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


@pytest.mark.parametrize(("samples", "bins"), [(4000, 20), (100, 3), (50_000, 2048)])
def test_binomial_band_is_scipys(samples, bins):
    distribution = stats.binom(samples, 1 / bins)
    assert binomial_band(samples, bins) == (distribution.ppf(0.005), distribution.ppf(0.995))


def test_demo_runs_and_verifies(tmp_path, capsys):
    """The whole main job on the gateware in Amaranth's simulator, every answer verified."""
    out = tmp_path / "pictures"
    arguments = ["--device", "sim", "--quick", "--digits", "600", "--zen-samples", "100"]
    assert main([*arguments, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "recited 3.14159265358979323846" in text
    assert "this memory held 510 decimals" in text  # 512 bytes: "3." and 510 decimals
    assert "refused record 9 with FULL" in text
    assert "12 tiles of 12x12 RGB" in text
    assert "each one a training tile" in text
    import matplotlib.image

    for name in ("zen_histogram.png", "cat_tiles.png"):
        picture = matplotlib.image.imread(out / name)
        assert picture.ndim == 3 and min(picture.shape[:2]) > 200


def test_verification_catches_a_differing_device():
    """The demo's check is real: a device seeded differently from the reference is caught."""
    from memgen.hdl.engine.records import RecordFormat
    from memgen.sim.demo import Session, VerificationError

    session = Session("reference", RecordFormat(64, record_size=1), seed=1)
    session.device.seed(2)
    session.train([bytes([n]) for n in range(64)])
    with pytest.raises(VerificationError, match="sample record"):
        session.ask("sample", 100)
    assert len(session.ask("recite")) == 64  # reciting does not depend on the seed
