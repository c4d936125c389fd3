"""Record storage in SDRAM: a storage port of variable latency on the SDRAM controller.

A storage word of W bytes is one burst of W / 2 sixteen-bit beats (W = 2, 4, 8 or 16), so the
core's words map onto the chip's bursts one to one. The append memory writes a packed word
once per record in it (each time the whole word, merged); writes wait in a register, a
six-word FIFO (so ``write_ready`` comes from flops) and a register that compares each word's
address with the one before, and after them a write-combining register keeps the last word
and sends it to the controller only when a write to another word comes or none does, so a run
of small records costs a burst a word, not a burst a record. A read waits (in a register of
its own) until every write before it has gone to the controller, which keeps a read behind a
write to the same place: a read always sees every write before it, and a write after a read
waits for it.

Requests reach the controller through a skid buffer (a clock of latency, no loss of rate).
Reads come back through the controller's reorder buffer in request order; the storage never
waits for the reader (the readout holds a place for each read it asks for), so the
controller's ``responses`` are always ready.
"""

from amaranth.hdl import Assert, Cat, Module, Mux, Signal
from amaranth.lib import data, fifo, wiring
from amaranth.lib.wiring import In, Out

from ..common.skid import SkidBuffer
from ..engine.storage import StorageSignature
from .sdram import SDRAMController, SDRAMPins, burst_address_width
from .sdram_model import SDRAMModel

__all__ = ["SDRAMStorage", "WORD_BYTES"]

#: Storage word sizes in bytes: bursts of 1, 2, 4 and 8 beats.
WORD_BYTES = (2, 4, 8, 16)


class SDRAMStorage(wiring.Component):
    """Words of ``word_bytes`` bytes in one SDR SDRAM chip.

    Parameters
    ----------
    word_bytes : int
        2, 4, 8 or 16.
    rows, columns, cas_latency, clock_hz, timing, lookahead
        As :class:`~.sdram.SDRAMController`'s (fewer rows: a scaled-down chip).
    model : str or None
        The chip inside, an :class:`~.sdram_model.SDRAMModel` with these ``cells`` (a simulated
        device, whose Verilog runs alone), instead of on ``pins``.

    Attributes
    ----------
    depth : int
        Words the chip holds.
    in_flight : int
        Reads the storage can hold at once (its reorder buffer's places): a reader with room
        for this many keeps it busy.

    Members
    -------
    port : In(StorageSignature(address_width, 8 * word_bytes, read_latency=None))
    pins : Out(SDRAMPins())
        Without ``model``.
    initialised : Out(1)
    """

    def __init__(self, word_bytes=16, *, rows=8192, columns=512, cas_latency=None, clock_hz=100e6,
                 timing=None, lookahead=3, model=None):  # fmt: skip
        if word_bytes not in WORD_BYTES:
            raise ValueError(f"SDRAM words are {WORD_BYTES} bytes, not {word_bytes!r}")
        self.controller = SDRAMController(
            burst_length=word_bytes // 2, cas_latency=cas_latency, clock_hz=clock_hz,
            timing=timing, rows=rows, columns=columns, lookahead=lookahead,
        )  # fmt: skip
        self.word_bytes = word_bytes
        address_width = burst_address_width(word_bytes // 2, rows, columns)
        self.depth = 1 << address_width
        self.in_flight = 1 << self.controller.tag_bits
        self.model = None
        if model is not None:
            self.model = SDRAMModel(rows=rows, columns=columns,
                                    cas_latency=self.controller.cas_latency,
                                    cells=model)  # fmt: skip
        pins = {} if model is not None else {"pins": Out(SDRAMPins())}
        super().__init__({
            "port": In(StorageSignature(address_width, 8 * word_bytes, read_latency=None)),
            **pins,
            "initialised": Out(1),
        })  # fmt: skip

    def elaborate(self, platform):
        m = Module()
        m.submodules.controller = controller = self.controller
        if self.model is None:
            wiring.connect(m, controller.pins, wiring.flipped(self.pins))
        else:
            m.submodules.chip = self.model
            wiring.connect(m, controller.pins, self.model.pins)
        # Requests reach the controller through a skid buffer: the scheduler's ``ready`` and the
        # moves of the registers below meet at its flops, not in one path across the die.
        m.submodules.request_slice = cut = SkidBuffer(controller.requests.payload.shape())
        wiring.connect(m, cut.output, controller.requests)
        port, requests = self.port, cut.input
        # Writes enter through a register into a small FIFO: the append memory's write strobe
        # ends at a flop, and ``write_ready`` is one (room for two more words, set from flops:
        # this clock's write and the next). From the FIFO a word moves to ``next``, with a flag
        # saying it is for the same word as the one before it (compared on the way, so the
        # combining below reads flops only), and then to the combining register.
        entry = data.StructLayout({"address": len(port.address), "data": len(port.write_data)})
        m.submodules.pending = pending = fifo.SyncFIFO(width=entry.size, depth=6)
        incoming, incoming_valid = Signal(entry), Signal()
        room = Signal(init=1)
        m.d.sync += [
            incoming_valid.eq(port.write_enable & room),
            incoming.eq(Cat(port.address, port.write_data)),
            room.eq(pending.level + incoming_valid + 2 <= pending.depth),
            Assert(~incoming_valid | pending.w_rdy, "SDRAM storage: a write with no room"),
        ]
        head = entry(pending.r_data)
        next_valid, next_same = Signal(), Signal()
        next_ = Signal(entry)
        last_address = Signal.like(port.address)  # the address of the word before ``next``
        held = Signal()  # a written word waits in the combining register
        held_address = Signal.like(port.address)
        held_data = Signal.like(port.write_data)
        same = next_valid & held & next_same  # ``next`` replaces the held word
        waiting = incoming_valid | pending.r_rdy | next_valid  # a write not yet in the register
        # A read enters a register as well, so the controller's request address is a flop's:
        # the shared port's address also carries the append memory's, computed late.
        asked, asked_address = Signal(), Signal.like(port.address)
        reads_ready = ~held & ~waiting & (~asked | requests.ready)  # every earlier write gone
        m.d.comb += [
            pending.w_data.eq(incoming),
            pending.w_en.eq(incoming_valid),
            port.write_ready.eq(room),
            port.read_ready.eq(reads_ready),
            # the held word goes as another comes or none does; a read when nothing waits
            requests.valid.eq(Mux(held, ~same, asked)),
            requests.payload.address.eq(Mux(held, held_address, asked_address)),
            requests.payload.write.eq(held),
            requests.payload.data.eq(held_data),
            port.read_data.eq(controller.responses.payload),
            port.read_valid.eq(controller.responses.valid),
            controller.responses.ready.eq(1),
            self.initialised.eq(controller.initialised),
        ]
        with m.If(port.read_enable & reads_ready):
            m.d.sync += [asked.eq(1), asked_address.eq(port.address)]
        with m.Elif(~held & requests.ready):
            m.d.sync += asked.eq(0)
        m.d.sync += Assert(~(held & asked), "SDRAM storage: a read and a write at once")
        gone = ~held | requests.valid & requests.ready  # the register is free this clock
        take = next_valid & ~asked & (same | gone)  # a read asked before a write goes first
        load = pending.r_rdy & (~next_valid | take)
        m.d.comb += pending.r_en.eq(load)
        with m.If(load):
            m.d.sync += [next_.eq(head), next_same.eq(head.address == last_address),
                         last_address.eq(head.address), next_valid.eq(1)]  # fmt: skip
        with m.Elif(take):
            m.d.sync += next_valid.eq(0)
        with m.If(take):
            m.d.sync += [held.eq(1), held_address.eq(next_.address), held_data.eq(next_.data)]
        with m.Elif(gone):
            m.d.sync += held.eq(0)
        return m
