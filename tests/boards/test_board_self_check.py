"""The self-check example: its plan is the reference model's, it passes on the iCEBreaker's
memory model in Amaranth's simulator, and each board builds it at its clock."""

import zlib

import pytest
from memgen.boards import board
from memgen.boards.build import build, placement_options
from memgen.boards.self_check import SelfCheckTop, default_dataset, plan, self_check
from memgen.hdl.engine.protocol import Opcode
from memgen.hdl.engine.records import RecordFormat
from memgen.host.reference import MemGenReference
from memgen.sim.harness.amaranth_sim import run_simulation, unused

DATASET = [b"Beautiful is better than ugly.", b"\x00", b"\xff" * 3, b"Flat"]


def test_plan_is_the_reference_models():
    """Every record appended in order, the seed, one SAMPLE; the CRC of the samples."""
    fmt = RecordFormat(256, max_records=8, max_length=40)
    packets, crc = plan(fmt, DATASET, 500, seed=7)
    assert packets[: len(DATASET)] == [bytes([Opcode.APPEND]) + record for record in DATASET]
    assert packets[len(DATASET) :] == [
        bytes([Opcode.SEED]) + (7).to_bytes(8, "little"),
        bytes([Opcode.SAMPLE]) + (500).to_bytes(4, "little"),
    ]
    model = MemGenReference(fmt)
    for record in DATASET:
        model.append(record)
    model.seed(7)
    samples = model.sample(500)
    assert crc == zlib.crc32(b"".join(samples))
    assert set(samples) == set(DATASET)


def test_plan_refuses_what_the_memory_refuses():
    fmt = RecordFormat(256, max_records=8, max_length=3)
    with pytest.raises(ValueError, match="The reference answers ERROR to the script"):
        plan(fmt, DATASET, 10)


def test_self_check_passes_on_the_icebreaker_memory_model():
    """The board's record format and storage (SPRAM and EBR models), the Zen of Python."""
    spec = board("icebreaker")
    check = self_check(spec.record_format, default_dataset(), 60,
                       storage=spec.storage_backends(primitive=False))  # fmt: skip

    async def testbench(ctx):
        for _ in range(20_000):
            await ctx.tick()
            if ctx.get(check.passed) or ctx.get(check.failed):
                break
        assert (ctx.get(check.passed), ctx.get(check.failed), ctx.get(check.records)) == (1, 0, 60)

    run_simulation(check, testbench, name="self_check_icebreaker")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["icebreaker"])
def test_self_check_builds_at_the_board_clock(name, tmp_path):
    """The bitstream is written, the records in the board's memory blocks, the clock met (the
    ULX3S's build, four minutes, is in ``make bench``: ulx3s-85f-self-check in
    results/wide_builds.json)."""
    spec = board(name)
    report = build(spec, tmp_path, seed=1, top=SelfCheckTop(spec))
    with open(report["bitstream"], "rb") as bitstream:
        assert len(bitstream.read()) > 100_000
    clock = report["fmax"][report["design_clock"]]
    assert report["timing_met"] and clock["achieved_mhz"] >= spec.clock_hz / 1e6, clock
    cell = {"icebreaker": "ICESTORM_SPRAM", "ulx3s-85f": "DP16KD"}[name]
    blocks = {"icebreaker": 4, "ulx3s-85f": 171}[name]  # the ULX3S: three banks of 57 DP16KD
    assert report["utilisation"][cell]["used"] >= blocks


def test_the_ulx3s_self_check_places_with_timing_weighed_more():
    """Its build gets the ULX3S's lanes options (the defaults missed seed 8 by 0.28 ns); the
    iCEBreaker's gets none."""
    ulx3s = board("ulx3s-85f").with_usb(False)
    top = unused(SelfCheckTop(ulx3s))
    assert placement_options(ulx3s, top) == ["--placer-heap-timingweight", "30"]
    assert placement_options(ulx3s) == []  # the board's default build keeps nextpnr's defaults
    icebreaker = board("icebreaker")
    assert placement_options(icebreaker, unused(SelfCheckTop(icebreaker))) == []
