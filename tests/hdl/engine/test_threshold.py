"""The range reduction's threshold unit: 2**b mod N for every N each build can hold, on
Verilator, and a mutant of it caught."""

import pytest
from memgen.boards import BOARDS
from memgen.sim.harness.threshold_check import check_counts


def capacities():
    """Every board's record capacity, with its record table and with 1-byte records (the most
    records it can hold)."""
    for board in BOARDS.values():
        for variant in (board, board.with_record_size(1)):
            yield variant.record_format.max_records


@pytest.mark.parametrize("max_count", sorted(set(capacities())))
def test_every_count_of_every_board(max_count):
    checked, mismatches = check_counts(max_count.bit_length(), 1, max_count)
    assert mismatches == [] and checked == max_count


def test_widest_design_at_its_edges():
    """The widest count (24 bits, 2**24 - 1 records): the first and last 65,536 counts, and
    every power of two with 64 counts either side. (All 2**24 counts: about two minutes.)"""
    ranges = [(1, 1 << 16), ((1 << 24) - (1 << 16), (1 << 24) - 1)]
    ranges += [((1 << k) - 64, (1 << k) + 64) for k in range(17, 24)]
    for first, last in ranges:
        checked, mismatches = check_counts(24, first, last)
        assert mismatches == [] and checked == last - first + 1


def test_a_wrong_comparison_is_caught():
    """Subtracting only when the doubled remainder exceeds N (``>`` for ``>=``) is wrong at
    every power of two."""
    _, mismatches = check_counts(12, 1, 4095, fault="no_subtract_at_equal")
    assert mismatches and mismatches[0].startswith("count 2:")
