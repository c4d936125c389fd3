"""dieharder on the raw generator words (``make stats`` runs ``-a``; here one test): the default
generator passes where the plain LFSR fails, and dieharder's table is read as it prints it."""

from memgen.hdl.engine.index_generator import GENERATORS
from memgen.sim.evidence.dieharder import parse, run_dieharder

TABLE = """\
#=============================================================================#
        test_name   |ntup| tsamples |psamples|  p-value |Assessment
#=============================================================================#
   diehard_birthdays|   0|       100|     100|0.71055424|  PASSED
        diehard_oqso|   0|   2097152|     100|0.99994499|   WEAK
rgb_minimum_distance|   2|     10000|    1000|0.00000000|  FAILED
"""


def test_parse_reads_every_row():
    rows = parse(TABLE)
    assert [(r["test"], r["ntup"], r["assessment"]) for r in rows] == [
        ("diehard_birthdays", 0, "PASSED"),
        ("diehard_oqso", 0, "WEAK"),
        ("rgb_minimum_distance", 2, "FAILED"),
    ]
    assert rows[1]["p"] == 0.99994499 and rows[2]["psamples"] == 1000


def test_minimum_distance_fails_the_plain_lfsr_only():
    """rgb_minimum_distance in 2 dimensions: 2-d points from consecutive words of a linear
    generator lie on a lattice; Trivium's non-linear feedback breaks it."""
    report = run_dieharder(GENERATORS, seed=1, tests=["201:2"])
    assert report["trivium"]["counts"] == {"PASSED": 1, "WEAK": 0, "FAILED": 0}
    assert report["lfsr"]["counts"]["FAILED"] == 1
    assert report["lfsr"]["failed"][0].startswith("rgb_minimum_distance (ntup 2")
