"""The reference model's sample order with lanes: sample j of the stream since the seed is
lane j mod L's next index, however the draw is split into requests."""

import pytest
from memgen.hdl.engine.index_generator import IndexGeneratorModel
from memgen.hdl.engine.records import RecordFormat
from memgen.host.reference import MemGenReference

RECORDS = 10


def filled(lanes, seed=None):
    reference = MemGenReference(RecordFormat(64, record_size=1, lanes=lanes))
    for value in range(RECORDS):
        assert reference.append(bytes([value])) is None
    if seed is not None:
        reference.seed(seed)
    return reference


@pytest.mark.parametrize("lanes", [1, 2, 4, 8, 16])
def test_sample_j_comes_from_lane_j_mod_lanes(lanes):
    """Requests of 5, then 11, then 1 index: each lane's own generator (IV = lane) in turn."""
    reference = filled(lanes, seed=77)
    models = [IndexGeneratorModel(64, "trivium", 77, lane) for lane in range(lanes)]
    drawn = [index for amount in (5, 11, 1) for index in reference.sample_indices(amount)]
    assert drawn == [models[j % lanes].request(1, RECORDS)[0] for j in range(17)]


@pytest.mark.parametrize("lanes", [1, 2, 4, 8, 16])
def test_a_draw_split_anywhere_gives_the_same_indices(lanes):
    """Requests of a and then b indices give what one of a + b gives, a from 0 to L + 1."""
    whole = filled(lanes).sample_indices(2 * lanes + 3)
    for first in range(lanes + 2):
        split = filled(lanes)
        drawn = split.sample_indices(first) + split.sample_indices(2 * lanes + 3 - first)
        assert drawn == whole, first


def test_a_seed_restarts_every_lane_at_lane_0():
    """After SEED the stream starts again at lane 0, as after reset with that seed."""
    reference = filled(4)
    reference.sample_indices(3)  # lanes 0-2 moved on, the next would come from lane 3
    reference.seed(5)
    assert reference.sample_indices(9) == filled(4, seed=5).sample_indices(9)
    assert reference.status()["flags"] >> 6 == 2  # log2 of four lanes
