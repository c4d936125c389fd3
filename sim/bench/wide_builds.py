"""``make bench``, wide builds: the ULX3S's default build (64-byte words, answering on USB
beside the UART), the iCEBreaker at its widest words (8 bytes), the ULX3S with two, four, eight
and sixteen lanes of 1-byte records (on the UART only, ``--no-usb``, their memory being the point)
and both boards' self-check example, over nextpnr seeds, written to results/wide_builds.json.

The iCEBreaker's four SPRAMs side by side make 8-byte words (its SPRAM limit, 8 bytes a clock);
the ULX3S's DP16KDs make 64-byte words (a 64-byte record a clock), and ``ulx3s-85f-64x2`` reads
them on both ports of every block (two 64-byte records a clock, the full 384 KiB, USB kept).
``ulx3s-85f-lanes2`` reads its one copy of 384 KiB of 1-byte records on both ports of every
block, two samples a clock, ``ulx3s-85f-lanes4`` two copies of 192 KiB, four a clock,
``ulx3s-85f-lanes8`` four copies of 96 KiB, eight, ``ulx3s-85f-lanes16`` eight copies of
48 KiB, sixteen. ``ulx3s-85f-sdram`` keeps its records in the 32 MiB SDRAM (16-byte words,
the record table in block RAM), ``ulx3s-85f-sdram-bytes`` 2**25 1-byte records there (2-byte
words, the widest record count). Per build and seed: the Fmax of the design clock (and of the
USB link's clocks), whether every clock is met, its slowest path's ends and delay, the cells
used, the board's extra nextpnr options (the ULX3S's builds with lanes or SDRAM weigh
timing more in placement) and the digest of the netlist built, or the tool's error when the
design does not place. Builds run two at a time (one per core); ``--stale`` builds nothing and
lists the seeds whose netlist is not the one the design gives today.
"""

import argparse
import json
import re
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from memgen.boards import board
from memgen.boards.build import build, design_netlist, placement_options

__all__ = ["BUILDS", "UNROUTED", "main", "stale", "variant"]


def _lanes(lanes):
    return lambda: board("ulx3s-85f").with_usb(False).for_records(1).with_lanes(lanes)


#: Each build of ``results/wide_builds.json``: name -> the board it builds.
BUILDS = {
    "icebreaker-w8": lambda: board("icebreaker").with_word_bytes(8),
    "ulx3s-85f": lambda: board("ulx3s-85f"),  # as ``memgen build ulx3s-85f`` builds it
    "ulx3s-85f-64x2": lambda: board("ulx3s-85f").for_records(64).with_lanes(2),
    "ulx3s-85f-lanes2": _lanes(2),
    "ulx3s-85f-lanes4": _lanes(4),
    "ulx3s-85f-lanes8": _lanes(8),
    "ulx3s-85f-lanes16": _lanes(16),
    "ulx3s-85f-sdram": lambda: board("ulx3s-85f").with_memory("sdram"),  # --memory sdram
    "ulx3s-85f-sdram-bytes": lambda: board("ulx3s-85f").with_memory("sdram").for_records(1),
    "ulx3s-85f-self-check": lambda: board("ulx3s-85f").with_usb(False),  # it has no link
    "icebreaker-self-check": lambda: board("icebreaker"),
}
#: Built only when named (``--boards``): nextpnr's router has not routed it (docs/design.md).
UNROUTED = ("ulx3s-85f-64x2",)
#: The builds of the self-check example (memgen build BOARD --design self-check); the suite
#: builds the iCEBreaker's at seed 1, this bench both boards' at every seed.
SELF_CHECK = ("ulx3s-85f-self-check", "icebreaker-self-check")


def variant(name):
    """The board the build ``name`` of ``results/wide_builds.json`` builds."""
    return BUILDS[name]()


def _top(name, spec):
    """The design the build ``name`` puts on ``spec`` (None: the board's device)."""
    if name not in SELF_CHECK:
        return None
    from memgen.boards.self_check import SelfCheckTop

    return SelfCheckTop(spec)


def _build(name, seed, workdir):
    spec = variant(name)
    top = _top(name, spec)
    try:
        report = build(spec, Path(workdir) / f"{name}-seed{seed}", seed=seed, top=top)
    except RuntimeError as error:  # placement or routing failed: the tool's ERROR line
        lines = str(error).splitlines() or [""]
        reason = next((line for line in lines if "ERROR" in line), lines[-1])
        return {"built": False, "error": reason.strip()[:300]}
    clock = report["fmax"][report["design_clock"]]
    others = {net: c["achieved_mhz"] for net, c in report["fmax"].items() if c is not clock}
    return {
        "built": True,
        "achieved_mhz": clock["achieved_mhz"],
        **({"other_clocks_mhz": others} if spec.usb_link else {}),
        "clock_met": report["timing_met"],
        "slowest_path": report["slowest_path"],
        "utilisation": {cell: use["used"] for cell, use in report["utilisation"].items()},
        "nextpnr_options": placement_options(spec, top),
        "netlist": report["netlist"],
    }


def stale(path, names):
    """Of the builds ``names`` in ``path``: name -> the seeds built from a netlist other than
    the one the build gives today (or from one not recorded), None for a build not there."""
    out = json.loads(path.read_text()) if path.exists() else {}
    found = {}
    for name in names:
        seeds = out.get(name, {}).get("seeds", {})
        if not seeds:
            found[name] = None
            continue
        spec = variant(name)
        today = design_netlist(spec, _top(name, spec))
        found[name] = [int(s) for s, run in seeds.items() if run.get("netlist") != today]
    return found


def _met(results, name):
    return sorted(seed for (n, seed), run in results.items() if n == name and run.get("clock_met"))


def _write(path, names, results):
    """The builds finished so far in ``path``, beside the other builds' figures there."""
    out = json.loads(path.read_text()) if path.exists() else {}
    for name in names:
        runs = {seed: run for (n, seed), run in sorted(results.items()) if n == name}
        if not runs:
            continue
        earlier = out.get(name, {}).get("seeds", {})  # a partial range keeps the other seeds
        runs = {int(seed): run for seed, run in earlier.items()} | runs
        met = sorted(seed for seed, run in runs.items() if run.get("clock_met"))
        spec = variant(name)
        fmt = spec.record_format
        out[name] = {
            "word_bytes": fmt.word_bytes,
            "lanes": fmt.lanes,
            "record_bytes": fmt.record_size,
            "clock_mhz": spec.clock_hz / 1e6,
            "copies": spec.copies,
            "usb": spec.usb_link,
            "capacity_bytes": fmt.byte_capacity,  # each copy's
            "seeds": {str(seed): run for seed, run in sorted(runs.items())},
            "clock_met_at": met,
        }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(sorted(out.items())), indent=2) + "\n")


def _seeds(text):
    match = re.fullmatch(r"(\d+)(?:-(\d+))?", text)
    if match:
        first, last = (int(match[1]), int(match[2])) if match[2] else (1, int(match[1]))
    if not match or not 1 <= first <= last:
        raise argparse.ArgumentTypeError(f"{text!r}: expected N or A-B, seeds 1 or more")
    return range(first, last + 1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/wide_builds.json")
    parser.add_argument(
        "--seeds", type=_seeds, default=range(1, 9),
        help="nextpnr seeds: N for 1..N, or A-B; other seeds already in --out are kept",
    )  # fmt: skip
    parser.add_argument("--jobs", type=int, default=2, help="builds at once (default: 2)")
    parser.add_argument(
        "--boards", nargs="+", choices=BUILDS,
        default=[name for name in BUILDS if name not in UNROUTED],
        help="build only these, keeping the other builds' figures in --out (default: all but "
        + ", ".join(UNROUTED) + ", which has not routed)",
    )  # fmt: skip
    parser.add_argument(
        "--stale", action="store_true",
        help="build nothing: list the seeds in --out built from another netlist than today's "
        "(exit status 1 if any)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.stale:
        found = stale(Path(args.out), args.boards)
        for name, seeds in found.items():
            verdict = "not built" if seeds is None else "current"
            print(f"{name}: " + (f"seeds {seeds} from another netlist" if seeds else verdict))
        return 0 if all(seeds == [] for seeds in found.values()) else 1
    jobs = [(name, seed) for name in args.boards for seed in args.seeds]
    results = {}
    with tempfile.TemporaryDirectory(prefix="memgen-wide-") as workdir:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            futures = {pool.submit(_build, *job, workdir): job for job in jobs}
            for future in as_completed(futures):  # written as each build ends: hours of work
                results[futures[future]] = future.result()
                _write(Path(args.out), args.boards, results)
    span = f"{args.seeds.start}-{args.seeds.stop - 1}"
    for name in args.boards:
        print(f"{name}: clock met at seeds {_met(results, name)} of {span}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
