"""``make bench``, boards part: build every board and record its figures in results/boards.json.

Per board: the nextpnr report as :func:`memgen.boards.build.build` summarises it (Fmax per clock
against the target, cells against the part, capacity, seed, tool versions). For the UP5K also the
core alone (:class:`~memgen.hdl.engine.core.MemGen` with the board's memory backends, no UART,
framing or command processor), synthesised by Yosys ``synth_ice40 -dsp`` without its assertions: its
LUT4, carry and flip-flop counts, against the 600-logic-cell target (an iCE40 logic cell holds one
LUT4, its carry and one flip-flop, so the LUT4 count is a lower bound on the cells).

Each board is also built with fixed-size records (``--fixed-size K``, default 32 bytes, as
``memgen build BOARD --records fixed:32``: the mode RECALL needs), recorded under ``fixed_size``.

Placement is seeded, and the design clock's Fmax moves with the seed; ``--sweep N`` (default 8)
also builds the boards named by ``--sweep-boards`` (default the iCEBreaker, whose target is the
tight one) at seeds 1 to N (the main build's seed is not built again), and records each seed's
Fmax and the spread under ``seed_sweep``. ``--boards`` builds only the boards named and keeps
the others' figures from the file.
"""

import argparse
import json
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path

from memgen.boards import BOARDS, board
from memgen.boards.build import build
from memgen.hdl.engine.core import MemGen

from ..harness.amaranth_sim import synthesized_cells

__all__ = ["core_cells_ice40", "seed_sweep", "main"]

CORE_TARGET_CELLS = 600


def core_cells_ice40():
    """Yosys cell counts of the core with the iCEBreaker's memory backends."""
    spec = board("icebreaker")
    core = MemGen(spec.record_format, **spec.storage_backends(primitive=True))
    with tempfile.TemporaryDirectory(prefix="memgen-core-") as workdir:
        cells = synthesized_cells(core, None, "chformal -remove; synth_ice40 -dsp", workdir)
    counts = Counter(cell["type"] for cell in cells)
    return {
        "SB_LUT4": counts["SB_LUT4"],
        "SB_CARRY": counts["SB_CARRY"],
        "flip_flops": sum(count for name, count in counts.items() if name.startswith("SB_DFF")),
        "target_logic_cells": CORE_TARGET_CELLS,
    }


def _design_mhz(report):
    """The design clock's achieved Fmax in a build report."""
    return report["fmax"][report["design_clock"]]["achieved_mhz"]


def seed_sweep(name, report, seeds, workdir):
    """Fmax of the design clock at each of ``seeds`` (``report`` is the build at its own seed)."""
    spec = board(name)
    achieved = {report["seed"]: _design_mhz(report)}
    for seed in seeds:
        if seed not in achieved:
            print(f"building {name} at seed {seed}...", file=sys.stderr)
            achieved[seed] = _design_mhz(
                build(spec, Path(workdir) / f"{name}-seed{seed}", seed=seed)
            )
    figures = sorted(achieved.values())
    target = report["target_mhz"]
    return {
        "achieved_mhz": {str(seed): achieved[seed] for seed in sorted(achieved)},
        "min_mhz": figures[0],
        "median_mhz": round(statistics.median(figures), 2),
        "max_mhz": figures[-1],
        "seeds_meeting_target": sum(figure >= target for figure in figures),
        "seeds_meeting_board_clock": sum(figure >= report["clock_mhz"] for figure in figures),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/boards.json")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sweep", type=int, default=8, help="seeds 1..N for --sweep-boards")
    parser.add_argument("--sweep-boards", nargs="*", choices=BOARDS, default=["icebreaker"])
    parser.add_argument(
        "--fixed-size", type=int, default=32, help="record size of the fixed-size builds"
    )
    parser.add_argument(
        "--boards", nargs="+", choices=BOARDS, default=list(BOARDS),
        help="build only these, keeping the other boards' figures in --out",
    )  # fmt: skip
    args = parser.parse_args(argv)
    out = Path(args.out)
    keep = set(BOARDS) - set(args.boards)
    result = json.loads(out.read_text()) if keep and out.exists() else {}
    result = {name: report for name, report in result.items() if name in keep}
    with tempfile.TemporaryDirectory(prefix="memgen-boards-") as workdir:
        for name in args.boards:
            print(f"building {name}...", file=sys.stderr)
            report = build(board(name), Path(workdir) / name, seed=args.seed)
            del report["bitstream"]
            result[name] = report
            print(f"building {name} with fixed-size records...", file=sys.stderr)
            fixed = board(name).for_records(args.fixed_size)
            report = build(fixed, Path(workdir) / f"{name}-fixed", seed=args.seed)
            del report["bitstream"]
            result[name]["fixed_size"] = report
        for name in set(args.sweep_boards) & set(args.boards):
            seeds = range(1, args.sweep + 1)
            result[name]["seed_sweep"] = seed_sweep(name, result[name], seeds, workdir)
    if "icebreaker" in args.boards:
        result["icebreaker"]["core_alone"] = core_cells_ice40()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(sorted(result.items())), indent=2) + "\n")
    for name, report in result.items():
        print(
            f"{name}: {_design_mhz(report)} MHz, with fixed-size records "
            f"{_design_mhz(report['fixed_size'])} MHz (board clock {report['clock_mhz']} MHz,"
            f" target {report['target_mhz']} MHz)",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
