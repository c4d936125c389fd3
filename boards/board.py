"""What a board module provides: :class:`Board`, one description per board.

A board says what it uses: its platform (from amaranth-boards), the clock the design runs at and
how the PLL makes it, the record format (capacity in bytes and records) and the storage backends
that hold it, the UART pins and line rate, and the targets its build must meet. Adding a board is
one new module that defines a :class:`Board` and lists it in :mod:`memgen.boards`.

A board is described with variable-length records (a record table beside the data).
:meth:`Board.with_record_size` gives the same board with fixed-size records: the same memory holds
only data, and RECALL, which needs fixed-size records, works on it.
"""

from dataclasses import dataclass, field, replace
from functools import partial

from amaranth.hdl import ClockDomain, Elaboratable, Module
from amaranth.lib import io
from amaranth.lib.cdc import ResetSynchronizer
from memgen.hdl.engine.records import RecordFormat
from memgen.hdl.fpga.sdram_storage import WORD_BYTES, SDRAMStorage
from memgen.hdl.link.protocol import BAUD, MAX_LINK_RECORD
from memgen.hdl.link.top import MemGenTop

__all__ = ["MEMORIES", "Board", "BoardTop", "board_clock"]

#: Where a board build keeps its records (:meth:`Board.with_memory`).
MEMORIES = ("bram", "sdram")


def _sdram_storage(clock_hz, size, cells, record_format, primitive, read_ports):
    """The records' backend in an SDRAM chip of ``size`` MiB: 32 MiB is 8,192 rows of 512
    columns in each of four banks, 64 MiB rows of 1,024 (the x16 parts ULX3S boards carry).
    With ``primitive=False`` (simulation models) the chip is a model inside the backend, its
    words in ``cells`` (see :class:`~memgen.hdl.fpga.sdram_model.SDRAMModel`)."""
    columns = 512 * size // 32
    return SDRAMStorage(record_format.word_bytes, rows=8192, columns=columns, clock_hz=clock_hz,
                        model=cells if primitive is False else None)  # fmt: skip


@dataclass(frozen=True)
class Board:
    """One board.

    Attributes
    ----------
    name : str
        As ``memgen build NAME`` takes it.
    title : str
    platform : type
        An amaranth-boards platform class.
    part : dict
        Resources of the FPGA, by nextpnr cell type (``{"ICESTORM_LC": 5280, ...}``).
    clock_hz : int
        The clock the bitstream runs at, made by ``pll`` from the board's oscillator; a build
        that does not reach it fails.
    record_format : RecordFormat
        Variable-length records as the board is described; see :meth:`with_record_size`.
    uart : str
        Which pins carry the UART (for the README and ``memgen build``).
    memory : str
        Where the records live.
    record_table : str
        Where the record table lives (variable-length records only).
    targets : dict
        ``fmax_hz``: the project's Fmax target for the full design (reported as met or not;
        ``clock_hz`` may sit below it while the design does not reach it).
    baud : int
    programmer : tuple
        Commands ``memgen program`` tries, in order: (tool, arguments before the bitstream).
    frame_buffer : callable or None
        ``frame_buffer(primitive)``: the link's frame buffer memory for this part (see
        :class:`~memgen.hdl.link.frame_buffer.FrameBuffer`); None for ``lib.memory``.
    word_widths : tuple
        The storage word sizes in bytes its memory builds (see :meth:`with_word_bytes`).
    lane_counts : tuple
        The sample lanes its memory builds (see :meth:`with_lanes`).
    read_ports : int
        The read ports of each copy of the records (2 on dual-port block RAM): lanes up to this
        many share a copy.
    usb : callable or None
        ``usb(m, platform, clock)``: the board's USB pins for LUNA's gateware PHY, after making
        the ``usb`` (12 MHz) and ``usb_io`` (48 MHz) domains from the design clock. None: the
        board has no USB port the FPGA drives.
    usb_link : bool
        The device answers on USB too, beside the UART (see :meth:`with_usb`); a board's
        default build has it where its USB is the faster link.
    spread_nextpnr_options : tuple
        Extra nextpnr arguments for its builds that spread over the die: more than one lane,
        or records in SDRAM (see :attr:`nextpnr_options`).
    sdram : callable or None
        ``sdram(m, platform, storage)``: the board's SDRAM pins on the
        :class:`~memgen.hdl.fpga.sdram_storage.SDRAMStorage` ``storage``, and the chip's clock.
        None: no SDRAM.
    sdram_sizes : tuple
        The SDRAM chip sizes the board is made with, in MiB (the first its usual one).
    sdram_records : int
        Variable-length records a build with its records in SDRAM holds (the record table
        stays in block RAM).
    sdram_size : int
        The MiB of SDRAM this build keeps its records in; 0: block RAM (see
        :meth:`with_memory`).
    """

    name: str
    title: str
    platform: type
    part: dict
    clock_hz: int
    record_format: RecordFormat
    uart: str
    memory: str
    record_table: str
    pll: object  # callable(m, platform) -> (clock signal, locked signal)
    data_storage: object  # callable(record_format, primitive, read_ports) -> the records' backend
    table_storage: object  # callable(record_format, primitive) -> the record table's backend
    targets: dict = field(default_factory=dict)
    baud: int = BAUD
    programmer: tuple = ()
    bitstream: str = "bit"
    frame_buffer: object = None
    word_widths: tuple = (1,)
    lane_counts: tuple = (1,)
    read_ports: int = 1
    usb: object = None
    usb_link: bool = False
    spread_nextpnr_options: tuple = ()
    sdram: object = None
    sdram_sizes: tuple = ()
    sdram_records: int = 0
    sdram_size: int = 0

    @property
    def nextpnr_options(self):
        """Extra nextpnr arguments for this build (where it has lanes or SDRAM)."""
        spread = self.record_format.lanes > 1 or self.sdram_size
        return self.spread_nextpnr_options if spread else ()

    @property
    def memory_use(self):
        """What holds the records, in words (for reports)."""
        fmt = self.record_format
        if fmt.fixed:
            size = f"{fmt.record_size} byte" + ("s" if fmt.record_size > 1 else "")
            return f"{self.memory}, fixed-size records of {size}, no record table"
        return f"{self.memory}, {self.record_table}"

    def with_record_size(self, record_size):
        """This board with fixed-size records of ``record_size`` bytes (1 to the link's limit)
        in the same memory: ``byte_capacity // record_size`` records, no record table."""
        if not isinstance(record_size, int) or not 1 <= record_size <= MAX_LINK_RECORD:
            raise ValueError(
                f"Record size must be 1 to {MAX_LINK_RECORD} bytes, not {record_size!r}"
            )
        fmt = self.record_format
        fixed = RecordFormat(
            fmt.byte_capacity, record_size=record_size, word_bytes=fmt.word_bytes, lanes=fmt.lanes
        )
        return replace(self, record_format=fixed)

    def for_records(self, record_size=None):
        """This board's default build for a records mode: as described for variable-length
        records (``record_size=None``), its words of the board's width; for fixed-size records of
        ``record_size`` bytes, in the smallest word of its widths that holds a record (a record a
        clock, no more padding than the board's own word would cost, and a narrower datapath)."""
        if record_size is None:
            return self
        own = self.record_format.word_bytes
        self.with_record_size(record_size)  # a size it refuses, refused first
        slot = 1 << (record_size - 1).bit_length()  # a record's slot when packed in a word
        width = min((width for width in self.word_widths if width >= slot), default=own)
        return self.with_word_bytes(min(width, own)).with_record_size(record_size)

    def with_word_bytes(self, word_bytes):
        """This board with its memory in words of ``word_bytes`` bytes (one of ``word_widths``):
        the same bytes, read a word per clock, each record starting on a word."""
        if word_bytes not in self.word_widths:
            widths = ", ".join(map(str, self.word_widths))
            raise ValueError(f"{self.name} builds words of {widths} bytes, not {word_bytes!r}")
        return replace(self, record_format=replace(self.record_format, word_bytes=word_bytes))

    @property
    def copies(self):
        """The copies of the records its lanes read: one per ``read_ports`` lanes."""
        return self._copies_for(self.record_format.lanes)

    def _copies_for(self, lanes):
        return -(-lanes // self.read_ports)

    def with_lanes(self, lanes):
        """This board with ``lanes`` sample lanes (one of ``lane_counts``), ``read_ports`` of
        them reading each copy of the records: the capacity is the memory's divided by the
        number of copies. Needs fixed-size records of at most a word (:meth:`with_record_size`,
        :meth:`with_word_bytes`)."""
        if lanes not in self.lane_counts:
            counts = ", ".join(map(str, self.lane_counts))
            counts = f"{counts} lanes" if len(self.lane_counts) > 1 else "one lane only"
            raise ValueError(f"{self.name} builds {counts}, not {lanes!r}")
        fmt = self.record_format
        if lanes == fmt.lanes:
            return self
        if fmt.lanes != 1:
            raise ValueError("the lanes are already set")
        if not fmt.fixed or fmt.record_size > fmt.word_bytes:
            raise ValueError(
                f"lanes need fixed-size records of at most a word ({fmt.word_bytes} byte"
                + ("s)" if fmt.word_bytes > 1 else ")")
            )
        copy = fmt.byte_capacity // self._copies_for(lanes)
        copy -= copy % fmt.word_bytes
        return replace(
            self, record_format=replace(fmt, byte_capacity=copy, max_records=None, lanes=lanes)
        )

    def with_memory(self, memory, size=None):
        """This board with its records in ``memory``: ``"bram"`` (block RAM, as described) or
        ``"sdram"``, the SDRAM chip of ``size`` MiB (one of ``sdram_sizes``; None: the first)
        in 16-byte words (a burst of eight), its record table (variable-length records) in
        block RAM. Call before :meth:`with_record_size` and the others."""
        if memory not in MEMORIES:
            raise ValueError(f"Memory must be one of {MEMORIES}, not {memory!r}")
        if memory == "bram":
            if size is not None:
                raise ValueError("a size is for SDRAM; block RAM is the board's own")
            return self
        if self.sdram is None:
            raise ValueError(f"{self.name} has no SDRAM")
        size = self.sdram_sizes[0] if size is None else size
        if size not in self.sdram_sizes:
            sizes = " or ".join(map(str, self.sdram_sizes))
            raise ValueError(f"{self.name}'s SDRAM is {sizes} MiB, not {size!r}")
        fmt = self.record_format
        return replace(
            self,
            record_format=RecordFormat(size << 20, max_records=self.sdram_records,
                                       max_length=fmt.max_length, word_bytes=16),
            memory=f"records in SDRAM ({size} MiB)",
            data_storage=partial(_sdram_storage, self.clock_hz, size, "memory"),
            word_widths=WORD_BYTES,
            lane_counts=(1,),
            read_ports=1,
            sdram_size=size,
        )  # fmt: skip

    def for_verilator(self):
        """This board as a Verilator device simulates it: with its records in SDRAM, the chip
        model's words declared in Verilog (a ``lib.memory`` of 32 MiB is too large to convert)."""
        if not self.sdram_size:
            return self
        cells = partial(_sdram_storage, self.clock_hz, self.sdram_size, "verilog")
        return replace(self, data_storage=cells)

    def with_usb(self, on=True):
        """This board answering on its USB port (full speed, CDC-ACM) as well as its UART, or
        (``on=False``) on its UART only."""
        if on and self.usb is None:
            raise ValueError(f"{self.name} has no USB port the FPGA drives")
        return replace(self, usb_link=on)

    def storage_backends(self, primitive=None):
        """``data_storage`` and, for variable-length records, ``table_storage``: this board's
        backends for its record format; ``primitive=False`` puts simulation models in place of
        vendor primitives."""
        fmt = self.record_format
        ports = min(fmt.lanes, self.read_ports)
        copies = [self.data_storage(fmt, primitive, ports) for _ in range(self.copies)]
        backends = {"data_storage": copies[0] if fmt.lanes == 1 else copies}
        if not fmt.fixed:
            backends["table_storage"] = self.table_storage(fmt, primitive)
        return backends

    def device_arguments(self, primitive=None):
        """:class:`~memgen.hdl.link.top.LinkDevice` keywords for this board: its storage backends
        and its frame buffer."""
        arguments = self.storage_backends(primitive)
        if self.frame_buffer is not None:
            arguments["frame_buffer"] = self.frame_buffer(primitive)
        return arguments

    def device(self, *, primitive=None, arguments=None, **kwargs):
        """The device as it runs on this board (UART pins, :meth:`device_arguments`, or
        ``arguments`` made by it already: a top level that wires the SDRAM's pins holds its
        backend)."""
        if arguments is None:
            arguments = self.device_arguments(primitive)
        return MemGenTop(self.record_format, self.clock_hz, self.baud, **{**arguments, **kwargs})

    def top(self):
        """The design to build: PLL, reset held until the PLL locks, the device on the UART."""
        return BoardTop(self)


def board_clock(m, board, platform):
    """The ``sync`` domain of a board's design: its PLL's clock, held in reset until the PLL
    locks. (No constraint on the clock: nextpnr derives it from the PLL and the oscillator's.)
    Returns the clock."""
    clock, locked = board.pll(m, platform)
    m.domains.sync = sync = ClockDomain("sync")
    m.d.comb += sync.clk.eq(clock)
    m.submodules.reset = ResetSynchronizer(~locked, domain="sync")
    return clock


class BoardTop(Elaboratable):
    def __init__(self, board):
        self.board = board

    def elaborate(self, platform):
        m = Module()
        board = self.board
        clock = board_clock(m, board, platform)
        uart = platform.request("uart", 0, dir="-")
        m.submodules.rx_buffer = rx = io.Buffer("i", uart.rx)
        m.submodules.tx_buffer = tx = io.Buffer("o", uart.tx)
        usb = {"usb": board.usb(m, platform, clock)} if board.usb_link else {}
        arguments = board.device_arguments()
        if board.sdram_size:
            board.sdram(m, platform, arguments["data_storage"])
        m.submodules.device = device = board.device(arguments=arguments, **usb)
        m.d.comb += [device.rx.eq(rx.i), tx.o.eq(device.tx)]
        return m
