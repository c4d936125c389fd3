"""Storage backends: the memory that holds records, behind one port signature.

A backend is a component with the flipped :class:`StorageSignature`: one address, a write strobe
and a read strobe per clock. The signature carries the backend's read latency (clocks from a
read's ``read_enable`` to its ``read_data``) and write delay (clocks a write request waits before
it reaches the memory), so they are part of the type that is connected, not attributes to look
for. ``read_data`` holds its value while ``read_enable`` is low (so a stalled pipeline keeps its
word). A write and a read never happen in the same clock here: appending and reading out are
separate commands of the core.

A backend has either one ``port`` (:class:`LibMemoryStorage`, a board's SPRAM) or, built for
timing, a side each for the writer and the reader, ``writes`` and ``reads``
(:class:`RegisteredWrites`, :class:`BankedStorage`); :func:`share_storage_port` tells them apart
by their signatures and gives the port to the append memory or to the readout. A backend of
dual-port blocks may offer a second reader side, ``reads_b`` (:class:`BankedStorage` with
``read_ports=2``): two sample lanes then read one copy of the records. A backend of variable
latency (:class:`~memgen.hdl.fpga.sdram_storage.SDRAMStorage`) has one ``port`` whose reads and
writes wait for its readies (see :class:`StorageSignature`).
"""

from amaranth.hdl import Assert, Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..common.pipeline import delay_line
from .records import table_entry_layout

__all__ = [
    "StorageSignature",
    "BankedStorage",
    "bank_reads",
    "bank_signature",
    "LibMemoryStorage",
    "RegisteredBank",
    "RegisteredWrites",
    "read_sides",
    "registered_read_memory",
    "share_storage_port",
    "storage_latency",
    "storage_sides",
    "storage_ports",
]


class StorageSignature(wiring.Signature):
    """The user's side of a storage port (the backend takes the flipped signature), with the
    backend's ``read_latency`` (1 or more clocks) and ``write_delay`` (0 or more).

    ``read_latency=None`` is a backend of variable latency (SDRAM): ``read_enable`` and
    ``write_enable`` are then requests that the backend takes in a clock of ``read_ready`` and
    ``write_ready`` (which depend on neither strobe), and each read's word arrives later, in
    request order, in a clock of ``read_valid``; the backend never waits for the reader, which
    must have room for every read it has requested."""

    def __init__(self, address_width, data_width, *, read_latency=1, write_delay=0):
        if read_latency is not None and (not isinstance(read_latency, int) or read_latency < 1):
            raise ValueError(
                f"Read latency must be a positive integer or None, not {read_latency!r}"
            )
        if not isinstance(write_delay, int) or write_delay < 0:
            raise ValueError(f"Write delay must be a non-negative integer, not {write_delay!r}")
        if read_latency is None and write_delay:
            raise ValueError("A storage of variable latency has no write delay")
        self.address_width = address_width
        self.data_width = data_width
        self.read_latency = read_latency
        self.write_delay = write_delay
        members = {
            "address": Out(address_width),
            "write_data": Out(data_width),
            "write_enable": Out(1),
            "read_enable": Out(1),
            "read_data": In(data_width),
        }
        if read_latency is None:
            members |= {"read_ready": In(1), "write_ready": In(1), "read_valid": In(1)}
        super().__init__(members)

    @property
    def variable(self):
        """Reads and writes wait for ``read_ready`` and ``write_ready``; read data comes with
        ``read_valid``."""
        return self.read_latency is None

    def __eq__(self, other):
        return isinstance(other, StorageSignature) and (
            self.address_width,
            self.data_width,
            self.read_latency,
            self.write_delay,
        ) == (other.address_width, other.data_width, other.read_latency, other.write_delay)

    def __repr__(self):
        return (
            f"StorageSignature({self.address_width}, {self.data_width}, "
            f"read_latency={self.read_latency}, write_delay={self.write_delay})"
        )


#: The member names a storage backend may have: one port, or a writer's side and reader sides.
_SIDE_NAMES = (("port",), ("writes", "reads"), ("writes", "reads", "reads_b"))


def storage_sides(backend):
    """The names of ``backend``'s storage members (``("port",)``, ``("writes", "reads")`` or
    ``("writes", "reads", "reads_b")``) and their signature; TypeError for anything else.
    Other members (an SDRAM backend's pins) are the backend's own business. A backend of
    variable latency has one ``port``."""
    members = backend.signature.members
    storage = {
        name for name, member in members.items()
        if member.is_signature and isinstance(member.signature.flip(), StorageSignature)
    }  # fmt: skip
    for names in _SIDE_NAMES:
        if storage == set(names) and all(members[name].flow == In for name in names):
            first, *others = (members[name].signature.flip() for name in names)
            if all(other == first for other in others) and (names == ("port",)
                                                            or not first.variable):  # fmt: skip
                return names, first
    raise TypeError(
        f"A storage backend has In(StorageSignature) members 'port', or 'writes' and 'reads' "
        f"(and 'reads_b') of one signature; {type(backend).__name__} has {dict(members)!r}"
    )


def read_sides(backend):
    """The names of ``backend``'s members a reader takes: one per read port."""
    names = storage_sides(backend)[0]
    return names if names == ("port",) else names[1:]


def storage_latency(backend):
    """The read latency ``backend``'s signature declares."""
    return storage_sides(backend)[1].read_latency


def storage_ports(record_format, *, read_latency=1, table_latency=1):
    """Signature members of a component that uses a memory's storage.

    ``data_port`` (words of ``word_bytes`` bytes) always; ``table_port`` (record table entries)
    in variable-length mode; each with the read latency of the backend it expects (``None``
    for the data: a backend of variable latency, SDRAM; the table is always in block RAM).
    """
    data_port = StorageSignature(
        record_format.word_address_width, 8 * record_format.word_bytes, read_latency=read_latency
    )
    members = {"data_port": Out(data_port)}
    if not record_format.fixed:
        entry = table_entry_layout(record_format)
        table_port = StorageSignature(
            record_format.index_width, entry.size, read_latency=table_latency
        )
        members["table_port"] = Out(table_port)
    return members


def share_storage_port(m, backend, writer, readers, reading):
    """Give the ``backend`` component's port to ``writer`` (the append memory) or, while
    ``reading``, to ``readers`` (the readouts: one, or a sequence with one per read side). Only
    the owner's strobes reach the backend; a backend with ``writes`` and ``reads`` sides takes
    each on its own side."""
    names, signature = storage_sides(backend)
    readers = list(readers) if isinstance(readers, list | tuple) else [readers]
    sides = read_sides(backend)
    if len(readers) != len(sides):
        raise ValueError(
            f"{type(backend).__name__} has {len(sides)} read side(s), not {len(readers)} readers"
        )
    for reader in readers:
        if reader.signature.read_latency != signature.read_latency:
            raise ValueError(
                f"The reader expects a read latency of {reader.signature.read_latency}, "
                f"the backend has {signature.read_latency}"
            )
    if writer.signature.variable != signature.variable:
        raise ValueError(
            f"The writer {'waits' if writer.signature.variable else 'does not wait'} for a "
            f"ready, the backend's latency is {signature.read_latency}"
        )
    if names != ("port",):
        _share_sides(backend, m, writer, dict(zip(sides, readers, strict=True)), reading)
        return
    (reader,) = readers
    port = backend.port
    m.d.comb += [
        port.address.eq(Mux(reading, reader.address, writer.address)),
        port.write_data.eq(writer.write_data),
        port.write_enable.eq(~reading & writer.write_enable),
        port.read_enable.eq(reading & reader.read_enable),
        reader.read_data.eq(port.read_data),
    ]
    if signature.variable:
        m.d.comb += [
            writer.write_ready.eq(~reading & port.write_ready),
            reader.read_ready.eq(reading & port.read_ready),
            reader.read_valid.eq(port.read_valid),
        ]


class LibMemoryStorage(wiring.Component):
    """``depth`` words of ``width`` bits in a ``lib.memory.Memory``.

    One write port and one synchronous read port share the address. Read latency 1 clock;
    a read in the clock of a write returns the written word (the core never uses such a read).
    Zero-initialised.

    The read port is transparent because that is the cheaper mapping: iCE40 block RAM leaves a
    read of the address being written undefined, so Yosys gives a port that must return the old
    word a write delayed by a clock and a forwarding path behind an address comparison, which
    sat in the read address's timing path; for a transparent port on the one shared address it
    needs only a registered "written" flag and a multiplexer on the output.
    """

    def __init__(self, depth, width):
        self.depth = depth
        self.width = width
        address_width = max(1, (depth - 1).bit_length())
        super().__init__({"port": In(StorageSignature(address_width, width))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.memory = memory = Memory(shape=self.width, depth=self.depth, init=[])
        write = memory.write_port()
        read = memory.read_port(transparent_for=(write,))
        m.d.comb += [
            write.addr.eq(self.port.address),
            write.data.eq(self.port.write_data),
            write.en.eq(self.port.write_enable),
            read.addr.eq(self.port.address),
            read.en.eq(self.port.read_enable),
            self.port.read_data.eq(read.data),
        ]
        return m


def _share_sides(backend, m, writer, readers, reading):
    """Wire a backend with separate ``writes`` and read sides to the append memory's port and
    the readouts' (``readers``, by side name). Reads are not gated (see
    :class:`RegisteredWrites`); a read a readout uses must not come within ``write_delay`` + 1
    clocks of a write request (asserted)."""
    m.d.comb += [
        backend.writes.address.eq(writer.address),
        backend.writes.write_data.eq(writer.write_data),
        backend.writes.write_enable.eq(~reading & writer.write_enable),
    ]
    window = storage_sides(backend)[1].write_delay + 1
    recent = Signal(window)  # write requests in the last ``window`` clocks
    m.d.sync += recent.eq(Cat(backend.writes.write_enable, recent[:-1]))
    for name, reader in readers.items():
        side = getattr(backend, name)
        m.d.comb += [
            side.address.eq(reader.address),
            side.read_enable.eq(reader.read_enable),
            reader.read_data.eq(side.read_data),
            Assert(
                ~(reading & reader.read_enable & recent.any()), "storage read right after a write"
            ),
        ]


def bank_signature(depth, width, read_ports=1):
    """The ports of one bank of :class:`BankedStorage` (``read_data`` two ``read_enable``
    clocks after its ``address``); with ``read_ports=2`` a second read port, ``address_b``,
    ``read_enable_b`` and ``read_data_b``, that never writes."""
    if read_ports not in (1, 2):
        raise ValueError(f"A bank has 1 or 2 read ports, not {read_ports!r}")
    address_width = max(1, (depth - 1).bit_length())
    members = {
        "address": In(address_width),
        "write_data": In(width),
        "write_enable": In(1),
        "read_enable": In(1),
        "read_data": Out(width),
    }
    if read_ports == 2:
        members |= {
            "address_b": In(address_width),
            "read_enable_b": In(1),
            "read_data_b": Out(width),
        }
    return wiring.Signature(members)


def registered_read_memory(m, depth, *, write_address, write_data, write_enable, reads):
    """A ``lib.memory`` (submodule ``memory``) of ``depth`` words as wide as ``write_data``,
    read through registers: for each ``(address, enable, data)`` of ``reads``, ``data`` is the
    word at the ``address`` of the read two ``enable`` clocks back, and holds while ``enable``
    is low."""
    m.submodules.memory = memory = Memory(shape=len(write_data), depth=depth, init=[])
    write = memory.write_port()
    m.d.comb += [
        write.addr.eq(write_address),
        write.data.eq(write_data),
        write.en.eq(write_enable),
    ]
    for read_address, read_enable, read_data in reads:
        read = memory.read_port()
        m.d.comb += [read.addr.eq(read_address), read.en.eq(read_enable)]
        with m.If(read_enable):
            m.d.sync += read_data.eq(read.data)


def bank_reads(bank):
    """A bank's read ports as ``(address, enable, data)``, port A first."""
    reads = [(bank.address, bank.read_enable, bank.read_data)]
    if "address_b" in bank.signature.members:
        reads.append((bank.address_b, bank.read_enable_b, bank.read_data_b))
    return reads


class RegisteredBank(wiring.Component):
    """``depth`` words in ``lib.memory``, read latency two: a synchronous read and a register,
    both advancing with ``read_enable`` only; with ``read_ports=2`` a second such read."""

    def __init__(self, depth, width, read_ports=1):
        self.depth = depth
        super().__init__(bank_signature(depth, width, read_ports))

    def elaborate(self, platform):
        m = Module()
        registered_read_memory(
            m,
            self.depth,
            write_address=self.address,
            write_data=self.write_data,
            write_enable=self.write_enable,
            reads=bank_reads(self),
        )
        return m


class BankedStorage(wiring.Component):
    """``depth`` words of ``width`` bits in banks of ``bank_depth``, read through registers.

    For a memory spread over a whole die (the ECP5-85F's 192 DP16KD): one bank per block RAM,
    each with a register on its output, so no logic sits between a block and its register.
    ``bank_factory`` makes a bank (a component with :func:`bank_signature`): by default a
    :class:`RegisteredBank`, on the ULX3S a :class:`~memgen.hdl.fpga.dp16kd.DP16KDBank`
    whose register is the block's own. The bank multiplexer is a tree of ``fan_in``-way
    multiplexers with a register after each level, so no path crosses the die and a multiplexer
    at once. Every read register advances with ``read_enable`` only (the bank select travels
    with them), so ``read_data`` holds while reads stall, as the readout needs.

    The address is registered once more, near the banks: one register per group of ``fan_in``
    banks, loaded with the read address or with a write's offset when the write is for that
    group, so a block's address pins hang on a nearby flop and not on one net across the die
    (with one multiplexer for all 192 banks, the ULX3S build's slowest path was that net: 9 ns of
    its 10 ns). A write thus replaces a read address that waits in its group's register; reads
    and writes do not mix (see :func:`share_storage_port`), and the readout reads every clock.

    ``bank_register`` puts one more register in fabric after each bank, so that the route from a
    block at one end of the die to its multiplexer has a clock of its own (on the ULX3S that
    route alone took 7.3 of the 10 ns).

    ``read_latency`` = 3 + levels of the tree (5 for 192 banks of 16), plus one with
    ``bank_register``. A write reaches its bank two clocks after the request (``write_delay``).

    With ``read_ports=2`` every bank also reads on its second port (a DP16KD's port B): a second
    reader side, ``reads_b``, with address registers and a multiplexer tree of its own, so two
    sample lanes read the one copy of the records, each at a word a clock. Writes take port A.
    """

    write_delay = 2

    def __init__(
        self,
        depth,
        width,
        *,
        bank_depth=2048,
        fan_in=16,
        bank_factory=None,
        bank_register=False,
        read_ports=1,
    ):
        if depth < 1 or bank_depth < 2 or bank_depth & (bank_depth - 1):
            raise ValueError("Depth must be positive and bank depth a power of two of 2 or more")
        if fan_in < 2 or fan_in & (fan_in - 1):
            raise ValueError(f"Fan-in must be a power of two of 2 or more, not {fan_in}")
        if read_ports not in (1, 2):
            raise ValueError(f"Banked storage has 1 or 2 read ports, not {read_ports!r}")
        self.bank_factory = bank_factory or (lambda: RegisteredBank(bank_depth, width, read_ports))
        self.depth = depth
        self.width = width
        self.bank_depth = bank_depth
        self.low_bits = (bank_depth - 1).bit_length()  # a word's offset in its bank
        self.fan_in = fan_in
        self.banks = -(-depth // bank_depth)
        self.levels = 0
        while fan_in**self.levels < self.banks:
            self.levels += 1
        self.bank_register = bank_register
        self.read_ports = read_ports
        self.read_latency = 3 + self.levels + bank_register
        address_width = max(1, (depth - 1).bit_length())
        side = StorageSignature(
            address_width, width, read_latency=self.read_latency, write_delay=self.write_delay
        )
        members = {"writes": In(side), "reads": In(side)}
        if read_ports == 2:
            members["reads_b"] = In(side)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        writes = self.writes
        reads = [self.reads] + ([self.reads_b] if self.read_ports == 2 else [])
        suffixes = ["", "_b"][: len(reads)]  # port A keeps the names of a one-port store
        low_bits = self.low_bits

        # Writes are registered twice: the request as it comes (so the writer's decision only
        # reaches a few flops), then the bank decoded from the registered request into one write
        # enable flop per bank (placed next to its block), so no decoder sits in front of a
        # die-wide route. Each group's address register takes the registered write's offset
        # when the write is for the group, else the read address with the read strobe; the
        # groups' select terms differ, so synthesis does not merge the registers into one.
        request_pending = Signal()
        request_address = Signal.like(writes.address)
        request_data = Signal(self.width)
        m.d.sync += [
            request_pending.eq(writes.write_enable),
            request_address.eq(writes.address),
            request_data.eq(writes.write_data),
        ]
        write_data = Signal(self.width)
        m.d.sync += write_data.eq(request_data)
        request_bank = request_address[low_bits:]
        group_bits = (self.fan_in - 1).bit_length()
        levels = [[] for _ in reads]  # each read port's bank outputs
        for group in range(-(-self.banks // self.fan_in)):
            addresses = []
            for side, suffix in zip(reads, suffixes, strict=True):
                address = Signal(low_bits, name=f"group{group}_address{suffix}")
                if not suffix:  # port A also writes
                    group_write = request_pending & (request_bank[group_bits:] == group)
                    with m.If(group_write):
                        m.d.sync += address.eq(request_address[:low_bits])
                    with m.Elif(side.read_enable):
                        m.d.sync += address.eq(side.address[:low_bits])
                else:
                    with m.If(side.read_enable):
                        m.d.sync += address.eq(side.address[:low_bits])
                addresses.append(address)
            for index in range(group * self.fan_in, min(self.banks, (group + 1) * self.fan_in)):
                block = self.bank_factory()
                if len(bank_reads(block)) != self.read_ports:
                    raise ValueError(f"The bank factory's banks must have {self.read_ports} "
                                     f"read port(s), not {len(bank_reads(block))}")  # fmt: skip
                m.submodules[f"bank{index}"] = block
                write_enable = Signal(name=f"bank{index}_write")
                m.d.sync += write_enable.eq(request_pending & (request_bank == index))
                ports = zip(reads, suffixes, addresses, bank_reads(block), levels, strict=True)
                for side, suffix, address, (bank_address, enable, data), level in ports:
                    m.d.comb += bank_address.eq(address)
                    if not suffix:
                        m.d.comb += [
                            block.write_data.eq(write_data),
                            block.write_enable.eq(write_enable),
                        ]
                    m.d.comb += enable.eq(side.read_enable)
                    if self.bank_register:
                        data = delay_line(m, data, 1, side.read_enable, f"bank{index}{suffix}")[0]
                    level.append(data)
        for side, suffix, level in zip(reads, suffixes, levels, strict=True):
            m.d.comb += side.read_data.eq(self._tree(m, side, level, suffix))
        return m

    def _tree(self, m, side, level, suffix):
        """The registered multiplexer tree that picks the read's bank among the outputs of
        ``level``; returns its output."""
        # The bank number of each read, three registers behind (address, block RAM and bank
        # register), or four with the register in fabric.
        select = delay_line(
            m,
            side.address[self.low_bits :],
            3 + self.bank_register,
            side.read_enable,
            f"select{suffix}",
        )[-1]
        step = (self.fan_in - 1).bit_length()
        for depth in range(self.levels):
            chosen = select[:step]
            outputs = []
            for group in range(-(-len(level) // self.fan_in)):
                inputs = level[group * self.fan_in : (group + 1) * self.fan_in]
                output = Signal(self.width, name=f"mux{depth}_{group}{suffix}")
                with m.If(side.read_enable):
                    m.d.sync += output.eq(Cat(*inputs).word_select(chosen, self.width))
                outputs.append(output)
            rest = Signal(max(1, len(select) - step), name=f"select_l{depth}{suffix}")
            with m.If(side.read_enable):
                m.d.sync += rest.eq(select[step:])
            level, select = outputs, rest
        return level[0]


class RegisteredWrites(wiring.Component):
    """A backend whose writes are registered for one clock on the way in, for timing.

    The append memory decides each write in the clock its byte arrives (capacity check, record
    length check, address sum); registering the write cuts that decision off the memory's own
    setup time. Writer and reader have a port each (``writes``, ``reads``), so the reader's
    address reaches the memory without passing the writer's: the one multiplexer is steered by
    the registered write. Reads are not gated: the readout reads every clock, and a read outside
    its turn returns nothing anyone uses; the port's clock enable then also serves the writes.
    A read the readout uses must not come within ``write_delay`` + 1 clocks of a write request
    (1 here, plus the backend's own): the core never reads right after appending, which an
    assertion checks.
    """

    def __init__(self, backend):
        names, inner = storage_sides(backend)
        if names != ("port",):
            raise TypeError(f"RegisteredWrites wraps a backend with one port, not {names}")
        self.backend = backend
        self.address_width = inner.address_width
        self.data_width = inner.data_width
        side = StorageSignature(
            inner.address_width,
            inner.data_width,
            read_latency=inner.read_latency,
            write_delay=1 + inner.write_delay,
        )
        super().__init__({"writes": In(side), "reads": In(side)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.backend = backend = self.backend
        pending = Signal()
        address = Signal(self.address_width)
        data = Signal(self.data_width)
        m.d.sync += [
            pending.eq(self.writes.write_enable),
            address.eq(self.writes.address),
            data.eq(self.writes.write_data),
        ]
        m.d.comb += [
            backend.port.address.eq(Mux(pending, address, self.reads.address)),
            backend.port.write_data.eq(data),
            backend.port.write_enable.eq(pending),
            backend.port.read_enable.eq(self.reads.read_enable),
            self.reads.read_data.eq(backend.port.read_data),
        ]
        return m
