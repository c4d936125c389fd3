"""Record format shared by the gateware and the reference model.

Records are byte strings. Two modes:

* variable-length (``record_size=None``): records of 1 to ``max_length`` bytes, stored back to
  back; a record table holds each record's ``start`` and ``length``;
* fixed-size (``record_size=K``): every record is exactly ``K`` bytes, record ``i`` starts at
  ``i * K``; no table, so all memory holds data.

Words on the record streams are :data:`RecordWord`: one byte with ``first``/``last`` flags.
"""

from dataclasses import dataclass

from amaranth.lib import data

__all__ = ["RecordWord", "RecordFormat", "table_entry_layout"]

RecordWord = data.StructLayout({"data": 8, "first": 1, "last": 1})


@dataclass(frozen=True)
class RecordFormat:
    """Sizes of a MemGen memory.

    Parameters
    ----------
    byte_capacity : int
        Bytes of record storage.
    max_records : int or None
        Record table entries (variable mode). Fixed mode: ``byte_capacity // record_size``.
    max_length : int or None
        Longest record (variable mode); defaults to ``min(byte_capacity, 65535)``.
    record_size : int or None
        Fixed-size mode when set.
    """

    byte_capacity: int
    max_records: int | None = None
    max_length: int | None = None
    record_size: int | None = None

    def __post_init__(self):
        def positive(name, value):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")

        positive("byte_capacity", self.byte_capacity)
        if self.record_size is not None:
            positive("record_size", self.record_size)
            if self.record_size > self.byte_capacity:
                raise ValueError(
                    f"record_size {self.record_size} exceeds byte_capacity {self.byte_capacity}"
                )
            if self.max_records not in (None, self.byte_capacity // self.record_size):
                raise ValueError("max_records is byte_capacity // record_size in fixed-size mode")
            object.__setattr__(self, "max_records", self.byte_capacity // self.record_size)
            object.__setattr__(self, "max_length", self.record_size)
        else:
            if self.max_records is None:
                raise ValueError("Variable-length mode needs max_records")
            positive("max_records", self.max_records)
            if self.max_length is None:
                object.__setattr__(self, "max_length", min(self.byte_capacity, 65535))
            positive("max_length", self.max_length)
        if self.max_records >= 1 << 24:
            raise ValueError(f"At most 2**24 - 1 records, not {self.max_records}")

    @property
    def fixed(self):
        return self.record_size is not None

    @property
    def address_width(self):
        """Bits of a byte address."""
        return max(1, (self.byte_capacity - 1).bit_length())

    @property
    def bytes_width(self):
        """Bits of a byte count (0 to ``byte_capacity``)."""
        return self.byte_capacity.bit_length()

    @property
    def count_width(self):
        """Bits of a record count (0 to ``max_records``)."""
        return self.max_records.bit_length()

    @property
    def index_width(self):
        return max(1, (self.max_records - 1).bit_length())

    @property
    def length_width(self):
        return self.max_length.bit_length()


def table_entry_layout(record_format):
    """Record table entry (variable-length mode): where a record starts and how many bytes."""
    return data.StructLayout(
        {"start": record_format.address_width, "length": record_format.length_width}
    )
