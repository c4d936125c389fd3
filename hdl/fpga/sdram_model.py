"""A functional SDR SDRAM in gateware, for simulators that run the design's Verilog alone.

The simulated devices compiled by Verilator (``memgen ... --board ulx3s-85f --memory sdram``)
have no Python beside them to play the chip model that judges the controller
(``sim/harness/sdram_chip.py``), so the chip they talk to is this one: it stores and returns
words as the datasheet's commands say (ACTIVE opens a row, READ and WRITE move a burst of the
mode register's length, the read data ``cas_latency`` clocks after the READ) and checks no
timing rule; the controller's timing is judged by the Python model in the tests. The tests run
both side by side on one controller and compare every word the two return.

Cycle convention, the Python model's: the pins are sampled at each clock edge, and what the
chip drives until the next edge is on ``dq_i`` after it (beat 0 of a READ sampled at edge n is
there from edge n + CL - 1).
"""

from types import SimpleNamespace

from amaranth.hdl import Cat, ClockSignal, Instance, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In

from .sdram import SDRAMPins

__all__ = ["CELLS", "CELLS_MODULE", "CELLS_VERILOG", "SDRAMModel"]

#: Where the model keeps its words (see :class:`SDRAMModel`).
CELLS = ("memory", "verilog")
CELLS_MODULE = "memgen_sdram_cells"
#: The words of ``cells="verilog"``: no initial contents (a word read before it is written is
#: whatever the simulator starts with; the device reads only what it wrote).
CELLS_VERILOG = f"""
module {CELLS_MODULE} #(parameter DEPTH = 1, parameter BITS = 1) (
    input clk,
    input [BITS-1:0] write_address, input [15:0] write_data, input write_enable,
    input [BITS-1:0] read_address, output [15:0] read_data
);
    reg [15:0] words [0:DEPTH-1];
    always @(posedge clk) if (write_enable) words[write_address] <= write_data;
    assign read_data = words[read_address];
endmodule
"""


class SDRAMModel(wiring.Component):
    """``4 x rows x columns`` words of 16 bits behind the controller's pins.

    Parameters
    ----------
    rows, columns : int
        Powers of two (8,192 and 512: 32 MiB).
    cas_latency : int
        2 or 3: fixed here (the read path's depth); the mode register's burst length is used.
    cells : str
        ``"memory"``: the words in a ``lib.memory`` (the Amaranth simulator); ``"verilog"``: in
        an instance of ``memgen_sdram_cells``, whose Verilog is :data:`CELLS_VERILOG` (a
        Verilator device: Amaranth writes every word of a memory's initial contents, hundreds
        of megabytes for 32 MiB, so the array is declared in Verilog instead).

    Members
    -------
    pins : In(SDRAMPins())
        The controller's pins, seen from the chip.
    """

    def __init__(self, *, rows=8192, columns=512, cas_latency=2, cells="memory"):
        if cas_latency not in (2, 3):
            raise ValueError(f"CAS latency must be 2 or 3, not {cas_latency!r}")
        if cells not in CELLS:
            raise ValueError(f"Cells must be one of {CELLS}, not {cells!r}")
        self.rows, self.columns, self.cas_latency = rows, columns, cas_latency
        self.cells = cells
        self.column_bits = (columns - 1).bit_length()
        super().__init__({"pins": In(SDRAMPins())})

    def elaborate(self, platform):
        m = Module()
        pins, column_bits = self.pins, self.column_bits
        write, read = self._cells(m, 4 * self.rows * self.columns)

        command = Cat(pins.we, pins.cas, pins.ras)  # asserted flags, as on the datasheet's table
        selected = pins.cs & pins.cke
        activate = selected & (command == 0b100)
        reading = selected & (command == 0b010)
        writing = selected & (command == 0b011)
        load_mode = selected & (command == 0b111)

        rows = [Signal(range(self.rows), name=f"open_row{bank}") for bank in range(4)]
        length = Signal(4, init=1)  # the mode register's burst length, 1 to 8
        with m.If(load_mode):
            m.d.sync += length.eq(1 << pins.a[:3])
        for bank, row in enumerate(rows):
            with m.If(activate & (pins.ba == bank)):
                m.d.sync += row.eq(pins.a)
        open_row = Signal(range(self.rows))
        m.d.comb += open_row.eq(Mux(pins.ba[1], Mux(pins.ba[0], rows[3], rows[2]),
                                    Mux(pins.ba[0], rows[1], rows[0])))  # fmt: skip

        # A burst: its bank, row and next column, and the beats still to move (after the first).
        bank, row = Signal(2), Signal(range(self.rows))
        column, left, burst_writes = Signal(column_bits), Signal(4), Signal()
        here = Cat(pins.a[:column_bits], open_row, pins.ba)  # the command's word
        burst = Cat(column, row, bank)  # the burst's next word
        with m.If(reading | writing):
            m.d.sync += [bank.eq(pins.ba), row.eq(open_row), column.eq(pins.a[:column_bits] + 1),
                         left.eq(length - 1), burst_writes.eq(writing)]  # fmt: skip
        with m.Elif(left != 0):
            m.d.sync += [column.eq(column + 1), left.eq(left - 1)]
        m.d.comb += [
            write.addr.eq(Mux(writing, here, burst)),
            write.data.eq(pins.dq_o),
            write.en.eq(writing | (left != 0) & burst_writes),
            read.addr.eq(Mux(reading, here, burst)),
        ]
        # a word read at edge n (READ or burst) is on DQ from edge n + CL - 1 to the next
        driving, data = Signal(), Signal(16)
        m.d.sync += [driving.eq(reading | (left != 0) & ~burst_writes), data.eq(read.data)]
        for _ in range(self.cas_latency - 1):
            later, held = Signal(), Signal(16)
            m.d.sync += [later.eq(driving), held.eq(data)]
            driving, data = later, held
        m.d.comb += pins.dq_i.eq(Mux(driving, data, 0))
        return m

    def _cells(self, m, depth):
        """The words: a write port and a combinational read port (``addr``, ``data``, ``en``)."""
        if self.cells == "memory":
            m.submodules.cells = cells = Memory(shape=16, depth=depth, init=[])
            return cells.write_port(), cells.read_port(domain="comb")
        bits = (depth - 1).bit_length()
        write = SimpleNamespace(addr=Signal(bits), data=Signal(16), en=Signal())
        read = SimpleNamespace(addr=Signal(bits), data=Signal(16))
        m.submodules.cells = Instance(
            CELLS_MODULE, p_DEPTH=depth, p_BITS=bits, i_clk=ClockSignal(),
            i_write_address=write.addr, i_write_data=write.data, i_write_enable=write.en,
            i_read_address=read.addr, o_read_data=read.data,
        )  # fmt: skip
        return write, read
