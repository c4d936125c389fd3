"""``make bench``, last part: the wall time of the test suite (what ``make test`` runs), written
to results/suite.json with the pass/fail counts and the slowest tests."""

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["main"]

#: Added to ``make test``'s pytest command: no cache from earlier runs, the slowest tests listed.
PYTEST_ARGS = "-p no:cacheprovider --durations=10"


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="memgen.sim.bench.suite_time", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, default=Path("results/suite.json"))
    arguments = parser.parse_args(argv)
    repository = Path(__file__).resolve().parents[2]  # sim/bench/ in the checkout
    if not (repository / "Makefile").exists():
        parser.error(f"no Makefile in {repository}: run this from a checkout of memgen")
    command = ["make", "--no-print-directory", "test", f"PYTEST_ARGS={PYTEST_ARGS}"]
    started = time.monotonic()
    run = subprocess.run(command, cwd=repository, capture_output=True, text=True)
    seconds = time.monotonic() - started
    lines = run.stdout.splitlines()
    summary = next(
        (line for line in reversed(lines) if re.search(r"\d+ (passed|failed)", line)), ""
    )
    counts = {
        kind: int(n)
        for n, kind in re.findall(r"(\d+) (passed|failed|xfailed|skipped|error)", summary)
    }
    pattern = re.compile(r"([\d.]+)s (?:call|setup|teardown)\s+(\S+)")
    slowest = [
        {"seconds": float(found[1]), "test": found[2]}
        for found in map(pattern.match, lines)
        if found
    ]
    failures = [line.split()[1] for line in lines if line.startswith(("FAILED ", "ERROR "))]
    result = {
        "command": f"make test PYTEST_ARGS='{PYTEST_ARGS}'",
        "wall_seconds": round(seconds, 1),
        "counts": counts,
        "passed": run.returncode == 0,
        "failures": failures,
        "slowest": slowest,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    arguments.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"test suite: {summary.strip('= ')} ({seconds / 60:.1f} min), written to {arguments.out}")
    return 0 if run.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
