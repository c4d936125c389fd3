"""The command protocol of the MemGen core: opcodes, response kinds, error codes, status layout.

The gateware (:mod:`memgen.hdl.engine.core`) and the host (:mod:`memgen.host`) both import these
numbers; nothing else defines them. The link wraps these packets in frames
(:mod:`memgen.hdl.link.protocol`); the host encodes and decodes them (:mod:`memgen.host.codec`).

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

Responses are packets of bytes, each byte tagged with its packet's kind (a 2-bit field):

======  ====  ===============================================================
kind    code  packet
======  ====  ===============================================================
RECORD  0     the bytes of one sampled, recited or recalled record
STATUS  1     the status fields
ERROR   2     the error code byte (:class:`ErrorCode`), then the status fields
INDEX   3     one sampled index, u32
======  ====  ===============================================================

The status fields are :data:`STATUS_FIELDS`, little-endian, in order. Commands are answered in
order, so STATUS also serves as a barrier: when its answer arrives, every earlier command has
completed.
"""

import enum

__all__ = [
    "ARGUMENT_BYTES",
    "DEFAULT_SEED",
    "INDEX_BYTES",
    "MAX_RECALL_K",
    "RECALL_HEADER",
    "STATUS_BYTES",
    "STATUS_FIELDS",
    "ErrorCode",
    "Generator",
    "Opcode",
    "ResponseKind",
    "status_flags",
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


def status_flags(fixed, generator, word_bytes=1, lanes=1):
    """The status ``flags`` byte: bit 0 fixed-size mode, bits 1-2 the :class:`Generator`, bits
    3-5 log2 of the storage word's bytes (0 in a byte-wide core), bits 6-8 log2 of the sample
    lanes."""
    kind = Generator.LFSR if generator == "lfsr" else Generator.TRIVIUM
    log_width, log_lanes = word_bytes.bit_length() - 1, lanes.bit_length() - 1
    return int(fixed) | (kind << 1) | (log_width << 3) | (log_lanes << 6)


#: Status fields: (name, bytes). ``flags`` bit 0: fixed-size mode; bits 1-2: :class:`Generator`;
#: bits 3-5: log2 of the word's bytes; bits 6-8: log2 of the sample lanes.
STATUS_FIELDS = (
    ("records", 4),
    ("bytes_used", 4),
    ("record_capacity", 4),
    ("byte_capacity", 4),
    ("max_length", 4),
    ("flags", 2),
)
STATUS_BYTES = sum(size for _, size in STATUS_FIELDS)

#: Engine seed after reset, and the host's default seed.
DEFAULT_SEED = 0x5EED

#: Bytes of each index INDICES answers (little-endian, as RECALL's).
INDEX_BYTES = 4

#: Records a RECALL can ask for, and the bytes before each answered record (index, distance).
MAX_RECALL_K = 8
RECALL_HEADER = 6
