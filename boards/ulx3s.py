"""ULX3S with the ECP5 LFE5U-85F: records and the record table in DP16KD block RAM.

* Clock: the 25 MHz oscillator through the PLL (EHXPLLL) to 100 MHz: VCO 25 x 4 x 6 = 600 MHz,
  divided by 6.
* Records: 393,216 bytes (384 KiB) in DP16KD (2,048 x 9 each, output registers on), see
  :class:`~memgen.hdl.engine.storage.BankedStorage`, read in 64-byte words: three banks of 57
  DP16KDs side by side (a 64-byte record a clock). With ``--word-bytes W`` each bank is the
  ceil(8W / 9) DP16KDs of a W-byte word; byte-wide (``--word-bytes 1``), 192 banks of one.
  Fixed-size records of K bytes take the smallest word that holds one (see
  :meth:`~memgen.boards.board.Board.for_records`).
* Record table: 4,096 entries of 28 bits (19-bit start, 9-bit length) in DP16KD; with fixed-size
  records (``memgen build ulx3s-85f --records fixed:K``) no table, 393,216 // K records.
* SDRAM (``memgen build ulx3s-85f --memory sdram``): the records in the 32 MiB chip (or, with
  ``--sdram-size 64``, a 64 MiB part) in 16-byte words, bursts of eight (fixed-size records:
  the smallest of 2, 4, 8 or 16 bytes that holds one), through
  :class:`~memgen.hdl.fpga.sdram_storage.SDRAMStorage`; the record table, 65,536 entries, in
  DP16KDs of 16,384 x 1. The chip's clock lags the design clock by :data:`SDRAM_PHASE`.
* The deframer's frame buffer is read through its DP16KD's output register: it lands in one of
  the few blocks the records leave free, possibly across the die from its reader.
* UART: the FT231X, pins M1 (rx) and L4 (tx), 3 Mbaud (divisor 33: 3.03 Mbaud, +1%).
* USB: the US2 connector (d_p D15, d_n E15, pull-up B12), full speed, LUNA's gateware PHY and
  CDC-ACM device (:class:`~memgen.hdl.link.usb.USBSerialLink`); its 48 MHz and 12 MHz from a
  second PLL fed by the first's 100 MHz (no VCO in the ECP5's 400-800 MHz divides to both 100
  and 48 MHz): VCO 100 / 5 x 24 = 480 MHz, divided by 10 and 40.
"""

from amaranth.hdl import ClockDomain, ClockSignal, Instance, Signal
from amaranth.lib import io
from amaranth.lib.cdc import ResetSynchronizer
from amaranth_boards.ulx3s import ULX3S_85F_Platform
from memgen.hdl.engine.records import RecordFormat, table_entry_layout
from memgen.hdl.engine.storage import BankedStorage
from memgen.hdl.fpga.dp16kd import DP16KD_BYTES, DP16KDBank, DP16KDBuffer

from .board import Board

__all__ = ["SDRAM_PHASE", "ULX3S_85F"]

#: The SDRAM clock's lag behind the design clock, in degrees (a multiple of 60: VCO cycles).
SDRAM_PHASE = 240


class _Platform(ULX3S_85F_Platform):
    """The ULX3S-85F platform without openFPGALoader among the build tools (it programs, it does
    not build; ``memgen program`` looks for it)."""

    @property
    def required_tools(self):
        return [tool for tool in super().required_tools if tool != "openFPGALoader"]


#: The EHXPLLL settings and unused controls both PLLs share (as ecppll writes them).
_PLL_SETTINGS = {
    "a_ICP_CURRENT": "12",
    "a_LPF_RESISTOR": "8",
    "a_MFG_ENABLE_FILTEROPAMP": "1",
    "a_MFG_GMCREF_SEL": "2",
    "p_PLLRST_ENA": "DISABLED",
    "p_INTFB_WAKE": "DISABLED",
    "p_STDBY_ENABLE": "DISABLED",
    "p_DPHASE_SOURCE": "DISABLED",
    "p_OUTDIVIDER_MUXA": "DIVA",
    "p_OUTDIVIDER_MUXB": "DIVB",
    "p_OUTDIVIDER_MUXC": "DIVC",
    "p_OUTDIVIDER_MUXD": "DIVD",
}
_PLL_CONTROLS = {
    "i_RST": 0,
    "i_STDBY": 0,
    "i_PHASESEL0": 0,
    "i_PHASESEL1": 0,
    "i_PHASEDIR": 1,
    "i_PHASESTEP": 1,
    "i_PHASELOADREG": 1,
    "i_PLLWAKESYNC": 0,
    "i_ENCLKOP": 0,
}


def _pll(m, platform):
    clk25 = platform.request("clk25", dir="-")
    clock, locked = Signal(), Signal()
    m.submodules.pll = Instance(
        "EHXPLLL",
        a_FREQUENCY_PIN_CLKI="25",
        a_FREQUENCY_PIN_CLKOP="100",
        **_PLL_SETTINGS,
        p_CLKI_DIV=1,
        p_CLKOP_ENABLE="ENABLED",
        p_CLKOP_DIV=6,
        p_CLKOP_CPHASE=2,
        p_CLKOP_FPHASE=0,
        p_FEEDBK_PATH="CLKOP",
        p_CLKFB_DIV=4,
        i_CLKI=clk25.io,
        i_CLKFB=clock,
        **_PLL_CONTROLS,
        o_CLKOP=clock,
        o_LOCK=locked,
    )
    return clock, locked


def _usb(m, platform, clock):
    """The US2 connector's pins, with the ``usb`` (12 MHz) and ``usb_io`` (48 MHz) domains of
    LUNA's gateware PHY made from the design clock by a second PLL."""
    feedback, usb_io, usb, locked = Signal(), Signal(), Signal(), Signal()
    m.submodules.usb_pll = Instance(
        "EHXPLLL",
        a_FREQUENCY_PIN_CLKI="100",
        a_FREQUENCY_PIN_CLKOP="20",
        a_FREQUENCY_PIN_CLKOS="48",
        a_FREQUENCY_PIN_CLKOS2="12",
        **_PLL_SETTINGS,
        p_CLKI_DIV=5,  # 20 MHz at the phase detector, 20 MHz fed back: VCO 20 x 24 = 480 MHz
        p_FEEDBK_PATH="CLKOP",
        p_CLKFB_DIV=1,
        p_CLKOP_ENABLE="ENABLED",
        p_CLKOP_DIV=24,
        p_CLKOP_CPHASE=11,  # phases as ecppll sets them: (divider - 1) / 2
        p_CLKOP_FPHASE=0,
        p_CLKOS_ENABLE="ENABLED",
        p_CLKOS_DIV=10,
        p_CLKOS_CPHASE=4,
        p_CLKOS_FPHASE=0,
        p_CLKOS2_ENABLE="ENABLED",
        p_CLKOS2_DIV=40,
        p_CLKOS2_CPHASE=19,
        p_CLKOS2_FPHASE=0,
        i_CLKI=clock,
        i_CLKFB=feedback,
        **_PLL_CONTROLS,
        o_CLKOP=feedback,
        o_CLKOS=usb_io,
        o_CLKOS2=usb,
        o_LOCK=locked,
    )
    for name, signal in (("usb", usb), ("usb_io", usb_io)):
        domain = ClockDomain(name)
        m.domains += domain
        m.d.comb += domain.clk.eq(signal)
        m.submodules[f"{name}_reset"] = ResetSynchronizer(~locked, domain=name)
    return platform.request("usb", 0)


def _data_storage(record_format, primitive, read_ports):
    """Records in banks of 2,048 words, each the DP16KDs of a word side by side (three banks of
    57 for 64-byte words, 192 of one for bytes), each read through a register in fabric and a
    registered tree of 8-way bank multiplexers (see :class:`BankedStorage`), writes registered by
    it; with ``read_ports=2`` port B of every block reads for a second lane."""
    width = 8 * record_format.word_bytes  # a wide word: DP16KDs side by side in each bank
    return BankedStorage(
        record_format.words,
        width,
        bank_depth=DP16KD_BYTES,
        fan_in=8,  # an 8-way multiplexer is one slice pair (PFUMX and L6MUX), one level
        bank_factory=lambda: DP16KDBank(width, primitive=primitive, read_ports=read_ports),
        bank_register=True,  # a block far from its multiplexer gets a clock for the route
        read_ports=read_ports,
    )


def _table_storage(record_format, primitive):
    """The table (4,096 entries) in DP16KDs of 4,096 x 4, also with their output registers; a
    larger one (65,536 with the records in SDRAM) in banks of DP16KDs of 16,384 x 1."""
    entry = table_entry_layout(record_format).size
    depth = 4096 if record_format.max_records <= 4096 else 16384
    return BankedStorage(
        record_format.max_records,
        entry,
        bank_depth=depth,
        bank_factory=lambda: DP16KDBank(entry, depth, primitive=primitive),
        bank_register=depth < record_format.max_records,  # banks side by side: a clock to route
    )


def _sdram(m, platform, storage):
    """The SDRAM's pins on the controller's (``storage.pins``), and the chip's clock: the design
    clock delayed 240 degrees (6.67 ns) by a third PLL, so the chip samples a command in the clock
    after it leaves with setup and hold to spare and its read data reach the input flops
    inside the next clock's window (the budget is in docs/design.md, SDRAM)."""
    feedback, shifted, locked = Signal(), Signal(), Signal()
    m.submodules.sdram_pll = Instance(
        "EHXPLLL",
        a_FREQUENCY_PIN_CLKI="100",
        a_FREQUENCY_PIN_CLKOP="100",
        a_FREQUENCY_PIN_CLKOS="100",
        **_PLL_SETTINGS,
        p_CLKI_DIV=1,
        p_FEEDBK_PATH="CLKOP",
        p_CLKFB_DIV=1,
        p_CLKOP_ENABLE="ENABLED",
        p_CLKOP_DIV=6,  # VCO 600 MHz: a VCO cycle is 60 degrees of 100 MHz
        p_CLKOP_CPHASE=2,
        p_CLKOP_FPHASE=0,
        p_CLKOS_ENABLE="ENABLED",
        p_CLKOS_DIV=6,
        p_CLKOS_CPHASE=2 + SDRAM_PHASE // 60,
        p_CLKOS_FPHASE=0,
        i_CLKI=ClockSignal("sync"),
        i_CLKFB=feedback,
        **_PLL_CONTROLS,
        o_CLKOP=feedback,
        o_CLKOS=shifted,
        o_LOCK=locked,
    )
    m.domains.sdram = ClockDomain("sdram", reset_less=True)
    m.d.comb += ClockSignal("sdram").eq(shifted)
    pins, controller = platform.request("sdram", 0, dir="-"), storage.pins
    m.submodules.sdram_clock = clock = io.DDRBuffer("o", pins.clk, o_domain="sdram")
    m.d.comb += [clock.o[0].eq(1), clock.o[1].eq(0)]  # high, then low: the clock itself
    outputs = {"cs": controller.cs, "we": controller.we, "ras": controller.ras,
               "cas": controller.cas, "clk_en": controller.cke, "ba": controller.ba,
               "a": controller.a, "dqm": controller.dqm}  # fmt: skip
    for name, signal in outputs.items():
        m.submodules[f"sdram_{name}"] = buffer = io.Buffer("o", getattr(pins, name))
        m.d.comb += buffer.o.eq(signal)
    m.submodules.sdram_dq = dq = io.Buffer("io", pins.dq)
    m.d.comb += [dq.o.eq(controller.dq_o), dq.oe.eq(controller.dq_oe),
                 controller.dq_i.eq(dq.i)]  # fmt: skip


def _frame_buffer(primitive):
    """The link's frame buffer in one DP16KD read through its output register: the buffer's
    read is otherwise slow to a reader that may sit far from the block."""
    return DP16KDBuffer(8, 1024, primitive=primitive)


ULX3S_85F = Board(
    name="ulx3s-85f",
    title="ULX3S (ECP5 LFE5U-85F)",
    platform=_Platform,
    part={"TRELLIS_COMB": 83640, "TRELLIS_FF": 83640, "DP16KD": 208, "MULT18X18D": 156},
    clock_hz=100_000_000,
    record_format=RecordFormat(393216, max_records=4096, max_length=504, word_bytes=64),
    uart="FT231X: rx pin M1, tx pin L4",
    memory="records in DP16KD banks (384 KiB)",
    record_table="record table in DP16KD",
    pll=_pll,
    data_storage=_data_storage,
    table_storage=_table_storage,
    targets={"fmax_hz": 100_000_000},
    programmer=(("openFPGALoader", ("-b", "ulx3s")),),
    frame_buffer=_frame_buffer,
    word_widths=(1, 2, 4, 8, 16, 32, 64),
    lane_counts=(1, 2, 4, 8, 16),  # a copy per two lanes: 384 KiB for 1 or 2 ... 48 for 16
    read_ports=2,
    usb=_usb,
    usb_link=True,  # 1.1 MB/s of samples over US2, 3.9x the FT231X's 3 Mbaud
    # lanes spread generators and copies of the records over the die, and SDRAM's scheduler
    # sits at its pins: the placer weighs timing three times its default (nextpnr's heap
    # placer; see docs/design.md, boards: timing)
    spread_nextpnr_options=("--placer-heap-timingweight", "30"),
    sdram=_sdram,
    sdram_sizes=(32, 64),  # AS4C16M16SA on most boards; 64 MiB parts exist
    sdram_records=65536,  # the record table, 34-bit entries, in 136 of the 208 DP16KDs
)
