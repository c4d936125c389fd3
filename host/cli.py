"""The ``memgen`` command: train a MemGen device with a file and draw samples from it.

::

    memgen sample [DATA] [--n N] [--seed S] [--records MODE] [--verify] [--out FILE]
    memgen recite [DATA] [--records MODE] [--verify] [--out FILE]
    memgen recall [DATA] --query FILE [--k K] [--mask FILE] [--records fixed:K|bytes]
    memgen train DATA [--append] [--seed S] [--records MODE]
    memgen status [--json]
    memgen build BOARD [--records MODE] [--design D] [--seed N] [--out DIR] [--json]
    memgen program BOARD [--records MODE] [--design D] [--bitstream FILE]

Every device command takes ``--device`` (``reference``, ``sim``, ``verilator`` or
``serial:PORT``), and for a simulated device ``--capacity BYTES`` or ``--board NAME`` (that
board's memory, simulated). On ``serial:PORT``, ``--board NAME`` gives that board's line rate
(the iCEBreaker's 6 Mbaud; 3 Mbaud without it), ``--baud`` any other.

With DATA, ``sample``, ``recite`` and ``recall`` clear the device, seed it (the default seed is
fixed, so runs repeat) and train it with DATA's records in order first. Without DATA they use
what a board (``serial:PORT``) already holds from ``memgen train``, and ``sample`` goes on with
the device's stream unless ``--seed`` is given. Samples are written as they arrive.
How lines are split and written back: :mod:`memgen.host.datafile`. ``--verify`` runs the same
commands on the software model and stops at the first output that differs, before writing it.
"""

import argparse
import json
import os
import shutil
import sys

import memgen
from memgen.hdl.engine.protocol import DEFAULT_SEED, MAX_RECALL_K, ErrorCode
from memgen.hdl.link.protocol import BAUD, MAX_LINK_RECORD

from . import api
from .board_commands import DESIGNS, run_build, run_program
from .codec import DeviceStatus
from .datafile import (
    Output,
    PipeClosed,
    UserError,
    check_writable,
    plural,
    read_data,
    split_records,
)
from .driver import DeviceError, Driver, MemGenError, fitting_records
from .transports import DEVICES, SIMULATED, ReferenceTransport, check_device

__all__ = ["main", "parser", "open_memory"]


def seed_number(text):
    """A 64-bit seed: decimal (leading zeros allowed) or 0x, 0o, 0b."""
    try:
        value = int(text, 0) if text[1:2].isalpha() else int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value < 1 << 64:
        raise argparse.ArgumentTypeError(f"{text} is not a 64-bit unsigned number")
    return value


def records_mode(text):
    try:
        return api.parse_records(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def board_argument(name):
    from memgen.boards import board

    try:
        return board(name)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def whole_number(text):
    try:
        return int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def memory_options(parser):
    """``--memory`` and ``--sdram-size``: where a board's records live (a build's, or a simulated
    board's)."""
    parser.add_argument(
        "--memory",
        choices=("bram", "sdram"),  # memgen.boards.board.MEMORIES, without importing it
        default="bram",
        help="where a board keeps the records: bram, the FPGA's block RAM (default), or sdram, "
        "the SDRAM chip beside it (the ULX3S's 32 MiB)",
    )
    parser.add_argument(
        "--sdram-size",
        type=whole_number,
        metavar="MIB",
        help="with --memory sdram: the chip's size in MiB, 32 (default) or 64",
    )


# Opening and training ------------------------------------------------------------------------
def simulated_format(arguments):
    """The record format a simulated device is built with; None for a board's own."""
    if arguments.board is not None or arguments.device not in SIMULATED:
        return None
    capacity = api.DEFAULT_CAPACITY if arguments.capacity is None else arguments.capacity
    fixed, size = arguments.records
    try:
        return api.sim_format(f"fixed:{size}" if fixed else "variable", capacity)
    except ValueError as error:
        raise UserError(f"--capacity {capacity}: {error}") from None


def open_memory(arguments):
    """The device the arguments name, as a :class:`~memgen.host.api.Memory` (after
    :func:`check_device_options`)."""
    if arguments.device not in SIMULATED:
        board = None if arguments.board is None else arguments.board.name  # its line rate
        return api.open(arguments.device, board=board, baud=arguments.baud)
    fixed, size = arguments.records
    return api.open(
        arguments.device,
        records=f"fixed:{size}" if fixed else "variable",
        capacity=arguments.capacity,
        board=None if arguments.board is None else arguments.board.name,
        memory=arguments.memory,
        sdram_size=arguments.sdram_size,
    )


def check_fits(records, status, arguments):
    """A UserError, before anything is sent, if the records do not all fit ``status``."""
    what = "line" if arguments.records == (False, None) else "record"
    fixed, size = status.fixed_size, status.max_length
    fits = fitting_records(records, status)
    if fits == len(records):
        return
    record = records[fits]
    if fixed and len(record) != size:
        raise UserError(f"the device stores {size}-byte records; use --records fixed:{size}")
    if len(record) > size:
        raise UserError(
            f"{what} {fits + 1} of {arguments.data} is {plural(len(record), 'byte')}; the "
            f"device's records are at most {plural(size, 'byte')}"
        )
    total = sum(len(r) for r in records)
    raise UserError(
        f"{arguments.data} does not fit: {plural(len(records), 'record')} of "
        f"{plural(total, 'byte')}; the first {fits:,} fit (the device has room for "
        f"{plural(status.byte_capacity - status.bytes_used, 'byte')} and "
        f"{plural(status.record_capacity - status.records, 'record')})"
    )


def progress_bar(what, total):
    """A progress callback (tqdm on a terminal, refreshed at least once a second), or None."""
    if total < 1000 or not sys.stderr or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    # a terminal that reports no size (a bare pty) gets 80x24: tqdm would show nothing
    size = shutil.get_terminal_size()
    bar = tqdm(total=total, desc=what, unit=" records", mininterval=0.2,
               maxinterval=1.0, ncols=size.columns, nrows=size.lines, leave=False,
               file=sys.stderr)  # fmt: skip

    def update(done, _total):
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    update.close = bar.close
    return update


def train(memory, records, arguments, clear=True):
    """Clear and seed (unless appending), then store ``records``."""
    if clear:
        memory.clear()
        memory.seed(DEFAULT_SEED if arguments.seed is None else arguments.seed)
    elif arguments.seed is not None:
        memory.seed(arguments.seed)
    status = memory.driver.status()
    if arguments.records == (False, None) and status.fixed_size:
        raise UserError(
            f"the device stores fixed-size records of {plural(status.max_length, 'byte')}; "
            f"use --records fixed:{status.max_length}"
        )
    check_fits(records, status, arguments)
    progress = progress_bar("training", len(records))
    try:
        memory.extend(records, progress)
    except DeviceError as error:
        if error.code != ErrorCode.FULL:
            raise
        raise UserError(
            f"{arguments.data} does not fit: the device stored {error.stored:,} of "
            f"{plural(len(records), 'record')} and refused the rest"
        ) from None
    finally:
        if progress:
            progress.close()


def check_device_options(arguments):
    """The device name, and the memory options that apply to it."""
    check_device(arguments.device)
    if arguments.board is not None and arguments.capacity is not None:
        raise UserError(
            f"--capacity does not apply with --board: {arguments.board.name}'s memory is "
            f"{arguments.board.record_format.byte_capacity:,} bytes"
        )
    if arguments.device.startswith("serial:") and arguments.capacity:
        raise UserError("--capacity is for simulated devices; a board has its own memory")
    if arguments.memory != "bram" or arguments.sdram_size is not None:
        if arguments.board is None or arguments.device.startswith("serial:"):
            raise UserError("--memory and --sdram-size are for a simulated device's --board")
        try:
            arguments.board.with_memory(arguments.memory, arguments.sdram_size)
        except ValueError as error:
            raise UserError(f"--memory {arguments.memory}: {error}") from None
    simulated_format(arguments)


def load(arguments):
    """DATA's records (None without DATA), after the checks that need no device."""
    check_device_options(arguments)
    if hasattr(arguments, "out"):
        check_writable(arguments.out)
    if arguments.data is None:
        if arguments.device in SIMULATED:
            raise UserError(
                f"the {arguments.device} device keeps nothing between commands: give DATA "
                "(a board on serial:PORT keeps what `memgen train` stored)"
            )
        return None
    fixed, size = arguments.records
    mode = "lines" if not fixed else "fixed"
    records = split_records(read_data(arguments.data), mode, size, arguments.data)
    record_format = simulated_format(arguments)
    if record_format is not None:
        check_fits(records, DeviceStatus.empty(record_format), arguments)
    return records


# Commands ------------------------------------------------------------------------------------
def run_train(arguments):
    records = load(arguments)
    with open_memory(arguments) as memory:
        train(memory, records, arguments, clear=not arguments.append)
        status = memory.status()
    print(
        f"memgen: {arguments.device} holds {plural(status.records, 'record')}, "
        f"{status.bytes_used:,} of {status.byte_capacity:,} bytes",
        file=sys.stderr,
    )


def reference_of(memory, records, seed):
    """The software model trained as the device is, for --verify."""
    status = memory.status()
    reference = Driver(ReferenceTransport(status.record_format, status.generator))
    reference.clear()
    reference.seed(seed)
    reference.train(records)
    return reference


def encode_indices(indices):
    """``--indices``: one decimal index a line."""
    return "".join(f"{index}\n" for index in indices).encode()


def run_sample(arguments):
    if arguments.n < 0:
        raise UserError("--n cannot be negative")
    records = load(arguments)
    if arguments.verify and records is None and arguments.seed is None:
        raise UserError("--verify without DATA needs --seed: the device's stream has moved on")
    output = Output(arguments.out, lines=arguments.records == (False, None))
    with open_memory(arguments) as memory, output:
        if records is not None:
            train(memory, records, arguments)
        elif arguments.seed is not None:
            memory.seed(arguments.seed)
        reference = None
        if arguments.verify:
            stored = records if records is not None else memory.driver.recite()
            seed = DEFAULT_SEED if arguments.seed is None else arguments.seed
            reference = reference_of(memory, stored, seed)
        progress = progress_bar("sampling", arguments.n)
        draw, encode = memory.iter_sample, output.encode
        expect = reference and reference.sample
        if arguments.indices:
            draw, encode = memory.driver.index_chunks, encode_indices
            expect = reference and reference.sample_indices
        done = 0
        try:
            for chunk in draw(arguments.n, progress):
                data = encode(chunk)
                if reference is not None:
                    expected = encode(expect(len(chunk)))
                    if data != expected:
                        first = next(
                            i
                            for i, (a, b) in enumerate(zip(data, expected, strict=False))
                            if a != b
                        )
                        raise UserError(
                            f"verify: sample output differs from the reference's at byte "
                            f"{first:,} of samples {done:,} to {done + len(chunk) - 1:,}"
                        )
                output.write(data)
                done += len(chunk)
        finally:
            if progress:
                progress.close()
    if reference is not None:
        print(f"memgen: verified {plural(done, 'sample')} against the reference", file=sys.stderr)


def run_recite(arguments):
    records = load(arguments)
    with open_memory(arguments) as memory, Output(arguments.out) as output:
        if records is not None:
            train(memory, records, arguments)
        recited = memory.driver.recite()
        data = b"".join(recited)
        if arguments.verify:
            expected = b"".join(records if records is not None else recited)
            if data != expected:
                raise UserError("verify: the recited records differ from DATA")
        output.write(data)
    if arguments.verify:
        print(f"memgen: verified {plural(len(recited), 'record')} against DATA", file=sys.stderr)


def run_recall(arguments):
    """Train with DATA, then print the K records nearest the query (index, distance, hex)."""
    if arguments.records == (False, None):
        raise UserError("recall needs fixed-size records: use --records fixed:K or bytes")
    if not 1 <= arguments.k <= MAX_RECALL_K:
        raise UserError(f"--k must be 1 to {MAX_RECALL_K}")
    if arguments.query == "-" and arguments.data == "-":
        raise UserError("DATA and --query cannot both be stdin")
    size = arguments.records[1]
    query = read_exact(arguments.query, size, "query")
    mask = None if arguments.mask is None else read_exact(arguments.mask, size, "mask")
    records = load(arguments)
    with open_memory(arguments) as memory, Output(arguments.out) as output:
        if records is not None:
            train(memory, records, arguments)
        status = memory.status()
        if not status.fixed_size or status.max_length != size:
            raise UserError(
                f"the device's records are {'' if status.fixed_size else 'at most '}"
                f"{plural(status.max_length, 'byte')}; recall needs fixed:{size} records"
            )
        matches = memory.recall(query, arguments.k, mask)
        if arguments.verify:
            stored = records if records is not None else memory.driver.recite()
            expected = reference_of(memory, stored, DEFAULT_SEED).recall(query, arguments.k, mask)
            if matches != [tuple(match) for match in expected]:
                raise UserError(
                    f"verify: recall answered {matches[:2]}..., the reference {expected[:2]}..."
                )
        output.write(
            "".join(f"{m.index}\t{m.distance}\t{m.record.hex()}\n" for m in matches).encode()
        )
    if arguments.verify:
        print(
            f"memgen: verified {plural(len(matches), 'match')} against the reference",
            file=sys.stderr,
        )


def read_exact(path, size, what):
    data = read_data(path)
    if len(data) != size:
        raise UserError(f"the {what} {path} is {plural(len(data), 'byte')}; the records are {size}")
    return data


def run_status(arguments):
    arguments.records = (False, None)
    check_device_options(arguments)
    with open_memory(arguments) as memory:
        status = memory.status()
    fields = {
        "generator": status.generator,
        "fixed_size": status.fixed_size,
        "records": status.records,
        "bytes_used": status.bytes_used,
        "record_capacity": status.record_capacity,
        "byte_capacity": status.byte_capacity,
        "max_length": status.max_length,
        "seed": status.seed,
        **status.link_errors,
    }
    if arguments.json:
        print(json.dumps(fields, indent=2))
    else:
        for name, value in fields.items():
            print(f"{name:18} {value}")


# The parser ----------------------------------------------------------------------------------
def parser():
    from memgen.boards import BOARDS

    boards = ", ".join(BOARDS)
    main_parser = argparse.ArgumentParser(
        prog="memgen",
        description="MemGEN in hardware: learn records by heart, sample them.",
        epilog=f"devices: {', '.join(DEVICES)} (default: {api.DEFAULT_DEVICE}); boards: {boards}",
    )
    main_parser.add_argument("--version", action="version", version=f"memgen {memgen.__version__}")
    commands = main_parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    device = argparse.ArgumentParser(add_help=False)
    device.add_argument(
        "--device",
        default=api.DEFAULT_DEVICE,
        metavar="DEVICE",
        help=f"{' | '.join(DEVICES)} (default: {api.DEFAULT_DEVICE})",
    )
    device.add_argument(
        "--baud",
        type=whole_number,
        help=f"serial line rate (default: the --board's, else {BAUD})",
    )
    device.add_argument(
        "--board",
        type=board_argument,
        metavar="BOARD",
        help=f"a simulated device with this board's memory, or on serial:PORT its line rate: "
        f"{boards}",
    )
    device.add_argument(
        "--capacity",
        type=whole_number,
        metavar="BYTES",
        help=f"memory of a simulated device (default: {api.DEFAULT_CAPACITY})",
    )
    memory_options(device)

    records = argparse.ArgumentParser(add_help=False)
    records.add_argument(
        "--records",
        type=records_mode,
        default=(False, None),
        metavar="MODE",
        help=f"lines (records of 1 to {MAX_LINK_RECORD} bytes, default) | bytes "
        "| fixed:K (fixed-size records of K bytes; recall needs them)",
    )
    seed = argparse.ArgumentParser(add_help=False)
    seed.add_argument(
        "--seed",
        type=seed_number,
        metavar="S",
        help=f"64-bit generator seed (default: {DEFAULT_SEED:#x} with DATA; "
        "without DATA the device's stream goes on)",
    )
    common = [device, records, seed]

    def data_command(name, help_text, optional=True, **options):
        command = commands.add_parser(name, parents=common, help=help_text, **options)
        command.add_argument(
            "data",
            metavar="DATA",
            nargs="?" if optional else None,
            help="training data: a file, or - for stdin"
            + (" (none: what a board holds)" if optional else ""),
        )
        return command

    sample = data_command("sample", "train with DATA, write N samples as they arrive")
    sample.add_argument("--n", type=whole_number, default=10, help="samples (default: 10)")
    sample.add_argument(
        "--indices",
        action="store_true",
        help="write each sample's index (0 is the first record), one a line, not the record",
    )
    recite = data_command("recite", "train with DATA, write it back")
    recall = data_command(
        "recall",
        "train with DATA, print the records nearest a query",
        description="Print the K stored records nearest the query in Hamming distance, one per "
        "line: index, distance (bits that differ), the record in hex. Ties go to the lowest "
        "index. Needs fixed-size records.",
    )
    recall.add_argument("--query", required=True, metavar="FILE", help="one record long; - stdin")
    recall.add_argument(
        "--k", type=whole_number, default=1, help=f"matches, 1 to {MAX_RECALL_K} (default: 1)"
    )
    recall.add_argument("--mask", metavar="FILE", help="one record long: only its 1 bits count")
    for command in (sample, recite, recall):
        command.add_argument("--verify", action="store_true", help="check against the model")
        command.add_argument("--out", metavar="FILE", help="write here (default: stdout)")
    train_command = data_command(
        "train", "store DATA on the device (a board keeps it for later commands)", optional=False
    )
    train_command.add_argument(
        "--append", action="store_true", help="keep what the device holds (default: clear it first)"
    )
    status = commands.add_parser("status", parents=[device], help="show the device's status")
    status.add_argument("--json", action="store_true")

    design = argparse.ArgumentParser(add_help=False)
    design.add_argument(
        "--design",
        choices=DESIGNS,
        default="device",
        help="device: memgen on the board's UART (default); self-check: the board trains and "
        "samples on its own and shows the verdict on two LEDs",
    )
    design.add_argument(
        "--word-bytes",
        type=whole_number,
        metavar="W",
        help="the memory read W bytes a clock, each record starting on a word (default: the "
        "board's word, 1 on the iCEBreaker, 64 on the ULX3S; with fixed:K, the smallest that "
        "holds a record)",
    )
    design.add_argument(
        "--lanes",
        type=whole_number,
        default=1,
        metavar="L",
        help="L sample lanes reading copies of the records, two lanes to a copy on the ULX3S "
        "(capacity / ceil(L / 2)); fixed-size records of at most W bytes (default: 1)",
    )
    memory_options(design)
    design.add_argument(
        "--usb",
        action=argparse.BooleanOptionalAction,
        help="the device answers on the board's USB port too, a CDC-ACM serial port at full "
        "speed, beside the UART (the ULX3S's default, on US2); --no-usb: the UART only",
    )
    build = commands.add_parser(
        "build", parents=[records, design], help="build a board's bitstream"
    )
    build.add_argument("board_name", type=board_argument, metavar="BOARD", help=boards)
    build.add_argument(
        "--seed", type=whole_number, default=1, help="nextpnr placement seed (default: 1)"
    )
    build.add_argument(
        "--out", metavar="DIR", help="build folder (default: build/BOARD or build/BOARD-fixedK)"
    )
    build.add_argument("--json", action="store_true", help="print the report as JSON")
    program = commands.add_parser(
        "program", parents=[records, design], help="load a board's bitstream"
    )
    program.add_argument("board_name", type=board_argument, metavar="BOARD", help=boards)
    program.add_argument("--bitstream", metavar="FILE", help="default: the build folder's")
    return main_parser


RUN = {
    "sample": run_sample,
    "recite": run_recite,
    "recall": run_recall,
    "train": run_train,
    "status": run_status,
    "build": run_build,
    "program": run_program,
}


def main(argv=None):
    arguments = parser().parse_args(argv)
    try:
        RUN[arguments.command](arguments)
    except MemGenError as error:
        print(f"memgen: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("memgen: interrupted", file=sys.stderr)
        return 130
    except (PipeClosed, BrokenPipeError):
        # The reader has gone: nothing more to say; stdout must not be flushed at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
