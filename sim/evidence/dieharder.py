"""The generator's raw bits through dieharder (the Debian package), for ``make stats``.

Each generator option's 32-bit words (:func:`memgen.sim.evidence.fast_generator.stream_command`, the
model's words bit for bit) are piped into ``dieharder -g 200`` (raw binary on stdin), either the
whole battery (``-a``) or chosen tests (``-d NUMBER``). The options run side by side, one process
pair each. dieharder's own verdicts are kept as it gives them: PASSED, WEAK (a p-value below
0.005 or above 0.995) or FAILED (below 1e-6 or above 1 - 1e-6).
"""

import shutil
import subprocess
import time

from .fast_generator import stream_command

__all__ = ["DieharderMissing", "parse", "run_dieharder", "summarise"]

ASSESSMENTS = ("PASSED", "WEAK", "FAILED")


class DieharderMissing(RuntimeError):
    pass


def parse(text):
    """dieharder's result table as dicts (test, ntup, tsamples, psamples, p, assessment)."""
    results = []
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) != 6 or cells[5] not in ASSESSMENTS:
            continue
        name, ntup, tsamples, psamples, p, assessment = cells
        results.append(
            {
                "test": name,
                "ntup": int(ntup),
                "tsamples": int(tsamples),
                "psamples": int(psamples),
                "p": float(p),
                "assessment": assessment,
            }
        )
    return results


def summarise(output):
    """dieharder's output as counts per assessment, the FAILED and WEAK tests named, every row,
    and the output itself."""
    results = parse(output)
    counts = {a: sum(r["assessment"] == a for r in results) for a in ASSESSMENTS}

    def named(assessment):
        return [
            f"{r['test']} (ntup {r['ntup']}, p = {r['p']:.8f})"
            for r in results
            if r["assessment"] == assessment
        ]

    return {
        "counts": counts,
        "failed": named("FAILED"),
        "weak": named("WEAK"),
        "results": results,
        "output": output,
    }


def _start(generator, seed, tests):
    feed = subprocess.Popen(stream_command(generator, (seed,)), stdout=subprocess.PIPE)
    selection = ["-a"] if tests is None else []
    commands = []
    for test in tests or [None]:
        command = ["dieharder", "-g", "200", *selection]
        if test is not None:
            number, _, ntup = str(test).partition(":")
            command += ["-d", number] + (["-n", ntup] if ntup else [])
        commands.append(command)
    # One dieharder per selected test, one after the other, reading the same stream.
    script = " && ".join(" ".join(command) for command in commands)
    tester = subprocess.Popen(
        ["sh", "-c", script], stdin=feed.stdout, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    feed.stdout.close()  # the tester holds the only reader
    return feed, tester


def run_dieharder(generators, seed=1, tests=None):
    """dieharder on each generator option's words, all options at once.

    ``tests``: None for the whole battery (``-a``), or dieharder test numbers, ``"N:T"`` for
    ``-d N -n T``. Returns ``{generator: {"counts", "failed", "weak", "results", "wall_seconds"}}``
    (wall time from the start until that option finished).
    """
    if shutil.which("dieharder") is None:
        raise DieharderMissing(
            "dieharder is not installed: apt-get install dieharder (the Debian package)"
        )
    started = time.monotonic()
    running = {generator: _start(generator, seed, tests) for generator in generators}
    report = {}
    for generator, (feed, tester) in running.items():
        output = tester.communicate()[0].decode(errors="replace")
        feed.kill()
        feed.wait()
        if tester.returncode or not parse(output):
            raise RuntimeError(f"dieharder on {generator} failed:\n{output[-2000:]}")
        report[generator] = summarise(output)
        report[generator]["wall_seconds"] = round(time.monotonic() - started, 1)
    return report
