"""What a board module provides: :class:`Board`, one description per board.

A board says what it uses: its platform (from amaranth-boards), the clock the design runs at and
how the PLL makes it, the record format (capacity in bytes and records) and the storage backends
that hold it, the UART pins and line rate, and the targets its build must meet. Adding a board is
one new module that defines a :class:`Board` and lists it in :mod:`memgen.boards`.
"""

from dataclasses import dataclass, field

from amaranth.hdl import ClockDomain, Elaboratable, Module
from amaranth.lib import io
from amaranth.lib.cdc import ResetSynchronizer
from memgen.hdl.records import RecordFormat
from memgen.hdl.top import DEFAULT_BAUD, MemGenTop

__all__ = ["Board", "BoardTop"]


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
    uart : str
        Which pins carry the UART (for the README and ``memgen build``).
    memory : str
        Where records and the record table live.
    targets : dict
        ``fmax_hz``: the project's Fmax target for the full design (reported as met or not;
        ``clock_hz`` may sit below it while the design does not reach it).
    baud : int
    programmer : tuple
        Commands ``memgen program`` tries, in order: (tool, arguments before the bitstream).
    """

    name: str
    title: str
    platform: type
    part: dict
    clock_hz: int
    record_format: RecordFormat
    uart: str
    memory: str
    pll: object  # callable(m, platform) -> (clock signal, locked signal)
    storage: object  # callable(record_format, primitive) -> dict of data_storage, table_storage
    targets: dict = field(default_factory=dict)
    baud: int = DEFAULT_BAUD
    programmer: tuple = ()
    bitstream: str = "bit"

    def device(self, *, primitive=None, **kwargs):
        """The device as it runs on this board (UART pins, this board's memory backends);
        ``primitive=False`` puts simulation models in place of vendor primitives."""
        return MemGenTop(
            self.record_format,
            self.clock_hz,
            self.baud,
            **self.storage(self.record_format, primitive),
            **kwargs,
        )

    def top(self):
        """The design to build: PLL, reset held until the PLL locks, the device on the UART."""
        return BoardTop(self)


class BoardTop(Elaboratable):
    def __init__(self, board):
        self.board = board

    def elaborate(self, platform):
        m = Module()
        board = self.board
        clock, locked = board.pll(m, platform)
        m.domains.sync = sync = ClockDomain("sync")
        m.d.comb += sync.clk.eq(clock)
        m.submodules.reset = ResetSynchronizer(~locked, domain="sync")
        # (no constraint on ``clock``: nextpnr derives it from the PLL and the oscillator's)
        uart = platform.request("uart", 0, dir="-")
        m.submodules.rx_buffer = rx = io.Buffer("i", uart.rx)
        m.submodules.tx_buffer = tx = io.Buffer("o", uart.tx)
        m.submodules.device = device = board.device()
        m.d.comb += [device.rx.eq(rx.i), tx.o.eq(device.tx)]
        return m
