"""cocotb testbench of the exported MemGen core (run by :mod:`memgen.sim.harness.cocotb_runner`).

Ports of the exported top level are the signature paths joined by ``__``; struct payloads are flat
vectors, first field lowest: commands ``data | first << 8 | last << 9``, responses
``data | first << 8 | last << 9 | kind << 10`` (a core of W-byte words: ``data`` is 8 x W bits and
``count`` follows ``length``; a core of L lanes sends beats of L words and ``slots``; the
fields' offsets come from ``response_layout``).
"""

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge
from memgen.hdl.engine.core import response_layout
from memgen.hdl.engine.protocol import ErrorCode, Opcode, ResponseKind
from memgen.hdl.engine.records import RecordFormat
from memgen.host.codec import command_append, command_plain, command_recall, command_sample
from memgen.host.reference import MemGenReference


def _config():
    config = json.loads(os.environ["MEMGEN_CONFIG"])
    return config, RecordFormat(**config["format"])


class CoreDriver:
    """Packets in and out of the core, with random backpressure on the response side."""

    def __init__(self, dut, seed, ready_probability, record_format):
        self.dut = dut
        self.random = random.Random(seed)
        self.ready_probability = ready_probability
        self.cycles = 0
        self.width = record_format.word_bytes
        self.lanes = record_format.lanes
        self.fields = {name: field.offset for name, field in response_layout(record_format)}
        self.pending = []  # words of a beat taken and not yet read

    def field(self, word, name, width=1):
        return word >> self.fields[name] & ((1 << width) - 1)

    def word_bytes(self, word):
        """The valid bytes of a response word (of every slot of a beat, in order)."""
        return b"".join(body for *_, body in self.slot_words(word))

    def slot_words(self, word):
        """A response word as ``[(first, last, kind, bytes)]``: one, or a beat's slots."""
        count = self.field(word, "count", self.width.bit_length()) if self.width > 1 else 1
        slots = self.field(word, "slots", self.lanes) if self.lanes > 1 else 1
        flags = (self.field(word, "first"), self.field(word, "last"), self.field(word, "kind", 2))
        size = 8 * self.width
        return [
            (*flags, (word >> size * k & ((1 << size) - 1)).to_bytes(self.width, "little")[:count])
            for k in range(self.lanes)
            if slots >> k & 1
        ]

    async def start(self):
        dut = self.dut
        cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
        dut.rst.value = 1
        dut.commands__valid.value = 0
        dut.responses__ready.value = 0
        for _ in range(3):
            await RisingEdge(dut.clk)
        dut.rst.value = 0

    async def send(self, packet):
        dut = self.dut
        for position, byte in enumerate(packet):
            dut.commands__valid.value = 1
            dut.commands__payload.value = (
                byte | (position == 0) << 8 | (position == len(packet) - 1) << 9
            )
            while True:
                await RisingEdge(dut.clk)
                self.cycles += 1
                if int(dut.commands__ready.value):
                    break
        dut.commands__valid.value = 0

    async def receive(self):
        """One response packet as (kind, bytes); the stream must hold while stalled."""
        body = bytearray()
        while True:
            if not self.pending:
                self.pending = self.slot_words(await self._take())
                assert self.pending, "a beat without a slot"
            first, last, kind, data = self.pending.pop(0)
            assert first == (len(body) == 0), "first flag"
            body += data
            if last:
                return ResponseKind(kind), bytes(body)

    async def _take(self):
        """One response word (or beat), under random backpressure."""
        dut, held = self.dut, None
        while True:
            ready = self.random.random() < self.ready_probability
            dut.responses__ready.value = int(ready)
            await ReadOnly()
            valid = int(dut.responses__valid.value)
            word = int(dut.responses__payload.value) if valid else None
            if held is not None:
                assert word == held, f"response changed under stall: {held:#x} -> {word}"
            await RisingEdge(dut.clk)
            self.cycles += 1
            if valid and ready:
                dut.responses__ready.value = 0
                return word
            held = word


@cocotb.test()
async def sample_100k_words(dut):
    """Train, then sample at least ``config["words"]`` bytes of records (every fifth command
    INDICES: the same stream as indices); every byte equals the reference's."""
    config, fmt = _config()
    seed = config.get("seed", 1)
    driver = CoreDriver(dut, seed, config.get("ready_probability", 0.6), fmt)
    reference = MemGenReference(fmt, config.get("generator", "trivium"))
    await driver.start()
    rng = random.Random(seed)

    # empty memory answers an error, no sample
    assert await _exchange(driver, reference, command_sample(5)) == 1

    stored = 0
    while stored < config["records"]:
        length = fmt.record_size or rng.choice([1, 1, 2, 3, 5, 8, fmt.max_length])
        packet = command_append(rng.randbytes(length))
        assert await _exchange(driver, reference, packet) == 0, "memory full while training"
        stored = len(reference.memory)
    words = batches = 0
    while words < config["words"]:
        packet = command_sample(config["batch"], indices=batches % 5 == 4)  # one stream
        words += await _exchange(driver, reference, packet, count=True)
        batches += 1
    await _exchange(driver, reference, command_plain(Opcode.STATUS))
    dut._log.info(f"{words} sampled words and index bytes bit-exact in {driver.cycles} cycles")


@cocotb.test()
async def recall_matches_reference(dut):
    """RECALL on the exported core: empty memory, then after each training step queries near a
    stored record, random queries with masks, all-equal distances, k beyond N; every response
    byte-equal to the reference's, under random backpressure."""
    config, fmt = _config()
    size = fmt.record_size
    driver = CoreDriver(dut, config.get("seed", 1), config.get("ready_probability", 0.6), fmt)
    reference = MemGenReference(fmt)
    await driver.start()
    rng = random.Random(config.get("seed", 1))
    assert await _exchange(driver, reference, command_recall(bytes(size))) == 1  # EMPTY
    queries = 0
    for count in config["sweep"]:
        while len(reference.memory) < count:
            await _exchange(driver, reference, command_append(rng.randbytes(size)))
        near = bytearray(reference.memory[rng.randrange(count)])
        near[rng.randrange(size)] ^= 1 << rng.randrange(8)
        for packet in (
            command_recall(bytes(near), k=rng.randint(1, 8)),
            command_recall(rng.randbytes(size), k=8, mask=rng.randbytes(size)),
            command_recall(rng.randbytes(size), k=8, mask=bytes(size)),
        ):
            await _exchange(driver, reference, packet)
            queries += 1
    dut._log.info(f"{queries} recalls bit-exact in {driver.cycles} cycles")


async def _exchange(driver, reference, packet, count=False):
    expected = reference.respond(packet)
    await driver.send(packet)
    words = 0
    for want in expected:
        got = await driver.receive()
        assert got == want, f"got {got[0].name} {got[1].hex()}, want {want[0].name} {want[1].hex()}"
        words += len(got[1])
        if got[0] == ResponseKind.ERROR:
            assert got[1][0] in (ErrorCode.EMPTY, ErrorCode.FULL) or not count
    return words if count else len(expected)


@cocotb.test()
async def bench_throughput(dut):
    """Words per clock while sampling, output always ready, for each record count of a sweep.

    Trains records in increasing number; at each count of ``config["sweep"]`` samples
    ``config["samples"]`` records and counts the clocks from the first sampled byte to the last.
    ``train_clocks``: the clocks the core took to accept the APPEND commands of every record so
    far (one command per record, sent back to back).
    Results go to the JSON file named by ``MEMGEN_BENCH_OUT``.
    """
    import time

    config, fmt = _config()
    driver = CoreDriver(dut, 1, 1.0, fmt)
    reference = MemGenReference(fmt, config.get("generator", "trivium"))
    await driver.start()
    rng = random.Random(5)
    rows = []
    started = time.monotonic()
    train_clocks = 0
    for count in config["sweep"]:
        before = driver.cycles
        while len(reference.memory) < count:
            length = fmt.record_size or rng.choice(config.get("lengths", [1]))
            packet = command_append(rng.randbytes(length))
            assert await _exchange(driver, reference, packet) == 0, f"memory full below {count}"
        train_clocks += driver.cycles - before
        expected = reference.respond(command_sample(config["samples"]))
        await driver.send(command_sample(config["samples"]))
        dut.responses__ready.value = 1
        words, received, first_cycle, cycle = 0, 0, None, 0
        total = sum(len(body) for _, body in expected)
        while received < total:
            await RisingEdge(dut.clk)
            cycle += 1
            if int(dut.responses__valid.value):
                if first_cycle is None:
                    first_cycle = cycle
                words += 1
                received += len(driver.word_bytes(int(dut.responses__payload.value)))
        last_cycle = cycle
        driver.cycles += cycle
        clocks = last_cycle - first_cycle + 1
        rows.append(
            {
                "records": count,
                "samples": config["samples"],
                "words": words,
                "bytes": received,
                "clocks": clocks,
                "words_per_clock": words / clocks,
                "bytes_per_clock": received / clocks,
                "samples_per_clock": config["samples"] / clocks,
                "train_clocks": train_clocks,
            }
        )
        dut.responses__ready.value = 0
    elapsed = time.monotonic() - started
    result = {"rows": rows, "cycles": driver.cycles, "seconds": elapsed}
    with open(os.environ["MEMGEN_BENCH_OUT"], "w") as file:
        json.dump(result, file)
