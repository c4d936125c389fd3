"""The link protocol: frames on the byte stream, their replies, DONE's fields and the counters.

The numbers the deframer, command processor and framer (:mod:`memgen.hdl.link`) and the host
(:mod:`memgen.host.codec`, :mod:`memgen.host.driver`) share; `PROTOCOL.md` beside this file
describes them byte by byte. The packets inside the frames are the core's
(:mod:`memgen.hdl.engine.protocol`).
"""

import enum

from ..engine.protocol import STATUS_FIELDS

__all__ = [
    "BAUD",
    "IDLE_TIMEOUT",
    "DONE_BYTES",
    "DONE_FIELDS",
    "FRAME_OVERHEAD",
    "LINK_COUNTERS",
    "MAX_BODY",
    "MAX_LINK_RECORD",
    "MAX_PAYLOAD",
    "SLIP_END",
    "SLIP_ESC",
    "SLIP_ESC_END",
    "SLIP_ESC_ESC",
    "FrameError",
    "Reply",
    "crc16",
]

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

#: The line rate of every board's UART, and the host's default.
BAUD = 3_000_000
#: Clocks without a byte inside a frame after which the device drops it (TIMEOUT).
IDLE_TIMEOUT = 100_000

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
