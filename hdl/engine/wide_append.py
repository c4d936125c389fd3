"""Wide append memory: takes records a word of ``word_bytes`` (W) bytes per clock.

The :class:`~.append_memory.AppendMemory` of a core whose storage words hold W > 1 bytes. A
record arrives as its bytes in words of W (:func:`~.records.record_word_layout`, the first byte
lowest): every word full but the last, whose ``count`` says how many bytes are the record's;
a fixed-size record smaller than a word is one word of ``record_size`` bytes. Records start on
the format's alignment, so each word lands on one storage word whole (a small record in its
slot of the word, merged into an image of the word kept as the storage has it).

The rules are the byte-wide memory's, judged a word at a time: the bytes are written beyond the
committed end as they arrive and the record commits at its last word; a refused record leaves
no trace. A word is refused for the first of its bytes that the byte-wide memory would refuse
(``TOO_LONG`` or ``WRONG_SIZE`` if the record's limit comes no later than the memory's end,
otherwise ``FULL``), and a word that is empty, holds more than W bytes, or is short before the
record's last with ``BAD_COMMAND``.

Throughput: W bytes per clock, always ready (on SDRAM, ``waits``: as the storage takes them).
"""

from amaranth.hdl import Assert, Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .append_memory import write_table_entry
from .protocol import ErrorCode
from .records import record_word_layout
from .storage import storage_ports

__all__ = ["WideAppendMemory"]


def _first_failure(m, failing, codes):
    """The code of the first of ``failing`` that holds (0 if none), as a signal."""
    code = Signal(3)
    for fails, value in reversed(list(zip(failing, codes, strict=True))):
        with m.If(fails):  # the last assignment wins: the first that fails decides
            m.d.comb += code.eq(value)
    return code


class WideAppendMemory(wiring.Component):
    """Append-only record store of W-byte words, a word per clock, refusal on overflow.

    Parameters
    ----------
    record_format : RecordFormat
        Capacity and mode; ``word_bytes`` above 1.
    waits : bool
        The storage is of variable latency (SDRAM): a word is taken in a clock of its
        ``ready``.

    Members
    -------
    records : In(stream.Signature(record_word_layout(word_bytes)))
        Record words; always ready (with ``waits``, ready with the storage).
    clear, count, bytes_used, refused, refusal_code, data_port, table_port
        As :class:`~.append_memory.AppendMemory`'s.
    """

    FAULTS = {"overwrite": "records land over stored ones"}
    fault = None  # see memgen.hdl.common.faults

    def __init__(self, record_format, *, waits=False):
        if record_format.word_bytes == 1:
            raise ValueError("A wide append memory needs words of more than one byte")
        self.format = record_format
        self.waits = waits
        super().__init__(
            {
                "records": In(stream.Signature(record_word_layout(record_format.word_bytes))),
                "clear": In(1),
                "count": Out(record_format.count_width),
                "bytes_used": Out(record_format.bytes_width),
                "refused": Out(1),
                "refusal_code": Out(3),
                **storage_ports(record_format, read_latency=None if waits else 1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        fmt = self.format
        width, cap, limit, slot = fmt.word_bytes, fmt.byte_capacity, fmt.max_length, fmt.alignment
        word, valid = self.records.payload, self.records.valid
        if self.waits:  # a word taken is a word the storage takes: ``valid`` means taken
            valid = valid & self.data_port.write_ready

        in_record = Signal()
        offset = Signal(range(limit + 1))  # the record's bytes stored so far
        pointer = Signal(fmt.bytes_width + 1)  # bytes_used + offset, the next word's byte
        failure = Signal(3)  # ErrorCode of the current record, 0 while it is fine
        records_full = Signal()  # count == max_records
        # The room left kept beside the counts, so the checks compare and never subtract first:
        free = Signal(range(cap + 1), init=cap)  # cap - bytes_used
        left = Signal.like(free)  # cap - pointer, while in a record
        room = Signal(range(limit + 1))  # limit - offset, while in a record

        # Each value a word needs is made twice, for a record's first word (from the counts) and
        # for a later one (from the record's registers), and ``starting`` picks last: the word's
        # flags meet a multiplexer, not the adders and comparators of 25-bit counts.
        starting = Signal()
        m.d.comb += [
            self.records.ready.eq(self.data_port.write_ready if self.waits else 1),
            starting.eq(word.first | ~in_record),
        ]

        def pick(at_start, later):
            return Mux(starting, at_start, later)

        current_offset = pick(0, offset)
        position = pick(self.bytes_used, pointer)  # where this word's first byte lands
        length = pick(word.count, offset + word.count)  # the record's bytes with this word's
        record_room = pick(limit, room)
        memory_room = pick(free, left)
        # The first of the word's bytes past the record's limit or the memory's end decides;
        # the record's limit comes first (record_room <= memory_room) exactly when limit <= free,
        # in a record as at its start, as both rooms shrink by the same bytes.
        malformed = (word.count == 0) | (word.count > width) | (~word.last & (word.count != width))
        # Flags kept beside the rooms, so the verdict reads flops (asserted in step below).
        # A word meets the memory's end only where the room is gone: the room is a whole number
        # of words in a record, and of slots at its start, and a word of more than a slot is
        # past a packed record's limit, which comes first while a slot is free.
        free_empty = Signal()  # free == 0
        left_empty = Signal()  # left == 0, while in a record
        limit_first = Signal(init=limit <= cap)  # limit <= free
        room_gone = pick(free_empty, left_empty)  # memory_room == 0
        # In a record the room keeps the limit's remainder mod W (every word stored but the last
        # is full), so it is below a word only at the record's last: there ``room == tail``.
        tail = limit % width
        room_last = Signal()  # room < width, while in a record
        too_long = ErrorCode.WRONG_SIZE if fmt.fixed else ErrorCode.TOO_LONG
        # The verdict of a record's first word and of a later one, each from flops, chosen by
        # ``starting`` last: the word's first flag meets one LUT, not the priority chain's head.
        first_word = [malformed, records_full, (word.count > limit) & limit_first, free_empty]
        later_word = [failure != 0, malformed, room_last & (word.count > tail) & limit_first,
                      left_empty]  # fmt: skip
        new_failure = pick(
            _first_failure(m, first_word, [ErrorCode.BAD_COMMAND, ErrorCode.FULL, too_long,
                                           ErrorCode.FULL]),
            _first_failure(m, later_word, [failure, ErrorCode.BAD_COMMAND, too_long,
                                           ErrorCode.FULL]),
        )  # fmt: skip
        stored = Signal()  # flat, not through the codes' priority
        m.d.comb += stored.eq(pick(~Cat(*first_word).any(), ~Cat(*later_word).any()))
        # the verdict as the rooms themselves give it, in every simulation and proof
        so_far = pick(0, failure)
        exact_limit = pick(word.count > limit, word.count > room) & (limit <= free)
        exact_end = word.count > memory_room
        exact = _first_failure(
            m,
            [so_far != 0, malformed, starting & records_full, exact_limit, exact_end],
            [so_far, ErrorCode.BAD_COMMAND, ErrorCode.FULL, too_long, ErrorCode.FULL],
        )
        m.d.sync += [
            Assert(stored == (new_failure == 0), "stored against the verdict"),
            Assert(~valid | (new_failure == exact), "the flags' verdict against the rooms'"),
        ]
        final_failure = Signal(3)
        m.d.comb += final_failure.eq(new_failure)
        complete = pick(word.count == limit, word.count == room) if fmt.fixed else 1  # at limit
        if fmt.fixed:
            with m.If(stored & word.last & ~complete):
                m.d.comb += final_failure.eq(ErrorCode.WRONG_SIZE)

        commit = Signal()
        m.d.comb += [
            self.data_port.write_enable.eq(valid & stored & ~self.clear),
            commit.eq(valid & word.last & stored & complete & ~self.clear),
        ]
        self._write_word(m, current_offset if self.fault == "overwrite" else position, word)
        if not fmt.fixed:
            write_table_entry(m, self, length, commit)

        # the refusal strobe from two flops, not a flop behind the verdict and the commit
        ended = Signal()  # a record's last word was taken last clock
        committed = Signal()  # and stored
        m.d.sync += [ended.eq(valid & word.last & ~self.clear), committed.eq(commit)]
        m.d.comb += self.refused.eq(ended & ~committed)
        with m.If(self.clear):
            m.d.sync += [
                self.count.eq(0),
                self.bytes_used.eq(0),
                free.eq(cap),
                free_empty.eq(0),
                limit_first.eq(limit <= cap),
                in_record.eq(0),
                records_full.eq(0),
            ]
        with m.Elif(valid):
            m.d.sync += [
                in_record.eq(~word.last),
                failure.eq(new_failure),
                # a stored word that is not the record's last is full: the next lands a word on
                offset.eq(Mux(stored, length, current_offset)),
                pointer.eq(Mux(stored, pick(self.bytes_used + width, pointer + width), position)),
                room.eq(Mux(stored, pick(limit - width, room - width), record_room)),
                room_last.eq(Mux(stored, pick(limit < 2 * width, room < 2 * width),
                                 pick(limit < width, room_last))),
                left.eq(Mux(stored, pick(free - width, left - width), memory_room)),
                left_empty.eq(Mux(stored, pick(free == width, left == width), room_gone)),
            ]  # fmt: skip
            with m.If(commit):
                m.d.sync += [
                    self.count.eq(self.count + 1),
                    records_full.eq(self.count == fmt.max_records - 1),
                    # the next record's start
                    self.bytes_used.eq(pick(self.bytes_used + slot, pointer + slot)),
                    free.eq(pick(free - slot, left - slot)),
                    free_empty.eq(pick(free == slot, left == slot)),
                    limit_first.eq(pick(free >= limit + slot, left >= limit + slot)),
                ]
            with m.If(word.last):  # read only with refused
                m.d.sync += self.refusal_code.eq(final_failure)
        rooms = (free, left, room)
        self._assert_counts(m, position, in_record, offset, pointer, records_full, failure, rooms)
        m.d.sync += [
            Assert(free_empty == (free == 0), "free_empty out of step"),
            Assert(~in_record | (left_empty == (left == 0)), "left_empty out of step"),
            Assert(~in_record | (room_last == (room < width)), "room_last out of step"),
            Assert(~in_record | (room % width == tail), "room off the limit"),
            Assert(limit_first == (limit <= free), "limit_first out of step"),
        ]
        return m

    def _write_word(self, m, position, word):
        """The word at byte address ``position`` written whole: the record's bytes, or a small
        record merged into its slot of an image of the word."""
        fmt, port = self.format, self.data_port
        shift, slot = fmt.word_shift, fmt.alignment
        m.d.comb += port.address.eq(position >> shift)
        if slot == fmt.word_bytes:
            m.d.comb += port.write_data.eq(word.data)
            return
        image = Signal(8 * fmt.word_bytes)
        merged = Signal.like(image)
        lane = position[:shift]
        for k in range(fmt.word_bytes):  # byte k: the record's byte k mod slot, if its slot
            start, byte = k - k % slot, word.data.word_select(k % slot, 8)
            m.d.comb += merged.word_select(k, 8).eq(Mux(lane == start, byte, image[8 * k :][:8]))
        m.d.comb += port.write_data.eq(merged)
        with m.If(port.write_enable):
            m.d.sync += image.eq(merged)

    def _assert_counts(self, m, position, in_record, offset, pointer, records_full, failure,
                       rooms):  # fmt: skip
        """Properties: every write lands at or beyond ``bytes_used`` and within the memory; a
        refusal leaves the counts as they were; the registers stay in step."""
        fmt = self.format
        free, left, room = rooms
        count_before = Signal.like(self.count)
        bytes_before = Signal.like(self.bytes_used)
        m.d.sync += [count_before.eq(self.count), bytes_before.eq(self.bytes_used)]
        kept = (self.count == count_before) & (self.bytes_used == bytes_before)
        writing = self.data_port.write_enable
        word = self.records.payload
        address = Cat(position[: fmt.word_shift], self.data_port.address)
        m.d.sync += [
            Assert(~self.refused | kept, "refused record changed the counts"),
            Assert(~writing | (address >= self.bytes_used), "write into a stored record"),
            Assert(~writing | (position + word.count <= fmt.byte_capacity),
                   "write beyond capacity"),
            Assert(self.bytes_used <= fmt.byte_capacity, "bytes_used beyond capacity"),
            Assert(self.count <= fmt.max_records, "count beyond the record capacity"),
            # invariants that make the properties inductive
            Assert(~in_record | (pointer == self.bytes_used + offset), "pointer out of step"),
            Assert(records_full == (self.count == fmt.max_records), "records_full out of step"),
            Assert(~in_record | (failure != 0) | ~records_full, "a record going on, no slot"),
            Assert(~in_record | (pointer <= fmt.byte_capacity), "pointer beyond capacity"),
            Assert(~in_record | (failure != 0) | (pointer[: fmt.word_shift] == 0),
                   "a record going on off its word"),
            Assert(self.bytes_used[: fmt.alignment.bit_length() - 1] == 0,
                   "bytes_used off the alignment"),
            Assert(free == fmt.byte_capacity - self.bytes_used, "free out of step"),
            Assert(~in_record | (left == fmt.byte_capacity - pointer), "left out of step"),
            Assert(~in_record | (room == fmt.max_length - offset), "room out of step"),
        ]  # fmt: skip
