"""The record format: what it accepts at each limit, what it fills in, and the widths it gives
the gateware, each at a power of two and one either side."""

import pytest
from memgen.hdl.engine.records import RecordFormat, RecordWord, table_entry_layout


def test_record_word_is_a_byte_with_its_flags():
    assert {name: field.width for name, field in RecordWord} == {"data": 8, "first": 1, "last": 1}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"byte_capacity": 0, "max_records": 1}, "byte_capacity must be a positive integer"),
        ({"byte_capacity": 8.0, "max_records": 1}, "byte_capacity must be a positive integer"),
        ({"byte_capacity": 8, "record_size": 0}, "record_size must be a positive integer"),
        ({"byte_capacity": 8, "record_size": 9}, "record_size 9 exceeds byte_capacity 8"),
        ({"byte_capacity": 10, "record_size": 3, "max_records": 4}, "max_records is byte_capacity"),
        ({"byte_capacity": 10, "record_size": 3, "max_records": 2}, "max_records is byte_capacity"),
        ({"byte_capacity": 8}, "Variable-length mode needs max_records"),
        ({"byte_capacity": 8, "max_records": 0}, "max_records must be a positive integer"),
        ({"byte_capacity": 8, "max_records": 2, "max_length": 0}, "max_length must be a positive"),
        ({"byte_capacity": 1 << 24, "max_records": 1 << 24}, "At most 2\\*\\*24 - 1 records"),
        ({"byte_capacity": 1 << 24, "record_size": 1}, "not 16777216"),
        ({"byte_capacity": 1 << 25, "max_records": (1 << 24) + 1}, "not 16777217"),
    ],
)
def test_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        RecordFormat(**arguments)


def test_fixed_mode_fills_in_records_and_length():
    fmt = RecordFormat(10, record_size=3, max_records=3)  # the one max_records it may be given
    assert (fmt.fixed, fmt.max_records, fmt.max_length) == (True, 3, 3)
    whole = RecordFormat(8, record_size=8)  # a record as large as the memory
    assert (whole.max_records, whole.max_length) == (1, 8)
    assert RecordFormat((1 << 24) - 1, record_size=1).max_records == (1 << 24) - 1


@pytest.mark.parametrize(("capacity", "default"), [(1, 1), (65_535, 65_535), (65_536, 65_535)])
def test_variable_mode_default_length(capacity, default):
    fmt = RecordFormat(capacity, max_records=1)
    assert (fmt.fixed, fmt.max_length) == (False, default)
    assert RecordFormat(capacity, max_records=1, max_length=7).max_length == 7  # given: kept


@pytest.mark.parametrize(
    ("capacity", "address", "count"),
    [(1, 1, 1), (2, 1, 2), (3, 2, 2), (4, 2, 3), (5, 3, 3), (1 << 16, 16, 17), (65_537, 17, 17)],
)
def test_byte_widths(capacity, address, count):
    """An address reaches ``capacity - 1`` (at least one bit), a byte count ``capacity``."""
    fmt = RecordFormat(capacity, max_records=1)
    assert (fmt.address_width, fmt.bytes_width) == (address, count)


@pytest.mark.parametrize(
    ("records", "index", "count"),
    [(1, 1, 1), (2, 1, 2), (3, 2, 2), (4, 2, 3), (5, 3, 3), ((1 << 24) - 1, 24, 24)],
)
def test_record_widths(records, index, count):
    """An index reaches ``max_records - 1`` (at least one bit), a record count
    ``max_records``."""
    fmt = RecordFormat(1 << 24, max_records=records)
    assert (fmt.index_width, fmt.count_width) == (index, count)


@pytest.mark.parametrize(("length", "width"), [(1, 1), (255, 8), (256, 9), (257, 9)])
def test_table_entry_holds_a_start_and_a_length(length, width):
    fmt = RecordFormat(300, max_records=4, max_length=length)
    assert fmt.length_width == width
    layout = table_entry_layout(fmt)
    assert {name: field.width for name, field in layout} == {"start": 9, "length": width}
