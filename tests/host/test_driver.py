"""The host driver against the simulated gateware (the ``sim`` transport), with the software
model (the ``reference`` transport) as the expectation."""

import time
from dataclasses import replace

import numpy as np
import pytest
from memgen.hdl.engine.protocol import ErrorCode
from memgen.hdl.engine.records import RecordFormat
from memgen.hdl.link.protocol import MAX_LINK_RECORD
from memgen.host.driver import SAMPLE_CHUNK, DeviceError, Driver, LinkError, fitting_records
from memgen.host.transports import ReferenceTransport, SimTransport

VARIABLE = RecordFormat(2048, max_records=64, max_length=200)
FIXED = RecordFormat(SAMPLE_CHUNK + 512, record_size=1)


def pair(fmt, usb=False):
    return Driver(SimTransport(fmt, usb=usb)), Driver(ReferenceTransport(fmt))


def both(drivers, call):
    """Run ``call`` on the simulated device and the model; their answers must be equal."""
    device, reference = drivers
    got, want = call(device), call(reference)
    assert got == want
    return got


WIDE = RecordFormat(4096, max_records=64, max_length=200, word_bytes=4)
#: four lanes of 1-byte records packed two to a word: wide, packed and lanes in one device
LANES = RecordFormat(SAMPLE_CHUNK + 512, record_size=1, word_bytes=2, lanes=4)


@pytest.mark.parametrize(
    "fmt", [VARIABLE, FIXED, WIDE, LANES], ids=["variable", "fixed", "wide", "lanes-packed"]
)
def test_driver_matches_reference(fmt):
    drivers = pair(fmt)
    if fmt.fixed:
        records = [bytes([b]) for b in b"3.14159265358979323846264338327950288"]
        count = SAMPLE_CHUNK + 300  # two SAMPLE commands
    else:
        records = [f"record {i}\n".encode() * (1 + i % 5) for i in range(40)]
        count = 500
    both(drivers, lambda d: d.clear())
    both(drivers, lambda d: d.seed(0xC0FFEE))
    both(drivers, lambda d: d.train(records).records)
    samples = both(drivers, lambda d: d.sample(count))
    assert len(samples) == count and set(samples) == set(records)
    indices = both(drivers, lambda d: d.sample_indices(count))  # the stream goes on
    assert len(indices) == count and set(indices) == set(range(len(records)))
    assert both(drivers, lambda d: d.recite()) == records
    status = both(drivers, lambda d: d.status())
    assert status.records == len(records)
    assert status.bytes_used == sum(fmt.stored_bytes(len(record)) for record in records)
    assert (status.word_bytes, status.lanes) == (fmt.word_bytes, fmt.lanes)
    assert status.seed == 0xC0FFEE and status.fixed_size == fmt.fixed


def test_driver_through_usb():
    """The device behind LUNA's CDC-ACM device, the driver's bytes carried by a USB host
    controller model: replies of several packets (the samples, the recital) and of one."""
    drivers = pair(VARIABLE, usb=True)
    records = [f"usb {i}|".encode() * (1 + i % 7) for i in range(12)]
    both(drivers, lambda d: d.seed(0x05B))
    both(drivers, lambda d: d.train(records).records)
    assert set(both(drivers, lambda d: d.sample(150))) == set(records)
    assert both(drivers, lambda d: d.recite()) == records
    assert both(drivers, lambda d: d.status()).records == len(records)


def test_padding_decides_what_fits():
    """In 4-byte words a 5-byte record takes 8: 64 bytes hold eight, not twelve, and the driver
    predicts the device's refusal from its status."""
    fmt = RecordFormat(64, max_records=16, max_length=16, word_bytes=4)
    records = [bytes([n]) * 5 for n in range(12)]
    for driver in pair(fmt):
        predicted = fitting_records(records, driver.status())
        with pytest.raises(DeviceError) as refusal:
            driver.train(records)
        assert (refusal.value.code, refusal.value.stored, predicted) == (ErrorCode.FULL, 8, 8)
        assert driver.recite() == records[:8] and driver.status().bytes_used == 64


def test_refusals():
    """Full memory: the driver says how many were stored and they read back intact; a record
    that is too long; sampling an empty memory."""
    device, reference = pair(VARIABLE)
    records = [bytes([65 + i % 26]) * 100 for i in range(30)]
    for driver in (device, reference):
        with pytest.raises(DeviceError) as refusal:
            driver.train(records)
        assert refusal.value.code == ErrorCode.FULL
        assert (
            refusal.value.stored
            == 20
            == fitting_records(records, replace(driver.status(), records=0, bytes_used=0))
        )
        assert driver.recite() == records[:20]
        driver.clear()
        with pytest.raises(DeviceError) as refusal:
            driver.train([b"ok", bytes(201), b"never sent"])
        assert (refusal.value.code, refusal.value.stored) == (ErrorCode.TOO_LONG, 1)
        assert driver.recite() == [b"ok"]
        driver.clear()
        with pytest.raises(DeviceError) as refusal:
            driver.sample(5)
        assert refusal.value.code == ErrorCode.EMPTY
        with pytest.raises(DeviceError):
            driver.recite()


class Faulty:
    """A transport that corrupts chosen frames on the way to the device or back."""

    def __init__(self, inner, corrupt_out=(), corrupt_in=()):
        self.inner = inner
        self.timeout = 3.0
        self.corrupt_out = set(corrupt_out)
        self.corrupt_in = set(corrupt_in)
        self.written = 0
        self.received = 0

    def write(self, data):
        if self.written in self.corrupt_out:
            data = bytearray(data)
            data[len(data) // 2] ^= 0x01
        self.written += 1
        self.inner.write(bytes(data))

    def read(self, timeout):
        data = self.inner.read(min(timeout, self.timeout))
        if data and self.received in self.corrupt_in:
            data = bytearray(data)
            data[-3] ^= 0x01
        if data:
            self.received += 1
        return bytes(data)

    def close(self):
        pass


def test_recovery_from_corrupted_requests():
    """Frames corrupted on the way to the device are rejected and sent again (go-back-N); the
    records end up stored exactly once, in order, and the samples are the reference's."""
    records = [f"line {i}".encode() for i in range(200)]
    device = Driver(Faulty(SimTransport(VARIABLE), corrupt_out={2, 4, 5}))
    reference = Driver(ReferenceTransport(VARIABLE))
    for driver in (device, reference):
        driver.train(records[:60])
    assert device.recite() == reference.recite() == records[:60]
    assert device.sample(300) == reference.sample(300)
    status = device.status()
    assert status.link_errors["crc_errors"] + status.link_errors["malformed_frames"] >= 1


def test_lost_answer_is_reported():
    """An answer corrupted on its way back after its command ran cannot be repaired: the driver
    says so instead of guessing."""
    device = Driver(Faulty(SimTransport(VARIABLE), corrupt_in={2}))
    with pytest.raises(LinkError, match="lost"):
        for _ in range(4):
            device.clear()


@pytest.mark.parametrize(
    ("records", "error", "message"),
    [
        (b"abc", TypeError, "one bytes object"),
        ("abc", TypeError, "one str object"),
        (["abc"], TypeError, "record 0 is str"),
        ([b"ok", 97], TypeError, "record 1 is int"),
        ([[97, 98]], TypeError, "record 0 is list"),
        (7, TypeError, "not int"),
        ([b"a", b""], ValueError, "record 1 is empty"),
        ([b"x" * (MAX_LINK_RECORD + 1)], ValueError, f"{MAX_LINK_RECORD + 1} bytes"),
    ],
)
def test_train_refuses_what_is_not_records(records, error, message):
    """Records are bytes-like; anything else is a clear error and nothing is stored (it was:
    ``train(b"abc")`` stored three zero-filled records of 97, 98 and 99 bytes)."""
    device = Driver(ReferenceTransport(VARIABLE))
    with pytest.raises(error, match=message):
        device.train(records)
    assert device.status().records == 0


def test_train_takes_every_bytes_like_record():
    """bytes, bytearray, memoryview and uint8 arrays (a 2-D array's rows) are records; the
    longest a frame carries is one."""
    device = Driver(ReferenceTransport(VARIABLE))
    rows = np.arange(6, dtype=np.uint8).reshape(2, 3)
    longest = RecordFormat(4096, max_records=8, max_length=MAX_LINK_RECORD)
    device.train([b"ab", bytearray(b"cd"), memoryview(b"ef"), *rows])
    assert device.recite() == [b"ab", b"cd", b"ef", b"\x00\x01\x02", b"\x03\x04\x05"]
    with pytest.raises(TypeError, match="record 0 is ndarray"):
        device.train([np.arange(3, dtype=np.int32)])  # 4 bytes per item: not a byte string
    wide = Driver(ReferenceTransport(longest))
    wide.train([b"y" * MAX_LINK_RECORD])
    assert wide.recite() == [b"y" * MAX_LINK_RECORD]


@pytest.mark.parametrize("count", [0, 1, SAMPLE_CHUNK - 1, SAMPLE_CHUNK, SAMPLE_CHUNK + 1])
def test_sample_chunks_arrive_in_order(count):
    """The streamed draw equals one sample() call at each chunk boundary and either side, and
    its progress reaches the count."""
    device, reference = Driver(ReferenceTransport(FIXED)), Driver(ReferenceTransport(FIXED))
    for driver in (device, reference):
        driver.train([bytes([b]) for b in range(200)])
    seen = []
    chunks = list(device.sample_chunks(count, lambda done, total: seen.append((done, total))))
    assert [r for chunk in chunks for r in chunk] == reference.sample(count)
    assert all(chunks) and (seen[-1] == (count, count) if count else not seen)


def test_sample_streams_from_the_simulated_gateware():
    """On the gateware, records are yielded as their DATA frames arrive, before the SAMPLE
    command's DONE: a draw's first records come in more than one piece."""
    device, reference = pair(FIXED)
    records = [bytes([b]) for b in range(256)]
    device.train(records)
    reference.train(records)
    chunks = list(device.sample_chunks(1500))
    assert len(chunks) > 1 and [r for c in chunks for r in c] == reference.sample(1500)


class Chatter:
    """A port that never stops sending (a device at the wrong baud, or not a memgen)."""

    timeout = 0.1

    def read(self, timeout):
        return b"\x55" * 64

    def write(self, data):
        pass

    def close(self):
        pass


def test_synchronising_gives_up_on_a_port_that_never_pauses():
    driver = Driver(Chatter(), sync_timeout=0.3)
    started = time.monotonic()
    with pytest.raises(LinkError, match="sent without a pause for 0.3 s"):
        driver.status()
    assert time.monotonic() - started < 5
