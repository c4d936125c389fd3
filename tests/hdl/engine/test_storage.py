"""The storage signature carries each backend's read latency and write delay: declared by the
backends, read by the core, checked where a reader meets a backend. (The backends' data paths are
tested in tests/boards/test_board_storage.py and tests/hdl/engine/test_memory_path.py.)"""

import pytest
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from memgen.hdl.engine.records import RecordFormat
from memgen.hdl.engine.storage import (
    BankedStorage,
    LibMemoryStorage,
    RegisteredWrites,
    StorageSignature,
    bank_signature,
    read_sides,
    share_storage_port,
    storage_latency,
    storage_ports,
    storage_sides,
)
from memgen.sim.harness.amaranth_sim import refused_component, run_simulation, unused


@pytest.mark.parametrize(("latency", "delay"), [(0, 0), (-1, 0), (1, -1), (1.0, 0), (True, 0.5)])
def test_signature_refuses_bad_timing(latency, delay):
    with pytest.raises(ValueError, match="Read latency|Write delay"):
        StorageSignature(4, 8, read_latency=latency, write_delay=delay)


def test_signatures_differ_by_their_timing():
    assert StorageSignature(4, 8) == StorageSignature(4, 8, read_latency=1, write_delay=0)
    assert StorageSignature(4, 8) != StorageSignature(4, 8, read_latency=2)
    assert StorageSignature(4, 8) != StorageSignature(4, 8, write_delay=1)
    assert StorageSignature(4, 8) != StorageSignature(5, 8)


def test_ports_are_as_documented():
    """A storage port: an address, a write word and a 1-bit strobe out, the read word in; a
    bank (the backend's side): the same flipped, with a read strobe; a bank of 2**k words
    takes k address bits."""
    assert dict(StorageSignature(4, 8).members) == {
        "address": Out(4),
        "write_data": Out(8),
        "write_enable": Out(1),
        "read_enable": Out(1),
        "read_data": In(8),
    }
    for depth, address in ((2, 1), (16, 4), (2048, 11)):
        one_port = {
            "address": In(address),
            "write_data": In(9),
            "write_enable": In(1),
            "read_enable": In(1),
            "read_data": Out(9),
        }
        assert dict(bank_signature(depth, 9).members) == one_port
        assert dict(bank_signature(depth, 9, 2).members) == one_port | {
            "address_b": In(address),
            "read_enable_b": In(1),
            "read_data_b": Out(9),
        }
    for bad in (0, 3):
        with pytest.raises(ValueError, match="1 or 2 read ports"):
            bank_signature(16, 9, bad)


@pytest.mark.parametrize(
    ("depth", "bank_depth", "fan_in"),
    [(0, 16, 2), (16, 1, 2), (16, 12, 2), (16, 10, 2), (16, 16, 3), (16, 16, 6), (16, 16, 1)],
)
def test_banked_storage_refuses_bad_shapes(depth, bank_depth, fan_in):
    with refused_component(), pytest.raises(ValueError, match="Depth must|Fan-in must"):
        BankedStorage(depth, 8, bank_depth=bank_depth, fan_in=fan_in)
    assert unused(BankedStorage(1, 8, bank_depth=2, fan_in=2)).banks == 1  # the smallest


@pytest.mark.parametrize(
    ("depth", "bank_depth", "fan_in", "register", "latency"),
    [(64, 16, 2, False, 5), (64, 16, 4, False, 4), (32, 16, 2, True, 5), (16, 16, 2, False, 3)],
)
def test_backends_declare_their_latency(depth, bank_depth, fan_in, register, latency):
    """3 registers plus one per level of the multiplexer tree, plus the fabric register."""
    banked = unused(
        BankedStorage(depth, 8, bank_depth=bank_depth, fan_in=fan_in, bank_register=register)
    )
    assert storage_latency(banked) == latency
    assert banked.signature.members["writes"].signature.flip().write_delay == 2  # two registers
    assert storage_latency(unused(LibMemoryStorage(16, 8))) == 1
    inner = unused(LibMemoryStorage(16, 8))
    wrapped = unused(RegisteredWrites(inner))
    assert storage_latency(wrapped) == 1
    assert wrapped.signature.members["writes"].signature.flip().write_delay == 1


@pytest.mark.parametrize("delay", [0, 1, 2])
def test_registered_writes_add_one_clock_to_the_write_delay(delay):
    """The register in front adds one clock to whatever delay the wrapped backend declares."""

    class Backend(wiring.Component):
        port: In(StorageSignature(4, 8, read_latency=2, write_delay=delay))

        def elaborate(self, platform):
            return Module()

    wrapped = unused(RegisteredWrites(unused(Backend())))
    for name in ("writes", "reads"):
        side = wrapped.signature.members[name].signature.flip()
        assert (side.write_delay, side.read_latency) == (delay + 1, 2)


def test_registered_writes_wraps_a_single_port_only():
    banked = unused(BankedStorage(64, 8, bank_depth=16))
    with refused_component(), pytest.raises(TypeError, match="one port"):
        RegisteredWrites(banked)


class _NotStorage(wiring.Component):
    def __init__(self):
        super().__init__({"port": In(wiring.Signature({"address": Out(4)}))})

    def elaborate(self, platform):
        return Module()


def test_a_component_without_a_storage_port_is_refused():
    with pytest.raises(TypeError, match="StorageSignature"):
        storage_latency(unused(_NotStorage()))


def test_read_sides_name_the_read_ports():
    """One port serves its one reader; a backend of dual-port banks has two read sides, and
    sharing it takes exactly one reader per side."""
    assert read_sides(unused(LibMemoryStorage(16, 8))) == ("port",)
    assert read_sides(unused(RegisteredWrites(unused(LibMemoryStorage(16, 8))))) == ("reads",)
    dual = unused(BankedStorage(16, 8, bank_depth=16, fan_in=2, read_ports=2))
    assert read_sides(dual) == ("reads", "reads_b")
    assert storage_sides(dual)[0] == ("writes", "reads", "reads_b")
    side = dual.signature.members["writes"].signature.flip()
    for count in (1, 3):
        readers = [side.create() for _ in range(count)]
        with pytest.raises(ValueError, match=f"has 2 read side\\(s\\), not {count} readers"):
            share_storage_port(unused(Module()), dual, side.create(), readers, 0)


def test_reader_and_backend_must_agree_on_latency():
    """A readout built for latency 1 or 6 cannot take a backend of latency 5: the check names
    both."""
    fmt = RecordFormat(64, record_size=1)

    class Reader(wiring.Component):
        def __init__(self, latency):
            super().__init__(storage_ports(fmt, read_latency=latency))

        def elaborate(self, platform):
            return Module()

    m = unused(Module())
    backend = unused(BankedStorage(64, 8, bank_depth=16, fan_in=2))
    writer, reader, slower, matching = unused(Reader(1), Reader(1), Reader(6), Reader(5))
    with pytest.raises(ValueError, match="read latency of 1, the backend has 5"):
        share_storage_port(m, backend, writer.data_port, reader.data_port, 0)
    with pytest.raises(ValueError, match="read latency of 6, the backend has 5"):
        share_storage_port(m, backend, writer.data_port, slower.data_port, 0)
    share_storage_port(m, backend, writer.data_port, matching.data_port, 0)


@pytest.mark.parametrize(
    ("depth", "address"), [(1, 1), (2, 1), (3, 2), (63, 6), (64, 6), (65, 7), (2048, 11)]
)
def test_storage_takes_just_enough_address_bits(depth, address):
    """Banked and ``lib.memory`` storage alike: the bits of the highest word address, at least
    one."""
    side = unused(BankedStorage(depth, 8, bank_depth=2, fan_in=2)).signature.members["writes"]
    assert side.signature.flip().address_width == address
    port = unused(LibMemoryStorage(depth, 8)).signature.members["port"]
    assert port.signature.flip().address_width == address


@pytest.mark.parametrize("backend", ["banked", "banked-b", "registered"])
@pytest.mark.parametrize("gap", [1, 2, 3, 4])
def test_a_read_within_the_write_window_is_asserted(backend, gap):
    """A read the readout uses ``gap`` clocks after a write request trips the assertion while
    ``gap`` is at most ``write_delay`` + 1, and passes one clock later; on a second read side
    (``banked-b``, the reader of ``reads_b``) as on the first."""
    if backend == "registered":
        storage = RegisteredWrites(LibMemoryStorage(16, 8))
    else:
        storage = BankedStorage(16, 8, bank_depth=16, fan_in=2, read_ports=1 + backend.count("-"))
    side = storage.signature.members["writes"].signature.flip()
    writer, reader, idle = side.create(), side.create(), side.create()
    m = Module()
    m.submodules.storage = storage
    reading = Signal()
    readers = [idle, reader] if backend == "banked-b" else reader
    share_storage_port(m, storage, writer, readers, reading)

    async def testbench(ctx):
        ctx.set(writer.write_enable, 1)
        await ctx.tick()
        ctx.set(writer.write_enable, 0)
        for _ in range(gap - 1):
            await ctx.tick()
        ctx.set(reading, 1)
        ctx.set(reader.read_enable, 1)
        await ctx.tick()

    if gap <= side.write_delay + 1:
        with pytest.raises(AssertionError, match="storage read right after a write"):
            run_simulation(m, testbench, name="write_window")
    else:
        run_simulation(m, testbench, name="write_window")


def test_a_shared_two_port_backend_reads_on_both_sides():
    """Shared with two readers, a backend of dual-port banks gives each reader the words at its
    own addresses in the same clocks (the first ``reads``, the second ``reads_b``), and the
    writer's words reach both."""
    storage = BankedStorage(16, 8, bank_depth=4, fan_in=2, read_ports=2)
    side = storage.signature.members["writes"].signature.flip()
    writer, first, second = side.create(), side.create(), side.create()
    m = Module()
    m.submodules.storage = storage
    reading = Signal()
    share_storage_port(m, storage, writer, [first, second], reading)
    words = [(address * 29 + 5) & 0xFF for address in range(16)]
    latency = side.read_latency

    async def testbench(ctx):
        for address, word in enumerate(words):
            ctx.set(writer.address, address)
            ctx.set(writer.write_data, word)
            ctx.set(writer.write_enable, 1)
            await ctx.tick()
        ctx.set(writer.write_enable, 0)
        for _ in range(side.write_delay + 1):
            await ctx.tick()
        ctx.set(reading, 1)
        for clock in range(16 + latency):
            for reader, address in ((first, clock % 16), (second, 15 - clock % 16)):
                ctx.set(reader.address, address)
                ctx.set(reader.read_enable, 1)
            await ctx.tick()
            if clock + 1 >= latency:
                issued = clock + 1 - latency
                assert ctx.get(first.read_data) == words[issued % 16]
                assert ctx.get(second.read_data) == words[15 - issued % 16]

    run_simulation(m, testbench, name="two_port_shared")
