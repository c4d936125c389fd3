"""The command protocol of the MemGen core: opcodes, response kinds, error codes, status layout.

This is the one module that both the gateware (:mod:`memgen.hdl.core`) and the host
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


#: Argument bytes each opcode takes (APPEND takes the record, 1 byte or more).
ARGUMENT_BYTES = {
    Opcode.SAMPLE: 4,
    Opcode.RECITE: 0,
    Opcode.CLEAR: 0,
    Opcode.SEED: 8,
    Opcode.STATUS: 0,
}


class ResponseKind(enum.IntEnum):
    RECORD = 0  # the bytes of one sampled or recited record
    STATUS = 1
    ERROR = 2


class ErrorCode(enum.IntEnum):
    EMPTY = 1  # SAMPLE or RECITE with no records stored
    FULL = 2  # APPEND refused: no room for the record's bytes or no free record slot
    TOO_LONG = 3  # APPEND refused: longer than the maximum record length
    WRONG_SIZE = 4  # APPEND refused: fixed-size mode and the record is not the fixed size
    BAD_COMMAND = 5  # unknown opcode, wrong argument length, or empty record


class Generator(enum.IntEnum):
    SCRAMBLED = 0
    LFSR = 1


def status_flags(fixed, generator):
    """The status ``flags`` byte: bit 0 fixed-size mode, bits 1-2 the :class:`Generator`."""
    kind = Generator.LFSR if generator == "lfsr" else Generator.SCRAMBLED
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


def command_append(record):
    return bytes([Opcode.APPEND]) + bytes(record)


def command_sample(count):
    return bytes([Opcode.SAMPLE]) + int(count).to_bytes(4, "little")


def command_seed(seed):
    return bytes([Opcode.SEED]) + int(seed).to_bytes(8, "little")


def command_plain(opcode):
    """RECITE, CLEAR or STATUS: the opcode alone."""
    return bytes([opcode])


def encode_status(status):
    """Status fields (a mapping of :data:`STATUS_FIELDS` names) to bytes."""
    return b"".join(int(status[name]).to_bytes(size, "little") for name, size in STATUS_FIELDS)


def decode_status(payload):
    """Bytes of a STATUS packet (or an ERROR packet after its code byte) to a dict."""
    if len(payload) != STATUS_BYTES:
        raise ValueError(f"Status is {STATUS_BYTES} bytes, not {len(payload)}")
    status, offset = {}, 0
    for name, size in STATUS_FIELDS:
        status[name] = int.from_bytes(payload[offset : offset + size], "little")
        offset += size
    return status
