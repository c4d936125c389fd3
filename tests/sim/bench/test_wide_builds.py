"""The wide builds bench: the iCEBreaker at its widest word, a run per seed, a design that does not
place recorded as such, and the seeds that meet the board clock listed."""

import json

import pytest
from memgen.boards import board
from memgen.sim.bench import wide_builds


def test_seeds_met_and_failed_are_recorded(monkeypatch, tmp_path):
    calls = []

    def fake_build(spec, build_dir, seed, top=None):
        calls.append((spec.name, spec.record_format.word_bytes, seed))
        if spec.name == "icebreaker" and seed == 1:
            raise RuntimeError("nextpnr failed\nERROR: Unable to find legal placement\n1 error")
        return {
            "design_clock": "clk",
            "fmax": {"clk": {"achieved_mhz": 40.0 + seed}},
            "timing_met": seed != 2,
            "utilisation": {"LC": {"used": 7, "available": 9}},
            "slowest_path": {"from": "a0", "to": "a3", "ns": 4.38},
            "netlist": f"digest{seed}",
        }

    monkeypatch.setattr(wide_builds, "build", fake_build)
    written_after = []  # the builds finished at each write: the file follows every build
    write = wide_builds._write
    monkeypatch.setattr(wide_builds, "_write", lambda path, names, results: (
        written_after.append(len(results)), write(path, names, results)))  # fmt: skip
    out = tmp_path / "wide.json"
    out.write_text('{"ulx3s-85f": {"kept": true}}')
    assert wide_builds.main(["--out", str(out), "--seeds", "3", "--boards", "icebreaker-w8"]) == 0
    assert written_after == [1, 2, 3]
    kept = json.loads(out.read_text())
    assert kept["ulx3s-85f"] == {"kept": True}  # a board not built keeps its figures
    written = kept["icebreaker-w8"]
    assert written["word_bytes"] == 8 == max(board("icebreaker").word_widths)
    assert written["seeds"]["1"] == {
        "built": False,
        "error": "ERROR: Unable to find legal placement",
    }
    assert written["seeds"]["3"] == {
        "built": True, "achieved_mhz": 43.0, "clock_met": True, "utilisation": {"LC": 7},
        "slowest_path": {"from": "a0", "to": "a3", "ns": 4.38}, "nextpnr_options": [],
        "netlist": "digest3",
    }  # fmt: skip
    assert written["clock_met_at"] == [3]


@pytest.mark.parametrize(
    ("name", "lanes", "copies", "size"),
    [("lanes2", 2, 1, 1), ("lanes4", 4, 2, 1), ("lanes8", 8, 4, 1), ("lanes16", 16, 8, 1),
     ("64x2", 2, 1, 64)],
)  # fmt: skip
def test_the_lanes_builds_are_the_ulx3s_with_copies(
    monkeypatch, tmp_path, name, lanes, copies, size
):
    """``ulx3s-85f-lanesL``: 1-byte records, L lanes, two to a copy: all of the memory in one
    copy for two lanes, half in each of two copies for four, a quarter in each of four for
    eight, an eighth in each of eight for sixteen; ``ulx3s-85f-64x2``: two lanes of 64-byte
    records in 64-byte words, all of the memory, its USB link kept."""

    def fake_build(spec, build_dir, seed, top=None):  # runs in a worker process
        assert spec.record_format.lanes == lanes
        return {"design_clock": "clk", "fmax": {"clk": {"achieved_mhz": 101.0}},
                "timing_met": True, "utilisation": {},
                "slowest_path": None, "netlist": "n"}  # fmt: skip

    monkeypatch.setattr(wide_builds, "build", fake_build)
    out = tmp_path / "wide.json"
    arguments = ["--out", str(out), "--seeds", "1", "--boards", f"ulx3s-85f-{name}"]
    assert wide_builds.main(arguments) == 0
    written = json.loads(out.read_text())[f"ulx3s-85f-{name}"]
    assert (written["lanes"], written["record_bytes"], written["word_bytes"]) == (lanes, size, size)
    assert (written["copies"], written["usb"]) == (copies, size == 64)
    assert written["capacity_bytes"] == board("ulx3s-85f").record_format.byte_capacity // copies
    assert written["clock_met_at"] == [1] and written["seeds"]["1"]["built"]
    options = written["seeds"]["1"]["nextpnr_options"]  # how each seed was placed
    assert options == ["--placer-heap-timingweight", "30"]


def test_a_range_of_seeds_keeps_the_others(monkeypatch, tmp_path):
    """``--seeds 2-3`` rebuilds seeds 2 and 3 and keeps seed 1 from the earlier run."""

    def fake_build(spec, build_dir, seed, top=None):
        return {"design_clock": "clk", "fmax": {"clk": {"achieved_mhz": 90.0 + seed}},
                "timing_met": seed == 3, "utilisation": {},
                "slowest_path": None, "netlist": "n"}  # fmt: skip

    monkeypatch.setattr(wide_builds, "build", fake_build)
    out = tmp_path / "wide.json"
    earlier = {"1": {"built": True, "achieved_mhz": 50.0, "clock_met": True},
               "2": {"built": True, "achieved_mhz": 50.0, "clock_met": True}}  # fmt: skip
    out.write_text(json.dumps({"icebreaker-w8": {"seeds": earlier}}))
    arguments = ["--out", str(out), "--seeds", "2-3", "--boards", "icebreaker-w8", "--jobs", "1"]
    assert wide_builds.main(arguments) == 0
    written = json.loads(out.read_text())["icebreaker-w8"]
    assert sorted(written["seeds"]) == ["1", "2", "3"]
    assert written["seeds"]["1"]["achieved_mhz"] == 50.0  # kept
    assert written["seeds"]["2"]["achieved_mhz"] == 92.0  # rebuilt
    assert written["clock_met_at"] == [1, 3]


@pytest.mark.parametrize("seeds", ["0", "3-2", "x", "1-", "-2", "0-3"])
def test_bad_seeds_are_one_line_errors(seeds, capsys):
    with pytest.raises(SystemExit) as exit_:
        wide_builds.main(["--seeds", seeds])
    assert exit_.value.code == 2
    assert f"argument --seeds: '{seeds}'" in capsys.readouterr().err


def test_the_default_and_self_check_builds(monkeypatch, tmp_path):
    """``ulx3s-85f`` is the board's default build, 64-byte words and its USB link, every
    clock's Fmax recorded; ``ulx3s-85f-self-check`` builds the self-check example on the board
    as described, without a link."""
    from memgen.boards.self_check import SelfCheckTop

    def fake_build(spec, build_dir, seed, top=None):  # runs in a worker process
        assert spec.usb_link == (top is None) and spec.record_format.word_bytes == 64
        assert top is None or isinstance(top, SelfCheckTop)
        fmax = {"clk": {"achieved_mhz": 101.0}, "usb": {"achieved_mhz": 90.0}}
        return {"design_clock": "clk", "timing_met": True, "utilisation": {}, "fmax": fmax,
                "slowest_path": None, "netlist": "n"}  # fmt: skip

    monkeypatch.setattr(wide_builds, "build", fake_build)
    out = tmp_path / "wide.json"
    names = ["ulx3s-85f", "ulx3s-85f-self-check"]
    assert (
        wide_builds.main(["--out", str(out), "--seeds", "1", "--jobs", "1", "--boards", *names])
        == 0
    )
    seen = json.loads(out.read_text())
    assert seen["ulx3s-85f"]["usb"] and not seen["ulx3s-85f-self-check"]["usb"]
    assert seen["ulx3s-85f"]["word_bytes"] == 64 and seen["ulx3s-85f"]["record_bytes"] is None
    assert seen["ulx3s-85f"]["seeds"]["1"]["other_clocks_mhz"] == {"usb": 90.0}
    assert "other_clocks_mhz" not in seen["ulx3s-85f-self-check"]["seeds"]["1"]


def test_the_unrouted_build_runs_only_when_named(monkeypatch, tmp_path):
    """By default every build but ``ulx3s-85f-64x2`` (its routes never settled); named, it
    runs. (The builds run in worker processes: what ran is read from the JSON.)"""

    def fake_build(spec, build_dir, seed, top=None):
        return {"design_clock": "clk", "timing_met": True, "utilisation": {},
                "fmax": {"clk": {"achieved_mhz": 101.0}},
                "slowest_path": None, "netlist": "n"}  # fmt: skip

    monkeypatch.setattr(wide_builds, "build", fake_build)
    out = tmp_path / "wide.json"
    assert wide_builds.main(["--out", str(out), "--seeds", "1", "--jobs", "1"]) == 0
    expected = [name for name in wide_builds.BUILDS if name not in wide_builds.UNROUTED]
    assert sorted(json.loads(out.read_text())) == sorted(expected)
    wide_builds.main(["--out", str(out), "--seeds", "1", "--jobs", "1",
                      "--boards", "ulx3s-85f-64x2"])  # fmt: skip
    assert sorted(json.loads(out.read_text())) == sorted(expected + ["ulx3s-85f-64x2"])


def test_stale_lists_the_seeds_built_from_another_netlist(monkeypatch, tmp_path, capsys):
    """``--stale`` builds nothing: it compares each seed's recorded netlist with the one the
    design gives today (its name and the self-check's top make it) and exits 1 if any differs
    or was never recorded, or the build is not there."""
    today = {"ulx3s-85f": "new", "ulx3s-85f-self-check": "check"}
    seen = []

    def design_netlist(spec, top=None):
        name = "ulx3s-85f-self-check" if top is not None else spec.name
        seen.append(name)
        return today[name]

    monkeypatch.setattr(wide_builds, "design_netlist", design_netlist)
    monkeypatch.setattr(wide_builds, "build", lambda *args, **kwargs: pytest.fail("built"))
    out = tmp_path / "wide.json"
    out.write_text(json.dumps({
        "ulx3s-85f": {"seeds": {"1": {"netlist": "new"}, "2": {"netlist": "old"}, "3": {}}},
        "ulx3s-85f-self-check": {"seeds": {"1": {"netlist": "check"}}},
    }))  # fmt: skip
    names = ["ulx3s-85f", "ulx3s-85f-self-check"]
    assert wide_builds.main(["--out", str(out), "--stale", "--boards", *names]) == 1
    assert seen == names
    assert capsys.readouterr().out.splitlines() == [
        "ulx3s-85f: seeds [2, 3] from another netlist",
        "ulx3s-85f-self-check: current",
    ]
    assert wide_builds.main(["--out", str(out), "--stale", "--boards", names[1]]) == 0
    assert wide_builds.main(["--out", str(out), "--stale", "--boards", "icebreaker-w8"]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "icebreaker-w8: not built"
