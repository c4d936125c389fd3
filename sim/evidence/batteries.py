"""PractRand and TestU01 on the generator's streams, for ``make stats``; resumable.

PractRand 0.94 (public domain) and TestU01 1.2.3 (Apache-2.0) are on no package registry: they
are built from their source archives by ``build-batteries`` (in ``../shared/tools`` beside a
project checkout, or wherever ``--battery-sources`` points) into ``build/batteries``, or used
from a ``--batteries`` prefix that holds ``bin/RNG_test`` and TestU01's ``lib`` and ``include``.

Every run is one stream (:func:`memgen.sim.evidence.fast_generator.stream_command`) piped
into one battery. Its output is kept in ``results/batteries/NAME.txt`` and its outcome in
``NAME.json``; a run whose JSON exists is not run again, so an interrupted ``make stats`` goes on
where it stopped. BigCrush and Crush are run in parts of a few tests each (TestU01's ``Repeat``
calls), every part reading the stream from its start, so that an interruption loses one part.
Each saved outcome keeps the SHA-256 of its stream's first mebibyte: one measured on a stream
the generator no longer gives is run again, and a test holds ``results/batteries`` to it.
"""

import hashlib
import json
import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from memgen.hdl.engine.protocol import DEFAULT_SEED

from .fast_generator import stream_command

__all__ = ["RUNS", "Batteries", "BatteriesMissing", "parse_practrand", "parse_testu01", "parts"]

HARNESS_SOURCE = Path(__file__).with_name("testu01_stdin.c")
#: TestU01 p-values outside [P_LIMIT, 1 - P_LIMIT] fail (the issue's target).
P_LIMIT = 1e-10
#: Tests per battery, and how many go in one part.
TESTU01_TESTS = {"small": 10, "crush": 96, "bigcrush": 106}
PART_TESTS = {"small": 10, "crush": 24, "bigcrush": 9}
#: Bytes of a stream whose hash a saved outcome keeps (a changed generator shows in them).
FINGERPRINT_BYTES = 1 << 20


class BatteriesMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Stream:
    """What a run reads: ``engine`` words from ``seeds`` in turn, or its index stream for
    ``count`` records."""

    engine: str = "trivium"
    seeds: tuple = (DEFAULT_SEED,)
    count: int | None = None

    def command(self):
        return stream_command(self.engine, self.seeds, 0, self.count)

    def fingerprint(self):
        """SHA-256 of the stream's first ``FINGERPRINT_BYTES``, hex."""
        command = stream_command(self.engine, self.seeds, FINGERPRINT_BYTES, self.count)
        head = subprocess.run(command, capture_output=True, check=True).stdout
        return hashlib.sha256(head).hexdigest()

    def describe(self):
        seeds = " and ".join(f"{seed:#x}" for seed in self.seeds)
        what = f"indices at N = {self.count}" if self.count else "32-bit words"
        joined = ", interleaved" if len(self.seeds) > 1 else ""
        return f"{self.engine} {what}, seed {seeds}{joined}"


@dataclass(frozen=True)
class Run:
    name: str
    battery: str  # "practrand" or a TestU01 battery
    stream: Stream
    size: str = ""  # PractRand's -tlmax


DEFAULT = Stream()
RUNS = (
    Run("practrand-words-default", "practrand", DEFAULT, "256GB"),
    Run("practrand-words-seed-1", "practrand", Stream(seeds=(1,)), "32GB"),
    Run("practrand-indices-4096", "practrand", Stream(count=4096), "32GB"),
    Run("practrand-indices-3000", "practrand", Stream(count=3000), "32GB"),
    Run("practrand-words-seeds-1-2", "practrand", Stream(seeds=(1, 2)), "32GB"),
    # the minimum-area option: where it fails
    Run("practrand-lfsr-words", "practrand", Stream("lfsr"), "32GB"),
    Run("practrand-lfsr-indices-4096", "practrand", Stream("lfsr", count=4096), "32GB"),
    Run("smallcrush-lfsr-words", "small", Stream("lfsr")),
    # hours: last, in parts
    Run("crush-indices-4096", "crush", Stream(count=4096)),
    Run("bigcrush-words-default", "bigcrush", DEFAULT),
)


def parse_practrand(text):
    """PractRand's reports: the longest length reached, and the anomalies at each length."""
    reports, anomalies, length = [], [], None
    for line in text.splitlines():
        found = re.match(r"length= ([\d.]+ \w+) \(2\^(\d+) bytes\)", line.strip())
        if found:
            length = {"length": found.group(1), "log2_bytes": int(found.group(2))}
            reports.append(length)
            continue
        if length and "R=" in line and "p =" in line:
            anomalies.append({"at": length["length"], "line": " ".join(line.split())})
    failed = [a for a in anomalies if "FAIL" in a["line"]]
    return {
        "reached": reports[-1]["length"] if reports else None,
        "log2_bytes": reports[-1]["log2_bytes"] if reports else None,
        "anomalies": anomalies,
        "failed": bool(failed),
        "first_failure": failed[0]["at"] if failed else None,
    }


def parse_testu01(text):
    """The harness's p-values; the ones outside [P_LIMIT, 1 - P_LIMIT] fail."""
    pvalues = []
    words = None
    for line in text.splitlines():
        if line.startswith("pvalue "):
            _, index, value, name = line.split(" ", 3)
            pvalues.append({"index": int(index), "p": float(value), "test": name})
        elif line.startswith("words "):
            words = int(line.split()[1])
    outside = [p for p in pvalues if not P_LIMIT <= p["p"] <= 1 - P_LIMIT]
    return {"pvalues": pvalues, "words": words, "failed": outside}


class Batteries:
    """The two batteries' programs, built on first use."""

    def __init__(self, prefix="build/batteries", sources=None):
        self.prefix = Path(prefix).resolve()
        self.sources = sources

    def _build(self):
        script = None
        candidates = [self.sources] if self.sources else []
        candidates.append(Path(__file__).resolve().parents[3] / "shared" / "tools")
        for folder in candidates:
            if folder and (Path(folder) / "build-batteries").exists():
                script = Path(folder) / "build-batteries"
                break
        if script is None:
            raise BatteriesMissing(
                f"PractRand and TestU01 are not in {self.prefix} and no build-batteries script "
                "was found: give --batteries PREFIX or --battery-sources DIR"
            )
        print(f"building PractRand and TestU01 into {self.prefix} ...", flush=True)
        subprocess.run(["bash", str(script), str(self.prefix)], check=True)

    def rng_test(self):
        program = self.prefix / "bin" / "RNG_test"
        if not program.exists():
            self._build()
        return program

    def testu01(self):
        """The compiled :file:`testu01_stdin.c`, linked against the prefix's TestU01."""
        if not (self.prefix / "lib" / "libtestu01.a").exists():
            self._build()
        digest = hashlib.sha256(HARNESS_SOURCE.read_bytes()).hexdigest()[:16]
        program = self.prefix / "bin" / f"testu01_stdin-{digest}"
        if not program.exists():
            compiler = os.environ.get("CC", "cc")
            subprocess.run(
                [compiler, "-O2", "-o", str(program), str(HARNESS_SOURCE),
                 f"-I{self.prefix / 'include'}", f"-L{self.prefix / 'lib'}",
                 "-ltestu01", "-lprobdist", "-lmylib", "-lm"],
                check=True,
            )  # fmt: skip
        return program


def _pipe(producer, consumer, log):
    """Runs ``producer | consumer`` with the consumer's output in ``log``; its exit code."""
    with open(log, "w") as out:
        feed = subprocess.Popen(producer, stdout=subprocess.PIPE)
        tester = subprocess.Popen(consumer, stdin=feed.stdout, stdout=out, stderr=subprocess.STDOUT)
        feed.stdout.close()
        code = tester.wait()
        feed.kill()
        feed.wait()
    return code


def parts(battery):
    """A TestU01 battery's parts: (first, last) test numbers of each, run and kept apart."""
    total, step = TESTU01_TESTS[battery], PART_TESTS[battery]
    return [(first, min(total, first + step - 1)) for first in range(1, total + 1, step)]


def _kept(saved, fingerprint):
    """The outcome saved in ``saved`` if it was measured on the stream ``fingerprint``."""
    if not saved.exists():
        return None
    outcome = json.loads(saved.read_text())
    return outcome if outcome.get("fingerprint") == fingerprint else None


def execute(run, batteries, folder):
    """Runs ``run`` unless its outcome is saved from the stream it reads now; returns the
    outcome."""
    folder.mkdir(parents=True, exist_ok=True)
    saved, fingerprint = folder / f"{run.name}.json", run.stream.fingerprint()
    kept = _kept(saved, fingerprint)
    if kept:
        return kept
    if saved.exists():
        print(f"{run.name}: saved from another stream, run again", flush=True)
    started = time.time()
    outcome = {
        "name": run.name,
        "battery": run.battery,
        "stream": run.stream.describe(),
        "command": " ".join(run.stream.command()[1:5]),
        "fingerprint": fingerprint,
    }
    if run.battery == "practrand":
        log = folder / f"{run.name}.txt"
        consumer = [str(batteries.rng_test()), "stdin32", "-tlmax", run.size, "-multithreaded"]
        code = _pipe(run.stream.command(), consumer, log)
        result = parse_practrand(log.read_text())
        if code and not result["failed"]:
            raise RuntimeError(f"RNG_test ended with {code}: see {log}")
        outcome.update(size=run.size, **result)
        outcome["passed"] = not result["failed"]
    else:
        program, done, failed = batteries.testu01(), [], []
        for first, last in parts(run.battery):
            log = folder / f"{run.name}.{first}-{last}.txt"
            part_saved = log.with_suffix(".json")
            part = _kept(part_saved, fingerprint)
            if not part:
                consumer = [str(program), run.battery, str(first), str(last), run.name]
                code = _pipe(run.stream.command(), consumer, log)
                if code:
                    raise RuntimeError(f"TestU01 ended with {code}: see {log}")
                part = {"tests": [first, last], **parse_testu01(log.read_text()),
                        "fingerprint": fingerprint}  # fmt: skip
                part_saved.write_text(json.dumps(part, indent=1))
            done.append(part)
            failed += part["failed"]
        pvalues = [p["p"] for part in done for p in part["pvalues"]]
        outcome.update(
            pvalues=len(pvalues),
            smallest=min(pvalues),
            largest=max(pvalues),
            failed=failed,
            passed=not failed,
        )
    outcome["seconds"] = round(time.time() - started)
    saved.write_text(json.dumps(outcome, indent=1))
    return outcome


def saved_outcomes(folder, runs=RUNS):
    """Every run's saved outcome (if measured on the stream it reads now), or for a run not
    finished yet what it will be (and, for TestU01, what its finished parts gave)."""
    outcomes = []
    for run in runs:
        fingerprint = run.stream.fingerprint()
        saved = _kept(Path(folder) / f"{run.name}.json", fingerprint)
        if saved:
            outcomes.append(saved)
        else:
            outcome = {"name": run.name, "battery": run.battery, "stream": run.stream.describe(),
                       "size": run.size, "pending": True}  # fmt: skip
            if run.battery in PART_TESTS:  # the parts finished so far
                done = [_kept(Path(folder) / f"{run.name}.{first}-{last}.json", fingerprint)
                        for first, last in parts(run.battery)]  # fmt: skip
                done = [part for part in done if part]
                pvalues = [p["p"] for part in done for p in part["pvalues"]]
                outcome.update(parts_done=len(done), parts=len(parts(run.battery)),
                               pvalues=len(pvalues),
                               failed=[f for part in done for f in part["failed"]],
                               smallest=min(pvalues, default=None),
                               largest=max(pvalues, default=None))  # fmt: skip
            outcomes.append(outcome)
    return outcomes


BATTERY_NAMES = {"small": "SmallCrush", "crush": "Crush", "bigcrush": "BigCrush"}


def _size_and_verdict(o):
    if o.get("pending"):
        if not o.get("parts_done"):
            return (f"to {o['size']}" if o["size"] else "all tests"), "not run yet"
        size = f"{o['parts_done']} of {o['parts']} parts, {o['pvalues']} p-values"
        if o["failed"]:
            return size, f"so far {len(o['failed'])} outside [1e-10, 1 - 1e-10]"
        return size, f"so far all in [{o['smallest']:.2g}, {o['largest']:.4g}]"
    if o["battery"] == "practrand":
        verdict = f"FAIL at {o['first_failure']}" if o["failed"] else "no failure"
        return f"{o['reached']} (limit {o['size']})", verdict
    if o["failed"]:
        return f"{o['pvalues']} p-values", f"{len(o['failed'])} outside [1e-10, 1 - 1e-10]"
    return f"{o['pvalues']} p-values", f"all in [{o['smallest']:.2g}, {o['largest']:.4g}]"


def table(outcomes):
    """results/README.md's table: stream, battery, size, outcome."""
    lines = ["| stream | battery | size | outcome |", "| --- | --- | --- | --- |"]
    for o in outcomes:
        battery = BATTERY_NAMES.get(o["battery"], "PractRand 0.94")
        size, verdict = _size_and_verdict(o)
        lines.append(f"| {o['stream']} | {battery} | {size} | {verdict} |")
    return "\n".join(lines)


def main(argv=None):
    """Runs the battery runs named (all by default) and prints their table."""
    import argparse

    parser = argparse.ArgumentParser(prog="memgen.sim.evidence.batteries", description=main.__doc__)
    parser.add_argument("runs", nargs="*", help=f"of: {', '.join(r.name for r in RUNS)}")
    parser.add_argument("--batteries", default="build/batteries", help="the tools' prefix")
    parser.add_argument("--battery-sources", help="the folder of build-batteries")
    parser.add_argument("--folder", type=Path, default=Path("results/batteries"))
    arguments = parser.parse_args(argv)
    known = {run.name: run for run in RUNS}
    unknown = [name for name in arguments.runs if name not in known]
    if unknown:
        parser.error(f"unknown run {unknown[0]!r}")
    batteries = Batteries(arguments.batteries, arguments.battery_sources)
    outcomes = []
    try:
        for name in arguments.runs or known:
            print(f"{name} ...", flush=True)
            outcomes.append(execute(known[name], batteries, arguments.folder))
    except (BatteriesMissing, RuntimeError) as error:
        parser.exit(1, f"memgen.sim.evidence.batteries: {error}\n")
    print(table(outcomes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
