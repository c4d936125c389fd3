"""``make bench``, link part: how much of the line carries samples, and samples/s per device,
written to results/link.json.

Each workload trains a device through the :class:`~memgen.host.driver.Driver` and draws samples
with it, as ``memgen sample`` does; the bytes the device sends during the draw are captured.

* ``payload_fraction``: sampled record bytes / bytes on the line while streaming them (every DATA
  and DONE frame of the draw: delimiters, escapes, sequence numbers, reply bytes, record lengths,
  CRCs). Measured on the Verilator model of the full top level at the default 3 Mbaud.
* ``line_utilisation``: of the time from the first byte of the draw to its last, the fraction the
  transmitter was busy (10 bits per byte); 1.0 means the device never leaves the line idle. Timed
  in simulated clocks by the Verilator harness.
* ``board_samples_per_s``: samples / that time, at 3 Mbaud: the rate a board at the default baud
  delivers, whatever its clock, while the line is the bottleneck (it is: the core sends a word per
  clock, the UART one byte per 10 bit times).
* ``boards``: the same draw on each board's line, the Verilator model at the board's clock and
  baud (the iCEBreaker's 42 MHz and 6 Mbaud, divisor 7; the ULX3S's 100 MHz and 3 Mbaud):
  samples and payload bytes per second, and the line's utilisation.
* ``usb``: the same draws over USB (the ULX3S's default build's other link): the link device at the
  board's clock behind LUNA's CDC-ACM device, the host controller model of
  :mod:`memgen.host.usb_link` playing the full-speed line (a clock a bit, SYNC, bit stuffing,
  end of packet and gaps; not the 1 ms frames' SOF packets, 0.3 % of the bus): samples and
  payload bytes per second of simulated time from the draw's first command to its last packet,
  against the bus's limit for 64-byte bulk packets.
* ``wall_samples_per_s``: end to end on this machine, per device (the reference model, the
  Amaranth simulation of the command processor and core, the Verilator model).

Workloads: ``bytes`` (1-byte records, the densest stream) and ``lines`` (text lines of varying
length, each sample preceded by its length).
"""

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

from memgen.boards import BOARDS
from memgen.hdl.engine.records import RecordFormat
from memgen.hdl.link.protocol import SLIP_END
from memgen.host.driver import Driver
from memgen.host.transports import ReferenceTransport, SimTransport, VerilatorTransport
from memgen.host.verilator_device import SIM_BAUD, SIM_CLOCK_HZ

__all__ = ["measure", "main", "WORKLOADS"]

BITS_PER_BYTE = 10  # 8N1
TARGET = 0.90


def _text_lines():
    """Lines of a text every Python install has (this module's own source is too short)."""
    source = Path(random.__file__).read_text(encoding="utf-8")
    return [line.encode() for line in source.splitlines(keepends=True) if line.strip()]


def _workloads():
    lines = _text_lines()[:1500]
    return {
        "bytes": {
            "format": RecordFormat(65536, record_size=1),
            "records": [bytes([byte]) for byte in random.Random(1).randbytes(4096)],
        },
        "lines": {
            "format": RecordFormat(65536, max_records=4096, max_length=504),
            "records": lines,
        },
    }


WORKLOADS = ("bytes", "lines")
#: Samples per draw on each device (the Amaranth simulation runs about 4,000 clocks a second).
SAMPLES = {"reference": 20_000, "sim": 1_500, "verilator": 20_000}
#: Samples per draw on a board's line (more clocks per bit: the ULX3S's 33 take 8x the model's 4).
BOARD_SAMPLES = {"bytes": 20_000, "lines": 2_000}
#: Samples per draw over simulated USB, after training the workload's first USB_RECORDS records
#: (the simulation runs a few hundred bits of the line a second; the draw's rate does not
#: depend on how many records it draws from).
USB_SAMPLES = {"bytes": 2_000, "lines": 100}
USB_RECORDS = 256
#: Bit times of a bulk IN transaction of 64 bytes on a full-speed bus, none stuffed: IN token
#: (SYNC, 3 bytes, EOP, gap: 37), DATA (SYNC, PID, 64 bytes, CRC16, EOP, gap: 549), ACK (21).
FULL_SPEED_PACKET_BITS = 37 + 8 + 67 * 8 + 5 + 21
USB_LIMIT_BYTES_PER_S = 64 * 12_000_000 // FULL_SPEED_PACKET_BITS


class Capture:
    """A transport wrapper that keeps every byte the device sends."""

    def __init__(self, transport):
        self.transport = transport
        self.timeout = transport.timeout
        self.received = bytearray()

    def write(self, data):
        self.transport.write(data)

    def read(self, timeout):
        data = self.transport.read(timeout)
        self.received += data
        return data

    def close(self):
        self.transport.close()


def _frame_spans(data):
    """(start, end) of each frame in a byte stream of END-delimited frames."""
    spans, start = [], None
    for index, byte in enumerate(data):
        if byte == SLIP_END:
            if start is not None and index > start + 1:
                spans.append((start, index + 1))
                start = None
            else:
                start = index
    return spans


def measure(device, workload, samples, workdir, board=None):
    """Train ``device`` with a workload, draw ``samples``; returns the figures of the draw. With
    ``board`` (Verilator only) the model runs at that board's clock and baud."""
    spec = _workloads()[workload]
    fmt = spec["format"]
    stamps = Path(workdir) / f"{device}_{workload}_{board and board.name}.stamps"
    clock_hz = SIM_CLOCK_HZ if board is None else board.clock_hz
    if device == "verilator":
        line = {} if board is None else {"clock_hz": board.clock_hz, "baud": board.baud}
        inner = VerilatorTransport(fmt, stamps=stamps, **line)
    else:
        inner = {"reference": ReferenceTransport, "sim": SimTransport}[device](fmt)
    capture = Capture(inner)
    with Driver(capture) as driver:
        driver.clear()
        driver.train(spec["records"])
        before = len(capture.received)
        started = time.monotonic()
        drawn = driver.sample(samples)
        seconds = time.monotonic() - started
        stream = bytes(capture.received[before:])
    # The draw starts with the answer to its STATUS; the rest is sampling.
    spans = _frame_spans(stream)
    first = spans[1][0]
    line_bytes = spans[-1][1] - first
    payload = sum(len(record) for record in drawn)
    result = {
        "samples": samples,
        "payload_bytes": payload,
        "line_bytes": line_bytes,
        "payload_fraction": round(payload / line_bytes, 4),
        "wall_samples_per_s": round(samples / seconds),
    }
    if device == "verilator":
        clocks = _stamps(stamps)
        start, end = before + first, before + spans[-1][1] - 1
        byte_clocks = BITS_PER_BYTE * inner.divisor
        busy = clocks[end] - clocks[start] + byte_clocks
        result["line_utilisation"] = round(line_bytes * byte_clocks / busy, 4)
        result["board_samples_per_s"] = round(samples / (busy / clock_hz))
        result["payload_bytes_per_s"] = round(payload / (busy / clock_hz))
    return result


def measure_boards(workdir):
    """Each board's line: the Verilator model at its clock and baud, both workloads."""
    boards = {}
    for name, board in BOARDS.items():
        rows = {"clock_hz": board.clock_hz, "baud": board.baud}
        for workload, samples in BOARD_SAMPLES.items():
            print(f"link: {workload} on {name}'s line...", file=sys.stderr)
            row = measure("verilator", workload, samples, workdir, board)
            rows[workload] = {
                key: row[key]
                for key in (
                    "samples",
                    "payload_fraction",
                    "line_utilisation",
                    "board_samples_per_s",
                    "payload_bytes_per_s",
                )
            }
        boards[name] = rows
    return boards


def measure_usb(workload, samples, board):
    """A draw through the simulated USB link of ``board`` (its clock); see the module docs."""
    from memgen.host.usb_link import USB_HZ

    spec = _workloads()[workload]
    transport = SimTransport(spec["format"], usb={"clock_hz": board.clock_hz, "byte_clocks": 8})
    host = transport.link.host
    with Driver(transport) as driver:
        driver.clear()
        driver.train(spec["records"][:USB_RECORDS])
        start = host.clocks
        drawn = driver.sample(samples)
    seconds = (host.arrivals[-1][0] - start) / USB_HZ
    payload = sum(len(record) for record in drawn)
    return {
        "samples": samples,
        "samples_per_s": round(samples / seconds),
        "payload_bytes_per_s": round(payload / seconds),
        "in_packets": host.packets["IN"],
        "in_naks": host.naks["IN"],
    }


def measure_usb_boards():
    boards = {}
    for name, board in BOARDS.items():
        if board.usb is None:
            continue
        rows = {"clock_hz": board.clock_hz, "limit_bytes_per_s": USB_LIMIT_BYTES_PER_S}
        for workload, samples in USB_SAMPLES.items():
            print(f"link: {workload} over {name}'s USB...", file=sys.stderr)
            rows[workload] = measure_usb(workload, samples, board)
        boards[name] = rows
    return boards


def _stamps(path):
    data = Path(path).read_bytes()
    return [int.from_bytes(data[i : i + 8], "little") for i in range(0, len(data), 8)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/link.json")
    parser.add_argument(
        "--only", choices=["usb"], help="measure only this, keeping the other figures in --out"
    )
    args = parser.parse_args(argv)
    if args.only == "usb":
        path = Path(args.out)
        result = json.loads(path.read_text()) if path.exists() else {}
        result["usb"] = measure_usb_boards()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result["usb"], indent=2))
        return 0
    result = {"baud": SIM_BAUD, "target_payload_fraction": TARGET, "workloads": {}}
    with tempfile.TemporaryDirectory(prefix="memgen-link-") as workdir:
        for workload in WORKLOADS:
            rows = {}
            for device, samples in SAMPLES.items():
                print(f"link: {workload} on {device}...", file=sys.stderr)
                rows[device] = measure(device, workload, samples, workdir)
            result["workloads"][workload] = rows
        result["boards"] = measure_boards(workdir)
    result["usb"] = measure_usb_boards()
    verilator = {name: rows["verilator"] for name, rows in result["workloads"].items()}
    result["payload_fraction"] = {name: row["payload_fraction"] for name, row in verilator.items()}
    result["board_samples_per_s"] = {
        name: row["board_samples_per_s"] for name, row in verilator.items()
    }
    result["wall_samples_per_s"] = {
        name: {device: row["wall_samples_per_s"] for device, row in rows.items()}
        for name, rows in result["workloads"].items()
    }
    result["python"] = platform.python_version()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "workloads"}, indent=2))
    missed = [name for name, value in result["payload_fraction"].items() if value < TARGET]
    if missed:
        print(f"payload fraction below {TARGET}: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
