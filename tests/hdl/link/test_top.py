"""The link device (deframer, command processor, core, framer) against the link reference model.

Wire bytes go into the gateware in Amaranth's simulator and into
:class:`~memgen.host.link_reference.LinkReference`; the bytes that come back must be equal, byte
for byte, whatever the command, the error, the corruption or the backpressure on the line.
"""

import random

import pytest
from amaranth.lib import data, stream
from amaranth.lib.wiring import In, Out
from memgen.hdl.engine.protocol import DEFAULT_SEED, ErrorCode, Opcode
from memgen.hdl.engine.records import RecordFormat, RecordWord
from memgen.hdl.link.append_batch import AppendBatch, BatchOutcome
from memgen.hdl.link.command_processor import CommandProcessor
from memgen.hdl.link.frame_buffer import FrameByte
from memgen.hdl.link.frame_checker import rejection_signature
from memgen.hdl.link.frame_intake import ParsedByte
from memgen.hdl.link.framing import PacketByte
from memgen.hdl.link.protocol import (
    MAX_LINK_RECORD,
    MAX_PAYLOAD,
    SLIP_END,
    FrameError,
    Reply,
    crc16,
)
from memgen.hdl.link.replies import ReplyRequest
from memgen.hdl.link.requests import RequestSide
from memgen.hdl.link.top import LinkDevice, MemGenTop
from memgen.host.codec import (
    FrameDecoder,
    RecordStream,
    append_frames,
    command_plain,
    command_sample,
    command_seed,
    decode_done,
    encode_frame,
)
from memgen.host.link_reference import LinkReference
from memgen.host.sim_device import SimulatedLink
from memgen.sim.harness.amaranth_sim import (
    Stalls,
    packet_monitor,
    refused_component,
    run_simulation,
    stream_put,
    unused,
)
from memgen.sim.harness.frames import FrameNumbers
from memgen.sim.harness.uart_line import line_bytes, line_levels

VARIABLE = RecordFormat(640, max_records=24, max_length=300)
FIXED = RecordFormat(240, record_size=3)


class Session(FrameNumbers):
    """One device in the simulator and its reference, fed the same bytes."""

    def __init__(self, fmt, stalls=None, idle_timeout=2000):
        self.fmt = fmt
        device = LinkDevice(fmt, idle_timeout=idle_timeout)
        # Every command packet the core takes opens with first and ends with last.
        monitor = packet_monitor(device.core.commands, "commands to the core")
        self.link = SimulatedLink(device, stalls, monitors=[monitor])
        self.reference = LinkReference(fmt)
        # Silent this long with its input taken, the device answers no more (the longest
        # silence it keeps on purpose is the idle timeout before a truncated frame's reply).
        self.quiet_limit = idle_timeout + 1000

    def exchange(self, wire, settle=600):
        """Send ``wire``; returns the decoded answer after checking it equals the reference's."""
        want = self.reference.receive(wire)
        got = self.answer(wire, len(want), settle)
        assert got == want, self._explain(got, want)
        return FrameDecoder().feed(got)

    def answer(self, wire, expected, settle=600):
        """Send ``wire``; the device's bytes once ``expected`` of them came (or it fell silent)
        and ``settle`` more clocks passed."""
        self.link.write(wire)
        got = bytearray()
        quiet = 0
        for _ in range(2000):
            self.link.run(200)
            new = self.link.read()
            got += new
            if len(got) >= expected and not self.link.pending_input:
                break
            quiet = 0 if new or self.link.pending_input else quiet + 200
            if quiet > self.quiet_limit:
                break
        self.link.run(settle)  # nothing more may come
        return bytes(got + self.link.read())

    @staticmethod
    def _explain(got, want):
        def show(wire):
            return [
                frame if isinstance(frame, FrameError) else (frame[0], frame[1][:24].hex())
                for frame in FrameDecoder().feed(wire)
            ]

        return f"gateware {show(got)}\nreference {show(want)}"

    def command(self, payload, sequence=None):
        return self.exchange(self.frame(payload, sequence))


def done_of(frames):
    sequence, payload = frames[-1]
    assert payload[0] == Reply.DONE
    return decode_done(payload)


def records_of(frames, fmt):
    stream = RecordStream(fmt.record_size)
    for _, payload in frames[:-1]:
        assert payload[0] == Reply.DATA
        assert len(payload) <= MAX_PAYLOAD
        stream.feed(payload[1:])
    assert stream.pending == 0
    return stream.records


def train(session, records):
    stored = 0
    for payload, count in append_frames(records, session.fmt.record_size):
        done = done_of(session.command(payload))
        assert done["code"] == 0
        assert done["stored"] == count
        stored += count
    return stored


def test_ports_are_as_documented():
    """The command processor between the deframer, the core and the framer, and its request
    side and APPEND batch parser: frames of bytes with their length in, record words to the
    core, its responses (a 300-byte record's length: 9 bits) back, reply packets out; a DONE
    or REJECTED request carries a flag, a code, a 16-bit stored count and a sequence number."""
    word = stream.Signature(RecordWord)
    frames = stream.Signature(FrameByte)
    response = data.StructLayout({"data": 8, "first": 1, "last": 1, "kind": 2, "length": 9})
    assert ReplyRequest == data.StructLayout(
        {"rejected": 1, "code": 8, "stored": 16, "sequence": 8}
    )
    assert PacketByte == data.StructLayout({"data": 8, "first": 1, "last": 1, "sequence": 8})
    assert BatchOutcome == data.StructLayout({"malformed": 1, "failed": 1, "drain": 1})
    processor, requests, batch = unused(
        CommandProcessor(VARIABLE), RequestSide(VARIABLE), AppendBatch(VARIABLE)
    )
    assert dict(processor.signature.members) == {
        "frames": In(frames),
        "rejections": In(rejection_signature()),
        "uart_error": In(1),
        "commands": Out(word),
        "responses": In(stream.Signature(response)),
        "core_idle": In(1),
        "packets": Out(stream.Signature(PacketByte)),
    }
    assert dict(requests.signature.members) == {
        "frames": In(frames),
        "rejections": In(rejection_signature()),
        "commands": Out(word),
        "replies": Out(stream.Signature(ReplyRequest)),
        "sequence": Out(8),
        "expected": Out(8),
        "seed": Out(64, init=DEFAULT_SEED),
        "sequence_error": Out(1),
        "core_idle": In(1),
        "reply_idle": In(1),
        "core_failed": In(1),
    }
    assert dict(batch.signature.members) == {
        "start": In(1),
        "clear": In(1),
        "bytes": In(stream.Signature(ParsedByte)),
        "more_in_frame": In(1),
        "commands": Out(word),
        "core_done": In(1),
        "core_failed": In(1),
        "stored": Out(16),
        "length_low": Out(7),
        "outcome": Out(stream.Signature(BatchOutcome)),
    }


@pytest.mark.parametrize("fmt", [VARIABLE, FIXED], ids=["variable", "fixed"])
def test_commands(fmt):
    """Every opcode, in the order a user would, with records that need escaping and (variable
    mode) two-byte lengths; samples span several DATA frames."""
    session = Session(fmt)
    rng = random.Random(1)
    if fmt.fixed:
        records = [bytes([0xC0, 0xDB, i]) for i in range(20)]
    else:
        records = [
            bytes([0xC0, 0xDB]) + bytes(rng.randrange(256) for _ in range(n))
            for n in (1, 5, 126, 127, 200, 3, 40)
        ]
    done = done_of(session.command(command_plain(Opcode.STATUS), sequence=99))
    assert done["records"] == 0 and done["expected"] == 0
    done = done_of(session.command(command_sample(5)))
    assert done["code"] == ErrorCode.EMPTY
    assert train(session, records) == len(records)
    frames = session.command(command_plain(Opcode.RECITE))
    assert records_of(frames, fmt) == records
    frames = session.command(command_sample(400))
    samples = records_of(frames, fmt)
    assert len(samples) == 400 and set(samples) <= set(records)
    assert len(frames) > 3  # several DATA frames
    # INDICES: 4 bytes an index in either mode, across DATA frames (200 indices: 800 bytes)
    frames = session.command(command_sample(200, indices=True))
    indices = records_of(frames, RecordFormat(4, record_size=4))  # parsed as 4-byte records
    assert len(indices) == 200 and len(frames) == 3  # two DATA frames and DONE
    assert {int.from_bytes(index, "little") for index in indices} == set(range(len(records)))
    session.command(command_seed(0x1234))
    done = done_of(session.command(command_sample(0)))
    assert done["seed"] == 0x1234 and done["code"] == 0
    session.command(command_plain(Opcode.CLEAR))
    done = done_of(session.command(command_plain(Opcode.STATUS)))
    assert done["records"] == 0 and done["bytes_used"] == 0


@pytest.mark.parametrize("fmt", [VARIABLE, FIXED], ids=["variable", "fixed"])
def test_bad_commands(fmt):
    """Unknown opcodes, wrong argument lengths, no opcode, malformed APPEND batches: each answers
    its code, runs nothing, and the next good command works."""
    session = Session(fmt)
    record = b"abc"
    train(session, [record])
    cases = [
        (bytes([0x00]), ErrorCode.BAD_COMMAND),
        (bytes([0x7F, 1, 2]), ErrorCode.BAD_COMMAND),
        (bytes([Opcode.SAMPLE, 1, 2]), ErrorCode.BAD_COMMAND),
        (bytes([Opcode.SEED]) + bytes(9), ErrorCode.BAD_COMMAND),
        (bytes([Opcode.CLEAR, 0]), ErrorCode.BAD_COMMAND),
        (bytes([Opcode.STATUS, 0]), ErrorCode.BAD_COMMAND),
        (b"", ErrorCode.MALFORMED),
    ]
    if not fmt.fixed:
        cases += [
            (bytes([Opcode.APPEND, 0]), ErrorCode.MALFORMED),  # zero length
            (bytes([Opcode.APPEND, 5, 1, 2]), ErrorCode.MALFORMED),  # past the end
            (bytes([Opcode.APPEND, 0x81]), ErrorCode.MALFORMED),  # cut-off varint
            (bytes([Opcode.APPEND, 0x80, 0x00, 1]), ErrorCode.MALFORMED),
            (bytes([Opcode.APPEND, 1, 9, 4, 1]), ErrorCode.MALFORMED),  # 1 stored, then bad
        ]
    else:
        cases += [(bytes([Opcode.APPEND, 1, 2, 3, 4]), ErrorCode.WRONG_SIZE)]  # 1 stored
    expected_records = 1
    for payload, code in cases:
        done = done_of(session.command(payload))
        assert done["code"] == code, payload.hex()
        expected_records += done["stored"]
        assert done["records"] == expected_records
    frames = session.command(command_plain(Opcode.RECITE))
    assert records_of(frames, fmt)[0] == record


@pytest.mark.parametrize("fmt", [VARIABLE, FIXED], ids=["variable", "fixed"])
def test_full_memory_in_a_batch(fmt):
    """A batch that overfills the memory: the records before the refusal are stored, the rest of
    the frame is not, and every stored record reads back intact."""
    session = Session(fmt)
    size = fmt.record_size or 100
    records = [bytes([i]) * size for i in range(fmt.byte_capacity // size + 3)]
    fits = fmt.byte_capacity // size if fmt.fixed else min(fmt.max_records, 640 // size)
    stored = 0
    for payload, _ in append_frames(records, fmt.record_size):
        done = done_of(session.command(payload))
        stored += done["stored"]
        if done["code"]:
            assert done["code"] == ErrorCode.FULL
            break
    assert stored == fits
    assert done["records"] == fits
    frames = session.command(command_plain(Opcode.RECITE))
    assert records_of(frames, fmt) == records[:fits]
    if not fmt.fixed:
        too_long = bytes(fmt.max_length + 1)
        session.command(command_plain(Opcode.CLEAR))
        ((payload, _),) = append_frames([b"ok", too_long], None)
        done = done_of(session.command(payload))
        assert (done["code"], done["stored"], done["records"]) == (ErrorCode.TOO_LONG, 1, 1)


def test_sequence_numbers():
    """Frames out of sequence are rejected and not run; STATUS runs with any number and does not
    move the expected one; the sequence number wraps at 256."""
    session = Session(FIXED)
    frames = session.command(command_plain(Opcode.CLEAR), sequence=5)
    assert frames == [(0, bytes([Reply.REJECTED, FrameError.SEQUENCE]))]
    done = done_of(session.command(command_plain(Opcode.STATUS), sequence=200))
    assert done["expected"] == 0 and done["sequence_errors"] == 1
    for _ in range(260):  # wrap around
        session.exchange(session.frame(command_sample(0)), settle=0)
    done = done_of(session.command(command_plain(Opcode.STATUS)))
    assert done["expected"] == 260 % 256


def test_corrupted_frames_answered():
    """Corrupted frames are answered REJECTED with their code and counted; nothing runs."""
    session = Session(VARIABLE)
    good = session.frame(command_plain(Opcode.CLEAR))
    body = bytearray(good)
    body[2] ^= 0x10  # the opcode
    cases = {
        FrameError.BAD_CRC: bytes(body),
        FrameError.SHORT: b"\xc0\x01\x02\xc0",
        FrameError.BAD_LENGTH: good[:-2] + b"\x00" + good[-2:],
        FrameError.BAD_ESCAPE: b"\xc0\x00\xdb\x01\x00\x00\x00\x00\xc0",
        FrameError.TOO_LONG: b"\xc0" + b"\x01" * 600 + b"\xc0",
    }
    for code, wire in cases.items():
        assert session.exchange(wire) == [(0, bytes([Reply.REJECTED, code]))]
    done = done_of(session.exchange(good))
    assert done["crc_errors"] == 1 and done["malformed_frames"] == 4
    assert done["expected"] == 1


def test_rejection_queued_behind_a_running_command():
    """A corrupted frame and a good one arrive while a long SAMPLE runs: the rejection is
    answered after the SAMPLE's DONE, and the good frame then runs from its first byte. (The
    gateware's DONE already counts the CRC error, the reference's not yet: timing.)"""
    session = Session(VARIABLE)
    train(session, [bytes([n]) * 20 for n in range(1, 9)])
    sample = session.frame(command_sample(40))
    corrupted = bytearray(session.frame(command_plain(Opcode.CLEAR), sequence=0))
    corrupted[2] ^= 0x10  # the opcode: the CRC fails
    status = session.frame(command_plain(Opcode.STATUS))
    wire = sample + bytes(corrupted) + status
    expected = session.reference.receive(wire)
    got = FrameDecoder().feed(session.answer(wire, len(expected)))
    want = FrameDecoder().feed(expected)
    # The reference counts the CRC error after the SAMPLE's DONE; the gateware counts it as the
    # frame arrives, during the SAMPLE: only that DONE's counter may differ.
    sample_done = [decode_done(frames[-3][1]) for frames in (got, want)]
    assert sample_done[0].pop("crc_errors") == 1 and sample_done[1].pop("crc_errors") == 0
    assert sample_done[0] == sample_done[1]
    del got[-3], want[-3]
    assert got == want
    replies = [payload[0] for _, payload in want[-2:]]
    assert replies == [Reply.REJECTED, Reply.DONE] and done_of(want)["crc_errors"] == 1


def test_rejection_answered_ahead_of_frames_queued_before_it():
    """A good frame, then a corrupted one, both behind a running SAMPLE: the gateware answers
    the rejection first, with the expected number from before the good frame runs (the
    protocol's REJECTED rule; the reference answers in wire order)."""
    session = Session(VARIABLE)
    train(session, [bytes([n]) * 20 for n in range(1, 9)])
    wire = session.frame(command_sample(40)) + session.frame(command_sample(1))
    corrupted = bytearray(session.frame(command_plain(Opcode.CLEAR), sequence=0))
    corrupted[2] ^= 0x10
    expected = session.reference.receive(wire + corrupted)
    got = FrameDecoder().feed(session.answer(wire + corrupted, len(expected)))
    want = FrameDecoder().feed(expected)
    # reference: ... DONE 1, DATA 2, DONE 2, REJECTED 3; gateware: ... DONE 1, REJECTED 2, DATA
    # 2, DONE 2, its DONEs counting the CRC error already
    assert got[:-4] == want[:-4] and got[-2] == want[-3]
    rejected = bytes([Reply.REJECTED, FrameError.BAD_CRC])
    assert (got[-3], want[-1]) == ((2, rejected), (3, rejected))
    for ours, theirs in ((got[-4], want[-4]), (got[-1], want[-2])):
        ours, theirs = decode_done(ours[1]), decode_done(theirs[1])
        assert (ours.pop("crc_errors"), theirs.pop("crc_errors")) == (1, 0) and ours == theirs


def test_backpressure_on_the_line():
    """The line taking the device's bytes with random pauses changes nothing."""
    session = Session(VARIABLE, stalls=Stalls("random", seed=3, rate=0.6))
    train(session, [b"x" * n for n in (1, 2, 130, 7)])
    records = records_of(session.command(command_sample(300)), VARIABLE)
    assert len(records) == 300


def test_timeout_and_overflow_never_hang():
    """A half frame is dropped after the idle timeout; a flood of frames while the device is
    busy overflows the frame buffer; both are counted and the device answers afterwards with
    every stored record intact."""
    session = Session(VARIABLE, idle_timeout=300)
    records = [bytes([i]) * 20 for i in range(10)]
    train(session, records)
    link = session.link
    link.write(session.frame(command_plain(Opcode.STATUS))[:6])  # half a frame, then silence
    link.run(1000)
    assert FrameDecoder().feed(link.read()) == [(session.sequence, bytes([2, 7]))]
    # Flood: a long SAMPLE keeps the device busy while 40 more frames arrive, all numbered as
    # the one after the SAMPLE: the first that finds room runs, the rest are rejected.
    sequence = session.sequence
    link.write(encode_frame(sequence, command_sample(500)))
    for _ in range(40):
        link.write(encode_frame((sequence + 1) & 0xFF, command_sample(1)))
    got = bytearray()
    for _ in range(60):
        link.run(500)
        got += link.read()
    kinds = [payload[0] for _, payload in FrameDecoder().feed(got)]
    assert Reply.REJECTED in kinds
    assert kinds.count(Reply.DONE) == 2  # the SAMPLE and one queued frame ran
    link.write(encode_frame((sequence + 2) & 0xFF, command_plain(Opcode.RECITE)))
    got = bytearray()
    for _ in range(20):
        link.run(500)
        got += link.read()
    answer = [frame for frame in FrameDecoder().feed(got) if frame[1][0] != Reply.REJECTED]
    done = decode_done(answer[-1][1])
    assert done["timeouts"] == 1 and done["overflows"] >= 1
    assert done["overflows"] + done["sequence_errors"] == 39
    assert records_of(answer, VARIABLE) == records


def test_every_length_and_count_at_its_boundary():
    """Through the command processor, each limit exactly and one either side, the gateware's
    answer equal to the model's byte for byte and its code the one the protocol names: the
    frame payload (507), the record length (300 here), the one-byte varint (127/128), the
    argument lengths of SAMPLE and SEED, and the memory's bytes and records."""
    session = Session(VARIABLE)
    limit = VARIABLE.max_length

    def append(*records):
        ((payload, _),) = append_frames(records, None)
        return session.command(payload)

    for size in (MAX_PAYLOAD - 4, MAX_PAYLOAD - 3):  # payload 506, 507: run, record too long
        assert done_of(append(bytes(size)))["code"] == ErrorCode.TOO_LONG
    # payload 508: a well-formed frame (length field and CRC right) one byte too long
    payload = bytes([Opcode.APPEND, 0x80 | 0x7D, 0x03]) + bytes(MAX_PAYLOAD - 2)
    body = bytes([session.sequence]) + payload + len(payload).to_bytes(2, "big")
    body += crc16(body).to_bytes(2, "big")
    wire = bytes([SLIP_END]) + body + bytes([SLIP_END])  # no byte of it needs escaping
    rejected = bytes([Reply.REJECTED, FrameError.TOO_LONG])
    assert session.exchange(wire) == [(session.sequence, rejected)]
    for size, code in ((limit + 1, ErrorCode.TOO_LONG), (limit, 0), (limit - 1, 0)):
        done = done_of(append(bytes([size & 0xFF]) * size))
        assert (done["code"], done["stored"]) == (code, int(code == 0))
    session.command(command_plain(Opcode.CLEAR))
    for size in (127, 128):  # the varint's one- and two-byte forms
        assert done_of(append(bytes([size]) * size))["stored"] == 1
    for arguments, opcode, good in ((3, Opcode.SAMPLE, 4), (4, Opcode.SAMPLE, 4),
                                    (5, Opcode.SAMPLE, 4), (3, Opcode.INDICES, 4),
                                    (4, Opcode.INDICES, 4), (5, Opcode.INDICES, 4),
                                    (7, Opcode.SEED, 8), (8, Opcode.SEED, 8),
                                    (9, Opcode.SEED, 8)):  # fmt: skip
        done = done_of(session.command(bytes([opcode]) + bytes(arguments)))  # SAMPLE 0, SEED 0
        assert done["code"] == (0 if arguments == good else ErrorCode.BAD_COMMAND)
    # bytes: 640 exactly fills the memory (127 + 128 + 300 + 84 + 1); one byte more is refused
    assert done_of(append(bytes(300), bytes(84)))["bytes_used"] == 639
    assert done_of(append(b"xy"))["code"] == ErrorCode.FULL
    done = done_of(append(b"z"))
    assert (done["code"], done["bytes_used"]) == (0, 640)
    assert done_of(append(b"!"))["code"] == ErrorCode.FULL
    # records: 24 slots exactly, then FULL with bytes to spare
    session.command(command_plain(Opcode.CLEAR))
    done = done_of(append(*[b"r"] * (VARIABLE.max_records - 1)))
    assert done["records"] == VARIABLE.max_records - 1
    assert done_of(append(b"s"))["records"] == VARIABLE.max_records
    done = done_of(append(b"t"))
    assert (done["code"], done["records"]) == (ErrorCode.FULL, VARIABLE.max_records)
    records = records_of(session.command(command_plain(Opcode.RECITE)), VARIABLE)
    assert records == [b"r"] * (VARIABLE.max_records - 1) + [b"s"]


def taking(stream, log, field):
    """A process that takes every transfer of ``stream`` and logs (clock, ``field(payload)``)."""

    async def process(ctx):
        ctx.set(stream.ready, 1)
        clock = 0
        while True:
            *_, valid, payload = await ctx.tick().sample(stream.valid, stream.payload)
            clock += 1
            if valid:
                log.append((clock, field(payload)))

    return process


@pytest.mark.parametrize("offset", range(-4, 5))
def test_a_rejection_beside_a_frames_first_byte(offset):
    """A rejection arriving within a few clocks of a frame's first byte, everything idle: the
    rejection is answered and the frame runs from its first byte (a STATUS, then its DONE)."""
    requests = RequestSide(VARIABLE)
    frame = bytes([9]) + command_plain(Opcode.STATUS)
    commands, replies = [], []
    processes = [
        taking(requests.commands, commands, lambda payload: payload.data),
        taking(requests.replies, replies, lambda payload: (payload.rejected, payload.code)),
    ]

    async def testbench(ctx):
        ctx.set(requests.core_idle, 1)
        ctx.set(requests.reply_idle, 1)
        position, start = 0, 8
        for clock in range(start + 60):
            sending = clock >= start and position < len(frame)
            ctx.set(requests.frames.valid, sending)
            if sending:
                ctx.set(requests.frames.payload, {"data": frame[position], "first": position == 0,
                        "last": position == len(frame) - 1, "length": len(frame)})  # fmt: skip
            ctx.set(requests.rejections.valid, clock == start + offset)
            ctx.set(requests.rejections.payload, FrameError.BAD_CRC)
            *_, ready = await ctx.tick().sample(requests.frames.ready)
            position += sending and ready
        assert bytes(byte for _, byte in commands) == command_plain(Opcode.STATUS)
        assert sorted(reply for _, reply in replies) == [(0, 0), (1, FrameError.BAD_CRC)]

    run_simulation(requests, testbench, processes=processes, name="reject_beside", clocks=500)


def test_status_waits_for_the_reply_side():
    """Once the core is done, the request side asks it for STATUS (the DONE's fields) only when
    the reply side has also finished: a STATUS run while a record's last byte is held would
    leave the core busy when that byte's frame asks whether the stream has ended."""
    requests = RequestSide(VARIABLE)
    frame = bytes([0]) + command_sample(3)  # sequence 0: the first one expected
    sent = []  # (clock, byte) of each command byte the core takes
    collector = taking(requests.commands, sent, lambda payload: payload.data)

    async def testbench(ctx):
        for index, byte in enumerate(frame):
            payload = {"data": byte, "first": index == 0, "last": index == len(frame) - 1,
                       "length": len(frame)}  # fmt: skip
            await stream_put(ctx, requests.frames, payload, patience=50)
        for _ in range(30):
            await ctx.tick()
        assert bytes(byte for _, byte in sent) == command_sample(3)
        ctx.set(requests.core_idle, 1)  # the core is done, the reply side is not
        for _ in range(50):
            await ctx.tick()
        assert len(sent) == len(command_sample(3))
        ctx.set(requests.reply_idle, 1)
        for _ in range(10):
            await ctx.tick()
        assert bytes(byte for _, byte in sent) == command_sample(3) + command_plain(Opcode.STATUS)

    run_simulation(requests, testbench, processes=[collector], name="status_wait", clocks=500)


def test_link_device_and_top_ports():
    """The device between byte streams (and the UART's error strobe, one bit), and the top level
    on two pins that idle high, its divisor register reset to clock / baud."""
    device, top = unused(LinkDevice(FIXED), MemGenTop(FIXED, 42_000_000, 3_000_000))
    unused(device.core, top.link, top.link.core)
    assert dict(device.signature.members) == {
        "rx_bytes": In(stream.Signature(8)),
        "tx_bytes": Out(stream.Signature(8)),
        "uart_error": In(1),
    }
    assert dict(top.signature.members) == {"rx": In(1, init=1), "tx": Out(1, init=1)}
    assert top.divisor == 14


def test_records_up_to_a_frame_and_no_longer():
    """Records of up to MAX_LINK_RECORD bytes fit a DATA frame; one byte more is refused."""
    for fmt in (RecordFormat(4096, max_records=8, max_length=MAX_LINK_RECORD),
                RecordFormat(4096, record_size=MAX_LINK_RECORD)):  # fmt: skip
        device = unused(LinkDevice(fmt))
        unused(device.core)
    for fmt in (RecordFormat(4096, max_records=8, max_length=MAX_LINK_RECORD + 1),
                RecordFormat(4096, record_size=MAX_LINK_RECORD + 1)):  # fmt: skip
        with refused_component(), pytest.raises(ValueError, match="do not fit a frame"):
            LinkDevice(fmt)


def test_a_framing_error_on_the_pin_is_counted():
    """The top level on its pins, 4 clocks a bit: a byte with a bad stop bit, then a STATUS
    frame; the DONE that comes back on the tx pin counts one UART error."""
    top = MemGenTop(FIXED, 4_000_000, 1_000_000)
    frame = encode_frame(0, command_plain(Opcode.STATUS))
    levels = line_levels([(0x55, 0)] + [(byte, 1) for byte in frame], 4)
    line = []

    async def testbench(ctx):
        for level in levels + [1] * 4000:
            ctx.set(top.rx, level)
            await ctx.tick()
            line.append(ctx.get(top.tx))

    run_simulation(top, testbench, name="top_pins")
    assert done_of(FrameDecoder().feed(line_bytes(line, 4)))["uart_errors"] == 1
