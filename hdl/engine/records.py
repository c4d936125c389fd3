"""Record format shared by the gateware and the reference model.

Records are byte strings. Two modes:

* variable-length (``record_size=None``): records of 1 to ``max_length`` bytes, stored back to
  back; a record table holds each record's ``start`` and ``length``;
* fixed-size (``record_size=K``): every record is exactly ``K`` bytes, record ``i`` starts at
  ``i * K``; no table, so all memory holds data.

Words on the command and record streams are :data:`RecordWord`: one byte with ``first``/``last``
flags.

Word width. The record storage holds words of ``word_bytes`` (W, a power of two) bytes, and the
readout sends a word per clock (:func:`record_word_layout`). Every record starts on a word
boundary, so a variable-length record of L bytes takes ``ceil(L / W)`` words and the padding
counts in ``bytes_used``; fixed-size records of K bytes take a stride of ``ceil(K / W)`` words, or,
when K is below W, a slot of the next power of two of K bytes, several to a word (so records of
1, 2, 4 ... bytes keep the memory's full capacity). With W = 1 nothing is padded.

Lanes. ``lanes`` (L, a power of two up to 16) sample read paths run side by side, each with its
own index generator stream and its own read port on a copy of the records (writes go to every
copy, so the capacity is the memory's divided by the copies; on dual-port block RAM two lanes
read each copy). A lane reads a record per clock, so lanes need records
that fit a word: fixed-size records of at most ``word_bytes`` bytes.
"""

from dataclasses import dataclass

from amaranth.lib import data

from .index_generator import MAX_COUNT

__all__ = [
    "MAX_LANES",
    "RecordWord",
    "RecordFormat",
    "append_layout",
    "padded_length",
    "record_alignment",
    "record_word_layout",
    "table_entry_layout",
]

#: Most sample lanes a core has.
MAX_LANES = 16

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
    word_bytes : int
        Bytes per storage word, a power of two (1 to 64); ``byte_capacity`` a multiple of it.
    lanes : int
        Sample lanes, a power of two (1 to 16); above 1 only for fixed-size records of at most
        ``word_bytes`` bytes.
    """

    byte_capacity: int
    max_records: int | None = None
    max_length: int | None = None
    record_size: int | None = None
    word_bytes: int = 1
    lanes: int = 1

    def __post_init__(self):
        def positive(name, value):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")

        positive("byte_capacity", self.byte_capacity)
        positive("word_bytes", self.word_bytes)
        width = self.word_bytes
        if width & (width - 1) or width > 64:
            raise ValueError(f"word_bytes must be a power of two up to 64, not {width}")
        if self.byte_capacity % width:
            raise ValueError(
                f"byte_capacity {self.byte_capacity} is not a whole number of {width}-byte words"
            )
        if self.record_size is not None:
            positive("record_size", self.record_size)
            if self.record_size > self.byte_capacity:
                raise ValueError(
                    f"record_size {self.record_size} exceeds byte_capacity {self.byte_capacity}"
                )
            records = self.byte_capacity // self.slot_bytes  # at least 1: a slot fits in words
            if self.max_records not in (None, records):
                raise ValueError(
                    "max_records is byte_capacity // the record's stride in fixed-size mode"
                )
            object.__setattr__(self, "max_records", records)
            object.__setattr__(self, "max_length", self.record_size)
        else:
            if self.max_records is None:
                raise ValueError("Variable-length mode needs max_records")
            positive("max_records", self.max_records)
            if self.max_length is None:
                object.__setattr__(self, "max_length", min(self.byte_capacity, 65535))
            positive("max_length", self.max_length)
        positive("lanes", self.lanes)
        if self.lanes & (self.lanes - 1) or self.lanes > MAX_LANES:
            raise ValueError(f"lanes must be a power of two up to {MAX_LANES}, not {self.lanes}")
        if self.lanes > 1 and not (self.fixed and self.record_size <= width):
            raise ValueError(
                f"{self.lanes} lanes need fixed-size records of at most word_bytes ({width}) "
                "bytes: a lane reads a record per clock"
            )
        if self.max_records > MAX_COUNT:
            raise ValueError(f"At most 2**27 - 1 records, not {self.max_records}")

    @property
    def fixed(self):
        return self.record_size is not None

    @property
    def lane_shift(self):
        """log2 of ``lanes``."""
        return self.lanes.bit_length() - 1

    @property
    def slot_bytes(self):
        """Fixed-size mode: the bytes a record occupies, its stride (``record_size`` when
        ``word_bytes`` is 1)."""
        return self.stored_bytes(self.record_size)

    @property
    def alignment(self):
        """Every record starts at a multiple of this many bytes: the slot of a fixed-size record
        below a word, otherwise the word."""
        return record_alignment(self.word_bytes, self.record_size)

    def stored_bytes(self, length):
        """The bytes a record of ``length`` bytes adds to ``bytes_used`` (its padding included)."""
        return padded_length(length, self.word_bytes, self.record_size)

    @property
    def words(self):
        """Storage words."""
        return self.byte_capacity // self.word_bytes

    @property
    def word_shift(self):
        """log2 of ``word_bytes``: a byte address shifted right by this is its word's."""
        return self.word_bytes.bit_length() - 1

    @property
    def address_width(self):
        """Bits of a byte address."""
        return max(1, (self.byte_capacity - 1).bit_length())

    @property
    def word_address_width(self):
        """Bits of a storage word address (``address_width`` when ``word_bytes`` is 1)."""
        return max(1, (self.words - 1).bit_length())

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


def record_alignment(word_bytes, record_size=None):
    """Where records start, in bytes: on every word of ``word_bytes``, or, for fixed-size records
    of ``record_size`` below a word, on every slot (the next power of two of the size)."""
    if record_size is not None and record_size < word_bytes:
        return 1 << (record_size - 1).bit_length()
    return word_bytes


def padded_length(length, word_bytes, record_size=None):
    """A record of ``length`` bytes with its padding to the next record's start."""
    alignment = record_alignment(word_bytes, record_size)
    return -(-length // alignment) * alignment


def record_word_layout(word_bytes):
    """A word of a record on the readout's stream: ``word_bytes`` bytes (the record's first in
    the lowest), ``first``/``last`` on the record's first and last word, and ``count``, how many
    of the bytes are the record's (``word_bytes`` but in a record's last word)."""
    return data.StructLayout(
        {"data": 8 * word_bytes, "first": 1, "last": 1, "count": word_bytes.bit_length()}
    )


def append_layout(record_format):
    """What an append memory takes: :data:`RecordWord` bytes, or, in a core of ``word_bytes``
    above 1, its words (:func:`record_word_layout`)."""
    width = record_format.word_bytes
    return RecordWord if width == 1 else record_word_layout(width)


def table_entry_layout(record_format):
    """Record table entry (variable-length mode): where a record starts and how many bytes."""
    return data.StructLayout(
        {"start": record_format.address_width, "length": record_format.length_width}
    )
