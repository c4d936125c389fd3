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
    for name in ("core", "boards", "link"):
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
    rates = compare.cpu_sampling(3, records=50, samples=200)
    assert set(rates) == {"python", "numpy", "reference"}
    assert all(rate > 0 for rate in rates.values())
    assert len(seen["drawn"]) == 200 and set(seen["drawn"]) <= seen["rows"]
    assert len(set(seen["drawn"])) > 40  # most of the 50 records drawn
