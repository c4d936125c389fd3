"""The suite's wall time: ``make test`` run in the checkout's root, its summary's counts and the
slowest tests parsed, a failing suite written and its exit status kept."""

import json
import subprocess
from pathlib import Path

import pytest
from memgen.sim.bench import suite_time

ROOT = Path(__file__).resolve().parents[3]

OUTPUT = """\
....F.
============================= slowest 10 durations =============================
209.88s call     tests/boards/test_build.py::test_build[ulx3s-85f-None]
70.10s setup    tests/boards/test_board_self_check.py::test_self_check[icebreaker]
0.01s teardown tests/host/test_cli.py::test_help
=========================== short test summary info ============================
{failures}{summary}
"""


@pytest.mark.parametrize(
    ("summary", "returncode", "counts", "failures"),
    [("1247 passed, 6 warnings in 817.54s (0:13:37)", 0, {"passed": 1247}, []),
     ("2 failed, 1237 passed, 6 warnings in 817.54s", 2, {"failed": 2, "passed": 1237},
      ["tests/a.py::test_one[x]", "tests/b.py::test_two"])],
)  # fmt: skip
def test_make_test_runs_in_the_checkout_and_is_summarised(
    tmp_path, monkeypatch, summary, returncode, counts, failures
):
    calls = []

    def run(command, cwd, **kwargs):
        calls.append((command, cwd))
        listed = "".join(f"FAILED {name} - AssertionError: assert 1 == 2\n" for name in failures)
        stdout = OUTPUT.format(summary=summary, failures=listed)
        return subprocess.CompletedProcess(command, returncode, stdout=stdout, stderr="")

    monkeypatch.setattr(suite_time.subprocess, "run", run)
    out = tmp_path / "suite.json"
    assert suite_time.main(["--out", str(out)]) == (0 if returncode == 0 else 1)
    ((command, cwd),) = calls
    assert Path(cwd) == ROOT and (Path(cwd) / "Makefile").exists()
    assert command[:3] == ["make", "--no-print-directory", "test"]
    written = json.loads(out.read_text())
    assert written["counts"] == counts
    assert written["passed"] is (returncode == 0)
    assert written["failures"] == failures
    assert [row["test"] for row in written["slowest"]] == [
        "tests/boards/test_build.py::test_build[ulx3s-85f-None]",
        "tests/boards/test_board_self_check.py::test_self_check[icebreaker]",
        "tests/host/test_cli.py::test_help",
    ]
    assert written["slowest"][0]["seconds"] == 209.88
