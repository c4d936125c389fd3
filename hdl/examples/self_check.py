"""The core checking itself on chip: a dataset trained and sampled from a command script, every
sampled byte folded into a CRC-32, compared with the value the reference model gives."""

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from ..common.narrower import narrow_to_bytes
from ..common.skid import SkidBuffer
from ..engine.core import MemGen
from .command_rom import CommandROM
from .record_crc import RecordCRC

__all__ = ["SelfCheck"]


class SelfCheck(wiring.Component):
    """A MemGen core fed by a :class:`CommandROM`, its responses into a :class:`RecordCRC`.

    Parameters
    ----------
    record_format : RecordFormat
    packets : list of bytes
        The command script (for example APPENDs, a SEED and a SAMPLE).
    samples : int
        Records the script asks for.
    expected_crc : int
        ``zlib.crc32`` of the bytes of those records, from the reference model.
    generator : str
    storage : dict
        ``data_storage`` and ``table_storage`` for the core (a board's backends), or empty.

    Members
    -------
    passed : Out(1)
        All ``samples`` records came, their CRC is the expected one, and no ERROR.
    failed : Out(1)
        An ERROR came, more records than asked, or all came with another CRC.
    crc : Out(32)
    records : Out(32)
    """

    def __init__(self, record_format, packets, samples, expected_crc, *, generator="trivium",
                 storage=None):  # fmt: skip
        if not 1 <= samples < 1 << 32:
            raise ValueError(f"Samples must be 1 to 2**32 - 1, not {samples!r}")
        self.format = record_format
        self.packets = packets
        self.samples = samples
        self.expected_crc = expected_crc
        self.generator = generator
        self.storage = storage or {}
        super().__init__({"passed": Out(1), "failed": Out(1), "crc": Out(32), "records": Out(32)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = MemGen(self.format, self.generator, **self.storage)
        m.submodules.script = script = CommandROM(self.packets)
        m.submodules.checksum = checksum = RecordCRC(self.format)
        wiring.connect(m, script.commands, core.commands)
        # the CRC folds a byte a clock: a wide core's words (a core of lanes' beats) are narrowed,
        # with a register slice on either side of the narrowing's multiplexer (on the ULX3S the
        # readout, the 64-to-1 byte multiplexer and the CRC in one clock made 86 MHz)
        responses = core.responses
        if self.format.word_bytes > 1 or self.format.lanes > 1:
            m.submodules.word_slice = word_slice = SkidBuffer(responses.payload.shape())
            wiring.connect(m, responses, word_slice.input)
            responses = narrow_to_bytes(m, word_slice.output, "response")
            m.submodules.byte_slice = byte_slice = SkidBuffer(responses.payload.shape())
            wiring.connect(m, responses, byte_slice.input)
            responses = byte_slice.output
        wiring.connect(m, responses, checksum.responses)
        all_came = checksum.records == self.samples
        right = checksum.crc == self.expected_crc
        m.d.comb += [
            self.crc.eq(checksum.crc),
            self.records.eq(checksum.records),
            self.passed.eq(all_came & right & ~checksum.error),
            self.failed.eq(
                checksum.error | (checksum.records > self.samples) | (all_came & ~right)
            ),
        ]
        return m
