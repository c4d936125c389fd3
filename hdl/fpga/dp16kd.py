"""ECP5 block RAM with its output register: one DP16KD as 2,048 bytes, read latency two clocks.

Yosys maps ``lib.memory`` onto DP16KD without the block's output register (``REGMODE`` NOREG),
and then the block's clock-to-output (about 5.6 ns on the LFE5U-85F, speed grade 6) plus the route
to the nearest flop uses most of a 10 ns clock; across the 192 blocks of the ULX3S record
storage the placer cannot keep every such flop next to its block. With ``REGMODE_A = "OUTREG"`` the
register is inside the block. :class:`DP16KDBank` instantiates the primitive on an ECP5 platform
and otherwise (the Amaranth simulator, Verilog for cocotb or Verilator) a model with the same
timing (:class:`~memgen.hdl.engine.storage.RegisteredBank`): a synchronous read and a register, both
advancing with ``read_enable`` only.
"""

from dataclasses import dataclass

from amaranth.hdl import ClockSignal, Const, Instance, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from ..engine.storage import (
    RegisteredBank,
    StorageSignature,
    bank_reads,
    bank_signature,
    registered_read_memory,
)
from . import family

__all__ = ["DP16KDBank", "DP16KDBuffer", "DP16KD_BYTES"]

#: One DP16KD in its 2,048 x 9 configuration, eight bits used.
DP16KD_BYTES = 2048
#: Port widths of a DP16KD by depth (the configurations without byte enables).
_WIDTH_BY_DEPTH = {16384: 1, 8192: 2, 4096: 4, 2048: 9}


@dataclass(frozen=True)
class _Port:
    """How one port of a DP16KD is used: its output register mode, clock, clock enable, output
    register enable, write enable, word address and data (``Const(0, 0)``: none)."""

    regmode: str
    clock: object
    enable: object
    output_enable: object
    write_enable: object
    address: object
    write_data: object
    read_data: object


_IDLE = _Port(
    "NOREG", Const(0), Const(0), Const(0), Const(0), Const(0, 0), Const(0, 0), Const(0, 0)
)


def _dp16kd(block_width, address_bits, port_a, port_b):
    """One DP16KD, both ports ``block_width`` wide: the word address is on AD13 down to
    AD(14 - ``address_bits``); unused inputs are tied low."""
    ports = {
        "p_DATA_WIDTH_A": block_width,
        "p_DATA_WIDTH_B": block_width,
        "p_REGMODE_A": port_a.regmode,
        "p_REGMODE_B": port_b.regmode,
        "p_RESETMODE": "SYNC",
        "p_ASYNC_RESET_RELEASE": "SYNC",
        "p_CSDECODE_A": "0b000",
        "p_CSDECODE_B": "0b000",
        "p_WRITEMODE_A": "NORMAL",
        "p_WRITEMODE_B": "NORMAL",
        "p_GSR": "DISABLED",
    }
    sides = (("A", port_a), ("B", port_b))
    for name, port in sides:
        ports[f"i_CLK{name}"] = port.clock
        ports[f"i_CE{name}"] = port.enable
        ports[f"i_OCE{name}"] = port.output_enable
        ports[f"i_WE{name}"] = port.write_enable
        ports[f"i_RST{name}"] = Const(0)
    unused = 14 - address_bits
    for bit in range(3):
        for name, _ in sides:
            ports[f"i_CS{name}{bit}"] = Const(0)
    for bit in range(14):
        for name, port in reversed(sides):
            used = unused <= bit < unused + len(port.address)
            ports[f"i_AD{name}{bit}"] = port.address[bit - unused] if used else Const(0)
    for bit in range(18):
        for name, port in sides:
            written = bit < len(port.write_data)
            ports[f"i_DI{name}{bit}"] = port.write_data[bit] if written else Const(0)
        for name, port in sides:
            if bit < len(port.read_data):
                ports[f"o_DO{name}{bit}"] = port.read_data[bit]
    return Instance("DP16KD", **ports)


def _on_ecp5(primitive, platform):
    """Whether to instantiate the primitive: as asked, else on an ECP5 platform."""
    if primitive is not None:
        return primitive
    return family(platform) == "ecp5"


class DP16KDBank(wiring.Component):
    """``depth`` words of ``width`` bits on port A of DP16KDs side by side, output registered.

    ``read_data`` is the word at the ``address`` of the read two ``read_enable`` clocks back and
    holds while ``read_enable`` is low. A write (``write_enable``) stores ``write_data`` and does
    not disturb the output (``WRITEMODE_A`` NORMAL).

    Parameters
    ----------
    width : int
    depth : int
        2,048 (9 bits per block), 4,096 (4), 8,192 (2) or 16,384 (1).
    """

    def __init__(self, width=8, depth=DP16KD_BYTES, *, primitive=None, read_ports=1):
        if depth not in _WIDTH_BY_DEPTH:
            raise ValueError(f"DP16KD depth must be one of {sorted(_WIDTH_BY_DEPTH)}, not {depth}")
        self.width = width
        self.depth = depth
        self.primitive = primitive
        self.read_ports = read_ports
        super().__init__(bank_signature(depth, width, read_ports))

    def _use_primitive(self, platform):
        return _on_ecp5(self.primitive, platform)

    def elaborate(self, platform):
        m = Module()
        if self._use_primitive(platform):
            block_width = _WIDTH_BY_DEPTH[self.depth]
            address_bits = len(self.address)
            for block, low in enumerate(range(0, self.width, block_width)):
                top = low + block_width  # the last block's slices end at the word's top bit
                ports = []
                for side, (address, read_enable, read_data) in enumerate(bank_reads(self)):
                    writes = side == 0  # port A writes, port B only reads
                    write_enable = self.write_enable if writes else Const(0)
                    ports.append(_Port(
                        regmode="OUTREG",
                        clock=ClockSignal(),
                        enable=read_enable | write_enable if writes else read_enable,
                        output_enable=read_enable,
                        write_enable=write_enable,
                        address=address,
                        write_data=self.write_data[low:top] if writes else Const(0, 0),
                        read_data=read_data[low:top],
                    ))  # fmt: skip
                port_a, port_b = (ports + [_IDLE])[:2]
                m.submodules[f"dp16kd{block}"] = _dp16kd(block_width, address_bits, port_a, port_b)
            return m
        m.submodules.model = model = RegisteredBank(self.depth, self.width, self.read_ports)
        wiring.connect(m, wiring.flipped(self), model)
        return m


class DP16KDBuffer(wiring.Component):
    """A two-port buffer (one port writes, the other reads) with its output registered: one
    DP16KD on an ECP5 (port A writes, port B reads through the block's output register), a
    ``lib.memory`` and a register elsewhere.

    ``writes`` and ``reads`` are the flipped :class:`~memgen.hdl.engine.storage.StorageSignature`
    (read latency 2): ``reads.read_data`` is the word at the address of the read two
    ``read_enable`` clocks back and holds while ``read_enable`` is low. A read of the address
    being written is not used.

    Parameters
    ----------
    width : int
        At most 9 bits.
    depth : int
        At most 2,048 words (the block's 2,048 x 9 configuration).
    """

    def __init__(self, width, depth, *, primitive=None):
        if not 1 <= width <= _WIDTH_BY_DEPTH[DP16KD_BYTES] or not 1 <= depth <= DP16KD_BYTES:
            raise ValueError(
                f"A DP16KD buffer holds up to {DP16KD_BYTES} words of up to 9 bits, "
                f"not {depth} x {width}"
            )
        self.width = width
        self.depth = depth
        self.primitive = primitive
        port = StorageSignature(max(1, (depth - 1).bit_length()), width, read_latency=2)
        super().__init__({"writes": In(port), "reads": In(port)})

    def elaborate(self, platform):
        m = Module()
        if _on_ecp5(self.primitive, platform):
            # 2,048 x 9: the word address is on AD13 down to AD3.
            write_address = Signal(11)
            read_address = Signal(11)
            m.d.comb += [
                write_address.eq(self.writes.address),
                read_address.eq(self.reads.address),
            ]
            port_a = _Port(
                regmode="NOREG",
                clock=ClockSignal(),
                enable=self.writes.write_enable,
                output_enable=Const(0),
                write_enable=self.writes.write_enable,
                address=write_address,
                write_data=self.writes.write_data,
                read_data=Const(0, 0),
            )
            port_b = _Port(
                regmode="OUTREG",
                clock=ClockSignal(),
                enable=self.reads.read_enable,
                output_enable=self.reads.read_enable,
                write_enable=Const(0),
                address=read_address,
                write_data=Const(0, 0),
                read_data=self.reads.read_data,
            )
            m.submodules.dp16kd = _dp16kd(9, 11, port_a, port_b)
            return m
        registered_read_memory(
            m,
            self.depth,
            write_address=self.writes.address,
            write_data=self.writes.write_data,
            write_enable=self.writes.write_enable,
            reads=[(self.reads.address, self.reads.read_enable, self.reads.read_data)],
        )
        return m
