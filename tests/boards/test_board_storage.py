"""Board memory backends in simulation: each board's memory (models of its primitives) filled to
capacity in the full top level on Verilator, refusing the next record, every record read back;
the SPRAM model's lanes and blocks, the banked storage and the DP16KD model in Amaranth's
simulator; the SPRAM storage on the primitive itself, under Yosys's model of it, in cocotb."""

import random
from types import SimpleNamespace

import pytest
from amaranth.hdl import Fragment
from amaranth.lib.wiring import In, Out
from cocotb_tools.runner import get_results
from memgen.boards import BOARDS, board
from memgen.hdl.engine.protocol import ErrorCode
from memgen.hdl.engine.storage import (
    BankedStorage,
    LibMemoryStorage,
    RegisteredBank,
    bank_signature,
)
from memgen.hdl.fpga.dp16kd import DP16KD_BYTES, DP16KDBank, DP16KDBuffer
from memgen.hdl.fpga.spram import SPRAM256KA, SPRAM_BLOCK_BYTES, SPRAMStorage
from memgen.host.driver import DeviceError, Driver
from memgen.host.transports import open_transport
from memgen.sim.harness.amaranth_sim import (
    instance_ports,
    instances,
    refused_component,
    run_simulation,
    unused,
)
from memgen.sim.harness.cocotb_runner import run_cocotb


@pytest.mark.parametrize(("name", "length"), [("icebreaker", 64), ("ulx3s-85f", 65)])
def test_board_memory_fills_refuses_and_reads_back(name, length):
    """A board's memory backend as its default build has it (the SPRAM model; the DP16KD bank
    models in 64-byte words), in the full top level on Verilator through its UART: records of
    ``length`` bytes fill exactly its capacity in bytes, the iCEBreaker's record table with them
    and the ULX3S's words each with 63 bytes of padding, the next is refused FULL and changes
    nothing, RECITE returns every record, and SAMPLE answers what the reference model answers."""
    spec = board(name)
    fmt = spec.record_format
    stored = fmt.stored_bytes(length)
    assert stored == (length if fmt.word_bytes == 1 else 128)
    count = fmt.byte_capacity // stored
    assert count == (fmt.max_records if name == "icebreaker" else 3072)  # no byte to spare
    rng = random.Random(name)
    records = [rng.randbytes(length) for _ in range(count)]
    with Driver(open_transport("verilator", board=spec)) as device:
        device.train(records)
        with pytest.raises(DeviceError) as refused:
            device.train([b"x" * length])
        assert refused.value.code == ErrorCode.FULL and refused.value.stored == 0
        status = device.status()
        assert (status.records, status.bytes_used) == (count, fmt.byte_capacity)
        assert device.recite() == records
        samples = device.sample(500)
    with Driver(open_transport("reference", board=spec)) as reference:
        reference.train(records)
        assert samples == reference.sample(500)


@pytest.mark.parametrize(("blocks", "address"), [(1, 15), (2, 16), (3, 17), (4, 17)])
def test_spram_storage_ports_and_capacity(blocks, address):
    """32,768 bytes per block; the byte address just wide enough; 1 to 4 blocks only."""
    storage = unused(SPRAMStorage(blocks, primitive=False))
    assert storage.byte_capacity == blocks * 32768 == blocks * SPRAM_BLOCK_BYTES
    assert dict(storage.signature.members["port"].signature.flip().members) == {
        "address": Out(address),
        "write_data": Out(8),
        "write_enable": Out(1),
        "read_enable": Out(1),
        "read_data": In(8),
    }
    for bad in (0, 5):
        with refused_component(), pytest.raises(ValueError, match="1 to 4 SPRAM blocks"):
            SPRAMStorage(bad)


def primitives(component, platform):
    """The instance types ``component`` elaborates to for ``platform`` (none for a model)."""
    return [instance.type for instance in instances(component, platform)]


@pytest.mark.parametrize(
    ("family", "spram", "dp16kd"),
    [(None, [], []), ("iCE40", ["SB_SPRAM256KA"], []), ("ice40", ["SB_SPRAM256KA"], []),
     ("ECP5", [], ["DP16KD"]), ("ecp5", [], ["DP16KD"]), ("", [], [])],
)  # fmt: skip
def test_spram_and_dp16kd_primitive_only_on_its_family(family, spram, dp16kd):
    """The primitive on its own family (in any case), the model elsewhere and with no platform;
    ``primitive=`` overrides the platform either way."""
    platform = None if family is None else SimpleNamespace(family=family)
    assert primitives(SPRAM256KA(), platform) == spram
    assert primitives(DP16KDBank(8, 2048), platform) == dp16kd
    for forced in (True, False):
        assert bool(primitives(SPRAM256KA(primitive=forced), platform)) == forced
        assert bool(primitives(DP16KDBank(8, 2048, primitive=forced), platform)) == forced


def test_dp16kd_bank_defaults():
    """A DP16KD bank is by default one block's 2,048 bytes with one read port."""
    bank = unused(DP16KDBank())
    assert bank.signature == bank_signature(DP16KD_BYTES, 8) == bank_signature(2048, 8)
    assert bank_signature(2048, 8) != bank_signature(2048, 8, 2)


def test_spram_primitive_is_awake_and_powered():
    """STANDBY and SLEEP low, POWEROFF high (it is active low), each a 1-bit constant: a wider
    constant would reach the pin as its low bit."""
    (instance,) = instances(SPRAM256KA(primitive=True))
    pins = {name: (len(value), value.value, kind) for name, (value, kind) in instance.ports.items()
            if name in ("STANDBY", "SLEEP", "POWEROFF")}  # fmt: skip
    assert pins == {"STANDBY": (1, 0, "i"), "SLEEP": (1, 0, "i"), "POWEROFF": (1, 1, "i")}


@pytest.mark.parametrize(
    ("simulator", "blocks"),
    [("icarus", 1), ("icarus", 2), ("icarus", 3), ("icarus", 4), ("verilator", 4)],
)
def test_spram_primitive_on_yosys_model(simulator, blocks, tmp_path):
    """The storage the board builds (SB_SPRAM256KA instances, not the model) on Yosys's own
    simulation model of the primitive: every block's edge bytes and random ones read back, held
    over idle clocks, overwritten."""
    config = {"top": "spram", "blocks": blocks, "depth": blocks * SPRAM_BLOCK_BYTES,
              "block_bytes": SPRAM_BLOCK_BYTES, "seed": blocks, "writes": 500,
              "operations": 3000}  # fmt: skip
    results, _ = run_cocotb(
        simulator, config, tmp_path / simulator, test_module="memgen.sim.harness.cocotb_storage"
    )
    assert get_results(results) == (1, 0)


def test_spram_lanes_and_blocks():
    """Bytes at both lanes of a word and in every block land where addressed (no aliasing)."""
    storage = SPRAMStorage(4, primitive=False)
    addresses = [0, 1, 2, 32767, 32768, 32769, 65536, 98303, 98304, 131071]
    testbench = written_then_read(storage, addresses, lambda address: (address * 37 + 11) & 0xFF)
    run_simulation(storage, testbench, name="spram_lanes")


def written_then_read(storage, addresses, value):
    """A testbench: ``value(address)`` written at each address, then each read back, and held
    a clock later while ``read_enable`` is low."""

    async def testbench(ctx):
        port = storage.port
        for address in addresses:
            ctx.set(port.address, address)
            ctx.set(port.write_data, value(address))
            ctx.set(port.write_enable, 1)
            await ctx.tick()
        ctx.set(port.write_enable, 0)
        for address in addresses:
            ctx.set(port.address, address)
            ctx.set(port.read_enable, 1)
            await ctx.tick()
            ctx.set(port.read_enable, 0)
            assert ctx.get(port.read_data) == value(address), address
            await ctx.tick()  # held while read_enable is low
            assert ctx.get(port.read_data) == value(address), address

    return testbench


@pytest.mark.parametrize(("blocks", "width"), [(4, 2), (4, 4), (4, 8), (2, 4), (1, 2), (3, 2)])
def test_spram_words_of_several_bytes(blocks, width):
    """Words of 2, 4 or 8 bytes over the blocks side by side: the first and last word of every
    group and a word either side of each boundary land where addressed; the capacity stays
    32,768 bytes a block; read data holds while not read."""
    storage = SPRAMStorage(blocks, primitive=False, word_bytes=width)
    words = blocks * SPRAM_BLOCK_BYTES // width
    assert storage.port.address.shape().width == (words - 1).bit_length()
    per_group = 16384
    edges = {a for g in range(0, words, per_group) for a in (g - 1, g, g + 1)} | {words - 1}
    addresses = sorted(edges - {-1})

    def value(address):
        return (address * 0x9E3779B97F4A7C15 + 1) % (1 << (8 * width))

    testbench = written_then_read(storage, addresses, value)
    run_simulation(storage, testbench, name=f"spram_words_{blocks}_{width}")


@pytest.mark.parametrize(("blocks", "width"), [(4, 16), (3, 4), (1, 4), (4, 3)])
def test_spram_words_the_blocks_cannot_make_are_refused(blocks, width):
    with refused_component(), pytest.raises(ValueError, match=f"not {width}"):
        SPRAMStorage(blocks, word_bytes=width)


def test_lib_memory_read_port():
    """The default backend as documented: a read in the clock of a write returns the word
    written, other words are untouched, and ``read_data`` holds while ``read_enable`` is low."""
    storage = LibMemoryStorage(64, 26)
    words = {address: (address * 0x9E3779) & 0x3FFFFFF for address in range(0, 64, 7)}

    async def testbench(ctx):
        port = storage.port
        ctx.set(port.read_enable, 1)
        for address, word in words.items():
            ctx.set(port.address, address)
            ctx.set(port.write_data, word)
            ctx.set(port.write_enable, 1)
            await ctx.tick()
            assert ctx.get(port.read_data) == word, address  # the word being written
        ctx.set(port.write_enable, 0)
        for address in range(64):
            ctx.set(port.address, address)
            ctx.set(port.read_enable, 1)
            await ctx.tick()
            ctx.set(port.read_enable, 0)
            ctx.set(port.address, (address + 1) % 64)
            expected = words.get(address, 0)
            assert ctx.get(port.read_data) == expected, address
            await ctx.tick()  # held while read_enable is low
            assert ctx.get(port.read_data) == expected, address

    run_simulation(storage, testbench, name="lib_memory")


@pytest.mark.parametrize("name", BOARDS)
def test_board_format_uses_the_memory(name):
    """Each board's record format matches the memory it says it has."""
    spec = board(name)
    if name == "icebreaker":
        assert spec.record_format.byte_capacity == 4 * SPRAM_BLOCK_BYTES == 131072
    else:
        assert spec.record_format.byte_capacity >= 384 * 1024


@pytest.mark.parametrize(
    "fan_in, bank_register, read_ports",
    [(2, False, 1), (16, False, 1), (8, True, 1), (2, False, 2), (8, True, 2)],
)
def test_banked_storage_latency_and_stalls(fan_in, bank_register, read_ports):
    """Every word of a 10-bank store reads back after exactly ``read_latency`` enabled clocks,
    whatever the pattern of stalls (read_enable low) in between: the registers of the bank tree
    (and the register after each bank, as the ULX3S has it) advance with the read strobe only,
    as the readout's lock-step pipeline needs. With two read ports, each side does so at its own
    addresses under its own stalls, at the same time."""
    storage = BankedStorage(
        40, 8, bank_depth=4, fan_in=fan_in, bank_register=bank_register, read_ports=read_ports
    )
    levels = {2: 4, 8: 2, 16: 1}[fan_in]
    assert storage.read_latency == 3 + levels + bank_register
    words = {address: (address * 53 + 7) & 0xFF for address in range(40)}
    sides = [storage.reads] + ([storage.reads_b] if read_ports == 2 else [])

    async def writer(ctx):
        for address, word in reversed(words.items()):  # a write straying to a later bank shows
            ctx.set(storage.writes.address, address)
            ctx.set(storage.writes.write_data, word)
            ctx.set(storage.writes.write_enable, 1)
            await ctx.tick()
        ctx.set(storage.writes.write_enable, 0)

    def reader(side, rng):
        async def testbench(ctx):
            for _ in range(len(words) + 2):  # after the writes have landed
                await ctx.tick()
            order = list(words) * 2
            rng.shuffle(order)
            issued = []  # addresses in read order, one per enabled clock
            for address in order + [0] * storage.read_latency:
                while rng.random() < 0.4:  # a stall: nothing moves, whatever the address says
                    ctx.set(side.read_enable, 0)
                    ctx.set(side.address, rng.randrange(40))
                    await ctx.tick()
                ctx.set(side.address, address)
                ctx.set(side.read_enable, 1)
                await ctx.tick()
                issued.append(address)
                if len(issued) >= storage.read_latency:
                    expected = words[issued[-storage.read_latency]]
                    assert ctx.get(side.read_data) == expected

        return testbench

    readers = [reader(side, random.Random(fan_in + 10 * n)) for n, side in enumerate(sides)]
    run_simulation(storage, writer, *readers, name=f"banked_{fan_in}_{bank_register}_{read_ports}")


def test_banked_storage_takes_banks_of_its_read_ports():
    """A bank factory whose banks have another number of read ports than the store is refused."""
    one_port = BankedStorage(8, 8, bank_depth=4, fan_in=2, read_ports=2,
                             bank_factory=lambda: RegisteredBank(4, 8))  # fmt: skip
    with pytest.raises(ValueError, match="must have 2 read port\\(s\\), not 1"):
        Fragment.get(one_port, None)
    for bad in (0, 3):
        with refused_component(), pytest.raises(ValueError, match="1 or 2 read ports"):
            BankedStorage(8, 8, bank_depth=4, fan_in=2, read_ports=bad)


@pytest.mark.parametrize("read_ports", [1, 2])
def test_dp16kd_model_matches_a_plain_memory(read_ports):
    """The DP16KD bank model (4,096 x 28, as the ULX3S record table): two-clock reads that hold
    while not read; port B, when there is one, reads another address in the same clocks."""
    bank = DP16KDBank(28, 4096, primitive=False, read_ports=read_ports)
    rng = random.Random(3)
    words = {rng.randrange(4096): rng.getrandbits(28) for _ in range(50)}
    pairs = list(zip(words, list(words)[1:] + list(words)[:1], strict=True))
    ports = [(bank.address, bank.read_enable, bank.read_data)]
    if read_ports == 2:
        ports.append((bank.address_b, bank.read_enable_b, bank.read_data_b))

    async def testbench(ctx):
        for address, word in words.items():
            ctx.set(bank.address, address)
            ctx.set(bank.write_data, word)
            ctx.set(bank.write_enable, 1)
            await ctx.tick()
        ctx.set(bank.write_enable, 0)
        for pair in pairs:
            for (address, enable, _), read in zip(ports, pair, strict=False):
                ctx.set(address, read)
                ctx.set(enable, 1)
            await ctx.tick().repeat(2)
            for (address, enable, data), read in zip(ports, pair, strict=False):
                assert ctx.get(data) == words[read]
                ctx.set(enable, 0)
                ctx.set(address, 0)
            await ctx.tick()
            for (_, _, data), read in zip(ports, pair, strict=False):
                assert ctx.get(data) == words[read]  # holds while not read

    run_simulation(bank, testbench, name=f"dp16kd_model_{read_ports}")


def dp16kd_tied_low():
    """Every DP16KD input tied low: both ports' data, addresses, chip selects, clocks, clock
    enables, output enables, write enables and resets."""
    tied = {f"{name}{bit}": "0" for name in ("DIA", "DIB") for bit in range(18)}
    tied |= {f"{name}{bit}": "0" for name in ("ADA", "ADB") for bit in range(14)}
    tied |= {f"CS{side}{bit}": "0" for side in "AB" for bit in range(3)}
    return tied | {
        f"{name}{side}": "0" for name in ("CLK", "CE", "OCE", "WE", "RST") for side in "AB"
    }


@pytest.mark.parametrize("read_ports", [1, 2])
@pytest.mark.parametrize(
    ("width", "depth", "block_width", "low_address_bit"),
    [(8, 2048, 9, 3), (6, 4096, 4, 2), (2, 8192, 2, 1), (3, 16384, 1, 0)],
)
def test_dp16kd_primitive_ports_by_configuration(
    width, depth, block_width, low_address_bit, read_ports
):
    """The DP16KD port map of the ECP5 Memory Usage Guide (Lattice FPGA-TN-02204): in a 2,048 x 9
    configuration the word address is on AD13..AD3, 4,096 x 4 on AD13..AD2, 8,192 x 2 on
    AD13..AD1, 16,384 x 1 on AD13..AD0; data on DI/DO from bit 0. Each block takes the next
    ``block_width`` bits of the word on port A through its output register; with a second read
    port, port B reads the same bits at its own address through its own output register and
    never writes; every other input is tied low (port B unused with one read port)."""
    bank = DP16KDBank(width, depth, primitive=True, read_ports=read_ports)
    blocks = instances(bank)
    assert len(blocks) == -(-width // block_width)
    for index, block in enumerate(blocks):
        assert block.type == "DP16KD"
        assert dict(block.parameters) == {
            "DATA_WIDTH_A": block_width, "DATA_WIDTH_B": block_width, "REGMODE_A": "OUTREG",
            "REGMODE_B": "OUTREG" if read_ports == 2 else "NOREG", "RESETMODE": "SYNC",
            "ASYNC_RESET_RELEASE": "SYNC", "CSDECODE_A": "0b000", "CSDECODE_B": "0b000",
            "WRITEMODE_A": "NORMAL", "WRITEMODE_B": "NORMAL", "GSR": "DISABLED",
        }  # fmt: skip
        data_bits = range(index * block_width, min(width, (index + 1) * block_width))
        expected = dp16kd_tied_low() | {
            "CLKA": "(clk sync)", "CEA": "(| (sig read_enable) (sig write_enable))",
            "OCEA": "read_enable[0]", "WEA": "write_enable[0]",
        }  # fmt: skip
        for bit in range(len(bank.address)):
            expected[f"ADA{low_address_bit + bit}"] = f"address[{bit}]"
        for bit, data_bit in enumerate(data_bits):
            expected[f"DIA{bit}"] = f"write_data[{data_bit}]"
            expected[f"DOA{bit}"] = f"read_data[{data_bit}]"
        if read_ports == 2:
            expected |= {"CLKB": "(clk sync)", "CEB": "read_enable_b[0]",
                         "OCEB": "read_enable_b[0]"}  # fmt: skip
            for bit in range(len(bank.address_b)):
                expected[f"ADB{low_address_bit + bit}"] = f"address_b[{bit}]"
            for bit, data_bit in enumerate(data_bits):
                expected[f"DOB{bit}"] = f"read_data_b[{data_bit}]"
        assert instance_ports(block) == expected
    assert len(bank.address) == 14 - low_address_bit


@pytest.mark.parametrize(
    ("width", "depth", "address"),
    [(1, 1, 1), (1, 2, 1), (1, 3, 2), (9, 1024, 10), (9, 1025, 11), (9, 2048, 11),
     (0, 16, None), (10, 16, None), (8, 0, None), (8, 2049, None)],
)  # fmt: skip
def test_dp16kd_buffer_sizes_at_their_limits(width, depth, address):
    """1 to 9 bits by 1 to 2,048 words (one block in its 2,048 x 9 configuration), anything
    else refused; the address just wide enough for the depth."""
    if address is None:
        with refused_component(), pytest.raises(ValueError, match="up to 2048 words of up to 9"):
            DP16KDBuffer(width, depth)
        return
    buffer = unused(DP16KDBuffer(width, depth))
    side = buffer.signature.members["writes"].signature.flip()
    assert (side.address_width, side.data_width, side.read_latency) == (address, width, 2)


def test_dp16kd_buffer_model_and_primitive():
    """The two-port buffer (the ULX3S deframer's): its model reads each word two enabled clocks
    after its address while writes go on at other addresses, and holds while not read; the
    primitive is one DP16KD that writes on port A and reads port B through its output
    register, both clock enables on the read strobe."""
    buffer = DP16KDBuffer(8, 1024, primitive=False)
    rng = random.Random(4)
    words = [rng.getrandbits(8) for _ in range(1024)]

    async def testbench(ctx):
        issued = []  # read addresses, one per enabled clock
        for clock in range(1200):
            if clock < 1024:  # writing ahead of the reads, as the deframer's writer does
                ctx.set(buffer.writes.address, clock)
                ctx.set(buffer.writes.write_data, words[clock])
                ctx.set(buffer.writes.write_enable, 1)
            else:
                ctx.set(buffer.writes.write_enable, 0)
            read = clock >= 8 and rng.random() < 0.7
            ctx.set(buffer.reads.read_enable, read)
            ctx.set(buffer.reads.address, len(issued) if read else rng.randrange(1024))
            await ctx.tick()
            if read:
                issued.append(len(issued))
            if len(issued) >= 2:  # and it holds while not read
                assert ctx.get(buffer.reads.read_data) == words[issued[-2]]

    run_simulation(buffer, testbench, name="dp16kd_buffer")

    (instance,) = instances(DP16KDBuffer(8, 1024, primitive=True))
    assert instance.type == "DP16KD"
    parameters = {key: value for key, value in instance.parameters.items()}
    assert (parameters["REGMODE_A"], parameters["REGMODE_B"]) == ("NOREG", "OUTREG")
    assert parameters["DATA_WIDTH_A"] == parameters["DATA_WIDTH_B"] == 9
    expected = dp16kd_tied_low() | {
        "CLKA": "(clk sync)", "CEA": "writes__write_enable[0]", "WEA": "writes__write_enable[0]",
        "CLKB": "(clk sync)", "CEB": "reads__read_enable[0]", "OCEB": "reads__read_enable[0]",
    }  # fmt: skip
    for bit in range(11):  # 2,048 x 9: AD13..AD3
        expected[f"ADA{3 + bit}"] = f"write_address[{bit}]"
        expected[f"ADB{3 + bit}"] = f"read_address[{bit}]"
    for bit in range(8):
        expected[f"DIA{bit}"] = f"writes__write_data[{bit}]"
        expected[f"DOB{bit}"] = f"reads__read_data[{bit}]"
    assert instance_ports(instance) == expected
    with refused_component(), pytest.raises(ValueError, match="up to 2048 words of up to 9 bits"):
        DP16KDBuffer(8, 4096)
