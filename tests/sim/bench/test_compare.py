"""The comparison with the CPU: refused on a busy machine (nothing written, one line), written
with its conditions on an idle one or when told to; numpy's sampler draws real rows."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from memgen.sim.bench import compare
from memgen.sim.bench.conditions import Conditions

RESULTS = Path(__file__).resolve().parents[3] / "results"


class Fixed:
    """measure_conditions() replaced: its result is the given share."""

    def __init__(self, share):
        self.result = Conditions(1.0, 2, share, (0.0, 0.0, 0.0))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.fixture
def results(tmp_path, monkeypatch):
    for name in ("core", "boards", "link", "wide_builds"):
        shutil.copy(RESULTS / f"{name}.json", tmp_path / f"{name}.json")
    rates = {"python": 1, "numpy": 2, "reference": 3}
    monkeypatch.setattr(compare, "cpu_sampling", lambda size: rates)
    monkeypatch.setattr(
        compare, "training_table", lambda core, boards: {"rows": [], "clocks_per_record": 5}
    )
    monkeypatch.setattr(compare, "plot_training", lambda training, path: None)
    return tmp_path


@pytest.mark.parametrize("allow", [False, True])
def test_a_busy_machine_is_refused_or_marked(results, monkeypatch, capsys, allow):
    monkeypatch.setattr(compare, "measure_conditions", lambda: Fixed(0.3))
    argv = ["--results", str(results)] + (["--allow-busy"] if allow else [])
    if not allow:
        with pytest.raises(SystemExit) as exit_:
            compare.main(argv)
        assert exit_.value.code == 1
        error = capsys.readouterr().err.strip().splitlines()[-1]
        assert error.startswith("memgen.sim.bench.compare: other processes used 30% of")
        assert error.endswith("nothing written")
        assert not (results / "compare.json").exists()
        return
    assert compare.main(argv) == 0
    written = json.loads((results / "compare.json").read_text())
    assert written["conditions"]["idle"] is False
    assert written["conditions"]["others_share"] == 0.3


def test_an_idle_machine_writes_its_conditions(results, monkeypatch):
    monkeypatch.setattr(compare, "measure_conditions", lambda: Fixed(0.01))
    assert compare.main(["--results", str(results)]) == 0
    written = json.loads((results / "compare.json").read_text())
    assert written["conditions"] == {
        "seconds": 1.0, "cpus": 2, "others_share": 0.01, "load_average": [0.0, 0.0, 0.0],
        "idle": True, "busy_share_limit": 0.05,
    }  # fmt: skip
    assert written["cpu_samples_per_s"]["1"] == {"python": 1, "numpy": 2, "reference": 3}
    # over USB where the board has it: its payload bytes/s on the line over the record's bytes
    link = json.loads((results / "link.json").read_text())
    hardware = written["hardware_samples_per_s"]
    usb = link["usb"]["ulx3s-85f"]
    assert hardware["ulx3s-85f"]["1"]["usb_limited"] == usb["bytes"]["payload_bytes_per_s"]
    assert hardware["ulx3s-85f"]["64"]["usb_limited"] == round(
        usb["lines"]["payload_bytes_per_s"] / 64
    )
    assert "usb_limited" not in hardware["icebreaker"]["1"]


def test_the_core_rates_are_each_default_builds_words(results, monkeypatch, capsys):
    """The core's samples/s come from results/core.json for the words of each board's default
    build (boards.json): a byte a clock in byte-wide words, 64 bytes in 64-byte words; a word
    core.json has not measured is a one-line error."""
    monkeypatch.setattr(compare, "measure_conditions", lambda: Fixed(0.01))
    core = json.loads((results / "core.json").read_text())
    boards = json.loads((results / "boards.json").read_text())
    boards["icebreaker"]["capacity"]["word_bytes"] = 1
    boards["ulx3s-85f"]["capacity"]["word_bytes"] = 64
    (results / "boards.json").write_text(json.dumps(boards))
    assert compare.main(["--results", str(results)]) == 0
    hardware = json.loads((results / "compare.json").read_text())["hardware_samples_per_s"]
    wide = {(row["word_bytes"], row["lanes"], row["record_bytes"]): row for row in core["wide"]}
    for name, width, size, per_clock in [
        ("icebreaker", 1, 1, core["words_per_clock_single"]),
        ("icebreaker", 1, 64, core["words_per_clock_multi"]),
        ("ulx3s-85f", 64, 1, wide[64, 1, 1]["bytes_per_clock"]),
        ("ulx3s-85f", 64, 64, wide[64, 1, 64]["bytes_per_clock"]),
    ]:
        rates = hardware[name]
        clock = boards[name]["clock_mhz"] * 1e6
        assert rates["word_bytes"] == width
        assert rates[str(size)]["core_at_board_clock"] == round(per_clock * clock / size)
    assert hardware["ulx3s-85f"]["64"]["core_at_board_clock"] > 0.95e8  # a record a clock
    boards["ulx3s-85f"]["capacity"]["word_bytes"] = 32  # not in core.json's wide rows
    (results / "boards.json").write_text(json.dumps(boards))
    with pytest.raises(SystemExit) as exit_:
        compare.main(["--results", str(results)])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert "no 1-byte records in 32-byte words; run the core bench first" in err


def test_lanes_builds_rates_at_their_clock_with_their_seeds(results, monkeypatch, capsys):
    """Each lanes build's 1-byte samples/s: core.json's samples a clock with its lanes times its
    clock, the seeds that met the clock and those that did not, and its ratio to this run's CPU
    rates for its record size only; a default (one-lane) build adds no row, and a lanes count
    core.json has not measured is a one-line error."""
    monkeypatch.setattr(compare, "measure_conditions", lambda: Fixed(0.01))
    core = json.loads((results / "core.json").read_text())
    wide = {(row["word_bytes"], row["lanes"], row["record_bytes"]): row for row in core["wide"]}
    seed = {"built": True, "achieved_mhz": 101.0, "clock_met": True}
    builds = {
        "one": {"word_bytes": 64, "lanes": 1, "record_bytes": None, "clock_mhz": 100.0,
                "copies": 1, "capacity_bytes": 1, "seeds": {"1": seed}},
        "eight": {"word_bytes": 1, "lanes": 8, "record_bytes": 1, "clock_mhz": 100.0,
                  "copies": 4, "capacity_bytes": 98304,
                  "seeds": {"1": seed, "2": {**seed, "clock_met": False}, "3": {"built": False}}},
    }  # fmt: skip
    (results / "wide_builds.json").write_text(json.dumps(builds))
    assert compare.main(["--results", str(results)]) == 0
    written = json.loads((results / "compare.json").read_text())
    assert "one" not in written["hardware_samples_per_s"]
    row = written["hardware_samples_per_s"]["eight"]
    per_clock = wide[1, 8, 1]["samples_per_clock"]
    assert row["1"] == {"core_at_board_clock": round(per_clock * 100e6)}
    assert (row["seeds_met"], row["seeds_missed"]) == ([1], [2, 3])
    assert (row["lanes"], row["copies"], row["capacity_bytes"]) == (8, 4, 98304)
    ratios = written["ratio_core_at_board_clock_to_cpu"]["eight"]
    rate = row["1"]["core_at_board_clock"]
    assert ratios == {
        "1": {"python": rate, "numpy": round(rate / 2, 1), "reference": round(rate / 3, 1)}
    }
    builds["eight"]["lanes"] = 32  # no such row in core.json
    (results / "wide_builds.json").write_text(json.dumps(builds))
    with pytest.raises(SystemExit) as exit_:
        compare.main(["--results", str(results)])
    assert exit_.value.code == 1
    assert "no 1-byte records with 32 lanes in 1-byte words" in capsys.readouterr().err


def test_the_software_samplers_draw_stored_records(monkeypatch):
    """Each sampler returns records of the memory (numpy's rows through ``take``)."""
    seen = {}
    real_take = np.take

    def take(array, indices, axis, out):
        seen["rows"] = {bytes(row) for row in array}
        result = real_take(array, indices, axis=axis, out=out)
        seen["drawn"] = [bytes(row) for row in result]
        return result

    monkeypatch.setattr(compare.np, "take", take)
    rates = compare.cpu_sampling(3, records=50, samples=200, batches=(200,))
    assert set(rates) == {"python", "numpy", "reference"}
    assert all(rate > 0 for rate in rates.values())
    assert len(seen["drawn"]) == 200 and set(seen["drawn"]) <= seen["rows"]
    assert len(set(seen["drawn"])) > 40  # most of the 50 records drawn


def test_numpy_is_timed_at_its_fastest_batch(monkeypatch):
    """numpy's rate is the best of its batches, each repeated to a million samples."""
    timed = []

    def best_rate(function, amount, repeats=5):  # a rate that peaks at the middle batch
        timed.append((amount, repeats))
        return {100: 5.0, 300: 9.0, 2_000: 7.0}.get(amount, 1.0)

    monkeypatch.setattr(compare, "_best_rate", best_rate)
    rates = compare.cpu_sampling(2, records=40, samples=40, batches=(100, 300, 2_000))
    assert rates["numpy"] == 9
    assert {(100, 10_000), (300, 3_333), (2_000, 500)} <= set(timed)


def test_the_cpu_is_named_by_its_model(tmp_path):
    """The model name from a cpuinfo file; without one (or without the line), the architecture."""
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n")
    assert compare.cpu_model(cpuinfo) == "AMD EPYC 7B13"
    cpuinfo.write_text("processor\t: 0\n")
    fallback = compare.platform.processor() or compare.platform.machine()
    assert compare.cpu_model(cpuinfo) == fallback
    assert compare.cpu_model(tmp_path / "absent") == fallback
