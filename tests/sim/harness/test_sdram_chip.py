"""The SDRAM model against hand-written command sequences: legal ones give the data a datasheet's
timing diagrams give, and each illegal one fails on its rule at the clock it is broken, while
the same sequence one clock later (or sooner, for a maximum) passes."""

import pytest
from amaranth.hdl import ClockDomain, Module
from amaranth.lib import wiring
from memgen.hdl.fpga.sdram import SDRAMPins
from memgen.sim.harness.amaranth_sim import run_simulation
from memgen.sim.harness.sdram_chip import (
    Geometry,
    SDRAMChip,
    Timing,
    TimingViolation,
    amaranth_process,
)

PINS = {  # command -> (cs, ras, cas, we), asserted
    "NOP": (1, 0, 0, 0), "ACTIVE": (1, 1, 0, 0), "READ": (1, 0, 1, 0), "WRITE": (1, 0, 1, 1),
    "TERMINATE": (1, 0, 0, 1), "PRECHARGE": (1, 1, 0, 1), "REFRESH": (1, 1, 1, 0),
    "MODE": (1, 1, 1, 1),
}  # fmt: skip
AP = 1 << 10  # A10: auto precharge on READ/WRITE, all banks on PRECHARGE
BL8_CL2, BL8_CL3, BL1_CL2 = 0x23, 0x33, 0x20  # mode registers: burst length, CAS latency
FAST = Timing(power_up=30)  # three clocks of power-up at 100 MHz: the rest as the datasheet


def at(chip, edge, command="NOP", ba=0, a=0, dq=0, dqm=0):
    """Issue ``command`` at ``edge`` (NOPs up to it); what the chip drives after it."""
    while chip.cycle < edge - 1:
        chip.clock(*PINS["NOP"])
    assert chip.cycle == edge - 1, f"edge {edge} has passed"
    return chip.clock(*PINS[command], ba=ba, a=a, dq=dq, dqm=dqm)


def ready(mode=BL8_CL2, clock_hz=100e6, idle=0, **kwargs):
    """A chip through its power-up sequence at the earliest edges the timing allows, then
    ``idle`` NOPs (so a scenario's edges can be moved)."""
    chip = SDRAMChip(clock_hz=clock_hz, timing=kwargs.pop("timing", FAST), **kwargs)
    t = chip.t
    at(chip, t["power_up"], "PRECHARGE", a=AP)
    edge = t["power_up"] + t["trp"]
    for _ in range(chip.timing.init_refreshes):
        at(chip, edge, "REFRESH")
        edge += t["trfc"]
    at(chip, edge, "MODE", a=mode)
    drive(chip, idle)
    return chip


def drive(chip, edges):
    """NOPs over ``edges`` edges; what the chip drives after each."""
    return [chip.clock(*PINS["NOP"]) for _ in range(edges)]


# -- legal sequences ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode,latency", [(BL8_CL2, 2), (BL8_CL3, 3)])
def test_a_burst_reads_back_at_its_cas_latency(mode, latency):
    chip = ready(mode)
    act = chip.cycle + chip.t["tmrd"]
    at(chip, act, "ACTIVE", ba=2, a=1234)
    words = [0x0000, 0xFFFF, 0x0001, 0x8000, 0x1234, 0xABCD, 0x5555, 0xAAAA]
    write = act + chip.t["trcd"]
    assert at(chip, write, "WRITE", ba=2, a=8, dq=words[0]) is None
    for word in words[1:]:
        assert chip.clock(*PINS["NOP"], dq=word) is None
    read = chip.cycle + 1
    first = at(chip, read, "READ", ba=2, a=8)
    out = [first] + drive(chip, latency + 8)
    # element i is driven after edge read + latency - 1 + i, sampled at read + latency + i
    assert out == [None] * (latency - 1) + words + [None] * 2
    assert [chip.memory[2, 1234, 8 + i] for i in range(8)] == words


@pytest.mark.parametrize(
    "interleaved,order",
    [(False, [5, 6, 7, 0, 1, 2, 3, 4]), (True, [5, 4, 7, 6, 1, 0, 3, 2])],
)
def test_burst_order_from_a_column_inside_the_burst(interleaved, order):
    chip = ready(BL8_CL2 | interleaved << 3)
    at(chip, chip.cycle + 2, "ACTIVE", a=7)
    for column in range(8):
        chip.memory[0, 7, 16 + column] = 0x100 + column
    out = [at(chip, chip.cycle + 3, "READ", a=16 + 5)] + drive(chip, 8)
    assert out[1:9] == [0x100 + column for column in order]


def test_a_full_page_wraps_round_the_row_until_terminated():
    chip = ready(0x27)  # full page, CAS latency 2
    at(chip, chip.cycle + 2, "ACTIVE", ba=1, a=3)
    page = chip.geometry.columns
    for column in range(page):
        chip.memory[1, 3, column] = column ^ 0x5A5A
    read = chip.cycle + 3
    out = [at(chip, read, "READ", ba=1, a=page - 2)] + drive(chip, 5)
    out.append(at(chip, read + 6, "TERMINATE"))  # the last word is sampled at read + 6 + CL - 1
    out += drive(chip, 4)
    columns = [page - 2, page - 1, 0, 1, 2, 3]
    assert out[1:7] == [column ^ 0x5A5A for column in columns]
    assert out[7:] == [None] * 4


def test_a_read_cut_short_by_the_next_read_and_by_a_precharge():
    chip = ready()
    act = chip.cycle + 2
    at(chip, act, "ACTIVE", ba=3, a=9)
    for column in range(32):
        chip.memory[3, 9, column] = column
    read = act + 3
    out = [at(chip, read, "READ", ba=3, a=0), at(chip, read + 1, "READ", ba=3, a=16)]
    precharge = act + chip.t["tras"] + 3  # a precharge at p cuts data after edge p + CL - 1
    out += drive(chip, 3) + [at(chip, precharge, "PRECHARGE", ba=3)] + drive(chip, 6)
    # element 0 of the first read (edge read + 2), then the second from read + 3 to p + 1
    assert out[1:] == [0, 16, 17, 18, 19, None, None, None, None, None, None]


@pytest.mark.parametrize("old,new", [(0x0000, 0xFFFF), (0xFFFF, 0x0000)])
def test_dqm_keeps_the_bytes_it_masks(old, new):
    chip = ready(BL1_CL2 | 1 << 9)  # single-location writes
    at(chip, chip.cycle + 2, "ACTIVE", a=0)
    edge = chip.cycle + 3
    for column, dqm in enumerate([0, 1, 2, 3]):
        chip.memory[0, 0, column] = old
        at(chip, edge + column, "WRITE", a=column, dq=new, dqm=dqm)
    low, high = old & 0xFF | new & 0xFF00, new & 0xFF | old & 0xFF00
    assert [chip.memory[0, 0, column] for column in range(4)] == [new, low, high, old]


def test_banks_overlap_and_refreshes_keep_the_interval_over_three():
    chip = ready()
    t, edge = chip.t, chip.cycle + 2
    at(chip, edge, "ACTIVE", ba=0, a=1)
    at(chip, edge + t["trrd"], "ACTIVE", ba=1, a=2)  # another bank, tRRD after
    at(chip, edge + t["trrd"] + t["trcd"], "READ", ba=1, a=AP)  # auto precharge at read + 8
    at(chip, edge + t["tras"] + 1, "PRECHARGE", ba=0)
    for _ in range(3):
        ref = chip.last_refresh + t["trefi"]
        at(chip, ref, "REFRESH")
    assert chip.last_refresh == ref and chip.banks[1].row is None


def test_words_never_written_read_as_their_address():
    chip = ready(BL1_CL2)
    at(chip, chip.cycle + 2, "ACTIVE", ba=1, a=77)
    out = [at(chip, chip.cycle + 3, "READ", ba=1, a=5)] + drive(chip, 1)
    assert out[1:] == [chip.unwritten(1, 77, 5)]  # one word: bursts of one
    assert drive(chip, 3) == [None] * 3
    words = {chip.unwritten(b, r, c) for b in range(4) for r in (0, 8191) for c in (0, 511)}
    assert len(words) == 16 and max(words) < 1 << 16


def test_the_64_mb_part_addresses_1024_columns_and_a_scaled_chip_fewer_rows():
    wide = ready(BL1_CL2, geometry=Geometry(columns=1024))
    at(wide, wide.cycle + 2, "ACTIVE", a=0)
    at(wide, wide.cycle + 3, "WRITE", a=1023, dq=0xBEEF)
    assert wide.memory == {(0, 0, 1023): 0xBEEF} and wide.geometry.bytes == 64 << 20
    small = ready(BL1_CL2, geometry=Geometry(rows=16))
    at(small, small.cycle + 2, "ACTIVE", a=15)
    for row in (16, 17):
        with pytest.raises(TimingViolation, match=f"row {row} of 16"):
            at(small, small.cycle + 3, "ACTIVE", ba=1, a=row)


def test_clocks_round_minima_up_and_maxima_down():
    timing = Timing()
    assert [timing.clocks(name, 100e6) for name in ("trcd", "trc", "tmrd", "trefi")] == [
        3,
        7,
        2,
        780,
    ]
    assert [timing.clocks(name, 143e6) for name in ("trcd", "trc", "trefi")] == [4, 10, 1115]


# -- each rule broken at its boundary ----------------------------------------------------------


def _after_active(command, **kwargs):
    def run(gap, idle):
        chip = ready(idle=idle)
        act = chip.cycle + 2
        at(chip, act, "ACTIVE", ba=1, a=5)
        at(chip, act + gap, command, **kwargs)

    return run


def _trc(gap, idle):
    chip = ready(idle=idle, timing=Timing(power_up=30, trc=90))  # at 63 ns tRAS + tRP binds first
    act = chip.cycle + 2
    at(chip, act, "ACTIVE", ba=1, a=5)
    at(chip, act + chip.t["tras"], "PRECHARGE", ba=1)
    at(chip, act + gap, "ACTIVE", ba=1, a=6)


def _trp(gap, idle):
    chip = ready(idle=idle)
    act = chip.cycle + 2
    at(chip, act, "ACTIVE", ba=1, a=5)
    pre = act + chip.t["trc"]  # tRC already met: tRP alone binds
    at(chip, pre, "PRECHARGE", ba=1)
    at(chip, pre + gap, "ACTIVE", ba=1, a=6)


def _twr(gap, idle):
    chip = ready(BL1_CL2, idle=idle)
    act = chip.cycle + 2
    at(chip, act, "ACTIVE", ba=1, a=5)
    write = act + chip.t["tras"]  # tRAS met by the precharge whatever the gap
    at(chip, write, "WRITE", ba=1, a=3, dq=1)
    at(chip, write + gap, "PRECHARGE", ba=1)


def _trfc(gap, idle):
    chip = ready(idle=idle)
    ref = chip.cycle + chip.t["tmrd"]
    at(chip, ref, "REFRESH")
    at(chip, ref + gap, "ACTIVE", ba=0, a=0)


def _tmrd(gap, idle):
    chip = ready()
    at(chip, chip.cycle + gap, "ACTIVE", ba=0, a=0)


def _trefi(gap, idle):
    chip = ready(idle=idle)
    at(chip, chip.last_refresh + gap, "REFRESH")


def _tras_max(gap, idle):
    chip = ready(idle=idle, timing=Timing(power_up=30, tras_max=500, trefi=100_000))
    act = chip.cycle + 2
    at(chip, act, "ACTIVE", a=1)
    at(chip, act + gap, "PRECHARGE")


def _read_ap_tras(gap, idle):
    chip = ready(BL1_CL2, idle=idle)
    act = chip.cycle + 2
    at(chip, act, "ACTIVE", a=1)
    at(chip, act + gap - 1, "READ", a=AP)  # its precharge begins one clock later


def _write_after_read(gap, idle):
    chip = ready(BL1_CL2, idle=idle)
    act = chip.cycle + 2
    at(chip, act, "ACTIVE", a=1)
    read = act + 3
    at(chip, read, "READ", a=0)
    at(chip, read + gap, "WRITE", a=0)  # the read's word is on the bus at edge read + 2


def _power_up(gap, idle):
    """``gap`` NOP edges, then the first command."""
    chip = SDRAMChip(timing=Timing())
    drive(chip, gap)
    chip.clock(*PINS["PRECHARGE"], a=AP)


def _init_refreshes(count, idle):
    chip = SDRAMChip(timing=FAST)
    at(chip, 3, "PRECHARGE", a=AP)
    for refresh in range(count):
        at(chip, 6 + 7 * refresh, "REFRESH")
    at(chip, chip.cycle + 7, "MODE", a=BL8_CL2)
    at(chip, chip.cycle + 2, "ACTIVE", a=0)


RULES = {  # name -> (scenario, the first legal gap, whether the gap is a maximum, the rule)
    "tRCD": (_after_active("READ", ba=1, a=0), 3, False, "tRCD"),
    "tRAS": (_after_active("PRECHARGE", ba=1), 5, False, "tRAS"),
    "tRRD": (_after_active("ACTIVE", ba=2, a=5), 2, False, "tRRD"),
    "tRC": (_trc, 9, False, "tRC"),
    "tRP": (_trp, 3, False, "tRP"),
    "tWR": (_twr, 2, False, "tWR"),
    "tRFC": (_trfc, 7, False, "tRFC"),
    "tMRD": (_tmrd, 2, False, "tMRD"),
    "tREFI": (_trefi, 780, True, "tREFI"),
    "tRAS max": (_tras_max, 50, True, "tRAS max"),
    "power-up": (_power_up, 20_000, False, "power-up"),
    "initialisation": (_init_refreshes, 8, False, "initialisation"),
    "bus contention": (_write_after_read, 3, False, "bus contention"),
    "tRAS by auto precharge": (_read_ap_tras, 5, False, "tRAS"),
}
#: What each timing rule's message says of the clocks it was given, one short of the boundary.
MESSAGES = {
    "tRCD": "2 clocks, at least 3", "tRAS": "4 clocks, at least 5", "tRRD": "1 clocks, at least 2",
    "tRC": "8 clocks, at least 9", "tRP": "2 clocks, at least 3", "tWR": "1 clocks, at least 2",
    "tRFC": "6 clocks after REFRESH", "tMRD": "1 clocks after the mode register",
    "tREFI": "no AUTO REFRESH for 781 clocks",
}  # fmt: skip


@pytest.mark.parametrize("idle", [0, 37])
@pytest.mark.parametrize("name", RULES)
def test_each_rule_fails_one_clock_past_its_boundary(name, idle):
    """Legal at the boundary, failing one clock past it (earlier for a minimum, later for a
    maximum), with the edges of the scenario moved by ``idle`` clocks."""
    scenario, boundary, maximum, rule = RULES[name]
    scenario(boundary, idle)
    with pytest.raises(TimingViolation) as failure:
        scenario(boundary + 1 if maximum else boundary - 1, idle)
    assert failure.value.rule == rule
    assert MESSAGES.get(name, "") in str(failure.value)


@pytest.mark.parametrize(
    "mode,clock_hz,message",
    [
        (BL8_CL2, 1e9 / 7, "CAS latency 2 at a 7 ns clock"),
        (BL8_CL2, 100.1e6, "CAS latency 2 at a 9.99 ns clock"),
        (BL8_CL3, 1e9 / 6.99, "CAS latency 3 at a 6.99 ns clock"),
        (0x123, 100e6, "reserved"),  # A8
        (0x423, 100e6, "reserved"),  # A10
        (0x1023, 100e6, "reserved"),  # A12
        (0x13, 100e6, "reserved"),  # CAS latency 1
        (0x24, 100e6, "reserved"),  # burst length code 4
        (0xA3, 100e6, "reserved"),  # operating mode bit A7
        (0x2F, 100e6, "sequential"),  # an interleaved full page
    ],
)
def test_a_bad_mode_register_fails(mode, clock_hz, message):
    with pytest.raises(TimingViolation, match=message):
        ready(mode, clock_hz=clock_hz)
    ready(BL8_CL3, clock_hz=1e9 / 7)  # 7 ns meets CAS latency 3, 10 ns latency 2
    ready(BL8_CL2, clock_hz=100e6)


@pytest.mark.parametrize(
    "sequence,rule",
    [
        ([("ACTIVE", 0, 1), ("ACTIVE", 0, 2)], "open row"),
        ([("READ", 0, 0)], "no open row"),
        ([("ACTIVE", 0, 1), ("REFRESH", 0, 0)], "open row"),
        ([("ACTIVE", 0, 1), ("MODE", 0, BL8_CL2)], "open row"),
        ([("ACTIVE", 0, 1), ("READ", 0, AP), ("READ", 0, 0)], "no open row"),
        ([("ACTIVE", 0, 1), ("READ", 0, AP), ("PRECHARGE", 0, 0)], "auto precharge"),
    ],
)
def test_commands_to_a_bank_in_the_wrong_state_fail(sequence, rule):
    chip = ready()
    edge = chip.cycle + 2
    with pytest.raises(TimingViolation) as failure:
        for command, ba, a in sequence:
            at(chip, edge, command, ba=ba, a=a)
            edge += 7  # every timing met, and a burst of 8 still running: the state is wrong
    assert failure.value.rule == rule


@pytest.mark.parametrize("idle", [0, 300])
@pytest.mark.parametrize("length,mode", [(1, BL1_CL2), (8, BL8_CL2)])
def test_a_write_with_auto_precharge_frees_its_bank_twr_and_trp_after_its_last_word(
    length, mode, idle
):
    def run(gap):
        chip = ready(mode, idle=idle)
        act = chip.cycle + 2
        at(chip, act, "ACTIVE", ba=2, a=1)
        write = act + chip.t["trcd"]
        at(chip, write, "WRITE", ba=2, a=AP, dq=0x1111)
        drive(chip, length - 1)
        at(chip, write + length - 1 + gap, "ACTIVE", ba=2, a=2)

    t = ready().t
    run(t["twr"] + t["trp"])
    with pytest.raises(TimingViolation, match="tRP"):
        run(t["twr"] + t["trp"] - 1)


def test_commands_need_cke_high_and_the_log_keeps_them_in_order():
    chip = ready(keep_log=True)
    assert [command for _, command, _, _ in chip.log] == ["PRECHARGE"] + ["AUTO REFRESH"] * 8 + [
        "LOAD MODE REGISTER"
    ]
    assert chip.log[0] == (3, "PRECHARGE", 0, AP) and chip.log[-1][0] == chip.cycle
    chip.clock(cke=0)  # a NOP with CKE low is no command
    with pytest.raises(TimingViolation, match="CKE low"):
        chip.clock(*PINS["ACTIVE"], cke=0)


def test_the_datasheet_table_in_nanoseconds():
    """At 1 GHz a clock is a nanosecond: each time is the -7 grade's figure."""
    names = ("trc", "trfc", "trcd", "trp", "trrd", "tmrd", "tras", "tras_max", "twr", "trefi")
    figures = (63, 63, 21, 21, 14, 14, 42, 120_000, 14, 7_800)
    assert [Timing().clocks(name, 1e9) for name in names] == list(figures)
    assert (Timing().tck_cl2, Timing().tck_cl3, Timing().power_up) == (10, 7, 200_000)


@pytest.mark.parametrize(
    "first", [("PRECHARGE", 0), ("PRECHARGE", 3 << 11), ("ACTIVE", AP), ("REFRESH", 0)]
)
def test_the_first_command_must_precharge_all_banks(first):
    chip = SDRAMChip(timing=FAST)
    with pytest.raises(TimingViolation, match="before PRECHARGE ALL"):
        at(chip, 3, first[0], a=first[1])


@pytest.mark.parametrize("idle", [0, 41])
def test_a_read_with_auto_precharge_frees_its_bank_trp_after_its_burst(idle):
    def run(gap):
        chip = ready(idle=idle)
        act = chip.cycle + 2
        at(chip, act, "ACTIVE", ba=3, a=1)
        read = act + chip.t["tras"]
        at(chip, read, "READ", ba=3, a=AP)
        at(chip, read + 8 + gap, "ACTIVE", ba=3, a=2)

    run(ready().t["trp"])
    with pytest.raises(TimingViolation, match="tRP"):
        run(ready().t["trp"] - 1)


@pytest.mark.parametrize("command", ["READ", "WRITE"])
def test_a11_is_no_auto_precharge(command):
    """Only A10 asks for auto precharge: with A11 and A12 set the row stays open."""
    chip = ready(BL1_CL2)
    act = chip.cycle + 2
    at(chip, act, "ACTIVE", ba=2, a=1)
    at(chip, act + 3, command, ba=2, a=3 << 11)
    at(chip, act + 20, "READ", ba=2, a=0)  # the row is still open
    assert chip.banks[2].row == 1


def test_a_full_page_burst_cannot_auto_precharge():
    chip = ready(0x27)
    at(chip, chip.cycle + 2, "ACTIVE", a=1)
    with pytest.raises(TimingViolation) as failure:
        at(chip, chip.cycle + 5, "READ", a=AP)
    assert failure.value.rule == "auto precharge"


def test_precharge_closes_its_bank_or_all_of_them():
    chip = ready(BL1_CL2)
    edge = chip.cycle + 2
    for bank in range(4):
        at(chip, edge + 2 * bank, "ACTIVE", ba=bank, a=bank)
    at(chip, edge + 20, "PRECHARGE", ba=1, a=3 << 11)  # A11, A12: one bank still
    assert [bank.row for bank in chip.banks] == [0, None, 2, 3]
    at(chip, edge + 21, "PRECHARGE", a=AP)
    assert [bank.row for bank in chip.banks] == [None] * 4


def _two_rows_open(busy, closing):
    """A chip with row 4 open in bank ``closing``, then in bank ``busy``; the first edge a
    burst to ``busy`` may start."""
    chip = ready()
    edge = chip.cycle + 2
    at(chip, edge, "ACTIVE", ba=closing, a=4)
    at(chip, edge + 2, "ACTIVE", ba=busy, a=4)
    return chip, edge + 5


@pytest.mark.parametrize("reading,closing", [(1, 0), (0, 1)])
def test_a_precharge_cuts_only_its_own_banks_burst(reading, closing):
    chip, read = _two_rows_open(reading, closing)
    for column in range(8):
        chip.memory[reading, 4, column] = 0xC0 + column
    out = [at(chip, read, "READ", ba=reading, a=0)] + drive(chip, 2)
    out += [at(chip, read + 3, "PRECHARGE", ba=closing)] + drive(chip, 6)
    assert out[1:9] == [0xC0 + column for column in range(8)]


def test_single_location_writes_write_one_word_of_a_burst_of_eight():
    chip = ready(BL8_CL2 | 1 << 9)
    at(chip, chip.cycle + 2, "ACTIVE", a=1)
    at(chip, chip.cycle + 3, "WRITE", a=8, dq=0x7777)
    for word in range(1, 8):
        chip.clock(*PINS["NOP"], dq=word)
    assert chip.memory == {(0, 1, 8): 0x7777}


def test_a_write_beat_must_be_driven():
    chip = ready(BL1_CL2)
    at(chip, chip.cycle + 2, "ACTIVE", a=1)
    with pytest.raises(TimingViolation, match="not driven"):
        at(chip, chip.cycle + 3, "WRITE", a=8, dq=None)


@pytest.mark.parametrize(
    "mode,start,order", [(0x21, 3, [3, 2]), (0x22, 6, [6, 7, 4, 5]), (0x2A, 6, [6, 7, 4, 5])]
)
def test_bursts_of_two_and_four(mode, start, order):
    """Bursts of two and four wrap inside their aligned block (sequential; interleaved from 6
    is the same order for four)."""
    chip = ready(mode)
    at(chip, chip.cycle + 2, "ACTIVE", a=2)
    for column in range(8):
        chip.memory[0, 2, column] = 0x70 + column
    out = [at(chip, chip.cycle + 3, "READ", a=start)] + drive(chip, len(order) + 2)
    assert out[1:] == [0x70 + column for column in order] + [None, None]


def test_a_full_page_with_a11_set_is_no_auto_precharge():
    chip = ready(0x27)
    at(chip, chip.cycle + 2, "ACTIVE", a=1)
    at(chip, chip.cycle + 5, "READ", a=3 << 11)
    assert chip.banks[0].row == 1


@pytest.mark.parametrize("writing,closing", [(1, 0), (0, 1)])
def test_a_precharge_cuts_only_its_own_banks_write_burst(writing, closing):
    chip, write = _two_rows_open(writing, closing)
    at(chip, write, "WRITE", ba=writing, a=0, dq=0x50)
    for column in range(1, 8):
        at(
            chip,
            write + column,
            "PRECHARGE" if column == 4 else "NOP",
            ba=closing,
            dq=0x50 + column,
        )
    assert [chip.memory[writing, 4, column] for column in range(8)] == list(range(0x50, 0x58))


@pytest.mark.parametrize("idle", [0, 1])
def test_the_simulator_process_fails_when_both_sides_drive_dq(idle):
    """A controller that drives DQ while the chip's read word is on it: the process raises."""

    class Pins(wiring.Component):
        pins: wiring.Out(SDRAMPins())

        def elaborate(self, platform):
            m = Module()
            m.domains.sync = ClockDomain()
            return m

    dut, chip = Pins(), ready(BL1_CL2, idle=idle)
    start = chip.cycle
    at(chip, start + 2, "ACTIVE", a=1)
    at(chip, start + 5, "READ", a=0)  # its word is driven after edge start + 6

    async def controller(ctx):
        await ctx.tick()  # the chip's edge start + 6: the word goes on the bus
        ctx.set(dut.pins.dq_oe, 1)
        await ctx.tick()  # edge start + 7: both drive
        await ctx.tick()

    with pytest.raises(TimingViolation) as failure:
        run_simulation(dut, controller, processes=[amaranth_process(chip, dut.pins)])
    assert failure.value.rule == "bus contention" and failure.value.cycle == start + 7


def test_a_write_cut_short_by_the_next_write():
    """A WRITE two clocks into another burst: the first keeps its first two words, the second
    writes all eight."""
    chip = ready()
    at(chip, chip.cycle + 2, "ACTIVE", a=6)
    write = chip.cycle + 3
    at(chip, write, "WRITE", a=0, dq=0x10)
    chip.clock(*PINS["NOP"], dq=0x11)
    at(chip, write + 2, "WRITE", a=8, dq=0x20)
    for word in range(1, 8):
        chip.clock(*PINS["NOP"], dq=0x20 + word)
    assert chip.memory == {(0, 6, 0): 0x10, (0, 6, 1): 0x11} | {
        (0, 6, 8 + i): 0x20 + i for i in range(8)
    }


def test_nine_refreshes_at_power_up_are_as_good_as_eight():
    chip = SDRAMChip(timing=FAST)
    at(chip, 3, "PRECHARGE", a=AP)
    for refresh in range(9):
        at(chip, 6 + 7 * refresh, "REFRESH")
    at(chip, chip.cycle + 7, "MODE", a=BL8_CL2)
    at(chip, chip.cycle + 2, "ACTIVE", a=0)
    assert chip.init == "ready" and chip.refreshes == 9


def test_full_page_writes_run_until_terminated():
    """Full page with programmed write bursts (A9 low): three words, then BURST TERMINATE."""
    chip = ready(0x27)
    at(chip, chip.cycle + 2, "ACTIVE", a=5)
    write = chip.cycle + 3
    at(chip, write, "WRITE", a=510, dq=0xE0)
    chip.clock(*PINS["NOP"], dq=0xE1)
    chip.clock(*PINS["NOP"], dq=0xE2)
    at(chip, write + 3, "TERMINATE", dq=0xE3)  # data at the terminating edge is not written
    drive(chip, 2)
    assert chip.memory == {(0, 5, 510): 0xE0, (0, 5, 511): 0xE1, (0, 5, 0): 0xE2}
