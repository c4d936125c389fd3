"""One dataset on a simulated device and on the reference model side by side, every answer
compared: the demo's three jobs (recite pi, sample the Zen, sample the cat's tiles)."""

import numpy as np
from memgen.hdl.engine.protocol import DEFAULT_SEED
from memgen.hdl.engine.records import RecordFormat
from memgen.host.driver import DeviceError, Driver
from memgen.host.transports import ReferenceTransport, open_transport

from .datasets import TILE, cat_tiles, pi_digits, zen_lines

__all__ = ["PI_RECORD", "Session", "VerificationError", "run_cat", "run_pi", "run_zen"]

#: Characters of pi per record: 2,048 records of 64 fill the iCEBreaker's 131,072 bytes exactly.
PI_RECORD = 64


class VerificationError(Exception):
    """The device answered differently from the reference model or the training data."""


class Session:
    """One dataset on a fresh simulated device and on the reference model, side by side."""

    def __init__(self, device, record_format=None, board=None, seed=DEFAULT_SEED):
        self.device = Driver(open_transport(device, record_format, board=board))
        self.reference = Driver(ReferenceTransport(board.record_format if board else record_format))
        self.drivers = (self.device, self.reference)
        for driver in self.drivers:
            driver.clear()
            driver.seed(seed)

    def train(self, records):
        """Train both; returns (records stored, the refusal's ErrorCode or None)."""
        outcomes = []
        for driver in self.drivers:
            try:
                driver.train(records)
                outcomes.append((len(records), None))
            except DeviceError as error:
                outcomes.append((error.stored, error.code))
        if outcomes[0] != outcomes[1]:
            raise VerificationError(
                f"the device stored {outcomes[0][0]} records, the reference {outcomes[1][0]}"
            )
        return outcomes[0]

    def ask(self, what, *arguments):
        """``sample``/``recite`` on both; the device's answer, checked equal to the reference's."""
        answer, expected = (getattr(driver, what)(*arguments) for driver in self.drivers)
        for number, (got, want) in enumerate(zip(answer, expected, strict=True)):
            if got != want:
                raise VerificationError(
                    f"{what} record {number}: device {got[:24]!r}, reference {want[:24]!r}"
                )
        return answer

    def close(self):
        for driver in self.drivers:
            driver.close()


def run_pi(device, digits, board, record_format, seed):
    """Pi on ``board``'s memory (or, without a board, a device of ``record_format``)."""
    text = pi_digits(digits)
    records = [text[i : i + PI_RECORD].encode() for i in range(0, len(text), PI_RECORD)]
    session = Session(device, record_format, board=board, seed=seed)
    try:
        stored, refusal = session.train(records)
        recited = b"".join(session.ask("recite")).decode()
    finally:
        session.close()
    if recited != text[: len(recited)] or len(recited) != len(b"".join(records[:stored])):
        raise VerificationError("the recitation differs from the training data")
    return {
        "text": text,
        "records": len(records),
        "stored": stored,
        "refusal": refusal,
        "recited": recited,
        "bytes": len(recited),
    }


def run_zen(device, samples, seed):
    lines = [line.encode() + b"\n" for line in zen_lines()]
    session = Session(device, RecordFormat(4096, max_records=64, max_length=128), seed=seed)
    try:
        session.train(lines)
        sampled = session.ask("sample", samples)
    finally:
        session.close()
    indices = np.array([lines.index(record) for record in sampled])
    return {"lines": lines, "sampled": sampled, "indices": indices}


def run_cat(device, samples, seed, scale=1):
    """The cat's tiles as fixed-size records in a memory just their size; ``samples`` of them
    (as many as there are tiles when None)."""
    tiles, rows, columns = cat_tiles(TILE, scale)
    records = [t.tobytes() for t in tiles]
    record_format = RecordFormat(len(records) * len(records[0]), record_size=len(records[0]))
    session = Session(device, record_format, seed=seed)
    try:
        stored, refusal = session.train(records)
        sampled = session.ask("sample", len(records) if samples is None else samples)
    finally:
        session.close()
    if refusal is not None:
        raise VerificationError(f"the tiles did not fit: {refusal.name} after {stored}")
    training = set(records)
    if any(record not in training for record in sampled):
        raise VerificationError("a sampled tile is not a training tile")
    return {"tiles": tiles, "rows": rows, "columns": columns, "sampled": sampled}
