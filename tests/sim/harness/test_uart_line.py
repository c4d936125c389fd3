"""The line helpers agree with each other and with the 8N1 frame by hand."""

import pytest
from memgen.sim.harness.uart_line import line_bytes, line_levels


def test_one_frame_by_hand():
    """0x0F at 2 clocks a bit: start, data LSB first, stop, then idle."""
    assert line_levels([(0x0F, 1)], 2, idle_bits=1) == [0, 0] + [1] * 8 + [0] * 8 + [1, 1, 1, 1]


@pytest.mark.parametrize("divisor", [4, 7, 14, 33])
def test_bytes_read_back(divisor):
    data = bytes([0x00, 0xFF, 0x55, 0xAA, 0x80, 0x01, 0xC0])
    assert line_bytes(line_levels([(byte, 1) for byte in data], divisor), divisor) == data


def test_reading_stops_at_a_missing_stop_bit():
    levels = line_levels([(0x41, 1), (0x42, 0), (0x43, 1)], 4)
    assert line_bytes(levels, 4) == b"\x41"
