"""A register that synthesis keeps as its own copy: on an ECP5 TRELLIS_FF cells.

Yosys merges flip-flops that load the same value (``opt_merge``), so registers written to
give each of sixteen sample lanes its own copy of the record count became one, and with them
the lanes' identical threshold units: one register's fan-out then spans the chip (81.8 MHz
for a 100 MHz clock). A ``keep`` attribute on the wire does not stop the merge; a primitive
cell does, as Yosys leaves instantiated cells alone. :class:`Replica` instantiates
TRELLIS_FF on an ECP5 with the parameters Yosys itself maps a synchronously reset flip-flop to,
and is a plain register elsewhere (the Amaranth simulator, Verilog for cocotb or Verilator,
the iCE40).
"""

from amaranth.hdl import ClockSignal, Instance, Module, ResetSignal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from . import family

__all__ = ["Replica"]

#: TRELLIS_FF as ``synth_ecp5`` maps a flop with a synchronous reset to 0 and no enable.
TRELLIS_FF_PARAMETERS = {
    "GSR": "DISABLED",
    "CEMUX": "1",
    "CLKMUX": "CLK",
    "LSRMUX": "LSR",
    "REGSET": "RESET",
    "SRMODE": "LSR_OVER_CE",
}


class Replica(wiring.Component):
    """``q`` is ``d`` a clock later (0 after reset), in flip-flops no other register shares.

    Parameters
    ----------
    width : int
    primitive : bool or None
        Instantiate TRELLIS_FF (``True``), a plain register (``False``), or decide by the
        platform (``None``: the primitive on an ECP5).
    """

    def __init__(self, width, *, primitive=None):
        self.primitive = primitive
        super().__init__({"d": In(width), "q": Out(width)})

    def elaborate(self, platform):
        m = Module()
        primitive = self.primitive
        if primitive is None:
            primitive = family(platform) == "ecp5"
        if not primitive:
            m.d.sync += self.q.eq(self.d)
            return m
        parameters = {f"p_{name}": value for name, value in TRELLIS_FF_PARAMETERS.items()}
        for bit in range(len(self.d)):
            m.submodules[f"bit{bit}"] = Instance(
                "TRELLIS_FF",
                **parameters,
                i_CLK=ClockSignal(),
                i_LSR=ResetSignal(allow_reset_less=True),
                i_DI=self.d[bit],
                o_Q=self.q[bit],
            )
        return m
