"""zlib's CRC-32 of every record byte the core sends: a running checksum of all samples."""

import zlib

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..common.gf2 import gf2_product, gf2_rows
from ..engine.core import byte_response_layout
from ..engine.protocol import ResponseKind

__all__ = ["RecordCRC"]

_MASK = 0xFFFFFFFF


def _register_after(register, data):
    """zlib's CRC register (its value inverted) after ``data``, from zlib itself."""
    return ~zlib.crc32(data, ~register & _MASK) & _MASK


def _update_rows():
    """GF(2) rows of one byte's update of the register over ``Cat(register, byte)``: the update
    is linear, so its columns are the images of single bits."""
    columns = [_register_after(1 << bit, b"\0") for bit in range(32)]
    columns += [_register_after(0, bytes([1 << bit])) for bit in range(8)]
    return gf2_rows(columns, 32)


class RecordCRC(wiring.Component):
    """Folds each RECORD byte on ``responses`` into a CRC-32 (``zlib.crc32`` of the bytes), counts
    the records and flags an ERROR packet; always ready, one byte per clock.

    Members
    -------
    responses : In(stream.Signature(byte_response_layout(record_format)))
    crc : Out(32)
        ``zlib.crc32`` of every record byte so far.
    records : Out(32)
        Records whose last byte has passed.
    error : Out(1)
        An ERROR packet has passed.
    """

    def __init__(self, record_format):
        super().__init__(
            {
                "responses": In(stream.Signature(byte_response_layout(record_format))),
                "crc": Out(32),
                "records": Out(32),
                "error": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        register = Signal(32, init=_MASK)
        word = self.responses.payload
        taken = self.responses.valid  # always ready
        record = taken & (word.kind == ResponseKind.RECORD)
        with m.If(record):
            m.d.sync += register.eq(gf2_product(_update_rows(), Cat(register, word.data)))
            with m.If(word.last):
                m.d.sync += self.records.eq(self.records + 1)
        with m.If(taken & (word.kind == ResponseKind.ERROR)):
            m.d.sync += self.error.eq(1)
        m.d.comb += [self.responses.ready.eq(1), self.crc.eq(~register)]
        return m
