"""``memgen build`` and ``memgen program``: a board's bitstream made and loaded."""

import json
import sys

from .datafile import UserError

__all__ = [
    "DESIGNS",
    "board_variant",
    "default_build_folder",
    "format_report",
    "run_build",
    "run_program",
]


def board_variant(board, fixed, size, word_bytes=None, lanes=1, usb=None, memory="bram",
                  sdram_size=None):  # fmt: skip
    """The board as built for a records mode: as described (variable-length records), or with
    fixed-size records of ``size`` bytes; its records in ``memory`` (block RAM, or SDRAM of
    ``sdram_size`` MiB); in words of ``word_bytes`` (None: the board's default for the mode,
    :meth:`~memgen.boards.board.Board.for_records`), read by ``lanes`` sample lanes; answering
    on USB too with ``usb``, on the UART only without (None: as the board's default build)."""
    if board is None:
        return board
    try:
        board = board.with_memory(memory, sdram_size)
    except ValueError as error:
        option = "--sdram-size" if sdram_size is not None and memory == "sdram" else "--memory"
        raise UserError(f"{option}: {error}") from None
    if usb is not None:
        try:
            board = board.with_usb(usb)
        except ValueError as error:
            raise UserError(f"--usb: {error}") from None
    if word_bytes is None:
        word_bytes = board.for_records(size if fixed else None).record_format.word_bytes
    try:
        board = board.with_word_bytes(word_bytes)
    except ValueError as error:
        raise UserError(f"--word-bytes {word_bytes}: {error}") from None
    board = board.with_record_size(size) if fixed else board
    try:
        return board.with_lanes(lanes)
    except ValueError as error:
        raise UserError(f"--lanes {lanes}: {error}") from None


def _variant(arguments):
    """:func:`board_variant` for ``memgen build`` and ``memgen program``'s options; the
    self-check has no link, so no USB unless asked for (and refused)."""
    usb = arguments.usb
    if usb is None and arguments.design != "device":
        usb = False
    shape = (arguments.word_bytes, arguments.lanes, usb, arguments.memory, arguments.sdram_size)
    return board_variant(arguments.board_name, *arguments.records, *shape)


#: What ``memgen build --design`` builds: the device on its UART, or the self-check example
#: (:mod:`memgen.boards.self_check`), which needs no link.
DESIGNS = ("device", "self-check")


def default_build_folder(board, design="device"):
    """``build/BOARD``, ``build/BOARD-fixedK`` for a build with fixed-size records, then
    ``-wW`` for words of W bytes, ``-lL`` for L lanes, ``-usb`` with the USB link or ``-uart``
    without it, each where the board's default build for the records mode differs, and
    ``-self-check`` for the self-check example (which has no link)."""
    from memgen.boards import BOARDS

    fmt = board.record_format
    default = BOARDS[board.name]
    folder = f"build/{board.name}" + (f"-fixed{fmt.record_size}" if fmt.fixed else "")
    if board.sdram_size:
        default = default.with_memory("sdram")
        folder += "-sdram" + ("" if board.sdram_size == board.sdram_sizes[0] else
                              str(board.sdram_size))  # fmt: skip
    default = default.for_records(fmt.record_size)
    folder += f"-w{fmt.word_bytes}" if fmt.word_bytes != default.record_format.word_bytes else ""
    folder += f"-l{fmt.lanes}" if fmt.lanes > 1 else ""
    if design == "device" and board.usb_link != BOARDS[board.name].usb_link:
        folder += "-usb" if board.usb_link else "-uart"
    return folder + ("" if design == "device" else f"-{design}")


def _top(board, design):
    """The design to build (None: the board's device)."""
    if design == "device":
        return None
    if board.usb_link:
        raise UserError("--usb: the self-check has no link (it samples on its own)")
    from memgen.boards.self_check import SelfCheckTop

    try:
        return SelfCheckTop(board)
    except ValueError as error:  # the memory refuses the dataset
        raise UserError(f"the self-check does not fit {board.name}'s memory: {error}") from None


def run_build(arguments):
    from memgen.boards.build import build

    board = _variant(arguments)
    out = arguments.out or default_build_folder(board, arguments.design)
    top = _top(board, arguments.design)
    if not arguments.json:
        print(
            f"memgen: building {arguments.design} for {board.title} in {out} "
            f"(seed {arguments.seed})...",
            file=sys.stderr,
        )
    try:
        report = build(board, out, seed=arguments.seed, top=top)
    except RuntimeError as error:
        raise UserError(str(error)) from None
    if arguments.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_report(report))
        if top is not None:
            print(
                f"self-check     {top.samples:,} samples, CRC-32 {top.expected_crc:#010x} "
                "expected: LED 0 lights if it fails, LED 1 blinks while sampling and stays lit "
                "once it passes"
            )
    clock = report["fmax"][report["design_clock"]]
    if not report["timing_met"]:
        raise UserError(
            f"timing not met on {board.name}: {clock['achieved_mhz']} MHz, the board clock is "
            f"{report['clock_mhz']} MHz (report in {out}/memgen.tim; try another --seed)"
        )


def _copies(lanes, copies):
    """How the lanes share the copies of the records, for the capacity line."""
    if lanes == 1:
        return ""
    readers = f"{lanes // copies} lane{'s' if lanes > copies else ''}"
    if copies == 1:
        return f" in one copy read by {readers}"
    return f" in each of {copies} copies, {readers} per copy"


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
    copies = _copies(capacity.get("lanes", 1), capacity.get("copies", 1))
    width = capacity["word_bytes"]
    lines += [
        f"capacity       {capacity['bytes']:,} bytes, {capacity['records']:,} records{copies}; "
        f"words of {width} byte{'s' if width > 1 else ''}, padding: {capacity['padding']}",
        f"memory         {report['memory']}",
        f"uart           {report['uart']}",
        *([f"usb            {report['usb']}"] if report.get("usb") else []),
        f"bitstream      {report['bitstream']}",
    ]
    return "\n".join(lines)


def run_program(arguments):
    import shutil
    import subprocess
    from pathlib import Path

    board = _variant(arguments)
    folder = default_build_folder(board, arguments.design)
    bitstream = Path(arguments.bitstream or f"{folder}/memgen.{board.bitstream}")
    if not bitstream.exists():
        fixed, size = arguments.records
        options = f" --records fixed:{size}" if fixed else ""
        options += f" --word-bytes {arguments.word_bytes}" if arguments.word_bytes else ""
        options += f" --lanes {arguments.lanes}" if arguments.lanes > 1 else ""
        options += f" --memory {arguments.memory}" if arguments.memory != "bram" else ""
        options += f" --sdram-size {arguments.sdram_size}" if arguments.sdram_size else ""
        options += {None: "", True: " --usb", False: " --no-usb"}[arguments.usb]
        options += "" if arguments.design == "device" else f" --design {arguments.design}"
        raise UserError(
            f"no bitstream at {bitstream}: run `memgen build {board.name}{options}` first"
        )
    for tool, options in board.programmer:
        if shutil.which(tool):
            result = subprocess.run([tool, *options, str(bitstream)])
            if result.returncode:
                raise UserError(f"{tool} failed (exit status {result.returncode})")
            return
    tools = " or ".join(tool for tool, _ in board.programmer)
    raise UserError(f"cannot program {board.name}: {tools} is not installed")
