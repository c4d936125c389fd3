"""``make bench``: throughput of the core and simulator speeds, written to results/core.json.

* ``words_per_clock_single``: 1-byte records (fixed-size mode), memory full (70,000 records),
  output always ready: sampled bytes per clock from the first sampled byte to the last.
* ``words_per_clock_multi``: the same with records of mixed lengths (1 to 64 bytes).
* ``indices_per_clock_worst``: with 1-byte records every byte is one index; the lowest rate over a
  sweep of record counts N (1, 2, 3, 2**k - 1, 2**k, 2**k + 1, the N with the highest rejection
  probability, and capacity).
* ``train_clocks``: the clocks the core takes to accept the APPEND commands of the first N
  1-byte records, for each N of the sweep (training time, :mod:`memgen.sim.bench.compare`).
* ``wide``: cores of W-byte words (W = 4, 8, 16, 64) and of L lanes, output always ready: bytes
  per clock for 64-byte records (target 0.95 x W x L; a record per clock and lane at W = 64) and
  samples per clock for 1-byte records (packed W to a word; target 0.95 x L), with W and L.
* ``appends``: training through the core's port of appends (``append_port``), records offered
  back to back: clocks per byte from the first offer to the last word taken, on the Amaranth
  simulator (target 1.1 / W for records of W bytes or more).
* simulator speed: clocks per second of the same workload (train 257 mixed records, sample 2,000)
  with a per-clock Python testbench, on the Amaranth simulator, Verilator and Icarus.

Cycle counts are properties of the RTL, so Verilator measures them; it is the fastest here.
"""

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

from memgen.hdl.engine.core import MemGen
from memgen.hdl.engine.index_generator import fraction_bits
from memgen.hdl.engine.records import RecordFormat
from memgen.host.codec import command_append, command_sample
from memgen.host.reference import MemGenReference

from ..harness.amaranth_sim import run_simulation
from ..harness.cocotb_runner import run_cocotb
from ..harness.core_script import offer_back_to_back, run_script

SINGLE = {"byte_capacity": 70000, "record_size": 1}
MULTI = {"byte_capacity": 65536, "max_records": 8192, "max_length": 64}
MULTI_LENGTHS = [1, 2, 3, 5, 8, 13, 21, 34, 64]
SPEED = {"format": MULTI, "lengths": MULTI_LENGTHS, "sweep": [257], "samples": 2000}
WIDTHS = (4, 8, 16, 64)
#: wide cores: fixed-size records of these sizes, memories of 1,000 records
WIDE_SIZES = (64, 1)
#: cores of lanes (W, record bytes, L): 1-byte records by 2, 4, 8 and 16; 64-byte words by 2
LANE_SHAPES = ((1, 1, 2), (1, 1, 4), (1, 1, 8), (1, 1, 16), (64, 64, 2))
TARGET = 0.95


def measure_wide(workdir, samples):
    """Bytes and samples per clock of wide cores and cores of lanes, on Verilator."""
    shapes = [(width, size, 1) for width in WIDTHS for size in WIDE_SIZES] + list(LANE_SHAPES)
    rows = []
    for width, size, lanes in shapes:
        fmt = {"byte_capacity": 1000 * max(size, width), "record_size": size}
        fmt |= {"word_bytes": width, "lanes": lanes}
        shape = f"W = {width}, L = {lanes}, {size}-byte records"
        print(f"core: {shape} (Verilator)...", file=sys.stderr)
        run = cocotb_bench(
            "verilator",
            {"format": fmt, "sweep": [1000], "samples": samples},
            f"{workdir}/wide_{width}_{size}_{lanes}",
        )
        (row,) = run["rows"]
        rate = row["bytes_per_clock"] if size > 1 else row["samples_per_clock"]
        goal = TARGET * lanes * (min(width, size) if size > 1 else 1)
        rows.append(
            {
                "word_bytes": width,
                "lanes": lanes,
                "record_bytes": size,
                "bytes_per_clock": round(row["bytes_per_clock"], 5),
                "samples_per_clock": round(row["samples_per_clock"], 5),
                "target": goal,
                "met": rate >= goal,
            }
        )
    return rows


#: the port of appends: (W, record bytes); records of a word and of 64 bytes, and 1-byte ones
APPEND_SHAPES = ((1, 1), (1, 64), (4, 4), (4, 64), (8, 8), (16, 16), (64, 64), (64, 1))
APPEND_RECORDS = 256


def measure_appends():
    """Clocks per byte through the port of appends, records offered back to back."""
    rows = []
    for width, size in APPEND_SHAPES:
        fmt = RecordFormat(APPEND_RECORDS * max(size, width), record_size=size, word_bytes=width)
        dut = MemGen(fmt, append_port=True)
        rng = random.Random(width * 100 + size)
        records = [rng.randbytes(size) for _ in range(APPEND_RECORDS)]
        clocks = []

        async def testbench(ctx, dut=dut, records=records, width=width, clocks=clocks):
            clocks.append(await offer_back_to_back(ctx, dut.appends, records, width))

        run_simulation(dut, testbench, name=f"bench_appends_{width}_{size}")
        per_byte = clocks[0] / (APPEND_RECORDS * size)
        target = 1.1 / width if size >= width else None
        rows.append({
            "word_bytes": width,
            "record_bytes": size,
            "records": APPEND_RECORDS,
            "clocks": clocks[0],
            "clocks_per_byte": round(per_byte, 5),
            "target": None if target is None else round(target, 5),
            "met": None if target is None else per_byte <= target,
        })  # fmt: skip
    return rows


def worst_count(max_count):
    """The record count whose rejection probability (2**b mod N) / 2**b is highest."""
    b = fraction_bits(max_count.bit_length())
    return max(range(1, max_count + 1), key=lambda n: (1 << b) % n)


def cocotb_bench(simulator, config, workdir):
    out = Path(workdir) / f"{simulator}.json"
    results, _ = run_cocotb(
        simulator,
        config,
        Path(workdir) / simulator,
        testcase="bench_throughput",
        env={"MEMGEN_BENCH_OUT": str(out)},
    )
    return json.loads(out.read_text())


def measure_amaranth_speed():
    fmt = RecordFormat(**MULTI)
    dut = MemGen(fmt)
    reference = MemGenReference(fmt)
    rng = random.Random(5)
    clocks = {"count": 0}
    result = {}

    async def counter(ctx):
        async for _ in ctx.tick():
            clocks["count"] += 1

    packets = [
        command_append(rng.randbytes(rng.choice(MULTI_LENGTHS))) for _ in range(SPEED["sweep"][0])
    ]
    packets.append(command_sample(SPEED["samples"]))

    async def testbench(ctx):
        started = time.monotonic()
        await run_script(ctx, dut, reference, packets)
        result["seconds"] = time.monotonic() - started
        result["cycles"] = clocks["count"]

    run_simulation(dut, testbench, processes=[counter], name="bench_amaranth")
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/core.json")
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument(
        "--only",
        choices=["wide", "appends"],
        help="measure only the wide cores and the lanes, or only the port of appends, keeping "
        "the other figures in --out",
    )
    args = parser.parse_args(argv)
    if args.only:
        if args.only == "wide":
            with tempfile.TemporaryDirectory(prefix="memgen-bench-") as workdir:
                rows = measure_wide(workdir, args.samples)
        else:
            rows = measure_appends()
        result = json.loads(Path(args.out).read_text())
        result[args.only] = rows
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(rows, indent=2))
        return 0 if all(row["met"] is not False for row in rows) else 1  # None: no target

    capacity = SINGLE["byte_capacity"]
    sweep = {1, 2, 3, 100, 255, 256, 257, 1000, 10000, 65535, 65536, 65537, capacity}
    sweep = sorted(sweep | {worst_count(capacity)})
    with tempfile.TemporaryDirectory(prefix="memgen-bench-") as workdir:
        print(f"1-byte records, N sweep {sweep} (Verilator)...", file=sys.stderr)
        single = cocotb_bench(
            "verilator", {"format": SINGLE, "sweep": sweep, "samples": args.samples}, workdir
        )
        print("mixed-length records (Verilator)...", file=sys.stderr)
        multi = cocotb_bench(
            "verilator",
            {"format": MULTI, "lengths": MULTI_LENGTHS, "sweep": [3000], "samples": args.samples},
            workdir + "/multi",
        )
        wide = measure_wide(workdir, args.samples)
        appends = measure_appends()
        speeds = {}
        for simulator in ("verilator", "icarus"):
            print(f"simulator speed: {simulator}...", file=sys.stderr)
            run = cocotb_bench(simulator, SPEED, f"{workdir}/speed")
            speeds[simulator] = run["cycles"] / run["seconds"]
    print("simulator speed: amaranth...", file=sys.stderr)
    run = measure_amaranth_speed()
    speeds["amaranth"] = run["cycles"] / run["seconds"]

    rows = single["rows"]
    worst = min(rows, key=lambda row: row["words_per_clock"])
    at_capacity = next(row for row in rows if row["records"] == capacity)
    result = {
        "words_per_clock_single": round(at_capacity["words_per_clock"], 5),
        "words_per_clock_multi": round(multi["rows"][0]["words_per_clock"], 5),
        "indices_per_clock_worst": round(worst["words_per_clock"], 5),
        "indices_per_clock_worst_n": worst["records"],
        "index_sweep": [
            {"records": row["records"], "indices_per_clock": round(row["words_per_clock"], 5)}
            for row in rows
        ],
        "samples_per_point": args.samples,
        "wide": wide,
        "appends": appends,
        "train_clocks": {row["records"]: row["train_clocks"] for row in rows},
        "sim_cycles_per_second": {name: round(speed) for name, speed in speeds.items()},
        "sim_note": "per-clock Python testbench driving the exported core (cocotb) or the "
        "Amaranth design; same workload on each",
        "python": platform.python_version(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    shown = {k: v for k, v in result.items() if k not in ("index_sweep", "train_clocks")}
    print(json.dumps(shown, indent=2))
    targets = ("words_per_clock_single", "words_per_clock_multi", "indices_per_clock_worst")
    missed = [name for name in targets if result[name] < 0.99]
    missed += [f"W={row['word_bytes']} L={row['lanes']} {row['record_bytes']}-byte" for row in wide
               if not row["met"]]  # fmt: skip
    missed += [f"appends W={row['word_bytes']} {row['record_bytes']}-byte" for row in appends
               if row["target"] and not row["met"]]  # fmt: skip
    if missed:
        print(f"below the target: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
