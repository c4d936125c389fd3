"""The Python API (``memgen.open`` and ``Memory``) against the software model and the simulated
gateware, and the README's example run as written on every simulated device."""

import functools
import re
from pathlib import Path

import memgen
import numpy as np
import pytest
from memgen.boards import board
from memgen.host import api
from memgen.host.api import Match, sim_format
from memgen.host.driver import Driver
from memgen.host.reference import MemGenReference

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_example():
    """The README's Python example (the code block after "## Python API")."""
    text = README.read_text()
    section = text[text.index("## Python API") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.parametrize("device", ["reference", "verilator"])  # "sim": the tests below
def test_readme_example_runs_as_written(device, capsys):
    code = readme_example()
    assert '"verilator"' in code
    exec(compile(code.replace('"verilator"', f'"{device}"'), "README.md", "exec"), {})
    assert capsys.readouterr().out.split() == ["200", "(256,", "64)", "42"]


@pytest.mark.parametrize("device", ["reference", "sim"])
def test_memory_against_the_model(device):
    """Fixed-size records come back as arrays; the stream continues across calls; len, status,
    sample_indices, recite, recall and clear as the model says."""
    rng = np.random.default_rng(3)
    rows = rng.integers(0, 256, (40, 8), dtype=np.uint8)
    model = MemGenReference(sim_format("fixed:8", 1024))
    for row in rows:
        model.append(row.tobytes())
    with memgen.open(device, records="fixed:8", capacity=1024) as memory:
        assert memory.extend(rows[:30]) == 30
        memory.add(rows[30])
        assert memory.extend(list(rows[31:])) == 40 == len(memory)
        memory.seed(12)
        model.seed(12)
        first, second = memory.sample(7), memory.sample(0)
        rest = memory.sample(100)
        assert first.shape == (7, 8) and first.dtype == np.uint8 and second.shape == (0, 8)
        expected = np.frombuffer(b"".join(model.sample(107)), np.uint8).reshape(107, 8)
        assert np.array_equal(np.vstack([first, rest]), expected)
        indices = memory.sample_indices(50)  # the same stream goes on
        assert indices.dtype == np.uint32 and list(indices) == model.sample_indices(50)
        following = np.frombuffer(b"".join(model.sample(3)), np.uint8)
        assert np.array_equal(memory.sample(3).ravel(), following)
        assert memory.sample_indices(0).shape == (0,)
        assert np.array_equal(memory.recite(), rows)
        status = memory.status()
        assert (status.records, status.bytes_used, status.byte_capacity) == (40, 320, 1024)
        assert status.fixed_size and status.max_length == 8 and status.seed == 12
        assert status.generator == "trivium" and not any(status.link_errors.values())
        query = rows[17].copy()
        query[2] ^= 0x81
        assert memory.recall(query, k=1) == [Match(17, 2, rows[17].tobytes())]
        memory.clear()
        assert len(memory) == 0


@pytest.mark.parametrize("device", ["sim", "verilator"])
def test_a_simulated_board_with_its_records_in_sdram(device):
    """``memory="sdram"``: the ULX3S's top level with the SDRAM controller and a model of its
    32 MiB chip (in Amaranth's simulator, or compiled by Verilator), driven through its link:
    its capacity the chip's, samples, recitation and recall as the model says."""
    rng = np.random.default_rng(5)
    rows = rng.integers(0, 256, (50, 8), dtype=np.uint8)
    with memgen.open(device, records="fixed:8", board="ulx3s-85f", memory="sdram") as memory:
        status = memory.status()
        assert (status.byte_capacity, status.record_capacity) == (32 << 20, 1 << 22)
        model = MemGenReference(
            board("ulx3s-85f").with_memory("sdram").for_records(8).record_format
        )
        assert memory.extend(rows) == 50
        for row in rows:
            model.append(row.tobytes())
        memory.seed(7)
        model.seed(7)
        expected = np.frombuffer(b"".join(model.sample(300)), np.uint8).reshape(300, 8)
        assert np.array_equal(memory.sample(300), expected)
        assert np.array_equal(memory.recite(), rows)
        query = rows[41].copy()
        query[0] ^= 0x10
        assert memory.recall(query, k=1) == [Match(41, 1, rows[41].tobytes())]


def test_variable_records_are_lists_and_refusals_say_what_was_stored():
    with memgen.open("reference", capacity=64) as memory:
        assert memory.extend([b"one", b"three"]) == 2
        memory.seed(1)
        assert set(memory.sample(20)) == {b"one", b"three"}
        assert isinstance(memory.recite(), list) and "variable" in repr(memory)
        with pytest.raises(memgen.DeviceError, match="full") as refused:
            memory.extend([b"x" * 40, b"y" * 40])
        assert refused.value.stored == 1 and len(memory) == 3


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"device": "nowhere"}, memgen.MemGenError, "unknown device"),
        ({"records": "fixed:0"}, ValueError, "fixed:K needs"),
        ({"records": "rows"}, ValueError, "lines, bytes or fixed:K"),
        ({"records": 3.5}, TypeError, "a string"),
        ({"capacity": 0}, ValueError, "positive"),
        ({"capacity": 4, "records": 8}, ValueError, "holds no 8-byte record"),
        ({"capacity": 100, "board": "icebreaker"}, ValueError, "not both"),
        ({"board": "nano"}, ValueError, "unknown board"),
        ({"generator": "mt19937"}, ValueError, "trivium or lfsr"),
        ({"memory": "sdram"}, ValueError, "a memory is for a simulated board"),
        ({"memory": "sdram", "board": "icebreaker"}, ValueError, "icebreaker has no SDRAM"),
        ({"memory": "sdram", "board": "ulx3s-85f", "sdram_size": 8}, ValueError, "not 8"),
    ],
)
def test_open_refuses_clearly(options, error, message):
    with pytest.raises(error, match=message):
        memgen.open(**{"device": "reference", **options})


def test_arguments_are_checked(capsys):
    with memgen.open("reference", records="bytes", capacity=16) as memory:
        memory.extend([b"a"])
        for call, error in [
            (lambda: memory.sample(-1), ValueError),
            (lambda: memory.sample(2.0), TypeError),
            (lambda: memory.sample_indices(-1), ValueError),
            (lambda: memory.sample_indices("3"), TypeError),
            (lambda: memory.seed("7"), TypeError),
            (lambda: memory.seed(1 << 64), ValueError),
            (lambda: memory.recall("a"), TypeError),
        ]:
            with pytest.raises(error):
                call()
        memory.seed(np.uint64(5))
        assert memory.sample(np.int64(3)).shape == (3, 1)


def test_a_board_has_its_own_format(serial_board):
    """On serial:PORT the board's format is used; a records mode that differs is refused."""
    with memgen.open(serial_board) as memory:
        assert memory.status().record_capacity == 256 and not memory.status().fixed_size
    with pytest.raises(ValueError, match="stores variable records, not fixed:4"):
        memgen.open(serial_board, records="fixed:4")
    with pytest.raises(ValueError, match="built with: no capacity"):
        memgen.open(serial_board, capacity=100)


@pytest.mark.parametrize(
    ("options", "rate"),
    [
        ({}, 3_000_000),
        ({"board": "ulx3s-85f"}, 3_000_000),
        ({"board": "icebreaker"}, 6_000_000),
        ({"board": "icebreaker", "baud": 115_200}, 115_200),
    ],
)
def test_a_board_named_on_a_serial_port_sets_the_line_rate(serial_board, options, rate):
    """On serial:PORT ``board`` gives that board's line rate (the iCEBreaker's 6 Mbaud), ``baud``
    any other; the board's memory is still the one it reports."""
    with memgen.open(serial_board, **options) as memory:
        assert memory.driver.transport.port.baudrate == rate
        assert memory.status().record_capacity == 256


def test_a_port_at_another_rate_is_refused_naming_the_rates(chattering_port, monkeypatch):
    """A port that never pauses (a board at another rate) is refused with the rate tried and
    the boards' rates, in one line."""
    monkeypatch.setattr(api, "Driver", functools.partial(Driver, sync_timeout=0.3))
    with pytest.raises(memgen.MemGenError) as caught:
        memgen.open(chattering_port, board="ulx3s-85f")
    message = str(caught.value)
    assert "at 3,000,000 baud" in message and "icebreaker 6,000,000" in message
    assert "\n" not in message
