"""The host's codec of the protocol: command packets, frames, DONE and status fields, records.

Byte-level encoders and decoders for what :mod:`memgen.hdl.engine.protocol` (core packets) and
:mod:`memgen.hdl.link.protocol` (frames) define; the driver, the reference models and the test
benches use them. Frames are ``END escaped(sequence | payload | length | crc) END`` (SLIP,
RFC 1055); APPEND batches carry varint lengths in variable-length mode.
"""

from dataclasses import dataclass

from memgen.hdl.engine.protocol import (
    RECALL_HEADER,
    STATUS_BYTES,
    STATUS_FIELDS,
    Generator,
    Opcode,
)
from memgen.hdl.engine.records import RecordFormat, padded_length
from memgen.hdl.link.protocol import (
    DONE_BYTES,
    DONE_FIELDS,
    FRAME_OVERHEAD,
    LINK_COUNTERS,
    MAX_BODY,
    MAX_LINK_RECORD,
    MAX_PAYLOAD,
    SLIP_END,
    SLIP_ESC,
    SLIP_ESC_END,
    SLIP_ESC_ESC,
    FrameError,
    Reply,
    crc16,
)

__all__ = [
    "DeviceStatus",
    "RecordStream",
    "FrameDecoder",
    "append_frames",
    "command_append",
    "command_plain",
    "command_recall",
    "command_sample",
    "command_seed",
    "decode_done",
    "decode_recall",
    "decode_status",
    "encode_done",
    "encode_frame",
    "encode_status",
    "varint",
]


def command_append(record):
    return bytes([Opcode.APPEND]) + bytes(record)


def command_sample(count, indices=False):
    """SAMPLE ``count`` records, or with ``indices`` INDICES: their indices instead."""
    opcode = Opcode.INDICES if indices else Opcode.SAMPLE
    return bytes([opcode]) + int(count).to_bytes(4, "little")


def command_seed(seed):
    return bytes([Opcode.SEED]) + int(seed).to_bytes(8, "little")


def command_recall(query, k=1, mask=None):
    """RECALL: the ``k`` stored records nearest ``query`` in Hamming distance over the bits set
    in ``mask`` (all bits when ``None``). ``query`` and ``mask`` are one record long."""
    query = bytes(query)
    mask = bytes([0xFF]) * len(query) if mask is None else bytes(mask)
    return bytes([Opcode.RECALL, k]) + query + mask


def decode_recall(data, record_size):
    """A RECALL answer's bytes: ``[(index, distance, record), ...]``, nearest first."""
    step = RECALL_HEADER + record_size
    if len(data) % step:
        raise ValueError(f"A RECALL answer is whole entries of {step} bytes, not {len(data)}")
    return [
        (
            int.from_bytes(data[at : at + 4], "little"),
            int.from_bytes(data[at + 4 : at + 6], "little"),
            bytes(data[at + RECALL_HEADER : at + step]),
        )
        for at in range(0, len(data), step)
    ]


def command_plain(opcode):
    """RECITE, CLEAR or STATUS: the opcode alone."""
    return bytes([opcode])


def encode_status(status):
    """Status fields (a mapping of :data:`STATUS_FIELDS` names) to bytes."""
    return b"".join(int(status[name]).to_bytes(size, "little") for name, size in STATUS_FIELDS)


def _unpack(data, fields):
    """Little-endian fields, (name, size) in order, from ``data`` to a dict."""
    values, offset = {}, 0
    for name, size in fields:
        values[name] = int.from_bytes(data[offset : offset + size], "little")
        offset += size
    return values


def decode_status(payload):
    """Bytes of a STATUS packet (or an ERROR packet after its code byte) to a dict."""
    if len(payload) != STATUS_BYTES:
        raise ValueError(f"Status is {STATUS_BYTES} bytes, not {len(payload)}")
    return _unpack(payload, STATUS_FIELDS)


def encode_frame(sequence, payload):
    """The bytes on the wire for one frame."""
    payload = bytes(payload)
    if not 0 <= sequence <= 0xFF:
        raise ValueError(f"Sequence number must be 0 to 255, not {sequence}")
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"Frame payload is at most {MAX_PAYLOAD} bytes, not {len(payload)}")
    body = bytes([sequence]) + payload + len(payload).to_bytes(2, "big")
    body += crc16(body).to_bytes(2, "big")
    escaped = body.replace(bytes([SLIP_ESC]), bytes([SLIP_ESC, SLIP_ESC_ESC])).replace(
        bytes([SLIP_END]), bytes([SLIP_ESC, SLIP_ESC_END])
    )
    return bytes([SLIP_END]) + escaped + bytes([SLIP_END])


class FrameDecoder:
    """Turns received bytes into frames, whatever arrives.

    :meth:`feed` returns, in order, a ``(sequence, payload)`` tuple for every good frame and a
    :class:`FrameError` for every rejected one. Empty frames (END END) are idle fill, not errors.
    Nothing that arrives can make it raise or lose the next good frame.
    """

    def __init__(self):
        self._body = bytearray()
        self._escaped = False
        self._error = None

    def feed(self, data):
        results = []
        for byte in bytes(data):
            if byte == SLIP_END:
                result = self._finish()
                if result is not None:
                    results.append(result)
                continue
            if self._error is not None:
                continue
            if self._escaped:
                self._escaped = False
                if byte == SLIP_ESC_END:
                    byte = SLIP_END
                elif byte == SLIP_ESC_ESC:
                    byte = SLIP_ESC
                else:
                    self._error = FrameError.BAD_ESCAPE
                    continue
            elif byte == SLIP_ESC:
                self._escaped = True
                continue
            if len(self._body) == MAX_BODY:
                self._error = FrameError.TOO_LONG
                continue
            self._body.append(byte)
        return results

    def _finish(self):
        body, error = bytes(self._body), self._error
        if error is None and self._escaped:
            error = FrameError.BAD_ESCAPE  # ESC right before END
        self._body.clear()
        self._escaped = False
        self._error = None
        if error is not None:
            return error
        if not body:
            return None
        if len(body) < FRAME_OVERHEAD:
            return FrameError.SHORT
        if int.from_bytes(body[-4:-2], "big") != len(body) - FRAME_OVERHEAD:
            return FrameError.BAD_LENGTH
        if crc16(body[:-2]) != int.from_bytes(body[-2:], "big"):
            return FrameError.BAD_CRC
        return body[0], body[1:-4]


def varint(length):
    """The varint bytes of a record length (1 to 16383)."""
    if not 0 < length < 1 << 14:
        raise ValueError(f"Record length must be 1 to 16383, not {length}")
    if length < 0x80:
        return bytes([length])
    return bytes([0x80 | (length & 0x7F), length >> 7])


def append_frames(records, record_size=None, max_payload=MAX_PAYLOAD):
    """Split ``records`` into APPEND frame payloads; yields ``(payload, records in it)``.

    Fixed-size mode (``record_size`` set) packs records back to back; variable mode prefixes each
    with its varint length.
    """
    payload, count = bytearray([Opcode.APPEND]), 0
    for record in records:
        record = bytes(record)
        encoded = record if record_size is not None else varint(len(record)) + record
        if len(encoded) + 1 > max_payload:
            raise ValueError(
                f"A record of {len(record)} bytes does not fit a frame "
                f"(at most {MAX_LINK_RECORD} bytes)"
            )
        if len(payload) + len(encoded) > max_payload:
            yield bytes(payload), count
            payload, count = bytearray([Opcode.APPEND]), 0
        payload += encoded
        count += 1
    if count:
        yield bytes(payload), count


def decode_done(payload):
    """A DONE frame's payload (Reply byte included) to a dict of :data:`DONE_FIELDS`."""
    if len(payload) != DONE_BYTES or payload[0] != Reply.DONE:
        raise ValueError(f"Not a DONE frame: {bytes(payload[:8]).hex()}...")
    return _unpack(payload[1:], DONE_FIELDS)


def encode_done(fields):
    return bytes([Reply.DONE]) + b"".join(
        int(fields[name]).to_bytes(size, "little") for name, size in DONE_FIELDS
    )


class RecordStream:
    """Parses the concatenated DATA payloads of one SAMPLE or RECITE back into records."""

    def __init__(self, record_size=None):
        self.record_size = record_size
        self.records = []
        self._buffer = bytearray()

    def feed(self, data):
        self._buffer += data
        buffer, position = self._buffer, 0
        while True:
            if self.record_size is not None:
                start, length = position, self.record_size
            else:
                if position >= len(buffer):
                    break
                length, start = buffer[position], position + 1
                if length & 0x80:
                    if start >= len(buffer):
                        break
                    length, start = (length & 0x7F) | (buffer[start] << 7), start + 1
            if start + length > len(buffer):
                break
            self.records.append(bytes(buffer[start : start + length]))
            position = start + length
        del buffer[:position]

    @property
    def pending(self):
        """Bytes of an incomplete record at the end (0 after a complete stream)."""
        return len(self._buffer)


@dataclass(frozen=True)
class DeviceStatus:
    """What a device reports about itself in every DONE frame."""

    records: int  # stored
    bytes_used: int
    record_capacity: int
    byte_capacity: int
    max_length: int  # the longest record; the size of every record when fixed_size
    fixed_size: bool
    generator: str  # "trivium" or "lfsr"
    seed: int  # the last seed set
    expected: int  # the sequence number of the next frame the device runs
    link_errors: dict  # the link's error counters (CRC, framing, overflow, ...)
    word_bytes: int = 1  # bytes per storage word: records start on word boundaries
    lanes: int = 1  # sample lanes: sample j comes from lane j mod lanes

    def stored_bytes(self, length):
        """What a record of ``length`` bytes adds to ``bytes_used``, its padding included."""
        return padded_length(length, self.word_bytes, self.max_length if self.fixed_size else None)

    @classmethod
    def from_done(cls, done):
        """From the fields of a DONE frame (:func:`decode_done`)."""
        flags = done["flags"]
        return cls(
            records=done["records"],
            bytes_used=done["bytes_used"],
            record_capacity=done["record_capacity"],
            byte_capacity=done["byte_capacity"],
            max_length=done["max_length"],
            fixed_size=bool(flags & 1),
            generator="lfsr" if (flags >> 1) & 3 == Generator.LFSR else "trivium",
            seed=done["seed"],
            expected=done["expected"],
            link_errors={name: done[name] for name in LINK_COUNTERS},
            word_bytes=1 << ((flags >> 3) & 7),
            lanes=1 << ((flags >> 6) & 7),
        )

    @classmethod
    def empty(cls, record_format, generator="trivium", seed=0):
        """An empty device of ``record_format``, before it answers (or is built)."""
        return cls(
            records=0,
            bytes_used=0,
            record_capacity=record_format.max_records,
            byte_capacity=record_format.byte_capacity,
            max_length=record_format.max_length,
            fixed_size=record_format.fixed,
            generator=generator,
            seed=seed,
            expected=0,
            link_errors=dict.fromkeys(LINK_COUNTERS, 0),
            word_bytes=record_format.word_bytes,
            lanes=record_format.lanes,
        )

    @property
    def record_size(self):
        """The fixed record size, or None for variable-length records."""
        return self.max_length if self.fixed_size else None

    @property
    def record_format(self):
        shape = {"word_bytes": self.word_bytes, "lanes": self.lanes}
        if self.fixed_size:
            return RecordFormat(self.byte_capacity, record_size=self.max_length, **shape)
        return RecordFormat(
            self.byte_capacity,
            max_records=self.record_capacity,
            max_length=self.max_length,
            **shape,
        )
