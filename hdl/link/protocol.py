"""The command protocol of the MemGen core: opcodes, response kinds, error codes, status layout.

This is the one module that both the gateware (:mod:`memgen.hdl.engine.core`) and the host
(:mod:`memgen.host`) import; nothing else defines these numbers.

Commands arrive as packets of bytes (``first``/``last`` flags mark the packet); the first byte is
the opcode, the rest its arguments, little-endian:

============  ======  ===========================  ==========================================
command       opcode  arguments                    response
============  ======  ===========================  ==========================================
APPEND        0x01    the record's bytes (>= 1)    nothing; ERROR on refusal
SAMPLE        0x02    n: u32                       n RECORD packets; ERROR EMPTY if no records
RECITE        0x03    none                         every record in order; ERROR EMPTY if none
CLEAR         0x04    none                         nothing
SEED          0x05    seed: u64 (0 is mapped)      nothing
STATUS        0x06    none                         one STATUS packet
RECALL        0x07    k: u8, query, mask           min(k, N) RECORD packets (fixed-size only)
INDICES       0x08    n: u32                       n INDEX packets (index: u32); as SAMPLE
============  ======  ===========================  ==========================================

Responses are packets of bytes tagged with a :class:`ResponseKind`. An ERROR packet is the error
code byte followed by the status fields; a STATUS packet is the status fields alone
(:data:`STATUS_FIELDS`, little-endian, in order). Commands are answered in order, so STATUS also
serves as a barrier: when its answer arrives, every earlier command has completed.
"""

import enum

__all__ = [
    "Opcode",
    "ResponseKind",
    "ErrorCode",
    "Generator",
    "STATUS_FIELDS",
    "STATUS_BYTES",
    "DEFAULT_SEED",
]


class Opcode(enum.IntEnum):
    APPEND = 0x01
    SAMPLE = 0x02
    RECITE = 0x03
    CLEAR = 0x04
    SEED = 0x05
    STATUS = 0x06
    RECALL = 0x07  # k, query, mask (fixed-size records): the k nearest records
    INDICES = 0x08  # n: the indices SAMPLE n would read, from the same stream


#: Argument bytes each opcode takes (APPEND takes the record, 1 byte or more).
ARGUMENT_BYTES = {
    Opcode.SAMPLE: 4,
    Opcode.INDICES: 4,
    Opcode.RECITE: 0,
    Opcode.CLEAR: 0,
    Opcode.SEED: 8,
    Opcode.STATUS: 0,
}


class ResponseKind(enum.IntEnum):
    RECORD = 0  # the bytes of one sampled or recited record
    STATUS = 1
    ERROR = 2
    INDEX = 3  # one sampled index, u32


class ErrorCode(enum.IntEnum):
    EMPTY = 1  # SAMPLE, RECITE or RECALL with no records stored
    FULL = 2  # APPEND refused: no room for the record's bytes or no free record slot
    TOO_LONG = 3  # APPEND refused: longer than the maximum record length
    WRONG_SIZE = 4  # APPEND refused: fixed-size mode and the record is not the fixed size
    BAD_COMMAND = 5  # unknown opcode, wrong argument length, or empty record
    MALFORMED = 6  # link only: APPEND lengths that do not parse, or a frame with no opcode


class Generator(enum.IntEnum):
    # 0 was the retired LFSR-plus-scrambler engine
    LFSR = 1
    TRIVIUM = 2


def status_flags(fixed, generator):
    """The status ``flags`` byte: bit 0 fixed-size mode, bits 1-2 the :class:`Generator`."""
    kind = Generator.LFSR if generator == "lfsr" else Generator.TRIVIUM
    return int(fixed) | (kind << 1)


#: Status fields: (name, bytes). ``flags`` bit 0: fixed-size mode; bits 1-2: :class:`Generator`.
STATUS_FIELDS = (
    ("records", 4),
    ("bytes_used", 4),
    ("record_capacity", 4),
    ("byte_capacity", 4),
    ("max_length", 4),
    ("flags", 1),
)
STATUS_BYTES = sum(size for _, size in STATUS_FIELDS)

#: Engine seed after reset, and the host's default seed.
DEFAULT_SEED = 0x5EED

#: Bytes of each index INDICES answers (little-endian, as RECALL's).
INDEX_BYTES = 4


def command_append(record):
    return bytes([Opcode.APPEND]) + bytes(record)


def command_sample(count, indices=False):
    """SAMPLE ``count`` records, or with ``indices`` INDICES: their indices instead."""
    opcode = Opcode.INDICES if indices else Opcode.SAMPLE
    return bytes([opcode]) + int(count).to_bytes(4, "little")


def command_seed(seed):
    return bytes([Opcode.SEED]) + int(seed).to_bytes(8, "little")


#: Records a RECALL can ask for, and the bytes before each answered record (index, distance).
MAX_RECALL_K = 8
RECALL_HEADER = 6


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


# Link layer -------------------------------------------------------------------------------------
#
# A frame on the wire is ``END escaped(body) END`` with SLIP delimiting (RFC 1055): END (0xC0)
# bytes inside the body are sent as ESC ESC_END, ESC (0xDB) as ESC ESC_ESC. The body is
# ``sequence (1 byte) | payload | length (2 bytes) | crc (2 bytes)``, big-endian, ``length``
# counting the payload bytes and the CRC being CRC-16/CCITT-FALSE (polynomial 0x1021, initial
# value 0xFFFF, no reflection, no final XOR) over everything before it. The length field matters:
# without a final XOR, crc(m + crc(m)) == 0, so for the 1 frame in 256 whose CRC ends in 0x00 a
# duplicated last byte would pass the CRC; with the length checked, every inserted or dropped
# byte is rejected. It is a trailer so that both ends stream: a gateware framer counts and
# escapes byte by byte with no buffer. A receiver that sees garbage resynchronises at the next
# END. SLIP costs 2 bytes in 256 on random data.

SLIP_END = 0xC0
SLIP_ESC = 0xDB
SLIP_ESC_END = 0xDC
SLIP_ESC_ESC = 0xDD
#: Longest payload of one frame; the body (sequence, payload, length, CRC) fits 512 bytes.
MAX_PAYLOAD = 507
FRAME_OVERHEAD = 5
MAX_BODY = MAX_PAYLOAD + FRAME_OVERHEAD


def crc16(data, crc=0xFFFF):
    """CRC-16/CCITT-FALSE of ``data`` (check value of b"123456789": 0x29B1)."""
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


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


class FrameError(enum.IntEnum):
    """Why a frame was rejected (host decoder and gateware deframer alike)."""

    BAD_ESCAPE = 1  # ESC followed by something other than ESC_END or ESC_ESC
    SHORT = 2  # shorter than the header and CRC
    BAD_LENGTH = 3  # the length field does not match the frame
    BAD_CRC = 4
    TOO_LONG = 5  # body longer than MAX_BODY
    OVERFLOW = 6  # gateware only: no room in the frame buffer
    TIMEOUT = 7  # gateware only: the line went idle in the middle of a frame
    SEQUENCE = 8  # command processor: not the expected sequence number, not executed


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


# Command layer over frames ------------------------------------------------------------------
#
# A host frame's payload is ``opcode | arguments``. APPEND carries a batch of records: in
# variable-length mode each as ``length (varint) | bytes``, in fixed-size mode the records back to
# back (``record_size`` bytes each). The other opcodes take the core's arguments (above).
#
# The device answers each executed frame with zero or more DATA frames (the record stream of
# SAMPLE or RECITE) and then exactly one DONE frame, all carrying the request's sequence number.
# Frames the device cannot execute get a REJECTED frame instead.
#
# Sequence numbers: the device executes a frame only if its sequence number is the one it
# expects (then it expects the next, modulo 256); any other is rejected with SEQUENCE and not
# executed, so nothing runs twice or out of order (go-back-N). STATUS is the exception: it runs
# whatever its sequence number and does not move the expected one, so a host uses it to
# synchronise and as a barrier.
#
# Varint: lengths below 128 are one byte; 128 to 16383 are two, ``0x80 | (length & 0x7F)`` then
# ``length >> 7``.


class Reply(enum.IntEnum):
    """First payload byte of every device frame."""

    DATA = 0x00  # record stream bytes of SAMPLE or RECITE
    DONE = 0x01  # a command finished: DONE_FIELDS
    REJECTED = 0x02  # a frame was not executed: code (a FrameError), expected sequence


#: Link error counters in a DONE frame, 16 bits each, saturating.
LINK_COUNTERS = (
    "crc_errors",  # BAD_CRC
    "malformed_frames",  # BAD_ESCAPE, SHORT, BAD_LENGTH, TOO_LONG
    "overflows",  # OVERFLOW: frames lost because the device was behind
    "timeouts",  # TIMEOUT
    "sequence_errors",  # frames not executed for their sequence number
    "uart_errors",  # UART framing errors (break included) and overruns
)

#: DONE frame payload after the Reply byte: (name, bytes), little-endian. ``code`` is 0 or an
#: :class:`ErrorCode`; ``stored`` counts the records of this frame that were appended (APPEND);
#: then the core's status; ``expected`` is the next sequence number the device will execute;
#: ``seed`` the last seed set; then the link counters.
DONE_FIELDS = (
    ("code", 1),
    ("stored", 2),
    *STATUS_FIELDS,
    ("expected", 1),
    ("seed", 8),
    *((name, 2) for name in LINK_COUNTERS),
)
DONE_BYTES = 1 + sum(size for _, size in DONE_FIELDS)

#: The longest record an APPEND frame can carry (opcode and a two-byte varint besides).
MAX_LINK_RECORD = MAX_PAYLOAD - 3


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
