"""make stats' batteries: PractRand's and TestU01's outputs read as they print them, the
index streams they get turned into fair bits exactly as documented, and every saved outcome
measured on the stream its run reads today."""

import hashlib
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from memgen.hdl.engine.index_generator import IndexGeneratorModel
from memgen.sim.evidence.batteries import (
    FINGERPRINT_BYTES,
    PART_TESTS,
    RUNS,
    parse_practrand,
    parse_testu01,
    parts,
    table,
)
from memgen.sim.evidence.fast_generator import stream_command

PRACTRAND = """\
RNG_test using PractRand version 0.94
RNG = RNG_stdin32, seed = unknown
test set = core, folding = standard (32 bit)

rng=RNG_stdin32, seed=unknown
length= 128 megabytes (2^27 bytes), time= 2.1 seconds
  Test Name                         Raw       Processed     Evaluation
  BCFN(2+0,13-3,T)                  R=  +9.6  p =  3.1e-4   unusual
  ...and 152 test result(s) without anomalies

rng=RNG_stdin32, seed=unknown
length= 256 megabytes (2^28 bytes), time= 4.4 seconds
  Test Name                         Raw       Processed     Evaluation
  FPF-14+6/16:all                   R= +31.0  p =  2.1e-21    FAIL !!
  ...and 164 test result(s) without anomalies
"""


def test_practrand_report_is_read():
    result = parse_practrand(PRACTRAND)
    assert result["reached"] == "256 megabytes" and result["log2_bytes"] == 28
    assert [a["at"] for a in result["anomalies"]] == ["128 megabytes", "256 megabytes"]
    assert result["failed"] and result["first_failure"] == "256 megabytes"
    clean = PRACTRAND.split("  Test Name")[0] + "  no anomalies in 152 test result(s)\n"
    assert parse_practrand(clean)["failed"] is False


def test_testu01_pvalues_outside_the_limits_fail():
    text = "pvalue 0 0.5 Birthday\npvalue 1 1e-12 Gap\npvalue 2 0.99999999999 Walk\nwords 9\n"
    result = parse_testu01(text)
    assert [p["test"] for p in result["failed"]] == ["Gap", "Walk"]
    assert result["words"] == 9
    assert parse_testu01("pvalue 0 1e-9 Gap\nwords 1\n")["failed"] == []


def test_table_names_every_run():
    outcomes = [
        {"battery": "practrand", "stream": "s", "reached": "1 gigabyte", "size": "1GB",
         "failed": False, "first_failure": None},
        {"battery": "crush", "stream": "t", "pvalues": 144, "smallest": 0.01, "largest": 0.99,
         "failed": []},
    ]  # fmt: skip
    lines = table(outcomes).splitlines()
    assert len(lines) == 4 and "no failure" in lines[2] and "Crush" in lines[3]
    assert len({run.name for run in RUNS}) == len(RUNS)


def fair_bits(indices, count):
    """The documented map: N split into powers of two, an index in a part of 2**k gives its k
    low bits (first bit lowest)."""
    bits = []
    for index in indices:
        for k in reversed(range(count.bit_length())):
            if not (count >> k) & 1:
                continue
            if index < 1 << k:
                bits += [(index >> j) & 1 for j in range(k)]
                break
            index -= 1 << k
    return bits


@pytest.mark.parametrize("count", [2, 3, 3000, 4096, 4097])
def test_index_stream_bits_are_the_models_indices(count):
    indices = IndexGeneratorModel(count, seed=5).request(3000, count)
    expected = fair_bits(indices, count)
    nbytes = len(expected) // 8
    command = stream_command("trivium", (5,), nbytes, count)
    data = subprocess.run(command, capture_output=True, check=True).stdout
    got = np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little")
    assert got.tolist() == expected[: 8 * nbytes]


def test_one_record_has_no_bits_to_give():
    """N = 1 would never write a byte: refused, not a hang."""
    result = subprocess.run(stream_command("trivium", (5,), 8, 1), capture_output=True)
    assert result.returncode == 2 and b"bad format" in result.stderr


def fake_tool(path, text, code=0):
    """A stand-in battery: reads a little of its stdin, prints ``text``, exits ``code``."""
    path.write_text(f"#!/bin/sh\nhead -c 4096 > /dev/null\ncat <<'END'\n{text}END\nexit {code}\n")
    path.chmod(0o755)
    return path


def test_a_finished_run_is_kept_and_not_run_again(tmp_path):
    """make stats resumes: a run's outcome is saved beside its output, and a second call reads it
    instead of running the battery (here a stand-in that would now fail)."""
    from memgen.sim.evidence.batteries import Batteries, Run, Stream, execute

    prefix = tmp_path / "tools"
    (prefix / "bin").mkdir(parents=True)
    fake_tool(prefix / "bin" / "RNG_test", PRACTRAND)
    run = Run("words", "practrand", Stream(seeds=(7,)), "1GB")
    folder = tmp_path / "results"
    outcome = execute(run, Batteries(prefix), folder)
    assert outcome["failed"] and outcome["first_failure"] == "256 megabytes"
    assert outcome["command"] == "trivium words 0 7"
    assert (folder / "words.txt").read_text().startswith("RNG_test using PractRand")
    fake_tool(prefix / "bin" / "RNG_test", "", code=1)
    assert execute(run, Batteries(prefix), folder) == outcome
    # saved from a stream the generator no longer gives (its first byte changed): run again
    saved = json.loads((folder / "words.json").read_text())
    saved["fingerprint"] = hashlib.sha256(b"\x01" + b"\0" * (FINGERPRINT_BYTES - 1)).hexdigest()
    (folder / "words.json").write_text(json.dumps(saved))
    with pytest.raises(RuntimeError, match="RNG_test ended with 1"):
        execute(run, Batteries(prefix), folder)


def test_testu01_parts_are_kept_one_by_one(tmp_path, monkeypatch):
    """Crush runs in parts; the parts that finished are not run again after a later one failed."""
    from memgen.sim.evidence import batteries

    harness = tmp_path / "harness"
    log = tmp_path / "parts.log"
    harness.write_text(
        "#!/bin/sh\nhead -c 4096 > /dev/null\n"
        f"echo $2 >> {log}\n"
        f'if [ "$2" = 49 ] && [ ! -e {tmp_path}/mended ]; then exit 3; fi\n'
        "printf 'pvalue 0 0.5 Gap\\npvalue 1 0.25 Walk\\nwords 9\\n'\n"
    )
    harness.chmod(0o755)
    monkeypatch.setattr(batteries.Batteries, "testu01", lambda self: harness)
    run = batteries.Run("crush", "crush", batteries.Stream(count=4096))
    folder = tmp_path / "results"
    with pytest.raises(RuntimeError, match="TestU01 ended with 3"):
        batteries.execute(run, batteries.Batteries(tmp_path), folder)
    assert sorted(p.name for p in folder.glob("crush.*.json")) == [
        "crush.1-24.json",
        "crush.25-48.json",
    ]
    (pending,) = batteries.saved_outcomes(folder, [run])
    assert (pending["parts_done"], pending["parts"], pending["pvalues"]) == (2, 4, 4)
    assert "| 2 of 4 parts, 4 p-values | so far all in [0.25, 0.5] |" in batteries.table([pending])
    (tmp_path / "mended").touch()
    outcome = batteries.execute(run, batteries.Batteries(tmp_path), folder)
    assert log.read_text().split() == ["1", "25", "49", "49", "73"]
    assert outcome["passed"] and outcome["pvalues"] == 8 and outcome["smallest"] == 0.25
    # a part saved from another stream is run again, the others kept
    part = json.loads((folder / "crush.25-48.json").read_text())
    (folder / "crush.25-48.json").write_text(json.dumps(part | {"fingerprint": "0" * 64}))
    (folder / "crush.json").unlink()
    batteries.execute(run, batteries.Batteries(tmp_path), folder)
    assert log.read_text().split() == ["1", "25", "49", "49", "73", "25"]


RESULTS = Path(__file__).resolve().parents[3] / "results" / "batteries"


@pytest.mark.parametrize("run", RUNS, ids=lambda run: run.name)
def test_every_saved_outcome_was_measured_on_the_stream_its_run_reads_today(run):
    """results/batteries and the README's table hold for today's generator: each run's outcome,
    and each TestU01 part, keeps the hash of its stream's first mebibyte, which is the hash of
    what the run's stream gives now (a changed generator, or range reduction, shows here: then
    make stats runs it again)."""
    fingerprint = run.stream.fingerprint()
    saved = [RESULTS / f"{run.name}.json"]
    if run.battery in PART_TESTS:
        saved += [RESULTS / f"{run.name}.{first}-{last}.json" for first, last in parts(run.battery)]
    for path in saved:
        assert json.loads(path.read_text())["fingerprint"] == fingerprint, path.name
