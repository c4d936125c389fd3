"""An SDR SDRAM controller: bursts in and out of the ULX3S's 16-bit SDRAM over valid/ready.

A request is one burst: ``burst_length`` words of 16 bits, a ``16 * burst_length``-bit word of
the controller, at a word address. Addresses run through a row's columns, then the four banks,
then the rows, so sequential bursts keep a row open and the next bank's row opens while the
last one's data moves. Read data comes back in request order on ``responses`` a variable
number of clocks later (the CAS latency, ``io_delay`` clocks of pin registers, and whatever
the chip's timing makes the request wait); a READ goes out only when its data has room in the
response queue, so backpressure never loses a word.

Commands, write data and DQ's output enable leave through registers, and DQ comes in through
one (``io_delay`` = 2: the chip samples a command a clock after the scheduler decides it, and
its data reaches the controller a clock after the chip drives it). DQM stays low: every write
is a whole burst. CKE stays high.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..common.pipeline import delay_line
from .sdram_commands import CommandScheduler, SDRAMTiming

__all__ = ["SDRAMController", "SDRAMPins", "SDRAMTiming", "burst_address_width"]


def burst_address_width(burst_length=8, rows=8192, columns=512):
    """Bits of a burst's address: a row's bursts, then two bank bits, then the row."""
    return (columns // burst_length).bit_length() - 1 + 2 + rows.bit_length() - 1


class SDRAMPins(wiring.Signature):
    """The controller's side of the chip's pins (amaranth-boards' ``sdram`` resource, its
    active-low controls as asserted flags, DQ split into ``dq_o``, ``dq_oe`` and ``dq_i``)."""

    def __init__(self, *, address_bits=13):
        super().__init__({
            "cs": Out(1), "ras": Out(1), "cas": Out(1), "we": Out(1), "cke": Out(1),
            "ba": Out(2), "a": Out(address_bits), "dqm": Out(2),
            "dq_o": Out(16), "dq_oe": Out(1), "dq_i": In(16),
        })  # fmt: skip


class SDRAMController(wiring.Component):
    """Bursts of ``burst_length`` 16-bit words to and from one SDR SDRAM chip.

    Parameters
    ----------
    burst_length : int
        1, 2, 4 or 8 words a request.
    cas_latency : int or None
        2 or 3 (2 needs a clock period of 10 ns or more); None: the lowest the chip keeps at
        ``clock_hz`` (2 at 100 MHz).
    clock_hz : float
    timing : SDRAMTiming or None
        The chip's times (None: the datasheet's).
    rows, columns : int
        Powers of two: 8,192 and 512 for 32 MB, 1,024 columns for 64 MB; fewer rows make a
        scaled-down chip for simulation.
    init_refreshes : int

    Members
    -------
    requests : In(stream.Signature({"address", "write", "data"}))
        A burst's word address; the data of a write.
    responses : Out(stream.Signature(16 * burst_length))
        Each read's data, in request order.
    pins : Out(SDRAMPins())
    initialised : Out(1)
        The chip is through its power-up sequence.
    """

    def __init__(self, *, burst_length=8, cas_latency=None, clock_hz=100e6, timing=None,
                 rows=8192, columns=512, init_refreshes=8, lookahead=3):  # fmt: skip
        timing = timing or SDRAMTiming()
        cas_latency = timing.cas_latency(cas_latency, clock_hz)
        for name, value in (("rows", rows), ("columns", columns)):
            if value < 2 or value & (value - 1):
                raise ValueError(f"{name.capitalize()} must be a power of two, not {value!r}")
        if columns < burst_length:
            raise ValueError(f"A row of {columns} columns holds no burst of {burst_length}")
        # a reorder buffer place for each read in the window, on its way or waiting to leave
        in_flight = lookahead + (cas_latency + 2 + burst_length) // burst_length + 2
        self.tag_bits = (in_flight - 1).bit_length()
        self.scheduler = CommandScheduler(
            burst_length=burst_length, cas_latency=cas_latency, clock_hz=clock_hz,
            timing=timing, rows=rows, columns=columns, init_refreshes=init_refreshes,
            lookahead=lookahead, tag_bits=self.tag_bits,
        )  # fmt: skip
        self.burst_length, self.cas_latency, self.io_delay = burst_length, cas_latency, 2
        self.word_bits = 16 * burst_length
        self.column_bits = (columns // burst_length).bit_length() - 1
        self.address_width = burst_address_width(burst_length, rows, columns)
        request = data.StructLayout({
            "address": self.address_width, "write": 1, "data": self.word_bits,
        })  # fmt: skip
        super().__init__({
            "requests": In(stream.Signature(request)),
            "responses": Out(stream.Signature(self.word_bits)),
            "pins": Out(SDRAMPins()),
            "initialised": Out(1),
        })  # fmt: skip

    def elaborate(self, platform):
        m = Module()
        m.submodules.scheduler = scheduler = self.scheduler
        bl, beat_bits = self.burst_length, (self.burst_length - 1).bit_length()
        address = self.requests.payload.address
        m.d.comb += [
            scheduler.requests.payload.column.eq(Cat(Const(0, beat_bits),
                                                     address[: self.column_bits])),
            scheduler.requests.payload.bank.eq(address[self.column_bits :][:2]),
            scheduler.requests.payload.row.eq(address[self.column_bits + 2 :]),
            scheduler.requests.payload.write.eq(self.requests.payload.write),
            self.initialised.eq(scheduler.initialised),
            self.pins.cke.eq(1),
        ]  # fmt: skip
        command = scheduler.command
        m.d.sync += [getattr(self.pins, name).eq(getattr(command, name))
                     for name in ("cs", "ras", "cas", "we", "ba", "a")]  # fmt: skip

        # write data, queued beside the requests: beat 0 with the WRITE, then one a clock
        depth = self.scheduler.lookahead + 1  # room for a push in the clock a full queue pops
        m.submodules.writes = writes = fifo.SyncFIFO(width=self.word_bits, depth=depth)
        m.d.comb += [
            writes.w_data.eq(self.requests.payload.data),
            writes.w_en.eq(self.requests.valid & self.requests.ready
                           & self.requests.payload.write),
            writes.r_en.eq(scheduler.writing),
        ]  # fmt: skip
        rest, beats_left = Signal(self.word_bits), Signal(range(bl))
        m.d.sync += self.pins.dq_oe.eq(0)
        with m.If(scheduler.writing):
            data_ = writes.r_data
            m.d.sync += [self.pins.dq_o.eq(data_[:16]), self.pins.dq_oe.eq(1),
                         rest.eq(data_ >> 16), beats_left.eq(bl - 1)]  # fmt: skip
        with m.Elif(beats_left != 0):
            m.d.sync += [self.pins.dq_o.eq(rest[:16]), self.pins.dq_oe.eq(1),
                         rest.eq(rest >> 16), beats_left.eq(beats_left - 1)]  # fmt: skip

        # read data: beat i of a READ decided at clock c is in ``dq`` at c + CL + 2 + i; each
        # burst lands in its tag's place in the reorder buffer, which gives them out in order
        dq = Signal(16)
        m.d.sync += dq.eq(self.pins.dq_i)
        first = self.cas_latency + self.io_delay - 1  # the history bit of beat 0
        history = delay_line(m, scheduler.reading, first + bl, 1, "read")
        tags = delay_line(m, scheduler.tag, first + bl, 1, "read_tag")
        word = Signal(self.word_bits)
        for beat in range(bl):
            with m.If(history[first + beat]):
                m.d.sync += word[16 * beat : 16 * beat + 16].eq(dq)
        slots = 1 << self.tag_bits
        m.submodules.reorder = reorder = Memory(shape=self.word_bits, depth=slots, init=[])
        landing, leaving = reorder.write_port(), reorder.read_port(domain="comb")
        arrived, head, next_tag = Signal(slots), Signal(self.tag_bits), Signal(self.tag_bits)
        outstanding = Signal(range(slots + 1))
        last = history[first + bl - 1]
        m.d.comb += [
            landing.addr.eq(tags[first + bl - 1]),
            landing.data.eq(Cat(word[: 16 * (bl - 1)], dq)),
            landing.en.eq(last),
            leaving.addr.eq(head),
            self.responses.payload.eq(leaving.data),
            self.responses.valid.eq(arrived.bit_select(head, 1)),
        ]
        taken = self.requests.valid & self.requests.ready & ~self.requests.payload.write
        given = self.responses.valid & self.responses.ready
        set_bit = Mux(last, Const(1, slots) << tags[first + bl - 1], 0)
        clear_bit = Mux(given, Const(1, slots) << head, 0)
        m.d.sync += [
            arrived.eq((arrived | set_bit) & ~clear_bit),
            head.eq(head + given),
            next_tag.eq(next_tag + taken),
            outstanding.eq(outstanding + taken - given),
        ]
        room = outstanding < slots  # each read has its place in the reorder buffer
        m.d.comb += [
            scheduler.requests.payload.tag.eq(next_tag),
            scheduler.requests.valid.eq(self.requests.valid & room),
            self.requests.ready.eq(scheduler.requests.ready & room),
        ]
        return m
