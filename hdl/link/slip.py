"""SLIP decoding (RFC 1055): line bytes in, frame symbols out.

A symbol is one line byte, decoded: an END delimiter, the first byte of an escape (it stands for
nothing yet), or a body byte with its value, the escape undone (ESC ESC_END is END's value, ESC
ESC_ESC is ESC's; ESC followed by anything else is a bad escape). Every line byte gives a symbol,
so the frame checker sees the line's activity (its idle timeout) as it is.
"""

from amaranth.hdl import Module, Mux
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .protocol import SLIP_END, SLIP_ESC, SLIP_ESC_END, SLIP_ESC_ESC

__all__ = ["SlipDecoder", "SlipSymbol"]

#: A decoded line byte: ``data`` (a body byte's value), ``end`` (a delimiter), ``escape`` (the
#: first byte of an escape), ``bad_escape`` (an escape's second byte is not a valid one).
SlipSymbol = data.StructLayout({"data": 8, "end": 1, "escape": 1, "bad_escape": 1})


class SlipDecoder(wiring.Component):
    """Line bytes to :data:`SlipSymbol` s, one for one, with no register on the way (the
    checker registers them), so ``bytes.ready`` is the checker's.

    Members
    -------
    bytes : In(stream.Signature(8))
        From the line.
    symbols : Out(stream.Signature(SlipSymbol))
    escaping : Out(1)
        An escape's first byte was taken and its second has not come.
    flush : In(1)
        Forget a half-received escape (the frame was dropped).
    """

    def __init__(self):
        super().__init__(
            {
                "bytes": In(stream.Signature(8)),
                "symbols": Out(stream.Signature(SlipSymbol)),
                "escaping": Out(1),
                "flush": In(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        incoming, symbol = self.bytes.payload, self.symbols.payload
        escaped = self.escaping
        esc_end, esc_esc = incoming == SLIP_ESC_END, incoming == SLIP_ESC_ESC
        starts_escape = ~escaped & (incoming == SLIP_ESC)
        m.d.comb += [
            self.symbols.valid.eq(self.bytes.valid),
            self.bytes.ready.eq(self.symbols.ready),
            symbol.data.eq(incoming),
            symbol.end.eq(incoming == SLIP_END),
            symbol.escape.eq(starts_escape),
            symbol.bad_escape.eq(escaped & ~esc_end & ~esc_esc),
        ]
        with m.If(escaped):
            m.d.comb += symbol.data.eq(Mux(esc_end, SLIP_END, Mux(esc_esc, SLIP_ESC, incoming)))
        with m.If(self.flush):
            m.d.sync += escaped.eq(0)
        with m.Elif(self.bytes.valid & self.bytes.ready):
            m.d.sync += escaped.eq(starts_escape)
        return m
