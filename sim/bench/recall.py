"""``make recall-bench``: memgen's RECALL against the Hopfield family, results/recall.json and
results/recall.png.

The same binary patterns of 256 bits (32-byte records) go into every memory: random patterns,
and 16 x 16 tiles of the scikit-image cat binarised at each tile's median. A query is a stored
pattern with a fraction of its bits flipped, or with a fraction of its bits unknown (masked: the
mask tells memgen to ignore them; the Hopfield models get 0 there, the SDM a coin toss). A
retrieval is correct when the model returns exactly the stored pattern the query came from.

Models (:mod:`memgen.sim.bench.associative`): classical Hopfield (Hebbian), Kanerva's SDM, modern
Hopfield at several ``beta``, and memgen: the gateware's RECALL on a simulated device (the full
top level compiled by Verilator, through its UART, by default). Every memgen answer is checked
against brute-force nearest neighbour (index and distance); a difference stops the bench.

Also the hardware's recall latency: clocks from a RECALL command's last byte to the first byte
of its answer, measured on the core in Amaranth's simulator for small N, and the fit
``a + b * N`` (``b`` = record bytes: one byte per clock).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from memgen.hdl.engine.records import RecordFormat
from memgen.host.driver import Driver
from memgen.host.transports import open_transport

from ..plots import plot_recall
from .associative import ClassicalHopfield, ModernHopfield, SparseDistributedMemory, nearest

__all__ = ["cat_patterns", "main", "run"]

BITS = 256
RECORD = BITS // 8
BETAS = (0.02, 0.1, 0.5)


def cat_patterns():
    """16 x 16 grey tiles of the cat, each binarised at its median: (504, 256) bits."""
    from skimage import color, data

    grey = color.rgb2gray(data.chelsea())
    rows, columns = grey.shape[0] // 16, grey.shape[1] // 16
    tiles = grey[: rows * 16, : columns * 16].reshape(rows, 16, columns, 16).swapaxes(1, 2)
    tiles = tiles.reshape(-1, 256)
    return (tiles > np.median(tiles, axis=1, keepdims=True)).astype(np.uint8)


def random_patterns(count, rng):
    return rng.integers(0, 2, (count, BITS), dtype=np.uint8)


def models(patterns):
    built = {
        "classical Hopfield": ClassicalHopfield(patterns),
        "SDM": SparseDistributedMemory(patterns),
    }
    for beta in BETAS:
        built[f"modern Hopfield beta={beta}"] = ModernHopfield(patterns, beta)
    return built


class MemgenRecall:
    """Recall on a simulated device; every answer checked against brute force."""

    def __init__(self, device, capacity):
        fmt = RecordFormat(capacity * RECORD, record_size=RECORD)
        self.driver = Driver(open_transport(device, fmt))
        self.checked = 0  # answers compared with brute force

    def load(self, patterns):
        self.patterns = patterns
        self.driver.clear()
        self.driver.train([bytes(row) for row in np.packbits(patterns, axis=1)])

    def recall(self, query, mask=None):
        packed_mask = None if mask is None else bytes(np.packbits(mask))
        [(index, distance, record)] = self.driver.recall(bytes(np.packbits(query)), 1, packed_mask)
        [(expected_index, expected_distance)] = nearest(self.patterns, query, 1, mask)
        if (index, distance) != (expected_index, expected_distance):
            raise AssertionError(
                f"memgen answered record {index} at {distance}, brute force {expected_index} "
                f"at {expected_distance}"
            )
        if record != bytes(np.packbits(self.patterns[index])):
            raise AssertionError(f"memgen's record {index} is not the stored pattern")
        self.checked += 1
        return self.patterns[index]


def accuracy(patterns, memgen, rng, trials, flips=0.0, masked=0.0):
    """Fraction of queries each model answers with exactly the pattern they came from."""
    memgen.load(patterns)
    built = models(patterns)
    hits = dict.fromkeys([*built, "memgen"], 0)
    for _ in range(trials):
        target = int(rng.integers(len(patterns)))
        query = patterns[target].copy()
        query[rng.random(BITS) < flips] ^= 1
        mask = None
        if masked:
            mask = (rng.random(BITS) >= masked).astype(np.uint8)
            query[mask == 0] = rng.integers(0, 2, int((mask == 0).sum()))
        for name, model in built.items():
            hits[name] += np.array_equal(model.recall(query, mask), patterns[target])
        hits["memgen"] += np.array_equal(memgen.recall(query, mask), patterns[target])
    return {name: round(count / trials, 3) for name, count in hits.items()}


def recall_latency(counts=(1, 8, 32), size=RECORD):
    """Clocks from a RECALL's last command byte to its first response byte, on the core."""
    from memgen.hdl.engine.core import MemGen
    from memgen.host.codec import command_append, command_recall

    from ..harness.amaranth_sim import run_simulation
    from ..harness.core_script import send_packet

    result = {}
    for count in counts:
        dut = MemGen(RecordFormat(count * size, record_size=size))

        async def testbench(ctx, dut=dut, count=count):
            for n in range(count):
                await send_packet(ctx, dut.commands, command_append(bytes([n]) * size))
            await send_packet(ctx, dut.commands, command_recall(bytes(size)))
            clocks = 0
            ctx.set(dut.responses.ready, 0)
            while not ctx.get(dut.responses.valid):
                await ctx.tick()
                clocks += 1
            result[count] = clocks

        run_simulation(dut, testbench, name=f"recall_latency_{count}")
    slope, intercept = np.polyfit(list(result), list(result.values()), 1)
    return {
        "record_bytes": size,
        "clocks": result,
        "fit": {"per_record": round(float(slope), 3), "constant": round(float(intercept), 1)},
    }


def run(device="verilator", trials=30, counts=None, flips=None, seed=1):
    rng = np.random.default_rng(seed)
    counts = counts or (4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
    flips = flips or (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45)
    cat = cat_patterns()
    memgen = MemgenRecall(device, max(max(counts), len(cat)))
    started = time.monotonic()
    report = {"bits": BITS, "trials": trials, "device": device, "experiments": {}}
    experiments = report["experiments"]
    print("random patterns, 10% of bits flipped, against N...", file=sys.stderr)
    experiments["random_vs_patterns"] = [
        {"patterns": n, **accuracy(random_patterns(n, rng), memgen, rng, trials, flips=0.1)}
        for n in counts
    ]
    print("cat tiles, 10% flipped, against N...", file=sys.stderr)
    experiments["cat_vs_patterns"] = [
        {"patterns": n, **accuracy(cat[rng.permutation(len(cat))[:n]], memgen, rng, trials, 0.1)}
        for n in [n for n in counts if n <= len(cat)] + [len(cat)]
    ]
    fixed = random_patterns(16, rng)
    print("16 random patterns, against flipped and masked fractions...", file=sys.stderr)
    experiments["random_vs_flips"] = [
        {"fraction": f, **accuracy(fixed, memgen, rng, trials, flips=f)} for f in flips
    ]
    experiments["random_vs_masked"] = [
        {"fraction": f, **accuracy(fixed, memgen, rng, trials, masked=f)} for f in flips
    ]
    report["memgen_equals_nearest_neighbour"] = memgen.checked
    report["seconds"] = round(time.monotonic() - started, 1)
    memgen.driver.close()
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="memgen.sim.bench.recall", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--device", default="verilator", choices=("verilator", "sim", "reference"))
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--results", type=Path, default=Path("results"))
    arguments = parser.parse_args(argv)
    report = run(arguments.device, arguments.trials)
    print("recall latency on the core...", file=sys.stderr)
    report["latency"] = recall_latency()
    arguments.results.mkdir(parents=True, exist_ok=True)
    (arguments.results / "recall.json").write_text(json.dumps(report, indent=1) + "\n")
    plot_recall(report, arguments.results / "recall.png")
    print(f"{report['memgen_equals_nearest_neighbour']} memgen answers, each the nearest neighbour")
    print(f"latency: {report['latency']['fit']}")
    print(f"written to {arguments.results / 'recall.json'} and {arguments.results / 'recall.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
