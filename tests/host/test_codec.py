"""The host codec: link framing (SLIP, sequence number, CRC-16/CCITT-FALSE) with a decoder that
always recovers, and the encoders and decoders of commands and status."""

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from memgen.hdl.engine.protocol import STATUS_BYTES, STATUS_FIELDS, Opcode, status_flags
from memgen.hdl.engine.records import RecordFormat
from memgen.hdl.link.protocol import (
    LINK_COUNTERS,
    MAX_PAYLOAD,
    SLIP_END,
    SLIP_ESC,
    FrameError,
    crc16,
)
from memgen.host.codec import (
    DeviceStatus,
    FrameDecoder,
    RecordStream,
    append_frames,
    command_append,
    command_plain,
    command_recall,
    command_sample,
    command_seed,
    decode_recall,
    decode_status,
    encode_frame,
    varint,
)

payloads = st.binary(max_size=MAX_PAYLOAD)
#: A DONE frame's fields but the flags, all 0 (an empty device).
EMPTY = dict.fromkeys(("records", "bytes_used", "record_capacity", "byte_capacity",
                       "max_length", "seed", "expected", *LINK_COUNTERS), 0)  # fmt: skip
sequences = st.integers(0, 255)


def test_crc_known_answers():
    assert crc16(b"123456789") == 0x29B1  # the catalogue check value of CRC-16/CCITT-FALSE
    assert crc16(b"") == 0xFFFF


def slip_escape(data):
    """Independent escaping for the known-answer test."""
    out = bytearray()
    for byte in data:
        out += {0xC0: b"\xdb\xdc", 0xDB: b"\xdb\xdd"}.get(byte, bytes([byte]))
    return bytes(out)


def test_escaping_known_answer():
    payload = bytes([SLIP_END, SLIP_ESC, 0x00])
    crc = crc16(bytes([0x01]) + payload + b"\x00\x03").to_bytes(2, "big")
    frame = encode_frame(0x01, payload)
    head = bytes([0xC0, 0x01, 0xDB, 0xDC, 0xDB, 0xDD, 0x00, 0x00, 0x03])
    assert frame == head + slip_escape(crc) + b"\xc0"
    assert FrameDecoder().feed(frame) == [(0x01, payload)]


@given(sequences, payloads)
def test_round_trip(sequence, payload):
    assert FrameDecoder().feed(encode_frame(sequence, payload)) == [(sequence, payload)]


@settings(max_examples=300, derandomize=True)
@given(st.binary(max_size=2000), sequences, payloads)
def test_garbage_never_crashes_and_the_next_good_frame_is_decoded(garbage, sequence, payload):
    decoder = FrameDecoder()
    results = decoder.feed(garbage) + decoder.feed(encode_frame(sequence, payload))
    assert results[-1] == (sequence, payload)
    assert all(isinstance(r, FrameError) or isinstance(r, tuple) for r in results)


@settings(max_examples=500, derandomize=True)
@given(sequences, payloads, st.data())
def test_corrupted_frame_is_rejected_and_the_link_recovers(sequence, payload, data):
    """Flip a bit, drop a byte or duplicate one: nothing but the original frame is ever accepted
    (single-bit errors: the CRC; inserted or dropped bytes: the length field), and the next
    frame decodes."""
    frame = bytearray(encode_frame(sequence, payload))
    position = data.draw(st.integers(1, len(frame) - 2))
    action = data.draw(st.sampled_from(["flip", "drop", "duplicate"]))
    if action == "flip":
        frame[position] ^= 1 << data.draw(st.integers(0, 7))
    elif action == "drop":
        del frame[position]
    else:
        frame.insert(position, frame[position])
    decoder = FrameDecoder()
    accepted = [r for r in decoder.feed(frame) if not isinstance(r, FrameError)]
    assert accepted in ([], [(sequence, payload)])
    assert decoder.feed(encode_frame(7, b"next")) == [(7, b"next")]


def test_specific_errors():
    decoder = FrameDecoder()
    assert decoder.feed(bytes([SLIP_END, SLIP_END])) == []  # idle fill
    assert decoder.feed(bytes([SLIP_END, 1, 2, SLIP_END])) == [FrameError.SHORT]
    long_claim = bytearray(encode_frame(3, b"abc"))
    long_claim[6] = 4  # the length trailer says 4; three payload bytes came
    assert decoder.feed(long_claim) == [FrameError.BAD_LENGTH]
    assert decoder.feed(bytes([SLIP_END, SLIP_ESC, 0x00, 1, 2, 3, SLIP_END])) == [
        FrameError.BAD_ESCAPE
    ]
    bad_crc = bytearray(encode_frame(3, b"abc"))
    bad_crc[2] ^= 0x01  # a payload byte
    assert decoder.feed(bad_crc) == [FrameError.BAD_CRC]
    oversize = bytes([SLIP_END]) + bytes(MAX_PAYLOAD + 10) + bytes([SLIP_END])
    assert decoder.feed(oversize) == [FrameError.TOO_LONG]
    assert decoder.feed(encode_frame(9, b"ok")) == [(9, b"ok")]


def test_single_bit_flips_are_all_detected():
    """CRC-16 detects every single-bit error: flip each bit of one frame's body in turn."""
    frame = encode_frame(0x42, b"memgen learns by heart")
    for position in range(1, len(frame) - 1):
        for bit in range(8):
            corrupted = bytearray(frame)
            corrupted[position] ^= 1 << bit
            results = FrameDecoder().feed(corrupted)
            assert all(isinstance(result, FrameError) for result in results), (position, bit)


def test_duplicated_trailing_zero_is_rejected():
    """The case that needs the length field: a frame whose CRC ends in 0x00."""
    sequence = next(n for n in range(256) if encode_frame(n, b"")[-2] == 0x00)
    frame = encode_frame(sequence, b"")
    duplicated = frame[:-1] + b"\x00" + frame[-1:]
    assert FrameDecoder().feed(duplicated) == [FrameError.BAD_LENGTH]


def test_protocol_document_example():
    """The byte-by-byte example in hdl/link/PROTOCOL.md is what the encoder sends."""
    from pathlib import Path

    document = (Path(__file__).resolve().parents[2] / "hdl" / "link" / "PROTOCOL.md").read_text()
    assert "C0 00 06 00 01 26 41 C0" in document
    assert encode_frame(0, b"\x06") == bytes.fromhex("C0 00 06 00 01 26 41 C0")


def test_recall_command_known_answers():
    """Opcode, k, the query, then the mask: all ones when none is given."""
    assert command_recall(b"ab") == bytes([Opcode.RECALL, 1]) + b"ab" + b"\xff\xff"
    assert command_recall(b"\x00", k=8, mask=b"\x0f") == bytes([Opcode.RECALL, 8, 0, 0x0F])


@pytest.mark.parametrize("size", [0, STATUS_BYTES - 1, STATUS_BYTES + 1])
def test_a_status_of_the_wrong_size_is_refused(size):
    with pytest.raises(ValueError, match=f"Status is {STATUS_BYTES} bytes, not {size}"):
        decode_status(bytes(size))
    assert decode_status(bytes(STATUS_BYTES)) == dict.fromkeys(
        (name for name, _ in STATUS_FIELDS), 0
    )


@pytest.mark.parametrize(
    "fmt", [RecordFormat(640, max_records=24, max_length=300), RecordFormat(240, record_size=3)]
)
def test_an_empty_device_status(fmt):
    """Before a device answers: nothing stored, its format's capacities, frame 0 expected, no
    link errors."""
    status = DeviceStatus.empty(fmt, generator="lfsr", seed=5)
    assert (status.records, status.bytes_used, status.expected) == (0, 0, 0)
    assert (status.record_capacity, status.byte_capacity) == (fmt.max_records, fmt.byte_capacity)
    assert (status.max_length, status.fixed_size) == (fmt.max_length, fmt.fixed)
    assert (status.generator, status.seed) == ("lfsr", 5)
    assert status.link_errors == dict.fromkeys(LINK_COUNTERS, 0)
    assert status.record_format == fmt
    with pytest.raises(dataclasses.FrozenInstanceError):  # a report, not a setting
        status.records = 1


def test_recall_answer_known_answers():
    """Entries of index (u32), distance (u16) and the record; a length that is not whole
    entries is refused."""
    answer = b"\x05\x00\x00\x00\x03\x00abc" + b"\x01\x01\x00\x00\x00\x01xyz"
    assert decode_recall(answer, 3) == [(5, 3, b"abc"), (257, 256, b"xyz")]
    assert decode_recall(b"", 3) == []
    # 1-byte records: entries 7 bytes apart, so an entry starts at odd offsets too
    answer = bytes.fromhex("02000000 0100 61  ffffffff 0800 62  00000001 ffff 63")
    assert decode_recall(answer, 1) == [
        (2, 1, b"a"),
        (0xFFFFFFFF, 8, b"b"),
        (1 << 24, 0xFFFF, b"c"),
    ]
    for size in (8, 10, 17, 19):
        with pytest.raises(ValueError, match=f"whole entries of 9 bytes, not {size}"):
            decode_recall(answer[:size] + bytes(max(0, size - len(answer))), 3)


@pytest.mark.parametrize("fixed", [False, True])
@pytest.mark.parametrize("generator", ["lfsr", "trivium"])
def test_status_flags_round_trip(fixed, generator):
    """The flags a device reports (fixed-size bit, generator in bits 1-2, log2 of the word in
    bits 3-5 and of the lanes in bits 6-8) read back."""
    status = DeviceStatus.from_done(EMPTY | {"flags": status_flags(fixed, generator)})
    assert (status.fixed_size, status.generator, status.word_bytes) == (fixed, generator, 1)
    for width in (2, 8, 64):
        status = DeviceStatus.from_done(EMPTY | {"flags": status_flags(fixed, generator, width)})
        assert (status.fixed_size, status.generator, status.word_bytes) == (fixed, generator, width)
    for width, lanes in ((1, 2), (4, 4), (64, 8), (1, 16), (64, 16)):
        flags = status_flags(fixed, generator, width, lanes)
        status = DeviceStatus.from_done(EMPTY | {"flags": flags})
        assert (status.fixed_size, status.word_bytes, status.lanes) == (fixed, width, lanes)


def test_the_flags_read_their_own_bits_alone():
    """Bits 9-15 of the flags (none yet) change no field read from the others."""
    for width, lanes in ((1, 1), (8, 2), (64, 16)):
        flags = status_flags(True, "lfsr", width, lanes) | 0xFE00
        status = DeviceStatus.from_done(EMPTY | {"flags": flags})
        assert (status.fixed_size, status.generator) == (True, "lfsr")
        assert (status.word_bytes, status.lanes) == (width, lanes)


def test_record_length_known_answers():
    """A length below 128 is one byte; up to 16383 two, the low seven bits first with the top
    bit set; 0 and 16384 are refused."""
    answers = {1: "01", 127: "7f", 128: "8001", 129: "8101", 255: "ff01", 16383: "ff7f"}
    for length, answer in answers.items():
        assert varint(length) == bytes.fromhex(answer)
    for length in (0, 16384):
        with pytest.raises(ValueError, match=f"1 to 16383, not {length}"):
            varint(length)


@pytest.mark.parametrize("max_payload", [16, 17])
@pytest.mark.parametrize("fixed", [False, True])
def test_appends_fill_frames_to_their_last_byte(max_payload, fixed):
    """A record fits a frame when it, the opcode and (variable records) its length do: a frame
    of exactly ``max_payload`` bytes is made, a record a byte or two longer is refused, whether
    the limit is odd or even."""
    room = max_payload - (1 if fixed else 2)  # the opcode; a one-byte varint
    for extra in (0, 1, 2):
        record = bytes(room + extra)
        frames = append_frames([record], len(record) if fixed else None, max_payload)
        if extra == 0:
            ((payload, count),) = frames
            assert len(payload) == max_payload and count == 1
        else:
            with pytest.raises(ValueError, match=f"of {len(record)} bytes does not fit"):
                list(frames)
    frames = list(append_frames([b"a" * room] * 3, room if fixed else None, max_payload))
    assert [(len(payload), count) for payload, count in frames] == [(max_payload, 1)] * 3


@given(st.lists(st.binary(min_size=1, max_size=300), max_size=6), st.data())
@settings(max_examples=60, deadline=None)
def test_a_record_stream_parses_records_however_the_bytes_are_cut(records, data):
    """Variable-length records (each after its varint) fed in pieces cut anywhere: each record
    once, whole, in order, and nothing left over."""
    stream = RecordStream()
    joined = b"".join(varint(len(record)) + record for record in records)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(joined)), max_size=8)))
    for start, stop in zip([0, *cuts], [*cuts, len(joined)], strict=True):
        stream.feed(joined[start:stop])
    assert stream.records == records
    assert stream.pending == 0
    for size in (127, 128):  # the two forms of the length, and the record cut after it
        stream = RecordStream()
        stream.feed(varint(size) + bytes(size - 1))
        assert stream.records == [] and stream.pending == size - 1 + len(varint(size))
        stream.feed(b"\x01")
        assert stream.records == [bytes(size - 1) + b"\x01"] and stream.pending == 0


@pytest.mark.parametrize(
    "record_format",
    [
        RecordFormat(64, max_records=8, word_bytes=4),
        RecordFormat(64, record_size=3, word_bytes=4),
        RecordFormat(64, record_size=1, word_bytes=8),
        RecordFormat(64, record_size=9, word_bytes=8),
        RecordFormat(64, max_records=8),
        RecordFormat(64, record_size=2, word_bytes=4, lanes=4),
    ],
)
def test_a_status_pads_records_as_its_device_does(record_format):
    """What a record adds to ``bytes_used``, from a status alone: the format's own padding; the
    format read back from the status is the device's."""
    status = DeviceStatus.empty(record_format)
    assert status.record_format == record_format
    for length in range(1, record_format.max_length + 1):
        assert status.stored_bytes(length) == record_format.stored_bytes(length)


def test_command_known_answers():
    """Each command's bytes by hand: the opcode, then its arguments little-endian."""
    assert command_append(b"xy") == b"\x01xy"
    assert command_sample(0x01020304) == b"\x02\x04\x03\x02\x01"
    assert command_sample(5, indices=True) == b"\x08\x05\x00\x00\x00"
    assert command_seed(0x0102030405060708) == b"\x05\x08\x07\x06\x05\x04\x03\x02\x01"
    assert command_plain(Opcode.STATUS) == b"\x06"
    assert DeviceStatus.empty(RecordFormat(16, record_size=4)).seed == 0
    assert DeviceStatus.empty(RecordFormat(16, record_size=4)).generator == "trivium"
