"""The self-check example on a board: the Zen of Python trained into the board's memory from a
ROM, 100,000 records sampled on chip, their CRC-32 compared with the reference model's, the
verdict on two LEDs. No link, no host: the bitstream checks itself.

LED 0 lights if the check failed (an ERROR, too many records, or a wrong CRC); LED 1 blinks
while sampling and stays lit once it passed. ``memgen.boards.self_check.plan`` gives the script
and the expected CRC; :class:`SelfCheckTop` the design ``build`` takes.
"""

import zlib

from amaranth.hdl import Elaboratable, Module, Signal
from amaranth.lib import io
from memgen.hdl.engine.protocol import DEFAULT_SEED, ResponseKind
from memgen.hdl.examples.self_check import SelfCheck
from memgen.host.codec import command_append, command_sample, command_seed
from memgen.host.reference import MemGenReference

from .board import board_clock

__all__ = ["SAMPLES", "SelfCheckTop", "default_dataset", "plan", "self_check"]

#: Records drawn on chip: 0.1 s at 42 MHz for lines of about 40 bytes.
SAMPLES = 100_000


def plan(record_format, dataset, samples, seed=DEFAULT_SEED):
    """The command script (every record appended, the seed, one SAMPLE) and ``zlib.crc32`` of
    the bytes the reference model returns for it."""
    packets = [command_append(record) for record in dataset]
    packets += [command_seed(seed), command_sample(samples)]
    model = MemGenReference(record_format)
    crc = 0
    for packet in packets:
        for kind, payload in model.respond(packet):
            if kind != ResponseKind.RECORD:
                raise ValueError(f"The reference answers {kind.name} to the script")
            crc = zlib.crc32(payload, crc)
    return packets, crc


def self_check(record_format, dataset, samples=SAMPLES, seed=DEFAULT_SEED, **kwargs):
    """A :class:`SelfCheck` of ``dataset`` with its plan."""
    packets, crc = plan(record_format, dataset, samples, seed)
    return SelfCheck(record_format, packets, samples, crc, **kwargs)


def default_dataset():
    """The Zen of Python, a record per line (the demo's second dataset)."""
    from memgen.sim.demo.datasets import zen_lines

    return [line.encode() for line in zen_lines()]


class SelfCheckTop(Elaboratable):
    """The board's PLL and reset, the self-check in the board's memory, its verdict on LEDs."""

    def __init__(self, board, dataset=None, samples=SAMPLES):
        self.board = board
        self.dataset = default_dataset() if dataset is None else dataset
        self.samples = samples
        try:
            self.packets, self.expected_crc = plan(board.record_format, self.dataset, samples)
        except ValueError:
            self._MustUse__silence = True  # refused, so never to be elaborated
            raise

    @property
    def nextpnr_options(self):
        """The board's options for spread builds: the ULX3S's self-check, placed with
        nextpnr's defaults, missed 100 MHz at seed 8 (99.72 MHz); weighing timing more met
        seeds 7 and 8 with 12 % and 18 % to spare."""
        return self.board.spread_nextpnr_options

    def elaborate(self, platform):
        m = Module()
        board = self.board
        board_clock(m, board, platform)
        m.submodules.check = check = SelfCheck(
            board.record_format, self.packets, self.samples, self.expected_crc,
            storage=board.storage_backends(),
        )  # fmt: skip
        blink = Signal((board.clock_hz // 4).bit_length())  # its top bit: 2 to 3 Hz
        m.d.sync += blink.eq(blink + 1)
        m.submodules.failed = failed = io.Buffer("o", platform.request("led", 0, dir="-"))
        m.submodules.passed = passed = io.Buffer("o", platform.request("led", 1, dir="-"))
        m.d.comb += [
            failed.o.eq(check.failed),
            passed.o.eq(check.passed | (~check.failed & blink[-1])),
        ]
        return m
