"""A product of registered operands: on an ECP5 one MULT18X18D with its input registers.

Yosys maps ``a * b`` onto MULT18X18D with every register in the fabric, so a registered operand
reaches the block over a route, and the route plus the block's multiply plus the route to the
product's flop must fit one clock: with eight sample lanes on the ULX3S (16 blocks) the placer
could not keep every lane's operand flops beside its blocks, and those paths missed 100 MHz.
:class:`RegisteredProduct` instantiates the primitive on an ECP5 with both operands registered
inside the block (``REG_INPUTA_CLK``/``REG_INPUTB_CLK``, Lattice FPGA-TN-02205, sysDSP usage
guide), and otherwise (the Amaranth simulator, Verilog for cocotb or Verilator, the iCE40, or
operands wider than the block's 18 bits) a model with the same registers in the fabric.
"""

from amaranth.hdl import ClockSignal, Const, Instance, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from . import family

__all__ = ["MULT18_WIDTH", "RegisteredProduct"]

#: The widest unsigned operand of one MULT18X18D.
MULT18_WIDTH = 18


class RegisteredProduct(wiring.Component):
    """``product = a_held * b_held``, both operands registered: ``a`` is loaded when ``enable``
    is high, ``b`` every clock; the product follows the registers with no clock of its own.

    Parameters
    ----------
    a_width, b_width : int
        Unsigned operand widths.
    primitive : bool or None
        Instantiate MULT18X18D (``True``), the model (``False``), or decide by the platform
        (``None``: the primitive on an ECP5 when both operands fit 18 bits).

    Members
    -------
    a : In(a_width)
    enable : In(1)
    b : In(b_width)
    product : Out(a_width + b_width)
    b_held : Signal(b_width)
        The registered ``b``, for assertions: with the primitive, a copy in the fabric that
        synthesis removes with them.
    """

    def __init__(self, a_width, b_width, *, primitive=None):
        if primitive and max(a_width, b_width) > MULT18_WIDTH:
            raise ValueError(
                f"A MULT18X18D multiplies operands of up to {MULT18_WIDTH} bits, "
                f"not {a_width} x {b_width}"
            )
        self.primitive = primitive
        self.b_held = Signal(b_width)
        super().__init__(
            {
                "a": In(a_width),
                "enable": In(1),
                "b": In(b_width),
                "product": Out(a_width + b_width),
            }
        )

    def _use_primitive(self, platform):
        if self.primitive is not None:
            return self.primitive
        fits = max(len(self.a), len(self.b)) <= MULT18_WIDTH
        return fits and family(platform) == "ecp5"

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.b_held.eq(self.b)
        if self._use_primitive(platform):
            m.submodules.mult18 = self._mult18()
            return m
        a_held = Signal.like(self.a)
        with m.If(self.enable):
            m.d.sync += a_held.eq(self.a)
        m.d.comb += self.product.eq(a_held * self.b_held)
        return m

    def _mult18(self):
        """The block: A registered on CE0 (``enable``), B on CE1 (tied high), both on CLK0;
        unsigned, no pipeline or output register; unused inputs tied low."""
        ports = {
            "p_REG_INPUTA_CLK": "CLK0",
            "p_REG_INPUTA_CE": "CE0",
            "p_REG_INPUTA_RST": "RST0",
            "p_REG_INPUTB_CLK": "CLK0",
            "p_REG_INPUTB_CE": "CE1",
            "p_REG_INPUTB_RST": "RST0",
            "p_REG_PIPELINE_CLK": "NONE",
            "p_REG_OUTPUT_CLK": "NONE",
            "p_GSR": "DISABLED",
            "p_RESETMODE": "SYNC",
            "i_CLK0": ClockSignal(),
            "i_CE0": self.enable,
            "i_CE1": Const(1),
            "i_SIGNEDA": Const(0),
            "i_SIGNEDB": Const(0),
            "i_SOURCEA": Const(0),
            "i_SOURCEB": Const(0),
        }
        ports |= {f"i_CLK{number}": Const(0) for number in (1, 2, 3)}
        ports |= {f"i_CE{number}": Const(0) for number in (2, 3)}
        ports |= {f"i_RST{number}": Const(0) for number in range(4)}
        for bit in range(MULT18_WIDTH):
            for name, operand in (("A", self.a), ("B", self.b)):
                ports[f"i_{name}{bit}"] = operand[bit] if bit < len(operand) else Const(0)
            ports[f"i_C{bit}"] = Const(0)
        for bit in range(len(self.product)):
            ports[f"o_P{bit}"] = self.product[bit]
        return Instance("MULT18X18D", **ports)
