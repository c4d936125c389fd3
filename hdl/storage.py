"""Storage backends: the memory that holds records, behind one single-port interface.

A backend is a component with the flipped :class:`StorageSignature`: one address, a write strobe
and a read strobe per clock. Read latency is one clock; ``read_data`` holds its value while
``read_enable`` is low (so a stalled pipeline keeps its word). A write and a read never happen in
the same clock here: appending and reading out are separate commands of the core.

:class:`LibMemoryStorage` maps onto ``lib.memory`` (block RAM); a board may substitute its own
backend (for example iCE40 SPRAM) with the same signature.
"""

from amaranth.hdl import Assert, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .records import table_entry_layout

__all__ = [
    "StorageSignature",
    "LibMemoryStorage",
    "RegisteredWrites",
    "share_storage_port",
    "storage_ports",
]


class StorageSignature(wiring.Signature):
    """The user's side of a storage port (the backend takes the flipped signature)."""

    def __init__(self, address_width, data_width):
        self.address_width = address_width
        self.data_width = data_width
        super().__init__(
            {
                "address": Out(address_width),
                "write_data": Out(data_width),
                "write_enable": Out(1),
                "read_enable": Out(1),
                "read_data": In(data_width),
            }
        )


def storage_ports(record_format):
    """Signature members of a component that uses a memory's storage.

    ``data_port`` (bytes) always; ``table_port`` (record table entries) in variable-length mode.
    """
    members = {"data_port": Out(StorageSignature(record_format.address_width, 8))}
    if not record_format.fixed:
        entry = table_entry_layout(record_format)
        members["table_port"] = Out(StorageSignature(record_format.index_width, entry.size))
    return members


def share_storage_port(m, backend, writer, reader, reading):
    """Give the ``backend`` component's port to ``writer`` (the append memory) or, while
    ``reading``, to ``reader`` (the readout). Only the owner's strobes reach the backend.

    A backend with its own ``share`` method (:class:`RegisteredWrites`) wires the two itself."""
    if hasattr(backend, "share"):
        backend.share(m, writer, reader, reading)
        return
    port = backend.port
    m.d.comb += [
        port.address.eq(Mux(reading, reader.address, writer.address)),
        port.write_data.eq(writer.write_data),
        port.write_enable.eq(~reading & writer.write_enable),
        port.read_enable.eq(reading & reader.read_enable),
        reader.read_data.eq(port.read_data),
    ]


class LibMemoryStorage(wiring.Component):
    """``depth`` words of ``width`` bits in a ``lib.memory.Memory``.

    One write port and one synchronous read port share the address. Read latency 1 clock,
    not transparent (a same-clock write is not seen; the core never does both). Zero-initialised.
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
        read = memory.read_port()
        m.d.comb += [
            write.addr.eq(self.port.address),
            write.data.eq(self.port.write_data),
            write.en.eq(self.port.write_enable),
            read.addr.eq(self.port.address),
            read.en.eq(self.port.read_enable),
            self.port.read_data.eq(read.data),
        ]
        return m


class RegisteredWrites(wiring.Component):
    """A backend whose writes are registered for one clock on the way in, for timing.

    The append memory decides each write in the clock its byte arrives (capacity check, record
    length check, address sum); registering the write cuts that decision off the memory's own
    setup time. Writer and reader have a port each (``writes``, ``reads``), so the reader's
    address reaches the memory without passing the writer's: the one multiplexer is steered by
    the registered write. A read must not come in the clock after a write (the write is still on
    its way): the core never reads right after appending, which an assertion checks.
    """

    def __init__(self, backend):
        self.backend = backend
        signature = backend.port.signature.flip()
        self.address_width = signature.address_width
        self.data_width = signature.data_width
        side = StorageSignature(self.address_width, self.data_width)
        super().__init__({"writes": In(side), "reads": In(side)})

    def share(self, m, writer, reader, reading):
        """Connect the append memory's port and the readout's (see :func:`share_storage_port`)."""
        m.d.comb += [
            self.writes.address.eq(writer.address),
            self.writes.write_data.eq(writer.write_data),
            self.writes.write_enable.eq(~reading & writer.write_enable),
            self.reads.address.eq(reader.address),
            self.reads.read_enable.eq(reading & reader.read_enable),
            reader.read_data.eq(self.reads.read_data),
        ]

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
            Assert(~(pending & self.reads.read_enable), "storage read in the clock after a write"),
        ]
        return m
