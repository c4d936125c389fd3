"""``make bench``, wide builds: each board built with its memory in its widest words, over nextpnr
seeds, written to results/wide_builds.json.

The iCEBreaker's four SPRAMs side by side make 8-byte words (its SPRAM limit, 8 bytes a clock);
the ULX3S's DP16KDs make 64-byte words (a 64-byte record a clock). Per board and seed: the Fmax of
the design clock, whether the board clock is met, the cells used, or the tool's error when the
design does not place. Builds run two at a time (one per core).
"""

import argparse
import json
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from memgen.boards import BOARDS, board
from memgen.boards.build import build

__all__ = ["main", "widest"]


def widest(name):
    return max(board(name).word_widths)


def _build(name, width, seed, workdir):
    spec = board(name).with_word_bytes(width)
    try:
        report = build(spec, Path(workdir) / f"{name}-w{width}-seed{seed}", seed=seed)
    except RuntimeError as error:  # placement or routing failed: the tool's ERROR line
        lines = str(error).splitlines() or [""]
        reason = next((line for line in lines if "ERROR" in line), lines[-1])
        return {"built": False, "error": reason.strip()[:300]}
    clock = report["fmax"][report["design_clock"]]
    return {
        "built": True,
        "achieved_mhz": clock["achieved_mhz"],
        "clock_met": report["timing_met"],
        "utilisation": {cell: use["used"] for cell, use in report["utilisation"].items()},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/wide_builds.json")
    parser.add_argument("--seeds", type=int, default=8, help="nextpnr seeds 1..N")
    parser.add_argument(
        "--boards", nargs="+", choices=BOARDS, default=list(BOARDS),
        help="build only these, keeping the other boards' figures in --out",
    )  # fmt: skip
    args = parser.parse_args(argv)
    jobs = [(name, widest(name), seed) for name in args.boards for seed in range(1, args.seeds + 1)]
    with tempfile.TemporaryDirectory(prefix="memgen-wide-") as workdir:
        with ProcessPoolExecutor(max_workers=2) as pool:
            futures = [(job, pool.submit(_build, *job, workdir)) for job in jobs]
            results = {job: future.result() for job, future in futures}
    path = Path(args.out)
    out = json.loads(path.read_text()) if path.exists() else {}
    for name in args.boards:
        runs = {str(seed): results[(n, w, seed)] for n, w, seed in jobs if n == name}
        out[name] = {
            "word_bytes": widest(name),
            "clock_mhz": board(name).clock_hz / 1e6,
            "capacity_bytes": board(name).record_format.byte_capacity,
            "seeds": runs,
            "clock_met_at": sorted(int(s) for s, run in runs.items() if run.get("clock_met")),
        }
        print(f"{name} at {widest(name)}-byte words: clock met at seeds "
              f"{out[name]['clock_met_at']} of 1-{args.seeds}", file=sys.stderr)  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(sorted(out.items())), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
