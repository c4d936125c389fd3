"""``make demo`` end to end on the simulated gateware (small sizes here; ``make demo`` runs the
full ones on Verilator), and the histogram's band against scipy."""

import pytest
from memgen.sim.demo.run import binomial_band, main
from scipy import stats


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
