"""Associative recall: the Hamming distance of every stored record to a query, and the nearest.

:class:`Matcher` watches the bytes of fixed-size records go by, one per clock, in index order (the
core feeds it a recitation). For each byte it adds ``popcount((byte ^ query) & mask)`` to the
record's distance, and at the record's last byte inserts (index, distance) into a sorted list of
the :data:`MAX_K` nearest so far. A record displaces an entry only when strictly nearer, and
records arrive by increasing index, so ties keep the lowest index. The query and the mask (1 bits
are compared, 0 bits ignored: an incomplete pattern) sit in two block RAMs of ``record_size``
bytes, written before the scan.

Pipeline, one byte per clock, nothing stalls it (``words.ready`` is always 1):

1. the byte is registered with its position in the record;
2. the position addresses the query and mask RAMs (synchronous read); the byte waits a clock;
3. the bits that differ where the mask is 1 are registered;
4. their popcount is added to the record's running distance;
5. at the record's last byte, the (index, distance) candidate enters the sorted list.

``busy`` is high while any stage holds a byte, so the core knows when the list is final.
"""

from amaranth.hdl import Assert, Module, Signal
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .protocol import MAX_RECALL_K as MAX_K
from .records import RecordWord

__all__ = ["MAX_K", "Matcher", "match_layout"]


def match_layout(record_format):
    """One entry of the list: the record's index and its distance (bits that differ)."""
    return data.StructLayout(
        {
            "index": record_format.index_width,
            "distance": (8 * record_format.record_size).bit_length(),
            "valid": 1,
        }
    )


class Matcher(wiring.Component):
    """The :data:`MAX_K` records nearest a query, in order.

    Parameters
    ----------
    record_format : RecordFormat
        Fixed-size mode.

    Members
    -------
    query : In(QueryWrite)
        Writes of the query (``mask=0``) and the mask (``mask=1``), byte ``address`` of the
        record. Only while not busy.
    clear : In(1)
        Empties the list and restarts the index at 0 (a new scan). Only while not busy.
    words : In(stream.Signature(RecordWord))
        The records, each from its first byte to its last, index 0 first. Always ready.
    matches : Out(ArrayLayout(match_layout, MAX_K))
        Nearest first; ``valid`` entries first, then empty ones.
    busy : Out(1)
        A byte is in the pipeline.
    """

    FAULTS = {"ties": "a tie displaces the earlier record"}
    fault = None  # see memgen.hdl.common.faults

    def __init__(self, record_format):
        if not record_format.fixed:
            raise ValueError("Recall needs fixed-size records")
        self.format = record_format
        size = record_format.record_size
        query_write = data.StructLayout({"enable": 1, "mask": 1, "address": range(size), "data": 8})
        super().__init__(
            {
                "query": In(query_write),
                "clear": In(1),
                "words": In(stream.Signature(RecordWord)),
                "matches": Out(data.ArrayLayout(match_layout(record_format), MAX_K)),
                "busy": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        fmt = self.format
        size = fmt.record_size
        entry = match_layout(fmt)
        distance_width = (8 * size).bit_length()

        m.submodules.query_ram = query_ram = memory.Memory(shape=8, depth=size, init=[])
        m.submodules.mask_ram = mask_ram = memory.Memory(shape=8, depth=size, init=[])
        for ram, selected in ((query_ram, ~self.query.mask), (mask_ram, self.query.mask)):
            port = ram.write_port()
            m.d.comb += [
                port.addr.eq(self.query.address),
                port.data.eq(self.query.data),
                port.en.eq(self.query.enable & selected),
            ]

        m.d.comb += self.words.ready.eq(1)
        taken = self.words.valid
        word = self.words.payload

        # Stage 1: the byte and its position.
        position = Signal(range(size))  # of the next byte to arrive
        s1_valid, s1_last, s1_data = Signal(), Signal(), Signal(8)
        s1_position = Signal(range(size))
        m.d.sync += s1_valid.eq(taken)
        with m.If(taken):
            m.d.sync += [
                s1_data.eq(word.data),
                s1_last.eq(word.last),
                s1_position.eq(position),
                position.eq(0),
            ]
            with m.If(~word.last):
                m.d.sync += position.eq(position + 1)
        m.d.sync += Assert(~taken | (word.first == (position == 0)), "byte out of its record")

        # Stage 2: the query and mask bytes at that position are read.
        query_read = query_ram.read_port()
        mask_read = mask_ram.read_port()
        m.d.comb += [query_read.addr.eq(s1_position), mask_read.addr.eq(s1_position)]
        s2_valid, s2_last, s2_data = Signal(), Signal(), Signal(8)
        m.d.sync += [s2_valid.eq(s1_valid), s2_last.eq(s1_last), s2_data.eq(s1_data)]

        # Stage 3: the bits that differ where the mask is 1. Registered: a block RAM's read data
        # arrives late in the clock, and with the popcount and the addition behind it this was
        # the slowest path of a fixed-size iCEBreaker build.
        s3_valid, s3_last, s3_differing = Signal(), Signal(), Signal(8)
        m.d.sync += [
            s3_valid.eq(s2_valid),
            s3_last.eq(s2_last),
            s3_differing.eq((s2_data ^ query_read.data) & mask_read.data),
        ]

        # Stage 4: the record's distance so far.
        bits = sum(s3_differing[i] for i in range(8))
        running = Signal(distance_width)  # of the current record, before this byte
        total = Signal(distance_width)
        m.d.comb += total.eq(running + bits)
        index = Signal(fmt.index_width)  # of the current record
        s4_valid, s4_distance, s4_index = Signal(), Signal(distance_width), Signal(fmt.index_width)
        m.d.sync += s4_valid.eq(s3_valid & s3_last)
        with m.If(s3_valid):
            m.d.sync += running.eq(total)
            with m.If(s3_last):
                m.d.sync += [
                    running.eq(0),
                    s4_distance.eq(total),
                    s4_index.eq(index),
                    index.eq(index + 1),
                ]

        # Stage 5: insertion into the sorted list.
        matches = Signal(data.ArrayLayout(entry, MAX_K))
        m.d.comb += self.matches.eq(matches)
        # Strictly nearer, so ties keep the earlier record (the "ties" fault lets them displace it).
        tie_displaces = self.fault == "ties"
        nearer = [
            ~matches[i].valid
            | (s4_distance < matches[i].distance)
            | (tie_displaces & (s4_distance == matches[i].distance))
            for i in range(MAX_K)
        ]
        candidate = Signal(entry)
        m.d.comb += [
            candidate.index.eq(s4_index),
            candidate.distance.eq(s4_distance),
            candidate.valid.eq(1),
        ]
        with m.If(s4_valid):
            for i in range(MAX_K):
                with m.If(nearer[i]):
                    if i == 0:
                        m.d.sync += matches[i].eq(candidate)
                    else:
                        with m.If(nearer[i - 1]):
                            m.d.sync += matches[i].eq(matches[i - 1])
                        with m.Else():
                            m.d.sync += matches[i].eq(candidate)
        with m.If(self.clear):
            m.d.sync += [matches.eq(0), index.eq(0), running.eq(0), position.eq(0)]

        m.d.comb += self.busy.eq(s1_valid | s2_valid | s3_valid | s4_valid)
        m.d.sync += Assert(~self.clear | ~self.busy, "matcher cleared while busy")
        for i in range(MAX_K - 1):
            a, b = matches[i], matches[i + 1]
            m.d.sync += Assert(
                ~b.valid
                | (
                    a.valid
                    & (
                        (a.distance < b.distance)
                        | ((a.distance == b.distance) & (a.index < b.index))
                    )
                ),
                "match list out of order",
            )
        return m
