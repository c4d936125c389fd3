"""The wide builds bench: each board at its widest word, a run per seed, a design that does not
place recorded as such, and the seeds that meet the board clock listed."""

import json

from memgen.boards import board
from memgen.sim.bench import wide_builds


def test_seeds_met_and_failed_are_recorded(monkeypatch, tmp_path):
    calls = []

    def fake_build(spec, build_dir, seed):
        calls.append((spec.name, spec.record_format.word_bytes, seed))
        if spec.name == "icebreaker" and seed == 1:
            raise RuntimeError("nextpnr failed\nERROR: Unable to find legal placement\n1 error")
        return {
            "design_clock": "clk",
            "fmax": {"clk": {"achieved_mhz": 40.0 + seed}},
            "timing_met": seed != 2,
            "utilisation": {"LC": {"used": 7, "available": 9}},
        }

    monkeypatch.setattr(wide_builds, "build", fake_build)
    out = tmp_path / "wide.json"
    out.write_text('{"ulx3s-85f": {"kept": true}}')
    assert wide_builds.main(["--out", str(out), "--seeds", "3", "--boards", "icebreaker"]) == 0
    kept = json.loads(out.read_text())
    assert kept["ulx3s-85f"] == {"kept": True}  # a board not built keeps its figures
    written = kept["icebreaker"]
    assert written["word_bytes"] == 8 == max(board("icebreaker").word_widths)
    assert written["seeds"]["1"] == {
        "built": False,
        "error": "ERROR: Unable to find legal placement",
    }
    assert written["seeds"]["3"] == {
        "built": True, "achieved_mhz": 43.0, "clock_met": True, "utilisation": {"LC": 7}
    }  # fmt: skip
    assert written["clock_met_at"] == [3]
    assert wide_builds.widest("ulx3s-85f") == 64
