"""The link protocol's numbers against hdl/link/PROTOCOL.md, the document a host is written from:
a changed code or limit breaks every host and every flashed board, so each is pinned to the text
that users read, not to itself."""

import re
from pathlib import Path

import pytest
from memgen.hdl.engine.protocol import Opcode
from memgen.hdl.link import protocol
from memgen.hdl.link.protocol import DONE_FIELDS, FrameError, Reply

DOCUMENT = (Path(protocol.__file__).with_name("PROTOCOL.md")).read_text()


def section(number):
    """The text of the document's section ``## number.``."""
    (text,) = re.findall(rf"^## {number}\. .*?(?=^## |\Z)", DOCUMENT, re.MULTILINE | re.DOTALL)
    return text


def table(text, key):
    """``{name: key}`` of a table whose first column is ``key`` (a pattern) and second a name."""
    rows = re.findall(rf"^\| ({key}) +\| (\w+) +\|", text, re.MULTILINE)
    return {name: value for value, name in rows}


def test_frame_errors_are_the_documented_codes():
    documented = table(section(1), r"\d+")
    assert {name: int(code) for name, code in documented.items()} == {
        error.name: error.value for error in FrameError
    }


def test_replies_and_opcodes_are_the_documented_bytes():
    replies = table(section(4), r"`[0-9A-F]{2}`")
    assert {name: int(code.strip("`"), 16) for name, code in replies.items()} == {
        reply.name: reply.value for reply in Reply
    }
    opcodes = table(section(2), r"`[0-9A-F]{2}`")
    assert {name: int(code.strip("`"), 16) for name, code in opcodes.items()} == {
        opcode.name: opcode.value for opcode in Opcode
    }


def test_done_fields_are_the_documented_table():
    rows = re.findall(r"^\| (\d+) +\| (\d+) +\| (\w+) +\|", DOCUMENT, re.MULTILINE)
    documented = [(int(offset), int(size), name) for offset, size, name in rows]
    expected, offset = [(0, 1, "reply")], 1
    for name, size in DONE_FIELDS:
        expected.append((offset, size, name))
        offset += size
    assert documented == expected
    (payload,) = re.findall(r"DONE fields\*\* \((\d+)-byte payload", DOCUMENT)
    (after_reply,) = re.findall(r"DONE fields \(below\), (\d+) bytes", DOCUMENT)
    assert protocol.DONE_BYTES == offset == int(payload) == int(after_reply) + 1


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        ("MAX_PAYLOAD", r"payload  0\.\.(\d+) bytes"),
        ("MAX_BODY", r"is at most (\d+) bytes"),
        ("MAX_LINK_RECORD", r"A record must fit one frame:\nat most (\d+) bytes"),
        ("IDLE_TIMEOUT", r"quiet for ([\d,]+) clocks"),
    ],
)
def test_limits_are_the_documented_ones(name, pattern):
    (documented,) = re.findall(pattern, DOCUMENT)
    assert getattr(protocol, name) == int(documented.replace(",", ""))


def test_limits_follow_from_the_frame_layout():
    """A body is the sequence, the payload and 4 trailer bytes; an APPEND frame's longest record
    leaves room for its opcode and a two-byte length; a DATA frame's stream, for the reply."""
    assert protocol.MAX_BODY == 1 + protocol.MAX_PAYLOAD + 2 + 2 == protocol.FRAME_OVERHEAD + 507
    assert protocol.MAX_LINK_RECORD == protocol.MAX_PAYLOAD - 1 - 2
    assert 128 <= protocol.MAX_LINK_RECORD < 1 << 14  # its length is a two-byte varint
    (data_bytes,) = set(re.findall(r"(\d+) (?:stream )?bytes of the record stream", DOCUMENT))
    assert int(data_bytes) == protocol.MAX_PAYLOAD - 1


def test_slip_bytes_and_crc_are_the_documented_ones():
    assert (protocol.SLIP_END, protocol.SLIP_ESC) == (0xC0, 0xDB)
    assert (protocol.SLIP_ESC_END, protocol.SLIP_ESC_ESC) == (0xDC, 0xDD)
    assert "`C0` is sent as\n  `DB DC` and `DB` (ESC) as `DB DD`" in DOCUMENT
    assert protocol.crc16(b"123456789") == 0x29B1  # the catalogue's check value
    assert protocol.BAUD == 3_000_000 and "3 Mbaud" in DOCUMENT
