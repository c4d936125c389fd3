"""Associative recall in the gateware: the Matcher's list equals exact nearest neighbour
(:func:`memgen.sim.associative.nearest`) over the known bits, ties to the lowest index."""

import json
import random

import numpy as np
import pytest
from memgen.hdl.engine.recall import MAX_K, Matcher
from memgen.hdl.engine.records import RecordFormat
from memgen.sim.amaranth_sim import Stalls, run_simulation, stream_put
from memgen.sim.associative import nearest


def _bits(records):
    return np.unpackbits(np.frombuffer(b"".join(records), dtype=np.uint8)).reshape(len(records), -1)


def run_matcher(size, scans, stalls="none", fault=None):
    """Each scan: (records, query, mask); returns the matcher's list after each."""
    dut = Matcher(RecordFormat(size * 64, record_size=size), fault=fault)
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


# The core's RECALL command, against the reference model ------------------------------------

from memgen.hdl.engine.core import MemGen  # noqa: E402
from memgen.hdl.engine.protocol import Opcode  # noqa: E402
from memgen.host.codec import command_append, command_plain, command_recall, decode_recall  # noqa: E402
from memgen.host.reference import MemGenReference  # noqa: E402
from memgen.sim.amaranth_sim import STALL_PATTERNS  # noqa: E402
from memgen.sim.core_bench import run_script  # noqa: E402

CORE = RecordFormat(byte_capacity=4 * 30, record_size=4)  # 30 records


def run_core(record_format, packets, stalls="none", seed=0):
    dut = MemGen(record_format)
    reference = MemGenReference(record_format)
    result = {}

    async def testbench(ctx):
        result["responses"] = await run_script(
            ctx, dut, reference, packets, Stalls(stalls, seed), Stalls(stalls, seed + 7, rate=0.5)
        )

    run_simulation(dut, testbench, name=f"core_recall_{stalls}_{seed}")
    return result["responses"]


@pytest.mark.parametrize("stalls", STALL_PATTERNS)
def test_core_recall_matches_the_reference(stalls):
    rng = random.Random(8)
    size = CORE.record_size
    records = [rng.randbytes(size) for _ in range(30)]
    packets = [command_recall(records[0])]  # empty memory: EMPTY
    packets += [command_append(records[0]), command_recall(bytes(size), k=8)]  # k > N
    packets += [command_append(record) for record in records[1:]]
    packets += [
        command_recall(records[13]),  # a stored record: itself at distance 0
        command_recall(rng.randbytes(size), k=8),
        command_recall(rng.randbytes(size), k=3, mask=rng.randbytes(size)),
        command_recall(bytes(size), k=5, mask=bytes(size)),  # all distances 0
        command_recall(records[0], k=0),  # BAD_COMMAND
        command_recall(records[0], k=9),  # BAD_COMMAND
        command_recall(records[0])[:-1],  # WRONG_SIZE (a byte short)
        command_recall(records[0]) + b"\x00",  # WRONG_SIZE (a byte long)
        bytes([Opcode.RECALL, 1]),  # WRONG_SIZE (no query)
        bytes([Opcode.RECALL]),  # BAD_COMMAND
        command_plain(Opcode.STATUS),
    ]
    responses = run_core(CORE, packets, stalls, seed=3)
    answers = [decode_recall(b"".join(body for _, body in r), size) for r in responses[32:36]]
    assert answers[0][0] == (13, 0, records[13])
    assert len(answers[1]) == 8 and [d for _, d, _ in answers[1]] == sorted(
        d for _, d, _ in answers[1]
    )
    assert [(i, d) for i, d, _ in answers[3]] == [(i, 0) for i in range(5)]
    assert len(decode_recall(responses[2][0][1], size)) == 1  # k = 8, one record stored


def test_core_recall_with_equal_records_and_one_byte_records():
    fmt = RecordFormat(byte_capacity=12, record_size=1)
    packets = [command_append(b"\x0f") for _ in range(12)]
    packets += [command_recall(b"\xf0", k=8), command_recall(b"\x0f", k=2)]
    packets += [command_append(b"\x00")]  # FULL: nothing changes
    packets += [command_recall(b"\x01", k=1)]
    run_core(fmt, packets, "random", seed=5)


def test_variable_records_have_no_recall():
    fmt = RecordFormat(byte_capacity=64, max_records=8, max_length=8)
    run_core(fmt, [command_append(b"abc"), command_recall(b"abc"), bytes([Opcode.RECALL])])


# Through the link: the driver and ``memgen recall`` ------------------------------------------

from memgen.host import cli  # noqa: E402
from memgen.host.cli import main  # noqa: E402
from memgen.host.driver import DeviceError, Driver, MemGenError  # noqa: E402
from memgen.host.transports import open_transport  # noqa: E402


@pytest.mark.parametrize("device", ["sim"])
def test_cli_recall_verified(device, tmp_path, capsys):
    """``memgen recall --verify`` on the simulated gateware: a distorted stored record comes back
    as the nearest, with a mask too, and k larger than the memory lists every record. (The
    Verilator top level answers RECALL in the two tests below and in tests/test_associative.py.)"""
    rng = random.Random(11)
    records = [rng.randbytes(16) for _ in range(24)]
    data = tmp_path / "records.bin"
    data.write_bytes(b"".join(records))
    query = bytearray(records[9])
    query[0] ^= 0xFF  # 8 bits flipped, all in byte 0
    (tmp_path / "query.bin").write_bytes(bytes(query))
    (tmp_path / "mask.bin").write_bytes(bytes([0]) + bytes([0xFF]) * 15)
    common = [data, "--records", "fixed:16", "--device", device, "--capacity", 16 * 24]
    common += ["--query", tmp_path / "query.bin", "--verify"]
    assert main([str(a) for a in ["recall", *common, "--k", 8]]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 8 and lines[0] == f"9\t8\t{records[9].hex()}"
    assert main([str(a) for a in ["recall", *common, "--mask", tmp_path / "mask.bin"]]) == 0
    assert capsys.readouterr().out == f"9\t0\t{records[9].hex()}\n"  # byte 0 ignored
    small = tmp_path / "small.bin"
    small.write_bytes(b"".join(records[:3]))
    small_options = [small, "--records", "fixed:16", "--device", device, "--capacity", 48]
    small_options += ["--query", tmp_path / "query.bin", "--k", 8, "--verify"]
    assert main([str(a) for a in ["recall", *small_options]]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3


@pytest.mark.parametrize("device", ["sim", "verilator"])
def test_cli_recall_with_a_board_memory(device, tmp_path, capsys):
    """``--board icebreaker --records fixed:32``: the iCEBreaker's four SPRAM blocks (their
    model) holding fixed-size records, as ``memgen build icebreaker --records fixed:32`` builds
    it, answer RECALL as the reference does."""
    rng = random.Random(13)
    records = [rng.randbytes(32) for _ in range(40)]
    data = tmp_path / "records.bin"
    data.write_bytes(b"".join(records))
    query = bytearray(records[33])
    for position in (1, 7, 30):
        query[position] ^= 0x11  # 6 bits flipped
    (tmp_path / "query.bin").write_bytes(bytes(query))
    argv = ["recall", data, "--records", "fixed:32", "--board", "icebreaker", "--device", device]
    argv += ["--query", tmp_path / "query.bin", "--k", 2, "--verify"]
    assert main([str(a) for a in argv]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == f"33\t6\t{records[33].hex()}" and "verified 2 matches" in err
    # the device the command opened has the board's memory in fixed-size mode
    arguments = cli.parser().parse_args([str(a) for a in argv])
    with cli.open_memory(arguments) as memory:
        status = memory.status()
    assert (status.byte_capacity, status.record_capacity, status.fixed_size) == (131072, 4096, 1)
    assert main(["status", "--board", "icebreaker", "--device", device, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)  # without --records: the board as described
    assert status["record_capacity"] == 2048 and not status["fixed_size"]


def test_driver_recall_errors():
    with Driver(open_transport("sim", RecordFormat(32, record_size=4))) as device:
        with pytest.raises(DeviceError, match="no records"):
            device.recall(b"abcd")
        with pytest.raises(ValueError, match="query is 3 bytes"):
            device.recall(b"abc")
        with pytest.raises(ValueError, match="k must be"):
            device.recall(b"abcd", k=9)
    variable = RecordFormat(64, max_records=8, max_length=8)
    with Driver(open_transport("sim", variable)) as device:
        with pytest.raises(MemGenError, match="fixed-size records"):
            device.recall(b"abcd")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--records", "lines"], "recall needs fixed-size records"),
        (["--records", "fixed:4"], "the query"),
        (["--records", "fixed:8", "--k", "0"], "--k must be 1 to 8"),
    ],
)
def test_cli_recall_user_errors(argv, message, tmp_path, capsys):
    data = tmp_path / "data.bin"
    data.write_bytes(bytes(range(64)))
    (tmp_path / "q.bin").write_bytes(bytes(8))
    code = main(
        ["recall", str(data), "--query", str(tmp_path / "q.bin"), "--device", "reference"] + argv
    )
    assert code == 1
    assert message in capsys.readouterr().err


def test_verilator_recall_scans_a_memory_longer_than_the_harness_quiet_time():
    """A RECALL over 65,536 bytes keeps the line silent for more clocks than the Verilator
    harness idles by default; the transport tells it so the scan is not frozen (it was: the
    answer came back empty after a recovery)."""
    rng = random.Random(12)
    fmt = RecordFormat(65_536, record_size=64)
    records = [rng.randbytes(64) for _ in range(1024)]
    with Driver(open_transport("verilator", fmt)) as device:
        device.train(records)
        query = bytearray(records[1000])
        query[5] ^= 0x0F
        assert device.recall(bytes(query), k=2)[0] == (1000, 4, records[1000])
