"""The range reduction's threshold unit checked for every count a design can hold.

:class:`~memgen.hdl.engine.threshold.Threshold` is exported to Verilog, compiled by Verilator with
``threshold_check.cpp`` (cached like the UART models) and run over every count from 1 to the
capacity: about 35 clocks per count, 2**24 counts in under a minute.
"""

import os
import subprocess
from pathlib import Path

from amaranth.back import verilog
from memgen.hdl.engine.index_generator import fraction_bits
from memgen.hdl.engine.threshold import Threshold
from memgen.host.verilator_device import (
    cache_dir,
    design_digest,
    make_once,
    verilator_environment,
)

__all__ = ["build_checker", "check_counts"]

HARNESS = Path(__file__).with_name("threshold_check.cpp")


def build_checker(count_width, fault=None):
    """The compiled checker for a unit of ``count_width`` bits (``fault``: a test-only mutant
    of the Verilog, ``"no_subtract_at_equal"`` compares with ``>`` instead of ``>=``)."""
    bits = fraction_bits(count_width)
    key = f"threshold {count_width} {bits} {fault} " + HARNESS.read_text()
    directory = cache_dir() / "threshold" / design_digest(key)
    directory.mkdir(parents=True, exist_ok=True)
    executable = directory / "threshold_check"

    def make(output):
        text = verilog.convert(Threshold(count_width, bits), name="threshold_unit")
        if fault == "no_subtract_at_equal":
            text = text.replace(">=", ">", 1)
        source = directory / "threshold_unit.v"
        source.write_text(text)
        command = ["verilator", "--cc", "--exe", "--build", "-O3", "-Wno-fatal",
                   "--top-module", "threshold_unit", "--Mdir", str(directory / "obj"),
                   "-o", str(output), str(source), str(HARNESS)]  # fmt: skip
        environment = {**os.environ, **verilator_environment()}
        result = subprocess.run(command, env=environment, capture_output=True, text=True)
        if result.returncode:
            raise RuntimeError(f"Verilator failed: {result.stderr[-2000:]}")

    make_once(executable, directory / "lock", make)
    return executable, bits


def check_counts(count_width, first, last, fault=None):
    """Runs the checker over ``first .. last``; returns (counts checked, mismatch lines)."""
    executable, bits = build_checker(count_width, fault)
    result = subprocess.run(
        [str(executable), str(first), str(last), str(bits)], capture_output=True, text=True
    )
    *mismatches, summary = result.stdout.strip().splitlines()
    checked = int(summary.split()[1])
    return checked, mismatches
