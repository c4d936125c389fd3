"""RECALL through the link: the driver, ``memgen recall`` (verified against the model) on the
simulated devices and board memories, and its one-line errors."""

import json
import random

import pytest
from memgen.hdl.engine.records import RecordFormat
from memgen.host import cli
from memgen.host.cli import main
from memgen.host.driver import DeviceError, Driver, MemGenError
from memgen.host.transports import open_transport


@pytest.mark.parametrize("device", ["sim"])
def test_cli_recall_verified(device, tmp_path, capsys):
    """``memgen recall --verify`` on the simulated gateware: a distorted stored record comes back
    as the nearest, with a mask too, and k larger than the memory lists every record. (The
    Verilator top level answers RECALL in the two tests below and in
    tests/sim/bench/test_associative.py.)"""
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
