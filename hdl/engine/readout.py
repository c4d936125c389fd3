"""Readout: streams the bytes of each indexed record with first/last flags.

Pipeline:

1. record lookup: the index addresses the record table (variable mode, ``table_latency``
   clocks) or is multiplied by the record size (fixed mode, one register);
2. expander: walks the record's addresses, one per clock; while it issues a record's last address
   it already loads the next record, so records follow each other with no bubble;
3. data read: the storage's read port, free-running (``read_latency`` clocks, never stalled), the
   flags travelling beside it; from a storage of variable latency (SDRAM) a read per credit it
   takes, the flags waiting in a FIFO for their word;
4. output FIFO: the words wait here for the consumer (a
   :class:`~memgen.hdl.fpga.queue.BufferedQueue`: block RAM on an iCE40 when words are wide).

Backpressure never reaches the block RAMs: the expander issues an address only against a credit,
a free FIFO slot reserved for the word (credits are returned as words leave), so every word in
flight has a place and the output's ``ready`` only moves the FIFO and the credit counter. That
keeps the stall out of the storage's clock enables, which on a large part span the die.

Words of ``word_bytes`` (W) bytes: the expander issues a record's ``ceil(length / W)`` word
addresses, the last word carrying the count of the record's bytes in it; a small fixed-size record
packed with others in a word is shifted down to the word's lowest byte on the way out.

Throughput: one word per clock (W bytes, or one record when it fits in a word) for any mix of
record lengths, 1-byte records included, as long as indices arrive one per clock (the FIFO holds
``read_latency + 4`` words, enough credits to cover the round trip). Latency from index to first
word: 3 clocks plus the table and data read latencies. No byte is dropped, duplicated or
reordered (asserted: output stable, the FIFO never written when full, credits + words in flight
+ words queued = FIFO depth).
"""

from amaranth.hdl import Assert, Cat, Const, Module, Mux, Signal
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from ..common.checks import assert_stream_stable
from ..common.pipeline import Countdown, delay_line
from ..fpga.queue import BufferedQueue
from .records import record_word_layout, table_entry_layout
from .storage import storage_ports

__all__ = ["Readout"]


def _credits(m, depth, spent, returned, name):
    """Credits for a FIFO of ``depth`` slots: one spent when a word is committed to it (taken in
    upstream), one returned when a word leaves it. Returns the count and ``count != 0`` as a
    flop (asserted equal), so spending depends on flops only."""
    count = Signal(range(depth + 1), init=depth, name=f"{name}_credits")
    available = Signal(init=1, name=f"{name}_credit_ok")
    following = Signal.like(count, name=f"{name}_credits_next")
    m.d.comb += following.eq(count - spent + returned)
    m.d.sync += [
        count.eq(following),
        available.eq(following != 0),
        Assert(available == (count != 0), f"readout {name} credit flag out of step"),
    ]
    return count, available


class Readout(wiring.Component):
    """Record bytes for a stream of record indices.

    Parameters
    ----------
    record_format : RecordFormat
    read_latency : int or None
        Clocks from ``data_port.address`` to its ``read_data`` (the storage backend's
        ``read_latency``); the readout holds ``read_enable`` high. ``None``: a storage of
        variable latency (SDRAM), asked a word per credit when it is ``read_ready``, its words
        arriving with ``read_valid``.
    in_flight : int or None
        With ``read_latency=None``: the reads the storage holds at once; the FIFO has two
        places more (so the credits keep it busy).
    table_latency : int
        The same for ``table_port`` (variable-length mode).
    late_credits : bool
        A word's credit comes back a clock after it leaves, from a flop, so the consumer's
        ``ready`` ends there and not in the credit counter (a lane's ``ready`` joins every
        lane's word across the die). The FIFO's spare slot covers the clock: still a word per
        clock.

    Members
    -------
    indices : In(stream.Signature(index_width))
        Records to read; each must be below the stored count.
    words : Out(stream.Signature(record_word_layout(word_bytes)))
        The records' words, ``first`` on a record's first word, ``last`` on its last, ``count``
        the record's bytes in the word.
    length : Out(length_width)
        Length of the record whose byte is on ``words``.
    busy : Out(1)
        Some record is still in the pipeline: an index taken in has not left as the last byte
        of its record. From flops (credit counts and the expander's flag).
    data_port : Out(StorageSignature(address_width, 8))
        Reads the record storage.
    table_port : Out(StorageSignature(index_width, entry width))
        Reads the record table (variable-length mode only).
    """

    FAULTS = {"no_credit": "the expander issues without a credit"}
    fault = None  # see memgen.hdl.common.faults

    def __init__(self, record_format, *, read_latency=1, table_latency=1, late_credits=False,
                 in_flight=None):  # fmt: skip
        if read_latency is None:
            if not isinstance(in_flight, int) or in_flight < 1:
                raise ValueError(
                    f"A storage of variable latency needs the reads it holds at once as a "
                    f"positive integer, not {in_flight!r}"
                )
        elif not isinstance(read_latency, int) or read_latency < 1:
            raise ValueError(
                f"Read latency must be a positive integer or None, not {read_latency!r}"
            )
        if not isinstance(table_latency, int) or table_latency < 1:
            raise ValueError(f"Table latency must be a positive integer, not {table_latency!r}")
        self.read_latency = read_latency
        self.in_flight = in_flight
        self.table_latency = table_latency
        self.late_credits = late_credits
        self.format = record_format
        members = {
            "indices": In(stream.Signature(record_format.index_width)),
            "words": Out(stream.Signature(record_word_layout(record_format.word_bytes))),
            "length": Out(record_format.length_width),
            "busy": Out(1),
            **storage_ports(record_format, read_latency=read_latency, table_latency=table_latency),
        }
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        fmt = self.format
        variable = self.read_latency is None
        depth = self.in_flight + 2 if variable else self.read_latency + 4
        width, shift = fmt.word_bytes, fmt.word_shift
        word_layout = data.StructLayout(
            {
                "data": 8 * width,
                "first": 1,
                "last": 1,
                "less": shift,  # count - 1
                "length": fmt.length_width,
            }
        )
        m.submodules.queue = queue = BufferedQueue(width=word_layout.size, depth=depth)
        issue = Signal()  # the expander sends an address to the storage this clock
        taken = queue.r_rdy & queue.r_en  # a word left the FIFO
        returned = taken
        if self.late_credits:  # its credit back a clock later, from a flop
            returned = Signal(name="returned")
            m.d.sync += returned.eq(taken)
        credits, credit_ok = _credits(m, depth, issue, returned, "data")
        has_credit = credit_ok if self.fault is None else 1

        # Stage 1: record lookup, free-running like the data read: an index is accepted against
        # a lookup credit (a free slot in the small FIFO of looked-up records the expander takes
        # from), so ``indices.ready`` is a flop and nothing behind it stalls the table.
        stages = 1 if fmt.fixed else self.table_latency
        lookup_depth = stages + 2
        lookup_fields = {"start": fmt.address_width, "length": fmt.length_width}  # in bytes
        if width > 1:
            lookup_fields["words"] = fmt.length_width  # ceil(length / W)
            lookup_fields["tail"] = shift  # the record's bytes in its last word, less one
        lookup_layout = data.StructLayout(lookup_fields)
        m.submodules.lookups = lookups = fifo.SyncFIFO(width=lookup_layout.size, depth=lookup_depth)
        take_1 = Signal()  # the expander takes the next looked-up record this clock
        accept = Signal()  # an index is taken in this clock
        lookup_credits, lookup_ok = _credits(m, lookup_depth, accept, take_1, "lookup")
        m.d.comb += [
            self.indices.ready.eq(lookup_ok),
            accept.eq(self.indices.valid & lookup_ok),
        ]
        in_lookup = delay_line(m, accept, stages, 1, "lookup")
        found = lookup_layout(lookups.w_data)
        if fmt.fixed:
            m.d.sync += found.start.eq(self.indices.payload * fmt.slot_bytes)
            m.d.comb += found.length.eq(fmt.record_size)
        else:
            entry = table_entry_layout(fmt)(self.table_port.read_data)
            m.d.comb += [
                self.table_port.address.eq(self.indices.payload),
                self.table_port.read_enable.eq(1),
                found.start.eq(entry.start),
                found.length.eq(entry.length),
            ]
        if width > 1:
            m.d.comb += [
                found.words.eq((found.length + width - 1) >> shift),
                found.tail.eq(found.length - 1),
            ]
        head = lookup_layout(lookups.r_data)
        start_1, length_1 = head.start, head.length
        words_1 = head.words if width > 1 else length_1
        tail_1 = head.tail if width > 1 else Const(0, 0)
        m.d.comb += [lookups.w_en.eq(in_lookup[-1]), lookups.r_en.eq(take_1)]

        # Stage 2: expander, one address per credit.
        busy_2 = Signal()
        address_2 = Signal(fmt.word_address_width)
        remaining_2 = Countdown(m, fmt.length_width, "remaining_2")  # words left
        length_2 = Signal(fmt.length_width)
        tail_2 = Signal(shift)
        lane_2 = Signal(shift)  # the record's first byte in its word (packed records)
        first_2 = Signal()
        asking = busy_2 & has_credit
        taken_2 = self.data_port.read_ready if variable else 1  # the storage takes the address
        m.d.comb += [
            issue.eq(asking & taken_2),
            take_1.eq(lookups.r_rdy & has_credit & (~busy_2 | remaining_2.at_end & taken_2)),
        ]
        with m.If(take_1):
            remaining_2.load(words_1)
            m.d.sync += [
                busy_2.eq(1),
                address_2.eq(start_1 >> shift),
                length_2.eq(length_1),
                tail_2.eq(tail_1),
                lane_2.eq(start_1[:shift]),
                first_2.eq(1),
            ]
        with m.Elif(issue):
            remaining_2.decrement()
            m.d.sync += [
                busy_2.eq(~remaining_2.at_end),
                address_2.eq(address_2 + 1),
                first_2.eq(0),
            ]

        # Stage 3: data read, free-running (or, of variable latency, a read per credit the
        # storage takes); the flags travel beside the storage's pipeline (or wait in a FIFO).
        m.d.comb += [
            self.data_port.address.eq(address_2),
            self.data_port.read_enable.eq(asking if variable else 1),
        ]
        less_2 = Signal(shift)  # the word's count of the record's bytes, less one
        m.d.comb += less_2.eq(Mux(remaining_2.at_end, tail_2, width - 1))
        flags = Cat(first_2, remaining_2.at_end, less_2, lane_2, length_2)
        arriving, in_flight, reads_out = self._beside_read(m, issue, flags, depth)
        self._output(m, queue, word_layout, arriving)

        # Busy: a credit is out (an index taken and not yet expanded, or a word issued and not
        # yet taken) or a record is being expanded. All flops: every record in the pipeline holds
        # a credit from the clock after it is taken in until the clock after it leaves (two
        # with ``late_credits``).
        accounted = credits + reads_out + queue.level
        if self.late_credits:
            accounted = accounted + returned  # a word gone, its credit not back yet
        m.d.comb += self.busy.eq((lookup_credits != lookup_depth) | (credits != depth) | busy_2)
        m.d.sync += [
            Assert(
                self.busy | ~(lookups.r_rdy | queue.r_rdy | Cat(*in_lookup, *in_flight).any()),
                "readout holds a record while not busy",
            ),
            Assert(~queue.w_en | queue.w_rdy, "readout FIFO written while full"),
            Assert(~lookups.w_en | lookups.w_rdy, "readout lookup FIFO written while full"),
            Assert(
                lookup_credits + sum(in_lookup) + lookups.level == lookup_depth,
                "readout lookup credits do not add up",
            ),
            Assert(
                accounted == depth,
                "readout credits, words in flight and queued words do not add up",
            ),
        ]
        assert_stream_stable(m, self.words, "words")
        return m

    def _beside_read(self, m, issue, flags, depth):
        """A word's flags, from the clock its read is issued to the clock it arrives: beside the
        storage's pipeline, or (of variable latency) in a FIFO with a place per credit, so the
        flags of every read asked for have room. Returns them with ``issued`` set as the word
        arrives, each stage's flag of a word in flight, and how many words are in flight."""
        fmt, shift = self.format, self.format.word_shift
        arriving = data.StructLayout(
            {
                "issued": 1,
                "first": 1,
                "last": 1,
                "less": shift,
                "lane": shift,
                "length": fmt.length_width,
            }
        )(Signal(len(flags) + 1))
        if self.read_latency is None:
            m.submodules.flags = waiting = fifo.SyncFIFO(width=len(flags), depth=depth)
            m.d.comb += [
                waiting.w_data.eq(flags),
                waiting.w_en.eq(issue),
                waiting.r_en.eq(self.data_port.read_valid),
                arriving.eq(Cat(self.data_port.read_valid, waiting.r_data)),
            ]
            m.d.sync += Assert(~self.data_port.read_valid | waiting.r_rdy,
                               "readout: a word read that it did not ask for")  # fmt: skip
            return arriving, [waiting.r_rdy], waiting.level
        in_read = delay_line(m, Cat(issue, flags), self.read_latency, 1, "flags")
        m.d.comb += arriving.eq(in_read[-1])
        in_flight = [stage[0] for stage in in_read]
        return arriving, in_flight, sum(in_flight)

    def _output(self, m, queue, word_layout, arriving):
        """Stage 4: each word read into the output FIFO with the flags that travelled beside it
        (a packed record shifted down to the lowest byte), and out on ``words``; a credit comes
        back with every word taken."""
        fmt = self.format
        read_data = self.data_port.read_data
        if fmt.fixed and fmt.record_size < fmt.word_bytes:  # packed: the record down to byte 0
            read_data = read_data >> (arriving.lane * 8)
        word = word_layout(queue.r_data)
        m.d.comb += [
            queue.w_en.eq(arriving.issued),
            queue.w_data.eq(
                Cat(
                    read_data[: 8 * fmt.word_bytes],
                    arriving.first,
                    arriving.last,
                    arriving.less,
                    arriving.length,
                )
            ),
            queue.r_en.eq(self.words.ready),
            self.words.valid.eq(queue.r_rdy),
            self.words.payload.data.eq(word.data),
            self.words.payload.first.eq(word.first),
            self.words.payload.last.eq(word.last),
            self.words.payload.count.eq(word.less + 1),
            self.length.eq(word.length),
        ]
