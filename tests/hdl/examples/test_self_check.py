"""The self-check in Amaranth's simulator: trained from its ROM, it passes when its CRC is the
one computed here from the reference model's samples, and fails on a wrong CRC, an ERROR, or
more records than it was told to expect."""

import zlib

import pytest
from amaranth.lib.wiring import Out
from memgen.hdl.engine.records import RecordFormat
from memgen.hdl.examples.self_check import SelfCheck
from memgen.host.codec import command_append, command_sample, command_seed
from memgen.host.reference import MemGenReference
from memgen.sim.harness.amaranth_sim import refused_component, run_simulation, unused

FORMAT = RecordFormat(512, max_records=16, max_length=64)
DATASET = [b"zero", b"\x00", b"\xff" * 64, b"one more line", bytes(range(1, 40))]
SEED = 0x0123456789ABCDEF
SAMPLES = 200


def expected_crc(samples=SAMPLES, dataset=DATASET, fmt=FORMAT):
    """CRC-32 of the bytes the reference model samples after the same training and seed."""
    model = MemGenReference(fmt)
    for record in dataset:
        model.append(record)
    model.seed(SEED)
    return zlib.crc32(b"".join(model.sample(samples)))


def script(samples=SAMPLES, dataset=DATASET):
    return [*map(command_append, dataset), command_seed(SEED), command_sample(samples)]


def verdict(check, clocks=40_000, records=0):
    """Run until the check passes or fails and ``records`` have come; returns (passed, failed,
    records, crc)."""
    seen = {}

    async def testbench(ctx):
        for _ in range(clocks):
            await ctx.tick()
            decided = ctx.get(check.passed) or ctx.get(check.failed)
            if decided and ctx.get(check.records) >= records:
                break
        for _ in range(300):  # and it stays so while the core runs on
            await ctx.tick()
        seen["result"] = tuple(ctx.get(getattr(check, name))
                               for name in ("passed", "failed", "records", "crc"))  # fmt: skip

    run_simulation(check, testbench, name="self_check")
    return seen["result"]


def test_ports_are_as_documented():
    check = unused(SelfCheck(FORMAT, script(), SAMPLES, 0))
    assert dict(check.signature.members) == {
        "passed": Out(1),
        "failed": Out(1),
        "crc": Out(32),
        "records": Out(32),
    }


@pytest.mark.parametrize("samples", [0, 1, (1 << 32) - 1, 1 << 32])
def test_sample_count_is_checked(samples):
    """1 to 2**32 - 1 samples (the records counter's range), at each end and one beyond."""
    if 1 <= samples < 1 << 32:
        assert unused(SelfCheck(FORMAT, script(), samples, 0)).samples == samples
        return
    with refused_component(), pytest.raises(ValueError, match="Samples must be 1 to 2"):
        SelfCheck(FORMAT, script(), samples, 0)


def test_passes_with_the_reference_crc():
    crc = expected_crc()
    assert verdict(SelfCheck(FORMAT, script(), SAMPLES, crc)) == (1, 0, SAMPLES, crc)


@pytest.mark.parametrize("width", [2, 8])
def test_a_wide_core_passes_with_the_same_crc(width):
    """A core of 2- or 8-byte words samples the same records (its padding does not reach the
    samples): the narrowed bytes give the reference's CRC."""
    crc = expected_crc()
    wide = RecordFormat(512, max_records=16, max_length=64, word_bytes=width)
    assert verdict(SelfCheck(wide, script(), SAMPLES, crc)) == (1, 0, SAMPLES, crc)
    assert verdict(SelfCheck(wide, script(), SAMPLES, crc ^ 1)) == (0, 1, SAMPLES, crc)


def test_a_core_of_two_lanes_passes_with_the_reference_crc():
    """Two lanes of 1-byte records: their beats narrowed to bytes in the lanes' merged order
    give the CRC of the reference's samples."""
    fmt = RecordFormat(64, record_size=1, lanes=2)
    dataset = [b"\x00", b"\xff", b"\x01", b"a", b"\x80"]
    crc = expected_crc(dataset=dataset, fmt=fmt)
    check = SelfCheck(fmt, script(dataset=dataset), SAMPLES, crc)
    assert verdict(check) == (1, 0, SAMPLES, crc)


def test_one_sample_at_the_smallest():
    crc = expected_crc(1)
    assert verdict(SelfCheck(FORMAT, script(1), 1, crc)) == (1, 0, 1, crc)


@pytest.mark.parametrize("off", [1, -1, 1 << 31])
def test_fails_on_a_wrong_crc(off):
    """A CRC one above, one below or far from the right one fails."""
    crc = expected_crc()
    wrong = (crc + off) % (1 << 32)
    assert verdict(SelfCheck(FORMAT, script(), SAMPLES, wrong)) == (0, 1, SAMPLES, crc)


@pytest.mark.parametrize("right", [True, False])
def test_fails_on_an_error(right):
    """A record longer than the format allows: the core answers ERROR TOO_LONG, and the check
    fails and stays failed once every sample has come, with the right CRC or a wrong one."""
    dataset = [*DATASET, b"x" * 65]
    crc = expected_crc()  # the refused record is not stored
    check = SelfCheck(FORMAT, script(dataset=dataset), SAMPLES, crc if right else crc ^ 1)
    assert verdict(check, records=SAMPLES) == (0, 1, SAMPLES, crc)


def test_fails_on_more_records_than_expected():
    crc = expected_crc(SAMPLES - 1)
    passed, failed, records, _ = verdict(SelfCheck(FORMAT, script(), SAMPLES - 1, crc))
    assert (passed, failed, records) == (0, 1, SAMPLES)


def test_fails_on_one_record_more_even_with_the_same_crc():
    """A record whose repeats all have one CRC-32 (CRC-32 is affine, so four chosen bytes make
    one; these were solved for over GF(2)): one sample more than expected still fails, by the
    count, though the CRC matches."""
    forged = bytes.fromhex("9d0ad96d")
    assert zlib.crc32(forged * (SAMPLES - 1)) == zlib.crc32(forged * SAMPLES)
    crc = expected_crc(SAMPLES - 1, [forged])
    check = SelfCheck(FORMAT, script(dataset=[forged]), SAMPLES - 1, crc)
    assert verdict(check) == (0, 1, SAMPLES, crc)
