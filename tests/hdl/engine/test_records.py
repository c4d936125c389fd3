"""The record format: what it accepts at each limit, what it fills in, and the widths it gives
the gateware, each at a power of two and one either side."""

import pytest
from memgen.hdl.engine.append_memory import AppendMemory
from memgen.hdl.engine.records import (
    RecordFormat,
    RecordWord,
    append_layout,
    record_word_layout,
    table_entry_layout,
)
from memgen.hdl.engine.wide_append import WideAppendMemory
from memgen.sim.harness.amaranth_sim import unused


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
        ({"byte_capacity": 1 << 27, "max_records": 1 << 27}, "At most 2\\*\\*27 - 1 records"),
        ({"byte_capacity": 1 << 27, "record_size": 1}, "not 134217728"),
        ({"byte_capacity": 1 << 28, "max_records": (1 << 27) + 1}, "not 134217729"),
        ({"byte_capacity": 8, "max_records": 2, "word_bytes": 0}, "word_bytes must be a positive"),
        ({"byte_capacity": 12, "max_records": 2, "word_bytes": 3}, "power of two up to 64, not 3"),
        ({"byte_capacity": 256, "max_records": 2, "word_bytes": 128}, "up to 64, not 128"),
        ({"byte_capacity": 6, "max_records": 2, "word_bytes": 4}, "6 is not a whole number of 4"),
        ({"byte_capacity": 8, "record_size": 3, "word_bytes": 4, "max_records": 3}, "stride"),
        ({"byte_capacity": 8, "record_size": 1, "lanes": 0}, "lanes must be a positive integer"),
        ({"byte_capacity": 8, "record_size": 1, "lanes": 3}, "power of two up to 16, not 3"),
        ({"byte_capacity": 8, "record_size": 1, "lanes": 32}, "up to 16, not 32"),
        ({"byte_capacity": 8, "max_records": 2, "lanes": 2}, "2 lanes need fixed-size records"),
        ({"byte_capacity": 8, "record_size": 2, "lanes": 2}, "at most word_bytes \\(1\\) bytes"),
        ({"byte_capacity": 16, "record_size": 5, "word_bytes": 4, "lanes": 8}, "bytes: a lane"),
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
    assert RecordFormat((1 << 27) - 1, record_size=1).max_records == (1 << 27) - 1
    assert RecordFormat(32 << 20, record_size=1).max_records == 1 << 25  # 32 MiB of SDRAM


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
    [(1, 1, 1), (2, 1, 2), (3, 2, 2), (4, 2, 3), (5, 3, 3), ((1 << 24) - 1, 24, 24),
     (1 << 25, 25, 26), ((1 << 27) - 1, 27, 27)],
)  # fmt: skip
def test_record_widths(records, index, count):
    """An index reaches ``max_records - 1`` (at least one bit), a record count
    ``max_records``."""
    fmt = RecordFormat(1 << 27, max_records=records)
    assert (fmt.index_width, fmt.count_width) == (index, count)


@pytest.mark.parametrize(("length", "width"), [(1, 1), (255, 8), (256, 9), (257, 9)])
def test_table_entry_holds_a_start_and_a_length(length, width):
    fmt = RecordFormat(300, max_records=4, max_length=length)
    assert fmt.length_width == width
    layout = table_entry_layout(fmt)
    assert {name: field.width for name, field in layout} == {"start": 9, "length": width}


@pytest.mark.parametrize(
    ("size", "width", "slot", "records"),
    [
        (1, 1, 1, 64), (1, 4, 1, 64), (2, 4, 2, 32), (3, 4, 4, 16), (4, 4, 4, 16),
        (5, 4, 8, 8), (7, 8, 8, 8), (8, 8, 8, 8), (9, 8, 16, 4), (16, 8, 16, 4),
        (17, 8, 24, 2), (64, 64, 64, 1), (3, 1, 3, 21),
    ],
)  # fmt: skip
def test_fixed_records_take_a_slot_or_whole_words(size, width, slot, records):
    """Below a word a record takes the next power of two of its size (several to a word), from
    a word up whole words; 64 bytes hold ``records`` of them."""
    fmt = RecordFormat(64, record_size=size, word_bytes=width)
    assert (fmt.slot_bytes, fmt.max_records) == (slot, records)
    assert fmt.alignment == (slot if size < width else width)
    assert fmt.stored_bytes(size) == slot


@pytest.mark.parametrize("width", [1, 2, 4, 8, 64])
def test_variable_records_start_on_words(width):
    """A record of L bytes takes ceil(L / W) words: at a word's size and one either side."""
    fmt = RecordFormat(64 * 64, max_records=8, word_bytes=width)
    for length in (width - 1, width, width + 1):
        if length:
            assert fmt.stored_bytes(length) == -(-length // width) * width
    assert (fmt.words, fmt.word_shift) == (64 * 64 // width, width.bit_length() - 1)
    assert fmt.word_address_width == (64 * 64 // width - 1).bit_length() or width == 64 * 64
    assert fmt.address_width == 12


def test_record_word_layout_carries_a_count():
    assert {name: field.width for name, field in record_word_layout(1)} == {
        "data": 8, "first": 1, "last": 1, "count": 1}  # fmt: skip
    assert {name: field.width for name, field in record_word_layout(8)} == {
        "data": 64, "first": 1, "last": 1, "count": 4}  # fmt: skip


@pytest.mark.parametrize("width", [1, 2, 8, 64])
def test_append_layout_is_what_the_append_memory_takes(width):
    """A byte-wide core appends bytes with their flags, a wide one words with a count: each the
    payload its append memory's ``records`` stream takes."""
    fmt = RecordFormat(4096, max_records=64, word_bytes=width)
    memory = unused(AppendMemory(fmt) if width == 1 else WideAppendMemory(fmt))
    assert append_layout(fmt) == memory.records.payload.shape()
    assert (append_layout(fmt) == RecordWord) == (width == 1)


@pytest.mark.parametrize(
    ("size", "width", "lanes"),
    [(1, 1, 2), (1, 1, 8), (1, 1, 16), (4, 4, 8), (3, 4, 4), (64, 64, 2)],
)
def test_lanes_take_records_up_to_a_word(size, width, lanes):
    """Lanes 2 to 16 for fixed-size records of one byte up to a whole word."""
    fmt = RecordFormat(64 * width, record_size=size, word_bytes=width, lanes=lanes)
    assert (fmt.lanes, fmt.lane_shift) == (lanes, lanes.bit_length() - 1)
    assert RecordFormat(64, record_size=1).lanes == 1
