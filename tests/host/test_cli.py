"""The ``memgen`` command end to end, on the simulated gateware (``sim``) and on the full top
level with its UART compiled by Verilator (``verilator``)."""

import io
import json
import os
import pty
import subprocess
import sys

import memgen
import pytest
from memgen.hdl.link.protocol import MAX_LINK_RECORD
from memgen.host import cli
from memgen.host.api import DEFAULT_DEVICE
from memgen.host.cli import main
from memgen.host.transports import open_transport

DEVICES = ["sim", "verilator"]


@pytest.fixture
def lines_file(tmp_path):
    """Lines with an empty line, a CRLF ending, SLIP's special bytes and no final newline."""
    lines = [f"line {i}: {'x' * (i % 7)}\n".encode() for i in range(60)]
    lines += [b"\n", b"windows\r\n", b"\xc0\xdb special\n", b"last, no newline"]
    path = tmp_path / "data.txt"
    path.write_bytes(b"".join(lines))
    return path, lines


def run(argv, capsys):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.err


@pytest.mark.parametrize(
    ("device", "board"),
    [
        ("sim", None),
        ("sim", "icebreaker"),
        ("verilator", None),
        ("verilator", "icebreaker"),
        ("verilator", "ulx3s-85f"),
    ],
)
def test_sample_and_recite(device, board, lines_file, tmp_path, capsys):
    """Train, sample with --verify, recite: with the default simulated memory and with each
    board's memory backend (SPRAM model, block RAM) and size. The ULX3S's 192 block-RAM banks
    run on Verilator only: Amaranth's simulator takes them at about 400 clocks per second (the
    banked storage and the DP16KD model have their own simulator tests)."""
    path, lines = lines_file
    out = tmp_path / "samples.txt"
    board_option = ["--board", board] if board else []
    code, err = run(
        ["sample", path, "--n", 300, "--device", device, "--verify", "--out", out, *board_option],
        capsys,
    )
    assert code == 0, err
    assert "verified 300 samples" in err
    samples = out.read_bytes().splitlines(keepends=True)
    assert len(samples) == 300
    allowed = set(lines[:-1]) | {lines[-1] + b"\n"}
    assert set(samples) <= allowed
    code, err = run(
        ["recite", path, "--device", device, "--verify", "--out", out, *board_option], capsys
    )
    assert code == 0, err
    assert out.read_bytes() == path.read_bytes()  # byte for byte, no newline added


def test_same_samples_on_every_device(lines_file, tmp_path, capsys):
    """Same data and seed: the same samples from the model, the simulator and Verilator."""
    path, _ = lines_file
    outputs = []
    for device in ["reference", *DEVICES]:
        out = tmp_path / f"{device}.txt"
        code, err = run(
            ["sample", path, "--n", 200, "--seed", "0x1234", "--device", device, "--out", out],
            capsys,
        )
        assert code == 0, err
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    code, _ = run(["sample", path, "--n", 200, "--device", "reference", "--out", out], capsys)
    assert out.read_bytes() != outputs[0]  # another seed, other samples


def test_fixed_and_bytes_modes(tmp_path, capsys):
    """One sample per byte and 5-byte records, through the gateware in Amaranth's simulator
    (two Verilator models of their own would cost a minute and test nothing more here)."""
    digits = tmp_path / "digits.txt"
    digits.write_bytes(b"31415926535897932384626433832795028841971693993751")
    out = tmp_path / "out.bin"
    sim = ["--device", "sim", "--verify", "--out", out]
    code, err = run(["sample", digits, "--records", "bytes", "--n", 1000, *sim], capsys)
    assert code == 0, err
    assert len(out.read_bytes()) == 1000 and set(out.read_bytes()) == set(b"0123456789")
    code, err = run(["recite", digits, "--records", "fixed:5", *sim], capsys)
    assert code == 0, err
    assert out.read_bytes() == digits.read_bytes()


@pytest.mark.parametrize("device", ["reference", "sim"])
@pytest.mark.parametrize(
    ("records", "capacity", "record", "fitting", "room"),
    [
        ("lines", 1000, b"%09d\n", 62, "room for 1,000 bytes and 62 records"),  # table slots
        ("lines", 1000, b"%099d\n", 10, "room for 1,000 bytes and 62 records"),  # bytes
        ("fixed:10", 1500, b"%010d", 150, "room for 1,500 bytes and 150 records"),
    ],
)
def test_capacity_boundary(device, records, capacity, record, fitting, room, tmp_path, capsys):
    """Data that fills the memory exactly (by record slots or by bytes) is stored and recited;
    one record more is refused before anything is sent, saying what fits. (The device's own
    refusal at its capacity: tests/host/test_driver.py and tests/boards/test_board_storage.py.)"""
    data = tmp_path / "data"
    out = tmp_path / "out"
    options = ["--device", device, "--capacity", capacity, "--records", records, "--out", out]
    data.write_bytes(b"".join(record % i for i in range(fitting)))
    code, err = run(["recite", data, "--verify", *options], capsys)
    assert code == 0, err
    assert out.read_bytes() == data.read_bytes()
    data.write_bytes(b"".join(record % i for i in range(fitting + 1)))
    code, err = run(["recite", data, *options], capsys)
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert (
        f"{fitting + 1} records of" in err
        and f"the first {fitting} fit (the device has {room})" in err
    )


def test_status(capsys):
    code = main(["status", "--device", "sim", "--json"])
    status = json.loads(capsys.readouterr().out)
    assert code == 0
    assert status["records"] == 0 and status["byte_capacity"] == 65536
    assert status["generator"] == "trivium" and status["fixed_size"] is False


@pytest.mark.parametrize(
    "argv, message",
    [
        (["sample", "{missing}"], "cannot read"),
        (["sample", "{empty}"], "is empty"),
        (["sample", "{long}"], "line 2 of"),
        (["sample", "{data}", "--device", "nowhere"], "unknown device 'nowhere'"),
        (["sample", "{data}", "--device", "serial:/dev/memgen-absent"], "no such port"),
        (["status", "--device", "serial:"], "needs a port"),
        (["sample", "{data}", "--records", "fixed:3"], "not a whole number of 3-byte records"),
        (["sample", "{data}", "--n", "-1"], "cannot be negative"),
    ],
)
def test_user_errors(argv, message, tmp_path, capsys):
    """Each user error is one line on stderr and exit status 1, never a traceback."""
    files = {
        "missing": tmp_path / "missing.txt",
        "empty": tmp_path / "empty.txt",
        "long": tmp_path / "long.txt",
        "data": tmp_path / "data.txt",
    }
    files["empty"].write_bytes(b"")
    files["long"].write_bytes(b"short\n" + b"y" * 600 + b"\n")
    files["data"].write_bytes(b"abc\n")
    code, err = run([part.format(**files) for part in argv], capsys)
    assert code == 1
    assert err.startswith("memgen: error: ") and err.count("\n") == 1, err
    assert message in err


def test_console_script(tmp_path):
    """The installed ``memgen`` script reads stdin and exits non-zero with one line on errors."""
    script = [sys.executable, "-m", "memgen.host.cli"]
    result = subprocess.run(
        [*script, "recite", "-", "--device", "reference"], input=b"a\nb\n", capture_output=True
    )
    assert result.returncode == 0 and result.stdout == b"a\nb\n"
    result = subprocess.run([*script, "sample", str(tmp_path / "nope")], capture_output=True)
    assert result.returncode == 1 and result.stderr.count(b"\n") == 1


def test_progress_only_on_a_terminal(tmp_path):
    """Long transfers show progress on stderr when it is a terminal, and nothing when not."""
    data = tmp_path / "many.txt"
    data.write_bytes(b"".join(b"%d\n" % i for i in range(3000)))
    argv = [sys.executable, "-m", "memgen.host.cli", "sample", str(data), "--n", "5000"]
    argv += ["--device", "reference"]
    quiet = subprocess.run(argv, capture_output=True)
    assert quiet.returncode == 0 and quiet.stderr == b""
    leader, follower = pty.openpty()
    with subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=follower) as process:
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            shown += chunk
    os.close(leader)
    assert process.returncode == 0
    assert b"training:" in shown and b"/3000" in shown and b"sampling:" in shown, shown


def test_nearby_seeds_start_anywhere(tmp_path, capsys):
    """The reported symptom of raw seeding: with 1,000 records, seeds 1 to 8 all sampled record
    0 three times first, and seeds 2**24, 2**24 + 1 and 2**24 + 84 gave the same first sample.
    With Trivium's keyed seeding the first three samples of seeds 1 to 8 are 24 draws, and the
    three large seeds' first samples differ (the chance of a repeat among three is 0.3 %)."""
    path = tmp_path / "thousand.txt"
    path.write_text("".join(f"record {i}\n" for i in range(1000)))
    out = tmp_path / "samples.txt"
    firsts = []
    for seed in range(1, 9):
        code, err = run(["sample", path, "--n", 3, "--seed", seed, "--device", "reference",
                         "--out", out], capsys)  # fmt: skip
        assert code == 0, err
        firsts += out.read_text().splitlines()
    assert firsts.count("record 0") <= 1 and len(set(firsts)) >= 20
    large = []
    for seed in (1 << 24, (1 << 24) + 1, (1 << 24) + 84):
        code, err = run(["sample", path, "--n", 1, "--seed", seed, "--device", "reference",
                         "--out", out], capsys)  # fmt: skip
        large.append(out.read_text())
    assert len(set(large)) == 3


# Reported by trying it as a new user -------------------------------------------------------
def test_lines_come_back_byte_exact(tmp_path, capsys):
    """A CR is data (it was: an LF was put after each lone CR) and a last line without an LF
    is recited without one; a sample of that line gets an LF so samples stay one per line."""
    data = tmp_path / "data"
    out = tmp_path / "out"
    text = b"a\rb\rc\nwindows\r\n\r\n\n\rlast"
    data.write_bytes(text)
    code, err = run(["recite", data, "--device", "reference", "--verify", "--out", out], capsys)
    assert code == 0 and "verified 5 records" in err, err
    assert out.read_bytes() == text
    code, err = run(["sample", data, "--device", "reference", "--n", 400, "--out", out], capsys)
    assert code == 0, err
    samples = out.read_bytes().split(b"\n")[:-1]
    assert set(samples) == {b"a\rb\rc", b"windows\r", b"\r", b"", b"\rlast"}


def test_verify_compares_what_is_written(monkeypatch, tmp_path, capsys):
    """--verify stops at a sample the reference would not have written, and writes nothing of
    the chunk that differs."""
    data = tmp_path / "data"
    data.write_bytes(b"one\ntwo\nthree\n")
    reference_of = cli.reference_of

    def wrong_reference(memory, records, seed):
        return reference_of(memory, [records[0], b"tw0\n", records[2]], seed)

    monkeypatch.setattr(cli, "reference_of", wrong_reference)
    out = tmp_path / "out"
    code, err = run(["sample", data, "--device", "reference", "--n", 50, "--verify",
                     "--out", out], capsys)  # fmt: skip
    assert code == 1 and "verify: sample output differs" in err
    assert not out.exists()  # nothing written, nothing truncated


def test_samples_stream_and_a_closed_pipe_ends_quietly(tmp_path):
    """``memgen sample F --n 1000000000 | head -1`` prints the first sample at once and ends
    with status 0 and nothing on stderr (it printed nothing while memory grew, and
    ``--n 20000 | head -1`` said "Broken pipe" with status 1)."""
    data = tmp_path / "data"
    data.write_bytes(b"".join(b"%d\n" % i for i in range(1000)))
    for n in (20_000, 1_000_000_000):
        argv = [sys.executable, "-m", "memgen.host.cli", "sample", str(data), "--n", str(n)]
        with subprocess.Popen([*argv, "--device", "reference"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) as process:  # fmt: skip
            first = process.stdout.readline()
            process.stdout.close()
            code = process.wait(timeout=60)
            err = process.stderr.read()
        assert first.endswith(b"\n") and int(first) < 1000
        assert code == 0 and err == b""


def test_closed_stdout_is_one_line(tmp_path):
    data = tmp_path / "data"
    data.write_bytes(b"x\n")
    script = f"{sys.executable} -m memgen.host.cli sample {data} --device reference >&-"
    result = subprocess.run(["sh", "-c", script], capture_output=False, stderr=subprocess.PIPE)
    assert (
        result.returncode == 1
        and result.stderr == b"memgen: error: stdout is closed: give --out FILE\n"
    )


def test_recall_writes_to_out_and_reads_the_query_from_stdin(monkeypatch, tmp_path, capsys):
    data = tmp_path / "data"
    data.write_bytes(b"abcdefghijkl")
    out = tmp_path / "out"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"efgi")))
    code, err = run(["recall", data, "--records", "fixed:4", "--query", "-", "--k", 2,
                     "--device", "reference", "--out", out], capsys)  # fmt: skip
    assert code == 0, err

    def distance(record):
        return sum(bin(a ^ b).count("1") for a, b in zip(record, b"efgi", strict=True))

    nearest = sorted(enumerate([b"abcd", b"efgh", b"ijkl"]), key=lambda e: distance(e[1]))[:2]
    assert out.read_text() == "".join(f"{i}\t{distance(r)}\t{r.hex()}\n" for i, r in nearest)


def test_version_and_help_show_the_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out == f"memgen {memgen.__version__}\n"
    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    defaults = [
        "(default: 0x5eed",
        "(default: the --board's, else 3000000)",
        "(default: 65536)",
        "(default: 10)",
    ]
    for default in [*defaults, f"(default: {DEFAULT_DEVICE})", "icebreaker, ulx3s-85f"]:
        assert default in text


@pytest.mark.parametrize(("text", "seed"), [("010", 10), ("0x10", 16), ("0b11", 3), ("0", 0),
                                             (str((1 << 64) - 1), (1 << 64) - 1)])  # fmt: skip
def test_seeds_in_every_base(text, seed, tmp_path, capsys):
    """``--seed 010`` is ten (it was "invalid <lambda> value"); the largest 64-bit seed works."""
    data = tmp_path / "data"
    data.write_bytes(b"".join(b"%d\n" % i for i in range(100)))
    outputs = []
    for value in (text, hex(seed)):
        code, err = run(["sample", data, "--device", "reference", "--seed", value], capsys)
        assert code == 0, err
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize("text", [str(1 << 64), "-1", "x", "0x"])
def test_seeds_out_of_range(text, capsys):
    with pytest.raises(SystemExit):
        main(["sample", "data", "--seed", text])
    err = capsys.readouterr().err
    assert "argument --seed" in err and "<lambda>" not in err


@pytest.mark.parametrize(
    ("argv", "environment", "message"),
    [
        (["sample", "{data}", "--out", "/dev/full"], {}, "cannot write /dev/full: No space"),
        (["sample", "{data}", "--out", "{tmp}/no/such"], {}, "cannot write"),
        (["sample", "{data}", "--capacity", "300000000"], {}, "at most 16,777,215"),
        (["sample", "{data}", "--records", "fixed:1", "--capacity", str(1 << 24)], {},
         "at most 16,777,215 records"),
        (["sample", "{data}", "--records", "fixed:8", "--capacity", "5"], {}, "no 8-byte record"),
        (["sample", "{data}", "--records", "fixed:8", "--capacity", "0"], {}, "positive"),
        (["sample", "{data}", "--board", "icebreaker", "--capacity", "5"], {},
         "--capacity does not apply with --board"),
        (["sample", "{data}", "--memory", "sdram"], {}, "are for a simulated device's --board"),
        (["sample", "{data}", "--sdram-size", "32"], {}, "are for a simulated device's --board"),
        (["sample", "{data}", "--device", "serial:/dev/null", "--board", "ulx3s-85f",
          "--memory", "sdram"], {}, "are for a simulated device's --board"),
        (["sample", "{data}", "--board", "icebreaker", "--memory", "sdram"], {},
         "--memory sdram: icebreaker has no SDRAM"),
        (["sample", "{data}", "--board", "ulx3s-85f", "--memory", "sdram", "--sdram-size",
          "128"], {}, "SDRAM is 32 or 64 MiB, not 128"),
        (["sample", "{missing}", "--device", "nowhere"], {}, "unknown device 'nowhere'"),
        (["sample", "{one}", "--records", "fixed:2"], {}, "is 1 byte, not"),
        (["recall", "{data}", "--records", "fixed:2", "--query", "{one}"], {}, "is 1 byte;"),
        (["sample", "{data}", "--device", "verilator", "--capacity", "40"],
         {"MEMGEN_CACHE": "{tmp}/fresh"}, "does not fit"),
        (["sample", "{data}", "--device", "verilator", "--capacity", "4321"],
         {"MEMGEN_CACHE": "/proc/memgen"}, "cannot write the model cache"),
        (["sample", "{data}", "--device", "verilator", "--capacity", "4322"],
         {"MEMGEN_CACHE": "{tmp}/fresh", "CXX": "no-such-compiler"}, "needs no-such-compiler"),
        (["sample"], {}, "keeps nothing between commands: give DATA"),
    ],
)  # fmt: skip
def test_one_line_errors(argv, environment, message, monkeypatch, tmp_path, capsys):
    """Each of these was a traceback, or came after minutes of work: now one line, before any
    device is built (no compile message for the too-small memory)."""
    files = {"data": tmp_path / "data", "missing": tmp_path / "missing", "one": tmp_path / "one",
             "tmp": tmp_path}  # fmt: skip
    files["data"].write_bytes(b"0123456789abcdef\n" * 4)
    files["one"].write_bytes(b"x")
    for name, value in environment.items():
        monkeypatch.setenv(name, value.format(**files))
    argv = [part.format(**files) for part in argv]
    code, err = run([*argv, *([] if "--device" in argv else ["--device", "reference"])], capsys)
    assert code == 1
    assert err.startswith("memgen: error: ") and err.count("\n") == 1, err
    assert message in err
    assert not (tmp_path / "fresh").exists() or "needs" in message


def test_device_not_found_is_a_memgen_error():
    with pytest.raises(memgen.MemGenError):
        open_transport("nowhere")


def test_a_board_keeps_its_records_between_commands(serial_board, tmp_path, capsys):
    """``memgen train DATA`` then ``memgen sample`` and ``recite`` without DATA use what the
    board holds; ``--seed`` restarts its stream, which otherwise goes on; ``--indices`` names
    the records ``sample`` writes; ``--append`` adds."""

    def call(*argv):
        code = main([str(a) for a in [*argv, "--device", serial_board]])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    data = tmp_path / "data"
    data.write_bytes(b"".join(b"record %d\n" % i for i in range(40)))
    code, _, err = call("train", data)
    assert code == 0 and "holds 40 records" in err, err
    assert call("recite")[:2] == (0, data.read_text())
    code, first, err = call("sample", "--n", 30, "--seed", 9, "--verify")
    assert code == 0 and "verified 30 samples" in err, err
    _, head, _ = call("sample", "--n", 10, "--seed", 9)
    _, rest, _ = call("sample", "--n", 20)  # goes on from the 10th
    assert head + rest == first and len(first.splitlines()) == 30
    code, indices, err = call("sample", "--n", 30, "--seed", 9, "--indices", "--verify")
    assert code == 0 and "verified 30 samples" in err, err
    lines = data.read_text().splitlines(keepends=True)
    assert "".join(lines[int(index)] for index in indices.split()) == first
    code, _, err = call("sample", "--n", 5, "--verify")
    assert code == 1 and "needs --seed" in err
    more = tmp_path / "more"
    more.write_bytes(b"extra\n")
    code, _, err = call("train", more, "--append")
    assert code == 0 and "holds 41 records" in err, err
    code, _, err = call("train", more)
    assert code == 0 and "holds 1 record," in err, err
    code, _, err = call("sample", "--capacity", 5)
    assert code == 1 and "for simulated devices" in err
    code, out, err = call("recite", "--board", "icebreaker")  # names its line rate only
    assert (code, out) == (0, "extra\n"), err


@pytest.mark.parametrize("length", [MAX_LINK_RECORD - 1, MAX_LINK_RECORD, MAX_LINK_RECORD + 1])
def test_line_length_at_the_frame_limit(length, tmp_path, capsys):
    """A line of 504 bytes (its LF included) is the longest a frame carries."""
    data = tmp_path / "data"
    data.write_bytes(b"short\n" + b"y" * (length - 1) + b"\n")
    out = tmp_path / "out"
    code, err = run(["recite", data, "--device", "reference", "--out", out], capsys)
    if length <= MAX_LINK_RECORD:
        assert code == 0 and out.read_bytes() == data.read_bytes(), err
    else:
        assert code == 1 and f"line 2 of {data} is 505 bytes; records are at most 504" in err
