"""The demo's command line, its run through the three datasets and its summary table."""

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
from memgen.hdl.engine.protocol import DEFAULT_SEED
from memgen.hdl.engine.records import RecordFormat
from memgen.host.driver import MemGenError
from memgen.host.transports import DeviceNotFound

from ..plots import draw_cat, draw_histogram
from .datasets import TILE
from .session import PI_RECORD, VerificationError, run_cat, run_pi, run_zen

__all__ = ["binomial_band", "main"]

DEFAULT_OUT = Path("results") / "demo"


def binomial_band(samples, bins, level=0.99):
    """Central ``level`` interval of one bin's count when ``samples`` fall uniformly in ``bins``."""
    p = 1 / bins
    cumulative, low, high = 0.0, None, samples
    for k in range(samples + 1):
        log_pmf = (
            math.lgamma(samples + 1)
            - math.lgamma(k + 1)
            - math.lgamma(samples - k + 1)
            + k * math.log(p)
            + (samples - k) * math.log1p(-p)
        )
        cumulative += math.exp(log_pmf)
        if low is None and cumulative > (1 - level) / 2:
            low = k
        if cumulative >= 1 - (1 - level) / 2:
            high = k
            break
    return low, high


def summary(rows):
    """The summary table, one row per dataset."""
    header = ("dataset", "memory", "offered", "stored", "asked", "answered", "verified", "seconds")
    table = [header, *rows]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            str(cell).rjust(width) if i else str(cell).ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in table
    )


def main(argv=None):
    parser = argparse.ArgumentParser(prog="memgen.sim.demo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--device",
        default="verilator",
        choices=("verilator", "sim", "reference"),
        help="the simulated device (default: verilator)",
    )
    parser.add_argument(
        "--digits", type=int, default=140_000, help="decimals of pi to offer (default: 140,000)"
    )
    parser.add_argument("--zen-samples", type=int, default=4000, help="(default: 4,000)")
    parser.add_argument(
        "--cat-samples", type=int, help="tiles to sample (default: as many as trained)"
    )
    parser.add_argument("--seed", type=lambda text: int(text, 0), default=DEFAULT_SEED)
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"pictures folder (default: {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small datasets (pi in 512 bytes of memory, the cat at 1/8 size): a quick check",
    )
    arguments = parser.parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):  # each dataset's lines as it finishes
        sys.stdout.reconfigure(line_buffering=True)
    if arguments.digits < 1 or arguments.zen_samples < 1 or (arguments.cat_samples or 1) < 1:
        parser.error("--digits, --zen-samples and --cat-samples must be positive")
    try:
        arguments.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        parser.exit(1, f"memgen.sim.demo: cannot create {arguments.out}: {error.strerror}\n")
    from memgen.boards import BOARDS

    board, memory = BOARDS["icebreaker"], "iCEBreaker SPRAM"
    small = RecordFormat(512, max_records=8, max_length=PI_RECORD)
    scale = 1
    if arguments.quick:
        board, memory, scale = None, "512 B", 8
    print(
        f"memgen demo on the {arguments.device} device; every answer checked against the "
        "reference model\n"
    )
    try:
        run(arguments, board, memory, small, scale)
    except (VerificationError, MemGenError, DeviceNotFound, RuntimeError) as error:
        print(f"memgen demo: error: {error}", file=sys.stderr)
        return 1
    return 0


def run(arguments, board, memory, small, scale):
    """The three datasets, the pictures and the summary table."""
    rows = []
    started = time.monotonic()
    pi = run_pi(arguments.device, arguments.digits, board, small, arguments.seed)
    decimals = pi["bytes"] - 2
    print(
        f"pi     {arguments.digits:,} decimals computed, offered in {PI_RECORD}-character records"
    )
    print(f"       recited {pi['recited'][:24]}...{pi['recited'][-12:]} (exact)")
    print(f'       the paper\'s run stopped at "3.1415"; this memory held {decimals:,} decimals,')
    print(
        f"       then refused record {pi['stored'] + 1:,} with "
        f"{pi['refusal'].name if pi['refusal'] is not None else 'nothing (all fitted)'}"
    )
    rows.append(
        (
            "pi",
            memory,
            pi["records"],
            pi["stored"],
            "recite",
            pi["stored"],
            "yes",
            f"{time.monotonic() - started:.1f}",
        )
    )

    started = time.monotonic()
    zen = run_zen(arguments.device, arguments.zen_samples, arguments.seed)
    samples, bins = len(zen["indices"]), len(zen["lines"])
    counts = np.bincount(zen["indices"], minlength=bins)
    band = binomial_band(samples, bins)
    outside = int(np.sum((counts < band[0]) | (counts > band[1])))
    draw_histogram(counts, band, outside, arguments.out / "zen_histogram.png")
    print(
        f"zen    {len(zen['lines'])} lines of the Zen of Python, {len(zen['sampled']):,} samples; "
        "the first three:"
    )
    for record in zen["sampled"][:3]:
        print(f"         {record.decode().rstrip()}")
    print(
        f"       times each line was drawn: {counts.min()} to {counts.max()} "
        f"(99% band per line {band[0]} to {band[1]}; {outside} outside)"
    )
    rows.append(
        (
            "zen",
            "4 KiB",
            len(zen["lines"]),
            len(zen["lines"]),
            "sample",
            len(zen["sampled"]),
            "yes",
            f"{time.monotonic() - started:.1f}",
        )
    )

    started = time.monotonic()
    cat = run_cat(arguments.device, arguments.cat_samples, arguments.seed, scale)
    draw_cat(cat, arguments.out / "cat_tiles.png")
    tiles = len(cat["tiles"])
    print(
        f"cat    {tiles} tiles of {TILE}x{TILE} RGB ({TILE * TILE * 3}-byte records), "
        f"{len(cat['sampled']):,} sampled, each one a training tile"
    )
    rows.append(
        (
            "cat",
            f"{tiles * TILE * TILE * 3:,} B",
            tiles,
            tiles,
            "sample",
            len(cat["sampled"]),
            "yes",
            f"{time.monotonic() - started:.1f}",
        )
    )

    print()
    print(summary(rows))
    print(f"\npictures: {arguments.out}/zen_histogram.png, {arguments.out}/cat_tiles.png")
