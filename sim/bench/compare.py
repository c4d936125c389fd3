"""``make bench``, comparison part: memgen against MemGEN in software on this machine, and
training time against dataset size (the paper's Figure 4), written to results/compare.json and
results/training_time.png.

Hardware figures combine measured quantities from the other benches: bytes per clock of the core
in the words of each board's default build (results/core.json, Verilator), the achieved Fmax and
the clock each bitstream runs at (results/boards.json, nextpnr), and the share of the line that
carries samples (results/link.json). Samples/s = bytes per clock x clock / record bytes; the
link-limited rate is each board's baud / 10 x the payload fraction measured on its line / record
bytes, and for a board with USB (the ULX3S) the USB-limited rate its payload bytes/s on the
simulated full-speed line (1-byte samples; text lines for the larger records) / record bytes.
Each lanes build of results/wide_builds.json (``memgen build ... --lanes L``) adds its records'
samples/s in fabric at its clock: the core's samples a clock with L lanes (results/core.json)
x the clock, with the nextpnr seeds that met that clock and those that did not.

CPU figures are measured in this run, on this machine, one core, for records of 1 and 64 bytes
from a memory of 100,000 records:

* ``python``: Algorithm 1 as the paper writes it, a list and ``random.randrange``;
* ``numpy``: the records as rows of an array, ``Generator.integers`` and ``take`` into a
  preallocated array (the fastest of the ways numpy offers), in batches of 10,000, 50,000 and
  200,000 samples, the fastest batch kept (a batch whose samples fit in the processor's cache
  can be up to twice as fast as a larger one);
* ``reference``: memgen's bit-exact software model (what ``--verify`` runs).

Training time for N = 10^2 .. 10^6 records of 1 byte: the core's clocks to accept N APPEND
commands (measured on Verilator for N up to the 70,000-record memory of the core bench; beyond it
N times the measured clocks per record, marked ``measured: false``) and the same in seconds at
each board's clock; CPU time to append N records in Python, to build the numpy array, and to
train the reference model.

Each CPU rate is the best of several runs, in this process. The share of the machine other
processes used meanwhile is recorded (:mod:`.conditions`); above 5 % the comparison is refused
(``--allow-busy`` writes it anyway, marked not idle).
"""

import argparse
import json
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np
from memgen.hdl.engine.records import RecordFormat
from memgen.host.codec import command_append, command_sample
from memgen.host.reference import MemGenReference

from ..plots import plot_training
from .conditions import MachineBusy, measure_conditions

__all__ = ["main"]

RECORD_SIZES = (1, 64)
MEMORY_RECORDS = 100_000
NUMPY_BATCHES = (10_000, 50_000, 200_000)
TRAINING_SIZES = (100, 1_000, 10_000, 100_000, 1_000_000)
UART_BITS_PER_BYTE = 10


def _best_rate(function, amount, repeats=5):
    """Items per second of ``function()`` (which handles ``amount`` items), best of ``repeats``."""
    best = min(_timed(function) for _ in range(repeats))
    return amount / best


def _timed(function):
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def cpu_sampling(size, records=MEMORY_RECORDS, samples=200_000, batches=NUMPY_BATCHES):
    """Samples/s of the three software samplers for ``records`` records of ``size`` bytes
    (numpy's at its fastest of ``batches``)."""
    rng = random.Random(1)
    data = [rng.randbytes(size) for _ in range(records)]

    memory = []  # Algorithm 1: TrainModel
    for x in data:
        memory.append(x)

    def python():  # Algorithm 1: Sample, ``samples`` times
        return [memory[random.randrange(len(memory))] for _ in range(samples)]

    array = np.frombuffer(b"".join(data), dtype=np.uint8).reshape(records, size)
    generator = np.random.default_rng(1)

    def numpy(batch):
        drawn = np.empty((batch, size), dtype=np.uint8)
        return lambda: np.take(array, generator.integers(0, records, batch), axis=0, out=drawn)

    record_format = RecordFormat(records * size, record_size=size)
    model = MemGenReference(record_format)
    for record in data:
        model.respond(command_append(record))
    model_samples = samples // 20  # it is slow; its rate does not depend on the amount

    def reference():
        return model.respond(command_sample(model_samples))

    return {
        "python": round(_best_rate(python, samples)),
        # as many repeats as make a million samples: a small batch's time is short and noisy
        "numpy": round(max(_best_rate(numpy(b), b, max(5, 1_000_000 // b)) for b in batches)),
        "reference": round(_best_rate(reference, model_samples)),
    }


def cpu_training(count):
    """Seconds to train ``count`` records of 1 byte: Python list, numpy array, reference model."""
    data = [bytes([n & 0xFF]) for n in range(count)]

    def python():
        memory = []
        for x in data:
            memory.append(x)
        return memory

    def numpy():
        return np.frombuffer(b"".join(data), dtype=np.uint8).copy()

    def reference():
        model = MemGenReference(RecordFormat(count, record_size=1))
        for record in data:
            model.respond(command_append(record))

    return {
        "python": min(_timed(python) for _ in range(3)),
        "numpy": min(_timed(numpy) for _ in range(3)),
        "reference": _timed(reference),
    }


def wide_row(core, word_bytes, lanes, size):
    """results/core.json's measurement of ``size``-byte records with ``lanes`` lanes in
    ``word_bytes``-byte words."""
    for row in core["wide"]:
        if (row["word_bytes"], row["lanes"], row["record_bytes"]) == (word_bytes, lanes, size):
            return row
    laned = f" with {lanes} lanes" if lanes > 1 else ""
    raise ValueError(
        f"results/core.json has no {size}-byte records{laned} in {word_bytes}-byte words"
    )


def bytes_per_clock(core, word_bytes, size):
    """The core's sampled bytes a clock for ``size``-byte records in ``word_bytes``-byte words,
    as results/core.json measured it."""
    if word_bytes == 1:
        return core["words_per_clock_single" if size == 1 else "words_per_clock_multi"]
    return wide_row(core, word_bytes, 1, size)["bytes_per_clock"]


def hardware_sampling(core, boards, link):
    """Samples/s per board and record size, for each board's default build (its words): in the
    core at Fmax and at the board clock, over the UART at the board's baud and, where it has
    one, over USB."""
    result = {}
    for name, board in boards.items():
        width = board["capacity"].get("word_bytes", 1)  # reports from before words: bytes
        fmax = board["fmax"][board["design_clock"]]["achieved_mhz"] * 1e6
        clock = board["clock_mhz"] * 1e6
        line = link["boards"][name]
        usb = link.get("usb", {}).get(name)
        baud = line["baud"]
        rows = {}
        for size in RECORD_SIZES:
            workload = "bytes" if size == 1 else "lines"
            fraction = line[workload]["payload_fraction"]
            rate = bytes_per_clock(core, width, size)
            rows[str(size)] = {
                "core_at_fmax": round(rate * fmax / size),
                "core_at_board_clock": round(rate * clock / size),
                "link_limited": round(baud / UART_BITS_PER_BYTE * fraction / size),
            }
            if usb is not None:
                rows[str(size)]["usb_limited"] = round(usb[workload]["payload_bytes_per_s"] / size)
        result[name] = {
            "word_bytes": width,
            "fmax_mhz": fmax / 1e6,
            "clock_mhz": clock / 1e6,
            "baud": baud,
            **rows,
        }
    return result


def lanes_sampling(core, builds):
    """Samples/s in fabric at the board clock of each lanes build in ``builds`` (the wide builds'
    results), for its record size, with the seeds that met the clock."""
    result = {}
    for name, build in builds.items():
        lanes, size = build["lanes"], build["record_bytes"]
        if lanes == 1:
            continue
        row = wide_row(core, build["word_bytes"], lanes, size)
        seeds = build["seeds"]
        met = sorted(int(seed) for seed, run in seeds.items() if run.get("clock_met"))
        result[name] = {
            "lanes": lanes,
            "word_bytes": build["word_bytes"],
            "copies": build["copies"],
            "capacity_bytes": build["capacity_bytes"],
            "clock_mhz": build["clock_mhz"],
            "seeds_met": met,
            "seeds_missed": sorted(int(seed) for seed in seeds if int(seed) not in met),
            "samples_per_clock": row["samples_per_clock"],
            str(size): {
                "core_at_board_clock": round(row["samples_per_clock"] * build["clock_mhz"] * 1e6)
            },
        }
    return result


def training_table(core, boards):
    """Clocks and seconds to train N 1-byte records, hardware and CPU."""
    measured = {int(n): clocks for n, clocks in core["train_clocks"].items()}
    largest = max(measured)
    per_record = measured[largest] / largest
    rows = []
    for count in TRAINING_SIZES:
        print(f"training {count:,} records on the CPU...", file=sys.stderr)
        is_measured = count in measured
        clocks = measured[count] if is_measured else round(count * per_record)
        row = {
            "records": count,
            "hardware_clocks": clocks,
            "measured": is_measured,
            "hardware_seconds": {
                name: clocks / (board["clock_mhz"] * 1e6) for name, board in boards.items()
            },
            "cpu_seconds": cpu_training(count),
        }
        rows.append(row)
    return {"clocks_per_record": round(per_record, 4), "largest_measured": largest, "rows": rows}


def cpu_model(cpuinfo=Path("/proc/cpuinfo")):
    """The processor's model name where Linux tells it (CPU rates move with the host), else its
    architecture."""
    try:
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="memgen.sim.bench.compare", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument(
        "--allow-busy",
        action="store_true",
        help="write the comparison even if other processes used the machine meanwhile",
    )
    arguments = parser.parse_args(argv)
    inputs = {}
    for name in ("core", "boards", "link", "wide_builds"):
        path = arguments.results / f"{name}.json"
        try:
            inputs[name] = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            parser.exit(
                1,
                f"memgen.sim.bench.compare: cannot read {path} ({error}); run the "
                f"{name} bench first (make bench runs them in order)\n",
            )
    if "train_clocks" not in inputs["core"]:
        parser.exit(
            1,
            "memgen.sim.bench.compare: results/core.json has no train_clocks; "
            "run python -m memgen.sim.bench.core first\n",
        )
    try:
        hardware = hardware_sampling(inputs["core"], inputs["boards"], inputs["link"])
        hardware |= lanes_sampling(inputs["core"], inputs["wide_builds"])
    except ValueError as error:
        parser.exit(1, f"memgen.sim.bench.compare: {error}; run the core bench first\n")
    cpu = {}
    with measure_conditions() as measured:
        for size in RECORD_SIZES:
            print(f"CPU sampling, {size}-byte records...", file=sys.stderr)
            cpu[size] = cpu_sampling(size)
        training = training_table(inputs["core"], inputs["boards"])
    conditions = measured.result
    try:
        conditions.check()
    except MachineBusy as busy:
        if not arguments.allow_busy:
            parser.exit(1, f"memgen.sim.bench.compare: {busy}; nothing written\n")
        print(f"memgen.sim.bench.compare: {busy}; written, marked not idle", file=sys.stderr)
    ratios = {
        board: {
            size: {
                name: round(rates[str(size)]["core_at_board_clock"] / rate, 1)
                for name, rate in cpu[size].items()
            }
            for size in RECORD_SIZES
            if str(size) in rates
        }
        for board, rates in hardware.items()
    }
    result = {
        "hardware_samples_per_s": hardware,
        "cpu_samples_per_s": cpu,
        "ratio_core_at_board_clock_to_cpu": ratios,
        "training": training,
        "conditions": conditions.as_dict(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpy_batches": list(NUMPY_BATCHES),
    }
    out = arguments.results / "compare.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    plot_training(training, arguments.results / "training_time.png")
    print(
        json.dumps(
            {k: result[k] for k in ("hardware_samples_per_s", "cpu_samples_per_s")}, indent=1
        )
    )
    print(f"written to {out} and {arguments.results / 'training_time.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
