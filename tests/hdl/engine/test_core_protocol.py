"""The core's protocol numbers against the text users read: the command and response tables of
the module's own documentation, and the error codes, status flags and reset seed of
hdl/link/PROTOCOL.md. Gateware and host import the same constants, so a changed one passes every
round trip; only the documents pin them."""

import re
from pathlib import Path

import pytest
from memgen.hdl.engine import protocol
from memgen.hdl.engine.protocol import (
    ARGUMENT_BYTES,
    DEFAULT_SEED,
    INDEX_BYTES,
    MAX_RECALL_K,
    RECALL_HEADER,
    ErrorCode,
    Generator,
    Opcode,
    ResponseKind,
    status_flags,
)

LINK_DOCUMENT = (Path(protocol.__file__).parents[1] / "link" / "PROTOCOL.md").read_text()
WIDTHS = {"none": 0, "n: u32": 4, "seed: u64 (0 is mapped)": 8}


def test_opcodes_and_argument_bytes_are_the_documented_ones():
    rows = re.findall(r"^([A-Z]+) +0x([0-9A-F]{2})  +(.+?)  +", protocol.__doc__, re.MULTILINE)
    assert {name: int(code, 16) for name, code, _ in rows} == {op.name: op.value for op in Opcode}
    widths = {Opcode[name]: WIDTHS[arguments] for name, _, arguments in rows
              if arguments in WIDTHS}  # fmt: skip
    assert widths == ARGUMENT_BYTES


def test_response_kinds_are_the_documented_codes():
    rows = re.findall(r"^([A-Z]+) +(\d) +\S", protocol.__doc__, re.MULTILINE)
    assert {name: int(code) for name, code in rows} == {kind.name: kind.value
                                                         for kind in ResponseKind}  # fmt: skip
    assert "one sampled index, u32" in protocol.__doc__ and INDEX_BYTES == 4


def test_error_codes_are_the_documented_ones():
    (text,) = re.findall(r"\*\*Error codes\*\*.*?\n\n(.*?)(?:\n\n|\Z)", LINK_DOCUMENT, re.DOTALL)
    rows = re.findall(r"^\| (\d+) +\| (\w+) +\|", text, re.MULTILINE)
    assert {name: int(code) for code, name in rows} == {code.name: code.value
                                                        for code in ErrorCode}  # fmt: skip


def test_flags_seed_and_recall_layout_are_the_documented_ones():
    (lfsr, trivium) = re.findall(r"generator \((\d) LFSR, (\d) Trivium", LINK_DOCUMENT)[0]
    assert (Generator.LFSR, Generator.TRIVIUM) == (int(lfsr), int(trivium))
    (seed,) = re.findall(r"after reset: (0x[0-9A-F]+)", LINK_DOCUMENT)
    assert DEFAULT_SEED == int(seed, 16)
    assert "`index: u32 | distance: u16 | the record`" in LINK_DOCUMENT
    assert RECALL_HEADER == 4 + 2
    assert "`k`: u8 (1 to 8)" in LINK_DOCUMENT and MAX_RECALL_K == 8


@pytest.mark.parametrize(
    ("fixed", "generator", "flags"),
    [(False, "lfsr", 0b010), (True, "lfsr", 0b011), (False, "trivium", 0b100),
     (True, "trivium", 0b101)],
)  # fmt: skip
def test_status_flags_known_answers(fixed, generator, flags):
    """Bit 0 the fixed-size mode, bits 1-2 the generator, bits 3-5 log2 of the word's bytes,
    bits 6-8 log2 of the lanes (a second byte for sixteen)."""
    assert status_flags(fixed, generator) == flags
    assert status_flags(fixed, generator, 1) == flags
    assert status_flags(fixed, generator, 2) == flags | 0b001_000
    assert status_flags(fixed, generator, 64) == flags | 0b110_000
    assert status_flags(fixed, generator, 1, 2) == flags | 0b01_000_000
    assert status_flags(fixed, generator, 4, 8) == flags | 0b11_010_000
    assert status_flags(fixed, generator, 64, 16) == flags | 0b100_110_000
    assert "bits 3-5: log2 of the storage word's bytes" in LINK_DOCUMENT
    assert "bits 6-8: log2 of the sample lanes" in LINK_DOCUMENT
