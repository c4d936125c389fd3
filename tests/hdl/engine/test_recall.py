"""Associative recall in the gateware: the Matcher's list equals exact nearest neighbour
(:func:`memgen.sim.bench.associative.nearest`) over the known bits, ties to the lowest index."""

import random

import numpy as np
import pytest
from memgen.hdl.common.faults import with_fault
from memgen.hdl.engine.recall import MAX_K, Matcher
from memgen.hdl.engine.records import RecordFormat
from memgen.sim.bench.associative import nearest
from memgen.sim.harness.amaranth_sim import Stalls, run_simulation, stream_put


def _bits(records):
    return np.unpackbits(np.frombuffer(b"".join(records), dtype=np.uint8)).reshape(len(records), -1)


def run_matcher(size, scans, stalls="none", fault=None):
    """Each scan: (records, query, mask); returns the matcher's list after each."""
    dut = with_fault(Matcher, fault)(RecordFormat(size * 64, record_size=size))
    results = []

    async def testbench(ctx):
        for records, query, mask in scans:
            ctx.set(dut.clear, 1)
            await ctx.tick()
            ctx.set(dut.clear, 0)
            for select, values in ((0, query), (1, mask)):
                for address, value in enumerate(values):
                    ctx.set(
                        dut.query, {"enable": 1, "mask": select, "address": address, "data": value}
                    )
                    await ctx.tick()
            ctx.set(dut.query.enable, 0)
            pauses = Stalls(stalls, 7)
            for record in records:
                for position, byte in enumerate(record):
                    word = {"data": byte, "first": position == 0, "last": position == size - 1}
                    await stream_put(ctx, dut.words, word, pauses)
            while ctx.get(dut.busy):
                await ctx.tick()
            await ctx.tick()
            matches = ctx.get(dut.matches)
            results.append([(m.index, m.distance) for m in matches if m.valid])

    run_simulation(dut, testbench, name=f"matcher_{size}_{stalls}_{fault}")
    return results


def _scan(rng, count, size, masked=False, near=None):
    records = [rng.randbytes(size) for _ in range(count)]
    query = records[near] if near is not None else rng.randbytes(size)
    mask = rng.randbytes(size) if masked else bytes([0xFF]) * size
    return records, query, mask


def _expected(records, query, mask):
    bits = _bits(records)
    return nearest(bits, _bits([query])[0], MAX_K, _bits([mask])[0])


@pytest.mark.parametrize("stalls", ["none", "random"])
def test_matcher_is_exact_nearest_neighbour(stalls):
    rng = random.Random(4)
    scans = [
        _scan(rng, 40, 3),
        _scan(rng, 40, 3, masked=True),
        _scan(rng, 5, 3),  # fewer records than MAX_K: every record listed
        _scan(rng, 1, 3),
        _scan(rng, 30, 3, near=17),  # a stored record: distance 0 first
    ]
    # every distance equal: the first MAX_K indices
    scans.append(([bytes([0x0F, 0, 0])] * 20, bytes([0xF0, 0, 0]), bytes([0xFF] * 3)))
    # a mask of zeros: all distances 0
    scans.append((scans[0][0], scans[0][1], bytes(3)))
    got = run_matcher(3, scans, stalls)
    for number, (scan, result) in enumerate(zip(scans, got, strict=True)):
        assert result == _expected(*scan), number
    assert got[4][0] == (17, 0)
    assert got[5] == [(i, 8) for i in range(MAX_K)]


def test_one_byte_records():
    rng = random.Random(5)
    scans = [_scan(rng, 64, 1), _scan(rng, 64, 1, masked=True)]
    for scan, result in zip(scans, run_matcher(1, scans), strict=True):
        assert result == _expected(*scan)


def test_a_tie_breaking_fault_is_caught():
    """A matcher whose ties displace earlier records fails both the model and its own order
    assertion."""
    scans = [([bytes([0x0F, 0, 0])] * 12, bytes([0xF0, 0, 0]), bytes([0xFF] * 3))]
    with pytest.raises(AssertionError, match="match list out of order"):
        run_matcher(3, scans, fault="ties")
