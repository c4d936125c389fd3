"""cocotb testbench of the full top level: the host's bytes as UART bits on ``rx``, its answers
decoded from ``tx`` (run by :mod:`memgen.sim.harness.cocotb_runner` with ``"top": "uart"``).

The host model sends and receives at its own bit time, ``(1 + error)`` times the device's, so a
baud-rate mismatch affects both directions as it does with a real adapter. Line faults are made
at the bit level: a stop bit of 0 (framing error), a flipped data bit (noise), glitches shorter
than half a bit, a break.
"""

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge, Timer
from memgen.hdl.engine.protocol import Opcode
from memgen.hdl.engine.records import RecordFormat
from memgen.hdl.link.protocol import FrameError, Reply
from memgen.host.codec import (
    FrameDecoder,
    RecordStream,
    append_frames,
    command_plain,
    command_sample,
    decode_done,
)
from memgen.host.link_reference import LinkReference
from memgen.sim.harness.frames import FrameNumbers

CLOCK_NS = 10


def _config():
    config = json.loads(os.environ["MEMGEN_CONFIG"])
    return config, RecordFormat(**config["format"])


class Host(FrameNumbers):
    """A serial adapter on the device's pins, at ``(1 + error)`` times the device's bit time."""

    def __init__(self, dut, divisor, error=0.0):
        self.dut = dut
        self.bit_ps = round(divisor * CLOCK_NS * 1000 * (1 + error))
        self.decoder = FrameDecoder()
        self.frames = []
        self._monitor = cocotb.start_soon(self._receive())

    def retune(self, divisor, error):
        self.bit_ps = round(divisor * CLOCK_NS * 1000 * (1 + error))

    async def _receive(self):
        dut = self.dut
        while True:
            await FallingEdge(dut.tx)
            bit = self.bit_ps
            await Timer(bit // 2, unit="ps")
            if int(dut.tx.value):
                continue  # not a start bit
            byte = 0
            for index in range(8):
                await Timer(bit, unit="ps")
                byte |= int(dut.tx.value) << index
            await Timer(bit, unit="ps")
            if int(dut.tx.value):
                self.frames += self.decoder.feed(bytes([byte]))

    async def send_byte(self, byte, stop=1, flip=None):
        bits = [0] + [(byte >> i) & 1 for i in range(8)] + [stop]
        if flip is not None:
            bits[1 + flip] ^= 1
        for bit in bits:
            self.dut.rx.value = bit
            await Timer(self.bit_ps, unit="ps")
        self.dut.rx.value = 1

    async def send(self, data, faults=None):
        """Send bytes; ``faults`` maps a byte position to ``{"stop": 0}`` or ``{"flip": bit}``."""
        for position, byte in enumerate(data):
            await self.send_byte(byte, **(faults or {}).get(position, {}))

    async def glitch(self, width_ps):
        self.dut.rx.value = 0
        await Timer(width_ps, unit="ps")
        self.dut.rx.value = 1
        await Timer(self.bit_ps, unit="ps")

    async def hold_low(self, bits):
        self.dut.rx.value = 0
        await Timer(self.bit_ps * bits, unit="ps")
        self.dut.rx.value = 1
        await Timer(self.bit_ps * 2, unit="ps")

    async def answer(self, timeout_bits=20_000):
        """Frames up to and including the next DONE or REJECTED; None after ``timeout_bits``."""
        collected = []
        for _ in range(timeout_bits // 10):
            while self.frames:
                frame = self.frames.pop(0)
                collected.append(frame)
                if isinstance(frame, tuple) and frame[1][:1] in (b"\x01", b"\x02"):
                    return collected
            await Timer(self.bit_ps * 10, unit="ps")
        return None

    async def command(self, payload, sequence=None, faults=None):
        await self.send(self.frame(payload, sequence), faults)
        return await self.answer()


async def start(dut):
    cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
    dut.rx.value = 1
    dut.rst.value = 1
    for _ in range(4):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    await RisingEdge(dut.clk)


async def exchange_checked(host, reference, payload, context=""):
    """Send one command frame; its answer must equal the reference model's, frame for frame."""
    frame = host.frame(payload)
    want = FrameDecoder().feed(reference.receive(frame))
    await host.send(frame)
    got = await host.answer()
    assert got == want, f"{context}answer to {payload.hex()}: {got} != {want}"


def done_of(frames):
    assert frames is not None, "no answer: the device hung"
    kind, payload = frames[-1][1][0], frames[-1][1]
    assert kind == Reply.DONE, f"expected DONE, got {payload.hex()}"
    return decode_done(payload)


def records_of(frames, fmt):
    stream = RecordStream(fmt.record_size)
    for _, payload in frames[:-1]:
        stream.feed(payload[1:])
    return stream.records


@cocotb.test()
async def link_smoke(dut):
    """Every command once, byte-identical to the reference model's answers, and a frame with a
    flipped bit rejected without effect: the short run both simulators make."""
    config, fmt = _config()
    await start(dut)
    reference = LinkReference(fmt)
    host = Host(dut, config["divisor"])
    records = [b"pi", b"3.1415", b"\xc0\xdb", b"e"]
    payloads = [command_plain(Opcode.STATUS), command_sample(2)]  # empty: EMPTY
    payloads += [payload for payload, _ in append_frames(records, fmt.record_size)]
    payloads += [command_sample(12), command_plain(Opcode.RECITE), command_plain(Opcode.STATUS)]
    for payload in payloads:
        await exchange_checked(host, reference, payload)
    ((payload, _),) = append_frames([b"corrupt"], fmt.record_size)
    frame = host.frame(payload)
    host.sequence = (host.sequence - 1) & 0xFF
    await host.send(frame, faults={3: {"flip": 0}})
    answer = await host.answer()
    assert answer[-1][1][0] == Reply.REJECTED, answer
    frames = await host.command(command_plain(Opcode.RECITE))
    assert records_of(frames, fmt) == records
    assert done_of(frames)["crc_errors"] + done_of(frames)["malformed_frames"] == 1


@cocotb.test()
async def baud_tolerance(dut):
    """At -2% and +2% baud error every answer is byte-identical to the reference model's."""
    config, fmt = _config()
    await start(dut)
    reference = LinkReference(fmt)
    host = Host(dut, config["divisor"])
    rng = random.Random(2)
    for error in (-0.02, 0.02):
        host.retune(config["divisor"], error)
        records = [rng.randbytes(rng.randint(1, 12)) for _ in range(12)]
        payloads = [payload for payload, _ in append_frames(records, fmt.record_size)]
        payloads += [command_sample(40), command_plain(Opcode.RECITE)]
        for payload in payloads:
            await exchange_checked(host, reference, payload, f"baud error {error:+.0%}: ")
        dut._log.info(f"baud error {error:+.0%}: {len(payloads)} commands answered exactly")


@cocotb.test()
async def baud_five_percent(dut):
    """At -5% and +5% the link may fail, but every failure is detected: a frame either runs and
    is answered correctly, or is not run; nothing corrupt is stored; and at the right rate the
    device answers at once."""
    config, fmt = _config()
    await start(dut)
    host = Host(dut, config["divisor"])
    done_of(await host.command(command_plain(Opcode.CLEAR)))
    sent, acknowledged = [], []
    for error in (-0.05, 0.05):
        host.retune(config["divisor"], error)
        outcomes = []
        for index in range(4):
            record = bytes([0x30 + index, 0x55, 0xAA, 0xC0, 0xDB, int(error > 0)])
            sent.append(record)
            ((payload, _),) = append_frames([record], fmt.record_size)
            answer = await host.command(payload)
            last = answer[-1][1] if answer and isinstance(answer[-1], tuple) else None
            if last and last[0] == Reply.DONE and decode_done(last)["stored"] == 1:
                acknowledged.append(record)
                outcomes.append("stored")
            else:
                outcomes.append("lost" if last is None else f"reply {last.hex()}")
        host.retune(config["divisor"], 0.0)
        await Timer(host.bit_ps * 200, unit="ps")
        host.frames.clear()
        status = done_of(await host.command(command_plain(Opcode.STATUS)))
        host.sequence = status["expected"]
        errors = {
            name: status[name]
            for name in (
                "uart_errors",
                "crc_errors",
                "malformed_frames",
                "timeouts",
                "sequence_errors",
            )
        }
        dut._log.info(f"baud error {error:+.0%}: appends {outcomes}; counters {errors}")
    frames = await host.command(command_plain(Opcode.RECITE))
    recited = records_of(frames, fmt) if done_of(frames)["records"] else []
    assert all(record in sent for record in recited), "a corrupt record was stored"
    assert set(acknowledged) <= set(recited), "an acknowledged record is missing"


@cocotb.test()
async def line_faults(dut):
    """Glitches, a framing error, a flipped bit, garbage and a break: each frame hit is
    rejected, the UART errors are counted, and every good frame runs."""
    config, fmt = _config()
    await start(dut)
    host = Host(dut, config["divisor"])
    done_of(await host.command(command_plain(Opcode.CLEAR)))
    stored = []

    async def append(record, faults=None):
        ((payload, _),) = append_frames([record], fmt.record_size)
        frame = host.frame(payload)
        await host.send(frame, faults)
        answer = await host.answer()
        if faults:
            host.sequence = (host.sequence - 1) & 0xFF  # not run: the next frame reuses it
            assert answer is not None and answer[-1][1][0] == Reply.REJECTED, answer
            return FrameError(answer[-1][1][1])
        assert done_of(answer)["code"] == 0
        stored.append(record)
        return None

    for _ in range(20):
        await host.glitch(host.bit_ps * 2 // 7)  # well before the start bit's sample: ignored
    await append(b"after glitches")
    code = await append(b"framing error", faults={4: {"stop": 0}})
    assert code in (FrameError.BAD_LENGTH, FrameError.BAD_CRC), code
    await append(b"after framing error")
    code = await append(b"noise bit", faults={5: {"flip": 3}})
    assert code in (FrameError.BAD_CRC, FrameError.BAD_LENGTH), code
    await append(b"after noise")
    garbage = random.Random(4).randbytes(30).replace(b"\xc0", b"\x00")
    await host.send(garbage)  # then silence: dropped after the idle timeout
    answer = await host.answer()
    assert answer[-1][1] == bytes([Reply.REJECTED, FrameError.TIMEOUT]), answer
    ((payload, _),) = append_frames([b"after garbage"], fmt.record_size)
    await host.send(garbage + host.frame(payload))  # its first END ends the garbage
    answer = await host.answer()
    assert answer[-1][1][0] == Reply.REJECTED
    assert done_of(await host.answer())["stored"] == 1
    stored.append(b"after garbage")
    before = done_of(await host.command(command_plain(Opcode.STATUS)))["uart_errors"]
    # A framing error in the middle of a frame also misaligns the bytes after it until the line
    # idles, so it may count more than once; a break counts exactly once however long it is.
    assert before >= 1
    await host.hold_low(40)  # a break
    await append(b"after break")
    frames = await host.command(command_plain(Opcode.RECITE))
    done = done_of(frames)
    assert records_of(frames, fmt) == stored
    assert done["uart_errors"] == before + 1
    assert done["crc_errors"] + done["malformed_frames"] == 3
    assert done["timeouts"] == 1
