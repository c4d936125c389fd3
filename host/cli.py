"""The ``memgen`` command: train a MemGen device with a file and draw samples from it.

::

    memgen sample DATA [--n N] [--seed S] [--records lines|bytes|fixed:K] [--device D]
                       [--baud B] [--verify] [--out FILE] [--capacity BYTES]
    memgen recite DATA [same options]
    memgen recall DATA --query FILE [--k K] [--mask FILE] [--records fixed:K|bytes] [same options]
    memgen status [--device D] [--baud B] [--json]
    memgen build BOARD [--records lines|bytes|fixed:K] [--seed N] [--out DIR] [--json]
    memgen program BOARD [--records lines|bytes|fixed:K] [--bitstream FILE]

``sample`` clears the device, seeds it (the default seed is fixed, so runs repeat), trains it with
the records of DATA in order and writes N samples; ``recite`` writes every record back. In
``lines`` mode a record is a line with its line ending, written back exactly as it appeared (a
last line without one gets a newline); otherwise output is the records' raw bytes. ``--verify``
runs the same commands on the software model and stops at the first sample that differs.
``recall`` trains the same way, then prints the K records nearest the query in Hamming distance
(index, distance, the record in hex).

The simulated devices (``reference``, ``sim``, ``verilator``) are built for the records mode:
variable-length records for ``lines``, fixed-size ones for ``bytes`` (1 byte) and ``fixed:K``,
with ``--capacity`` bytes of memory, or with ``--board NAME`` the memory and backends of that
board (simulation models of its primitives), in the same mode. A board (``serial:PORT``) has the
memory it was built with.

``build`` makes a board's bitstream with Yosys and nextpnr from PyPI and reports timing, resources
and capacity; it exits 1 when the design misses the board's clock target. By default a board
stores variable-length records (``lines``, a record table beside the data, in ``build/BOARD``);
``--records fixed:K`` or ``bytes`` builds it for fixed-size records (all memory holds data, and
``recall`` works; in ``build/BOARD-fixedK``). ``program`` loads the bitstream with iceprog or
openFPGALoader; give it the same ``--records`` to find that build's bitstream.
"""

import argparse
import json
import sys

from memgen.hdl.protocol import (
    DEFAULT_SEED,
    MAX_LINK_RECORD,
    MAX_RECALL_K,
    ErrorCode,
    Generator,
)
from memgen.hdl.records import RecordFormat

from .driver import DeviceError, Driver, MemGenError
from .transports import DEVICES, DeviceNotFound, open_transport

__all__ = ["main"]

DEFAULT_CAPACITY = 65536
#: Variable-length mode of the simulated devices: one record-table entry per this many bytes.
BYTES_PER_TABLE_ENTRY = 16


class UserError(Exception):
    """One line for the user, exit status 1."""


def parse_records_mode(text):
    if text in ("lines", "bytes"):
        return text, None
    if text.startswith("fixed:"):
        try:
            size = int(text.removeprefix("fixed:"))
        except ValueError:
            size = 0
        if 1 <= size <= MAX_LINK_RECORD:
            return "fixed", size
        raise argparse.ArgumentTypeError(
            f"fixed:K needs a record size K from 1 to {MAX_LINK_RECORD}, not {text!r}"
        )
    raise argparse.ArgumentTypeError(f"records must be lines, bytes or fixed:K, not {text!r}")


def read_records(path, mode, size):
    """The records of DATA (a path or "-")."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as file:
                data = file.read()
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror}") from None
    if not data:
        raise UserError(f"{path} is empty: there is nothing to learn")
    if mode == "lines":
        records = data.splitlines(keepends=True)
    elif mode == "bytes":
        records = [data[i : i + 1] for i in range(len(data))]
    else:
        if len(data) % size:
            raise UserError(
                f"{path} is {len(data)} bytes, not a whole number of {size}-byte records"
            )
        records = [data[i : i + size] for i in range(0, len(data), size)]
    for number, record in enumerate(records, 1):
        if len(record) > MAX_LINK_RECORD:
            what = "line" if mode == "lines" else "record"
            raise UserError(
                f"{what} {number} of {path} is {len(record)} bytes; records are at most "
                f"{MAX_LINK_RECORD} bytes"
            )
    return records


def simulated_format(mode, size, capacity):
    if mode == "lines":
        return RecordFormat(
            capacity,
            max_records=max(1, capacity // BYTES_PER_TABLE_ENTRY),
            max_length=min(capacity, MAX_LINK_RECORD),
        )
    return RecordFormat(capacity, record_size=1 if mode == "bytes" else size)


def format_of(status):
    """The RecordFormat a device reports."""
    if status["flags"] & 1:
        return RecordFormat(status["byte_capacity"], record_size=status["max_length"])
    return RecordFormat(
        status["byte_capacity"],
        max_records=status["record_capacity"],
        max_length=status["max_length"],
    )


def generator_of(status):
    return "lfsr" if (status["flags"] >> 1) & 3 == Generator.LFSR else "trivium"


class Progress:
    """A one-line progress counter on stderr, only when stderr is a terminal."""

    def __init__(self, what):
        self.what = what
        self.active = sys.stderr.isatty()
        self.shown = False

    def __call__(self, done, total):
        if self.active and total >= 1000:
            print(f"\r{self.what} {done:,}/{total:,}", end="", file=sys.stderr, flush=True)
            self.shown = True

    def finish(self):
        if self.shown:
            print(file=sys.stderr)
            self.shown = False


def board_variant(board, mode, size):
    """The board as built for a records mode: as described (variable-length records) for
    ``lines``, otherwise with fixed-size records (``bytes`` is 1 byte each)."""
    if board is None or mode in (None, "lines"):
        return board
    return board.with_record_size(size or 1)


def open_driver(arguments, record_format=None):
    board = board_variant(arguments.board, arguments.mode, arguments.size)
    try:
        transport = open_transport(
            arguments.device, record_format, baud=arguments.baud, board=board
        )
    except DeviceNotFound as error:
        raise UserError(str(error)) from None
    return Driver(transport)


def train(driver, records, arguments):
    """Clear, seed and train; returns the status after."""
    driver.clear()
    driver.seed(arguments.seed)
    status = driver.status()
    fixed = status["flags"] & 1
    if fixed and arguments.mode == "lines":
        raise UserError(
            f"the device stores fixed-size records of {status['max_length']} bytes; "
            f"use --records fixed:{status['max_length']}"
        )
    progress = Progress("training")
    try:
        return driver.train(records, progress)
    except DeviceError as error:
        progress.finish()
        done, stored = error.done, error.stored
        what = "line" if arguments.mode == "lines" else "record"
        if error.code == ErrorCode.FULL:
            raise UserError(
                f"{arguments.data} does not fit: the device stored {stored:,} of "
                f"{len(records):,} records ({done['bytes_used']:,} of {done['byte_capacity']:,} "
                f"bytes, {done['records']:,} of {done['record_capacity']:,} records) and "
                "refused the rest"
            ) from None
        if error.code in (ErrorCode.TOO_LONG, ErrorCode.WRONG_SIZE):
            limit = "exactly" if error.code == ErrorCode.WRONG_SIZE else "at most"
            raise UserError(
                f"{what} {stored + 1} of {arguments.data} is {len(records[stored])} bytes; the "
                f"device's records are {limit} {done['max_length']} bytes"
            ) from None
        raise
    finally:
        progress.finish()


def write_records(records, arguments):
    out = sys.stdout.buffer if arguments.out in (None, "-") else None
    try:
        if out is None:
            out = open(arguments.out, "wb")  # noqa: SIM115 - closed below
        for record in records:
            out.write(record)
            if arguments.mode == "lines" and not record.endswith(b"\n"):
                out.write(b"\n")
        out.flush()
    except OSError as error:
        raise UserError(f"cannot write {arguments.out or 'stdout'}: {error.strerror}") from None
    finally:
        if out is not None and out is not sys.stdout.buffer:
            out.close()


def run_data_command(arguments):
    records = read_records(arguments.data, arguments.mode, arguments.size)
    simulated = simulated_format(arguments.mode, arguments.size, arguments.capacity)
    with open_driver(arguments, simulated) as driver:
        status = train(driver, records, arguments)
        if arguments.command == "sample":
            progress = Progress("sampling")
            try:
                results = driver.sample(arguments.n, progress)
            finally:
                progress.finish()
        else:
            results = driver.recite()
    if arguments.verify:
        verify(results, records, status, arguments)
    write_records(results, arguments)


def read_exact(path, size, what):
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror}") from None
    if len(data) != size:
        raise UserError(f"the {what} {path} is {len(data)} bytes; the records are {size}")
    return data


def run_recall(arguments):
    """Train with DATA, then print the K records nearest the query (index, distance, hex)."""
    if arguments.mode == "lines":
        raise UserError("recall needs fixed-size records: use --records fixed:K or bytes")
    if not 1 <= arguments.k <= MAX_RECALL_K:
        raise UserError(f"--k must be 1 to {MAX_RECALL_K}")
    size = arguments.size or 1
    query = read_exact(arguments.query, size, "query")
    mask = None if arguments.mask is None else read_exact(arguments.mask, size, "mask")
    records = read_records(arguments.data, arguments.mode, arguments.size)
    simulated = simulated_format(arguments.mode, arguments.size, arguments.capacity)
    with open_driver(arguments, simulated) as driver:
        status = train(driver, records, arguments)
        if not status["flags"] & 1 or status["max_length"] != size:
            raise UserError(
                f"the device's records are {status['max_length']} bytes"
                f"{'' if status['flags'] & 1 else ' at most'}; recall needs fixed:{size} records"
            )
        matches = driver.recall(query, arguments.k, mask)
    if arguments.verify:
        from .reference import MemGenReference

        reference = MemGenReference(format_of(status))
        for record in records:
            reference.append(record)
        expected = reference.recall(query, arguments.k, mask)
        if [(i, d) for i, d, _ in matches] != expected or any(
            record != records[i] for i, _, record in matches
        ):
            raise UserError(f"verify: recall answered {matches[:2]}..., the reference {expected}")
        print(f"memgen: verified {len(matches)} matches against the reference", file=sys.stderr)
    for index, distance, record in matches:
        print(f"{index}\t{distance}\t{record.hex()}")


def verify(results, records, status, arguments):
    """The same commands on the software model; the first difference is an error."""
    from .transports import ReferenceTransport

    reference = Driver(ReferenceTransport(format_of(status), generator_of(status)))
    reference.clear()
    reference.seed(arguments.seed)
    reference.train(records)
    expected = reference.sample(arguments.n) if arguments.command == "sample" else records
    for number, (got, want) in enumerate(zip(results, expected, strict=False)):
        if got != want:
            raise UserError(
                f"verify: {arguments.command} result {number} differs from the reference: "
                f"device {got[:32]!r}, reference {want[:32]!r}"
            )
    if len(results) != len(expected):
        raise UserError(
            f"verify: the device returned {len(results)} records, the reference {len(expected)}"
        )
    print(f"memgen: verified {len(results):,} records against the reference", file=sys.stderr)


def run_status(arguments):
    simulated = simulated_format("lines", None, arguments.capacity)
    with open_driver(arguments, simulated) as driver:
        status = driver.status()
    status = {"generator": generator_of(status), "fixed_size": bool(status["flags"] & 1), **status}
    del status["code"], status["stored"], status["flags"]
    if arguments.json:
        print(json.dumps(status, indent=2))
    else:
        for name, value in status.items():
            print(f"{name:18} {value}")


def board_argument(name):
    from memgen.boards import board

    try:
        return board(name)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def default_build_folder(board):
    """``build/BOARD``, or ``build/BOARD-fixedK`` for a build with fixed-size records."""
    fmt = board.record_format
    return f"build/{board.name}" + (f"-fixed{fmt.record_size}" if fmt.fixed else "")


def run_build(arguments):
    from memgen.boards.build import build

    board = board_variant(arguments.board_name, arguments.mode, arguments.size)
    out = arguments.out or default_build_folder(board)
    if not arguments.json:
        print(
            f"memgen: building {board.title} in {out} (seed {arguments.seed})...", file=sys.stderr
        )
    try:
        report = build(board, out, seed=arguments.seed)
    except RuntimeError as error:
        raise UserError(str(error)) from None
    if arguments.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_report(report))
    clock = report["fmax"][report["design_clock"]]
    if not report["timing_met"]:
        raise UserError(
            f"timing not met on {board.name}: {clock['achieved_mhz']} MHz, the board clock is "
            f"{report['clock_mhz']} MHz (report in {out}/memgen.tim; try another --seed)"
        )


def format_report(report):
    clock = report["fmax"][report["design_clock"]]
    board_clock = "met" if report["timing_met"] else "NOT MET"
    target = "met" if report["target_met"] else "not met"
    lines = [
        f"board          {report['title']}, {report['device']}",
        f"clock          {clock['achieved_mhz']} MHz achieved; board clock {report['clock_mhz']}"
        f" MHz ({board_clock}), design target {report['target_mhz']} MHz ({target})",
    ]
    for cell, use in report["utilisation"].items():
        share = use["used"] / use["available"] if use["available"] else 0
        lines.append(f"{cell:14} {use['used']:,} of {use['available']:,} ({share:.0%})")
    capacity = report["capacity"]
    lines += [
        f"capacity       {capacity['bytes']:,} bytes, {capacity['records']:,} records",
        f"memory         {report['memory']}",
        f"uart           {report['uart']}",
        f"bitstream      {report['bitstream']}",
    ]
    return "\n".join(lines)


def run_program(arguments):
    import shutil
    import subprocess
    from pathlib import Path

    board = board_variant(arguments.board_name, arguments.mode, arguments.size)
    bitstream = Path(
        arguments.bitstream or f"{default_build_folder(board)}/memgen.{board.bitstream}"
    )
    if not bitstream.exists():
        records = {"lines": "", "bytes": " --records bytes"}.get(
            arguments.mode, f" --records fixed:{arguments.size}"
        )
        raise UserError(
            f"no bitstream at {bitstream}: run `memgen build {board.name}{records}` first"
        )
    for tool, options in board.programmer:
        if shutil.which(tool):
            result = subprocess.run([tool, *options, str(bitstream)])
            if result.returncode:
                raise UserError(f"{tool} failed (exit status {result.returncode})")
            return
    tools = " or ".join(tool for tool, _ in board.programmer)
    raise UserError(f"cannot program {board.name}: {tools} is not installed")


def add_records_option(parser, help_text):
    parser.add_argument(
        "--records",
        type=parse_records_mode,
        default=("lines", None),
        metavar="MODE",
        help=help_text,
    )


def parser():
    main_parser = argparse.ArgumentParser(
        prog="memgen", description="MemGEN in hardware: learn records by heart, sample them."
    )
    commands = main_parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    device = argparse.ArgumentParser(add_help=False)
    device.add_argument(
        "--device",
        default="sim",
        metavar="DEVICE",
        help=f"{' | '.join(DEVICES)} (default: sim)",
    )
    device.add_argument("--baud", type=int, default=3_000_000, help="serial line rate")
    device.add_argument(
        "--board",
        type=board_argument,
        metavar="BOARD",
        help="a simulated device with this board's memory (icebreaker, ulx3s-85f)",
    )
    device.add_argument(
        "--capacity",
        type=int,
        default=DEFAULT_CAPACITY,
        help="memory bytes of a simulated device (default: %(default)s)",
    )

    data = argparse.ArgumentParser(add_help=False, parents=[device])
    data.add_argument("data", metavar="DATA", help="training data: a file, or - for stdin")
    add_records_option(data, "lines | bytes | fixed:K (default: lines)")
    data.add_argument("--seed", type=lambda text: int(text, 0), default=DEFAULT_SEED)
    data.add_argument("--verify", action="store_true", help="check against the reference model")
    data.add_argument("--out", metavar="FILE", help="write here instead of stdout")

    sample = commands.add_parser("sample", parents=[data], help="train with DATA, write N samples")
    sample.add_argument("--n", type=int, default=10, help="samples to draw (default: 10)")
    commands.add_parser("recite", parents=[data], help="train with DATA, write it back")
    recall = commands.add_parser(
        "recall",
        parents=[data],
        help="train with DATA, print the records nearest a query",
        description="Train with DATA (fixed-size records), then print the K stored records "
        "nearest the query in Hamming distance, one per line: index, distance (bits that "
        "differ), the record in hex. Ties go to the lowest index.",
    )
    recall.add_argument("--query", required=True, metavar="FILE", help="one record long")
    recall.add_argument("--k", type=int, default=1, help=f"matches, 1 to {MAX_RECALL_K} (1)")
    recall.add_argument(
        "--mask", metavar="FILE", help="one record long: only its 1 bits count (default: all)"
    )
    status = commands.add_parser("status", parents=[device], help="show the device's status")
    status.add_argument("--json", action="store_true")
    board_records = argparse.ArgumentParser(add_help=False)
    add_records_option(
        board_records,
        "lines (variable-length records with a record table, default) | bytes | fixed:K "
        "(fixed-size records of K bytes, all memory holding data; RECALL needs them)",
    )
    build = commands.add_parser("build", parents=[board_records], help="build a board's bitstream")
    build.add_argument("board_name", type=board_argument, metavar="BOARD")
    build.add_argument("--seed", type=int, default=1, help="nextpnr placement seed")
    build.add_argument(
        "--out", metavar="DIR", help="build folder (default: build/BOARD or build/BOARD-fixedK)"
    )
    build.add_argument("--json", action="store_true", help="print the report as JSON")
    program = commands.add_parser(
        "program", parents=[board_records], help="load a board's bitstream"
    )
    program.add_argument("board_name", type=board_argument, metavar="BOARD")
    program.add_argument("--bitstream", metavar="FILE")
    return main_parser


def main(argv=None):
    arguments = parser().parse_args(argv)
    arguments.mode, arguments.size = getattr(arguments, "records", (None, None))
    try:
        if arguments.command == "build":
            return run_build(arguments) or 0
        if arguments.command == "program":
            return run_program(arguments) or 0
        if arguments.capacity < 1:
            raise UserError("--capacity must be positive")
        if getattr(arguments, "n", 0) < 0:
            raise UserError("--n cannot be negative")
        if hasattr(arguments, "seed") and not 0 <= arguments.seed < 1 << 64:
            raise UserError("--seed must be a 64-bit unsigned number")
        if arguments.command == "status":
            run_status(arguments)
        elif arguments.command == "recall":
            run_recall(arguments)
        else:
            run_data_command(arguments)
    except (UserError, MemGenError) as error:
        print(f"memgen: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("memgen: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
