"""Append memory: takes records one byte per clock and stores them, refusing what does not fit.

A record is the words from one with ``first`` set (or the first after a ``last``) up to the next
``last``. Bytes are written to free space beyond the committed end while they arrive; only at the
record's ``last`` byte, if every check passed, is the record committed (record table entry,
``count`` and ``bytes_used``). A refused record therefore leaves no trace: every write goes at or
beyond ``bytes_used`` (asserted and proved), so no stored byte changes, and the counts stay.
A ``first`` word in the middle of a record abandons the unfinished one the same way.

Refusals (one-clock strobe ``refused`` with ``refusal_code``, a
:class:`~.protocol.ErrorCode`): ``FULL`` (no record slot, or no room for a byte),
``TOO_LONG`` (variable mode, over ``max_length``), ``WRONG_SIZE`` (fixed mode, not ``record_size``).

A core whose storage words hold more than a byte takes its records a word at a time in the
:class:`~.wide_append.WideAppendMemory` instead.

Throughput: one byte per clock, always ready. Resources (variable mode): one adder and three
comparators of the address width, the counters, and one table write per record.
"""

from amaranth.hdl import Assert, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .protocol import ErrorCode
from .records import RecordWord, table_entry_layout
from .storage import storage_ports

__all__ = ["AppendMemory", "write_table_entry"]


def _equals(value, constant):
    return value == constant if constant >= 0 else Const(0)


def _limit_flags(m, name, value, limit):
    """Flags kept beside the register ``value``: at ``limit`` and one below it (asserted equal
    to the comparisons), so no comparator sits between an arriving byte and what it decides."""
    full = Signal(name=f"{name}_full")
    near = Signal(init=limit == 1, name=f"{name}_near")
    m.d.sync += [
        Assert(full == (value == limit), f"{name}_full flag out of step"),
        Assert(near == _equals(value, limit - 1), f"{name}_near flag out of step"),
    ]
    return full, near


def _failure_code(m, fmt, so_far, records_full, at_limit, beyond, last, full_size):
    """A byte's verdict: the record's failure so far, else FULL for no slot, TOO_LONG or
    WRONG_SIZE past the limit, FULL for no room. Returns it and, for the record's last byte,
    the final one (WRONG_SIZE too for a fixed-size record that ends short)."""
    new_failure = Signal.like(so_far)
    final_failure = Signal.like(so_far)
    with m.If(so_far != 0):
        m.d.comb += new_failure.eq(so_far)
    with m.Elif(records_full):
        m.d.comb += new_failure.eq(ErrorCode.FULL)
    with m.Elif(at_limit):
        m.d.comb += new_failure.eq(ErrorCode.WRONG_SIZE if fmt.fixed else ErrorCode.TOO_LONG)
    with m.Elif(beyond):
        m.d.comb += new_failure.eq(ErrorCode.FULL)
    m.d.comb += final_failure.eq(new_failure)
    if fmt.fixed:
        with m.If((new_failure == 0) & last & ~full_size):
            m.d.comb += final_failure.eq(ErrorCode.WRONG_SIZE)
    return new_failure, final_failure


def write_table_entry(m, memory, length, commit):
    """An append memory's record table entry (start, length) of a record as it commits."""
    entry = Signal(table_entry_layout(memory.format))
    m.d.comb += [
        entry.start.eq(memory.bytes_used),
        entry.length.eq(length),
        memory.table_port.address.eq(memory.count),
        memory.table_port.write_data.eq(entry),
        memory.table_port.write_enable.eq(commit),
    ]


class AppendMemory(wiring.Component):
    """Append-only record store with refusal on overflow.

    Parameters
    ----------
    record_format : RecordFormat
        Capacity and mode.

    Members
    -------
    records : In(stream.Signature(RecordWord))
        Record bytes; always ready (one byte per clock).
    clear : In(1)
        Forget every record (one clock).
    count : Out(count_width)
        Committed records.
    bytes_used : Out(bytes_width)
        Committed bytes; the next record starts here.
    refused : Out(1)
        Strobe: the record that just ended was not stored.
    refusal_code : Out(3)
        Why (an :class:`ErrorCode`), valid with ``refused``.
    data_port : Out(StorageSignature(address_width, 8))
        Writes into the record storage.
    table_port : Out(StorageSignature(index_width, entry width))
        Writes into the record table (variable-length mode only).
    """

    FAULTS = {"overwrite": "records land over stored ones"}
    fault = None  # see memgen.hdl.common.faults

    def __init__(self, record_format):
        if record_format.word_bytes != 1:
            raise ValueError("Words of more than one byte take a WideAppendMemory")
        self.format = record_format
        members = {
            "records": In(stream.Signature(RecordWord)),
            "clear": In(1),
            "count": Out(record_format.count_width),
            "bytes_used": Out(record_format.bytes_width),
            "refused": Out(1),
            "refusal_code": Out(3),
            **storage_ports(record_format),
        }
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        fmt = self.format
        word = self.records.payload
        valid = self.records.valid

        in_record = Signal()
        offset = Signal(range(fmt.max_length + 1))  # bytes of the current record so far
        failure = Signal(3)  # ErrorCode of the current record, 0 while it is fine

        # ``pointer`` = ``bytes_used + offset``, kept as a register of its own, so the write
        # address is a multiplexer away from the flops, never an adder behind the incoming
        # word's ``first`` flag. The checks of an arriving byte read flags kept beside the
        # counters: "at the limit" and "one below" for the byte count, the pointer and the
        # offset, and "no record slot left", each updated from the current registers.
        pointer = Signal(fmt.bytes_width + 1)
        cap, limit = fmt.byte_capacity, fmt.max_length
        bytes_full, bytes_near = _limit_flags(m, "bytes", self.bytes_used, cap)
        pointer_full, pointer_near = _limit_flags(m, "pointer", pointer, cap)
        offset_full, offset_near = _limit_flags(m, "offset", offset, limit)
        records_full = Signal()  # count == max_records

        starting = Signal()
        current_offset = Signal.like(offset)
        current_failure = Signal.like(failure)
        position = Signal(fmt.bytes_width + 1)
        following = Signal(fmt.bytes_width + 1)  # position + 1
        beyond = Signal()  # position == byte_capacity (it is never above)
        position_near = Signal()  # position == byte_capacity - 1
        at_limit = Signal()  # current_offset == max_length
        length = Signal(range(fmt.max_length + 2))  # current_offset + 1
        m.d.comb += [
            self.records.ready.eq(1),
            starting.eq(word.first | ~in_record),
            current_offset.eq(Mux(starting, 0, offset)),
            current_failure.eq(Mux(starting, 0, failure)),
            position.eq(Mux(starting, self.bytes_used, pointer)),
            following.eq(Mux(starting, self.bytes_used + 1, pointer + 1)),
            beyond.eq(Mux(starting, bytes_full, pointer_full)),
            position_near.eq(Mux(starting, bytes_near, pointer_near)),
            at_limit.eq(~starting & offset_full),
            length.eq(Mux(starting, 1, offset + 1)),
        ]

        # (fixed mode) length == record_size (== max_length), from the flags
        full_size = Mux(starting, fmt.record_size == 1, offset_near)
        new_failure, final_failure = _failure_code(
            m, fmt, current_failure, records_full, at_limit, beyond, word.last, full_size
        )

        # Whether this byte is stored, from flags only: a record's first byte needs a free slot
        # and a free byte; a later byte needs its record to be fine so far with room for one
        # more (``going``, kept with each byte). It equals ``new_failure == 0`` (asserted), which
        # only the failure code and the refusal need.
        going = Signal()
        stored = Signal()
        m.d.comb += stored.eq(Mux(starting, ~records_full & ~bytes_full, going))
        m.d.comb += self.data_port.write_enable.eq(valid & stored & ~self.clear)
        written = current_offset if self.fault == "overwrite" else position
        m.d.comb += self.data_port.address.eq(written >> 0)  # the measured builds' netlist
        m.d.comb += self.data_port.write_data.eq(word.data)
        commit = Signal()
        complete = full_size if fmt.fixed else 1
        m.d.comb += commit.eq(valid & word.last & stored & complete & ~self.clear)
        if not fmt.fixed:
            write_table_entry(m, self, length, commit)

        m.d.sync += self.refused.eq(0)
        with m.If(self.clear):
            m.d.sync += [
                self.count.eq(0),
                self.bytes_used.eq(0),
                pointer.eq(0),
                in_record.eq(0),
                bytes_full.eq(0),
                bytes_near.eq(cap == 1),
                pointer_full.eq(0),
                pointer_near.eq(cap == 1),
                records_full.eq(0),
                going.eq(0),
            ]
        with m.Elif(valid):
            # ``position`` two below the capacity: where the pointer lands one below it
            position_near_2 = Mux(
                starting, _equals(self.bytes_used, cap - 2), _equals(pointer, cap - 2)
            )
            m.d.sync += [
                in_record.eq(~word.last),
                offset.eq(Mux(stored, length, current_offset)),
                pointer.eq(Mux(stored, following, position)),
                failure.eq(new_failure),
            ]
            with m.If(stored):
                next_offset_full = Mux(starting, limit == 1, offset_near)
                m.d.sync += [
                    going.eq(~next_offset_full & ~position_near),
                    offset_full.eq(next_offset_full),
                    offset_near.eq(Mux(starting, limit == 2, _equals(offset, limit - 2))),
                    pointer_full.eq(position_near),
                    pointer_near.eq(position_near_2),
                ]
            with m.Else():
                m.d.sync += [
                    going.eq(0),
                    offset_full.eq(~starting & offset_full),
                    offset_near.eq(Mux(starting, limit == 1, offset_near)),
                    pointer_full.eq(beyond),
                    pointer_near.eq(position_near),
                ]
            with m.If(commit):
                m.d.sync += [
                    self.count.eq(self.count + 1),
                    records_full.eq(self.count == fmt.max_records - 1),
                ]
                m.d.sync += [
                    self.bytes_used.eq(following),
                    bytes_full.eq(position_near),
                    bytes_near.eq(position_near_2),
                ]
            with m.Elif(word.last):
                m.d.sync += [self.refused.eq(1), self.refusal_code.eq(final_failure)]

        self._assert_counts(m, position)
        m.d.sync += [
            Assert(
                ~self.data_port.write_enable | (position < fmt.byte_capacity),
                "write beyond capacity",
            ),
            # invariants that make the properties inductive
            Assert(~in_record | (pointer == self.bytes_used + offset), "pointer out of step"),
            Assert(offset <= fmt.max_length, "offset beyond max_length"),
            Assert(pointer <= fmt.byte_capacity, "pointer beyond capacity"),
            Assert(records_full == (self.count == fmt.max_records), "records_full out of step"),
            Assert(stored == (new_failure == 0), "stored decision differs from the checks"),
            Assert(
                ~in_record
                | (going == ((failure == 0) & ~offset_full & ~pointer_full & ~records_full)),
                "going flag out of step",
            ),
        ]
        return m

    def _assert_counts(self, m, position):
        """Properties: no stored byte ever changes (every write at or beyond ``bytes_used``); the
        counts stay in range; a refusal leaves them as they were (no partial record)."""
        fmt = self.format
        count_before = Signal.like(self.count)
        bytes_before = Signal.like(self.bytes_used)
        m.d.sync += [count_before.eq(self.count), bytes_before.eq(self.bytes_used)]
        kept = (self.count == count_before) & (self.bytes_used == bytes_before)
        m.d.sync += [
            Assert(~self.refused | kept, "refused record changed the counts"),
            Assert(
                ~self.data_port.write_enable | (self.data_port.address >= self.bytes_used),
                "write into a stored record",
            ),
            Assert(self.bytes_used <= fmt.byte_capacity, "bytes_used beyond capacity"),
            Assert(self.count <= fmt.max_records, "count beyond the record capacity"),
        ]
