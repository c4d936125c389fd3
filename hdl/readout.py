"""Readout: streams the bytes of each indexed record with first/last flags.

Pipeline, advancing together whenever the output is empty or taken (``advance``):

1. record lookup: the index addresses the record table (variable mode, one-clock read) or is
   multiplied by the record size (fixed mode, one register);
2. expander: walks the record's addresses, one per clock; while it issues a record's last address
   it already loads the next record, so records follow each other with no bubble;
3. data read: the storage's read port (one clock, or the backend's ``read_latency``; held while
   stalled) and the flags beside it.

Throughput: one byte per clock for any mix of record lengths, 1-byte records included, as long as
indices arrive one per clock. Latency from index to first byte: 1 clock plus the table and data
read latencies (3 with one-clock memories). Under backpressure the whole pipeline holds, so no
byte is dropped, duplicated or reordered (asserted: output stable).
"""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .checks import assert_stream_stable
from .pipeline import delay_line
from .records import RecordWord, table_entry_layout
from .storage import storage_ports

__all__ = ["Readout"]


class Readout(wiring.Component):
    """Record bytes for a stream of record indices.

    Parameters
    ----------
    record_format : RecordFormat
    read_latency : int
        Clocks from ``data_port.read_enable`` to its ``read_data`` (the storage backend's
        ``read_latency``; every register of the backend's read pipeline must advance with
        ``read_enable`` only).
    table_latency : int
        The same for ``table_port`` (variable-length mode).

    Members
    -------
    indices : In(stream.Signature(index_width))
        Records to read; each must be below the stored count.
    words : Out(stream.Signature(RecordWord))
        The records' bytes, ``first`` on a record's first byte, ``last`` on its last.
    length : Out(length_width)
        Length of the record whose byte is on ``words``.
    busy : Out(1)
        Some record is still in the pipeline.
    data_port : Out(StorageSignature(address_width, 8))
        Reads the record storage.
    table_port : Out(StorageSignature(index_width, entry width))
        Reads the record table (variable-length mode only).
    """

    def __init__(self, record_format, *, read_latency=1, table_latency=1, fault=None):
        if fault not in (None, "unstable_data"):
            raise ValueError(f"Unknown fault {fault!r}")
        if not isinstance(read_latency, int) or read_latency < 1:
            raise ValueError(f"Read latency must be a positive integer, not {read_latency!r}")
        if not isinstance(table_latency, int) or table_latency < 1:
            raise ValueError(f"Table latency must be a positive integer, not {table_latency!r}")
        self.read_latency = read_latency
        self.table_latency = table_latency
        self._fault = fault  # test-only mutant: the data read port ignores stalls
        self.format = record_format
        members = {
            "indices": In(stream.Signature(record_format.index_width)),
            "words": Out(stream.Signature(RecordWord)),
            "length": Out(record_format.length_width),
            "busy": Out(1),
            **storage_ports(record_format),
        }
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        fmt = self.format
        advance = Signal()
        valid_3 = Signal()
        m.d.comb += advance.eq(~valid_3 | self.words.ready)

        # Stage 1: record lookup.
        valid_1 = Signal()
        take_1 = Signal()  # the expander takes stage 1's record this clock
        load_1 = Signal()  # stage 1 may load a new index this clock
        start_1 = Signal(fmt.address_width)
        length_1 = Signal(fmt.length_width)
        m.d.comb += [
            load_1.eq(~valid_1 | take_1),
            self.indices.ready.eq(load_1),
        ]
        # Variable mode: the table read takes ``table_latency`` clocks; the index's valid flag
        # travels beside it, every stage advancing with ``load_1``.
        stages = 1 if fmt.fixed else self.table_latency
        in_table = delay_line(m, self.indices.valid, stages - 1, load_1, "valid_1")
        with m.If(load_1):
            m.d.sync += valid_1.eq(in_table[-1] if in_table else self.indices.valid)
        if fmt.fixed:
            with m.If(load_1):
                m.d.sync += start_1.eq(self.indices.payload * fmt.record_size)
            m.d.comb += length_1.eq(fmt.record_size)
        else:
            entry = table_entry_layout(fmt)(self.table_port.read_data)
            m.d.comb += [
                self.table_port.address.eq(self.indices.payload),
                self.table_port.read_enable.eq(load_1),
                start_1.eq(entry.start),
                length_1.eq(entry.length),
            ]

        # Stage 2: expander.
        busy_2 = Signal()
        address_2 = Signal(fmt.address_width)
        remaining_2 = Signal(fmt.length_width)
        length_2 = Signal(fmt.length_width)
        first_2 = Signal()
        last_2 = Signal()
        m.d.comb += [
            last_2.eq(remaining_2 == 1),
            take_1.eq(valid_1 & advance & (~busy_2 | last_2)),
        ]
        with m.If(take_1):
            m.d.sync += [
                busy_2.eq(1),
                address_2.eq(start_1),
                remaining_2.eq(length_1),
                length_2.eq(length_1),
                first_2.eq(1),
            ]
        with m.Elif(advance & busy_2):
            m.d.sync += [
                busy_2.eq(~last_2),
                address_2.eq(address_2 + 1),
                remaining_2.eq(remaining_2 - 1),
                first_2.eq(0),
            ]

        # Stage 3: data read, ``read_latency`` clocks; the flags travel beside the storage's
        # pipeline, every register of which advances with ``read_enable``.
        first_3, last_3 = Signal(), Signal()
        m.d.comb += [
            self.data_port.address.eq(address_2),
            self.data_port.read_enable.eq(advance if self._fault is None else 1),
        ]
        flags = Cat(busy_2, first_2, last_2, length_2)
        in_read = delay_line(m, flags, self.read_latency - 1, advance, "flags")
        with m.If(advance):
            m.d.sync += Cat(valid_3, first_3, last_3, self.length).eq(
                in_read[-1] if in_read else flags
            )
        m.d.comb += [
            self.words.valid.eq(valid_3),
            self.words.payload.data.eq(self.data_port.read_data),
            self.words.payload.first.eq(first_3),
            self.words.payload.last.eq(last_3),
            self.busy.eq(
                valid_1 | busy_2 | valid_3 | Cat(*in_table, *(f[0] for f in in_read)).any()
            ),
        ]
        assert_stream_stable(m, self.words, "words")
        return m
