"""iCEBreaker (iCE40UP5K-SG48): records in all four SPRAM blocks, the record table in EBR.

* Clock: the 12 MHz oscillator through the PLL (SB_PLL40_PAD) to 42 MHz: VCO 12 x 56 = 672 MHz,
  divided by 2**4 (``icepll -i 12 -o 42``). The project's target is 48 MHz; the full design
  reaches it at nextpnr seed 1 and at seven of seeds 1 to 8, but 47.0 to 50.3 MHz over those
  seeds (results/boards.json), so the board runs at a clock every seed meets, and one that
  divides 6 Mbaud exactly.
* Records: 131,072 bytes in the four SB_SPRAM256KA (16K x 16 each), see
  :mod:`memgen.hdl.fpga.spram`; read a byte a clock, or (``--word-bytes 2, 4, 8``) a word of up to
  8 bytes, the four blocks side by side.
* Record table: 2,048 entries of 26 bits (17-bit start, 9-bit length) in EBR; with fixed-size
  records (``memgen build icebreaker --records fixed:K``) no table, 131,072 // K records.
* UART: the FT2232H's second channel, pins 6 (rx) and 9 (tx), 6 Mbaud (divisor 7), the fastest
  rate the FT2232H makes exactly (12 MHz / 2) that 42 MHz divides; its next, 12 Mbaud, needs a
  clock of 48 MHz, which not every seed meets.
"""

from amaranth.hdl import Instance, Signal
from amaranth_boards.icebreaker import ICEBreakerPlatform
from memgen.hdl.engine.records import RecordFormat, table_entry_layout
from memgen.hdl.engine.storage import LibMemoryStorage, RegisteredWrites
from memgen.hdl.fpga.spram import SPRAMStorage

from .board import Board

__all__ = ["ICEBREAKER"]


def _pll(m, platform):
    clk12 = platform.request("clk12", dir="-")
    clock, locked = Signal(), Signal()
    m.submodules.pll = Instance(
        "SB_PLL40_PAD",
        p_FEEDBACK_PATH="SIMPLE",
        p_DIVR=0,
        p_DIVF=55,
        p_DIVQ=4,
        p_FILTER_RANGE=1,
        i_PACKAGEPIN=clk12.io,
        i_RESETB=1,
        i_BYPASS=0,
        o_PLLOUTGLOBAL=clock,
        o_LOCK=locked,
    )
    return clock, locked


def _data_storage(record_format, primitive, read_ports):
    assert read_ports == 1  # one lane: an SPRAM has one port
    spram = SPRAMStorage(4, primitive=primitive, word_bytes=record_format.word_bytes)
    return RegisteredWrites(spram)


def _table_storage(record_format, primitive):
    entry = table_entry_layout(record_format).size
    return RegisteredWrites(LibMemoryStorage(record_format.max_records, entry))


ICEBREAKER = Board(
    name="icebreaker",
    title="iCEBreaker (iCE40UP5K)",
    platform=ICEBreakerPlatform,
    part={"ICESTORM_LC": 5280, "ICESTORM_RAM": 30, "ICESTORM_SPRAM": 4, "ICESTORM_DSP": 8},
    clock_hz=42_000_000,
    record_format=RecordFormat(131072, max_records=2048, max_length=504),
    uart="FT2232H channel B: rx pin 6, tx pin 9",
    memory="records in 4 SPRAM (128 KiB)",
    record_table="record table in EBR",
    pll=_pll,
    data_storage=_data_storage,
    table_storage=_table_storage,
    targets={"fmax_hz": 48_000_000},
    baud=6_000_000,
    word_widths=(1, 2, 4, 8),  # 8: the four SPRAMs side by side
    programmer=(("iceprog", ()), ("openFPGALoader", ("-b", "ice40_generic"))),
    bitstream="bin",
)
