"""``make demo``: MemGEN learns by heart on the simulated hardware, every answer verified.

Three embedded datasets, nothing downloaded:

* pi, computed here (Chudnovsky's series), in records of 64 characters, on the iCEBreaker's memory
  (all four SPRAM blocks): recited back exactly until the memory is full, where the paper's run
  stopped at "3.1415";
* the lines of the Zen of Python (the ``this`` module ships with every Python), sampled; a
  histogram of the sampled line numbers against the band uniform sampling allows;
* the cat photograph that ships in scikit-image (``skimage.data.chelsea()``), cut into 12 x 12
  tiles trained as fixed-size 432-byte records; a mosaic of as many sampled tiles beside the
  training image.

The device is the full top level (UART included) compiled by Verilator by default; every recited
and sampled record is compared with the bit-exact reference model fed the same commands.
"""

import argparse
import contextlib
import io
import math
import sys
import time
from pathlib import Path

import numpy as np
from memgen.hdl.engine.protocol import DEFAULT_SEED
from memgen.hdl.engine.records import RecordFormat
from memgen.host.driver import DeviceError, Driver, MemGenError
from memgen.host.transports import DeviceNotFound, ReferenceTransport, open_transport

__all__ = ["binomial_band", "cat_tiles", "main", "pi_digits", "zen_lines"]

DEFAULT_OUT = Path("results") / "demo"
#: Characters of pi per record: 2,048 records of 64 fill the iCEBreaker's 131,072 bytes exactly.
PI_RECORD = 64
TILE = 12


def pi_digits(count):
    """``"3.14159..."`` with ``count`` decimals: Chudnovsky's series by binary splitting."""
    c3_over_24 = 640320**3 // 24

    def split(a, b):
        if b - a == 1:
            if a == 0:
                p = q = 1
            else:
                p = (6 * a - 5) * (2 * a - 1) * (6 * a - 1)
                q = a * a * a * c3_over_24
            t = p * (13591409 + 545140134 * a)
            return p, q, -t if a & 1 else t
        middle = (a + b) // 2
        p1, q1, t1 = split(a, middle)
        p2, q2, t2 = split(middle, b)
        return p1 * p2, q1 * q2, t1 * q2 + p1 * t2

    _, q, t = split(0, count // 14 + 2)  # each term adds 14.18 digits
    one = 10 ** (count + 10)
    value = q * 426880 * math.isqrt(10005 * one * one) // t
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        digits = str(value)[: count + 1]
    finally:
        sys.set_int_max_str_digits(limit)
    return digits[0] + "." + digits[1:]


def zen_lines():
    """The 20 non-empty lines of the Zen of Python, from the standard library's ``this``."""
    import codecs

    with contextlib.redirect_stdout(io.StringIO()):
        import this
    return [line for line in codecs.decode(this.s, "rot13").splitlines() if line]


def cat_tiles(tile=TILE, scale=1):
    """The scikit-image cat (every ``scale``-th pixel) cut into ``tile`` x ``tile`` RGB tiles,
    row by row: (tiles, rows, columns), tiles of shape (rows * columns, tile, tile, 3)."""
    from skimage import data

    image = data.chelsea()[::scale, ::scale]
    rows, columns = image.shape[0] // tile, image.shape[1] // tile
    image = image[: rows * tile, : columns * tile]
    tiles = image.reshape(rows, tile, columns, tile, 3).swapaxes(1, 2).reshape(-1, tile, tile, 3)
    return tiles, rows, columns


def binomial_band(samples, bins, level=0.99):
    """Central ``level`` interval of one bin's count when ``samples`` fall uniformly in ``bins``."""
    p = 1 / bins
    cumulative, low, high = 0.0, None, samples
    for k in range(samples + 1):
        log_pmf = (
            math.lgamma(samples + 1)
            - math.lgamma(k + 1)
            - math.lgamma(samples - k + 1)
            + k * math.log(p)
            + (samples - k) * math.log1p(-p)
        )
        cumulative += math.exp(log_pmf)
        if low is None and cumulative > (1 - level) / 2:
            low = k
        if cumulative >= 1 - (1 - level) / 2:
            high = k
            break
    return low, high


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


def mosaic(tiles, rows, columns, gap=1):
    """Tiles laid out row by row with a white ``gap`` between them."""
    tile = tiles.shape[1]
    step = tile + gap
    image = np.full((rows * step - gap, columns * step - gap, 3), 255, dtype=np.uint8)
    for number, picture in enumerate(tiles[: rows * columns]):
        r, c = divmod(number, columns)
        image[r * step : r * step + tile, c * step : c * step + tile] = picture
    return image


def pyplot():
    """matplotlib's pyplot on the Agg backend (files only, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot

    return matplotlib.pyplot


def draw_cat(cat, path):
    plt = pyplot()

    tile = cat["tiles"].shape[1]
    sampled = np.frombuffer(b"".join(cat["sampled"]), dtype=np.uint8).reshape(-1, tile, tile, 3)
    rows = min(cat["rows"], -(-len(sampled) // cat["columns"]))
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.6), layout="constrained")
    for axis, tiles, title in (
        (axes[0], cat["tiles"], f"training: {len(cat['tiles'])} tiles of {tile}x{tile}, in order"),
        (axes[1], sampled, f"{len(sampled)} samples from the memory, in the order drawn"),
    ):
        axis.imshow(mosaic(tiles, rows, cat["columns"]))
        axis.set_title(title)
        axis.axis("off")
    figure.suptitle("memgen: skimage.data.chelsea() learnt by heart, then sampled")
    figure.savefig(path, dpi=110)
    plt.close(figure)


def draw_histogram(zen, path):
    plt = pyplot()

    bins = len(zen["lines"])
    samples = len(zen["indices"])
    counts = np.bincount(zen["indices"], minlength=bins)
    low, high = binomial_band(samples, bins)
    outside = int(np.sum((counts < low) | (counts > high)))
    figure, axis = plt.subplots(figsize=(8, 4), layout="constrained")
    axis.axhspan(
        low, high, color="tab:green", alpha=0.2, label=f"99% band per line [{low}, {high}]"
    )
    axis.axhline(samples / bins, color="tab:green", label=f"expected {samples / bins:g}")
    axis.bar(range(bins), counts, color="tab:blue", label="sampled")
    axis.set_xticks(range(bins))
    axis.set_xlabel("record index (line of the Zen of Python)")
    axis.set_ylabel("times sampled")
    axis.set_title(f"{samples:,} samples of {bins} records: {outside} outside the band")
    axis.set_ylim(0, high * 1.3)
    axis.legend(loc="upper center", ncols=3)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return counts, (low, high), outside


def summary(rows):
    """The summary table, one row per dataset."""
    header = ("dataset", "memory", "offered", "stored", "asked", "answered", "verified", "seconds")
    table = [header, *rows]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            str(cell).rjust(width) if i else str(cell).ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in table
    )


def main(argv=None):
    parser = argparse.ArgumentParser(prog="memgen.sim.demo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--device",
        default="verilator",
        choices=("verilator", "sim", "reference"),
        help="the simulated device (default: verilator)",
    )
    parser.add_argument(
        "--digits", type=int, default=140_000, help="decimals of pi to offer (default: 140,000)"
    )
    parser.add_argument("--zen-samples", type=int, default=4000, help="(default: 4,000)")
    parser.add_argument(
        "--cat-samples", type=int, help="tiles to sample (default: as many as trained)"
    )
    parser.add_argument("--seed", type=lambda text: int(text, 0), default=DEFAULT_SEED)
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"pictures folder (default: {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small datasets (pi in 512 bytes of memory, the cat at 1/8 size): a quick check",
    )
    arguments = parser.parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):  # each dataset's lines as it finishes
        sys.stdout.reconfigure(line_buffering=True)
    if arguments.digits < 1 or arguments.zen_samples < 1 or (arguments.cat_samples or 1) < 1:
        parser.error("--digits, --zen-samples and --cat-samples must be positive")
    try:
        arguments.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        parser.exit(1, f"memgen.sim.demo: cannot create {arguments.out}: {error.strerror}\n")
    from memgen.boards import BOARDS

    board, memory = BOARDS["icebreaker"], "iCEBreaker SPRAM"
    small = RecordFormat(512, max_records=8, max_length=PI_RECORD)
    scale = 1
    if arguments.quick:
        board, memory, scale = None, "512 B", 8
    print(
        f"memgen demo on the {arguments.device} device; every answer checked against the "
        "reference model\n"
    )
    try:
        run(arguments, board, memory, small, scale)
    except (VerificationError, MemGenError, DeviceNotFound, RuntimeError) as error:
        print(f"memgen demo: error: {error}", file=sys.stderr)
        return 1
    return 0


def run(arguments, board, memory, small, scale):
    """The three datasets, the pictures and the summary table."""
    rows = []
    started = time.monotonic()
    pi = run_pi(arguments.device, arguments.digits, board, small, arguments.seed)
    decimals = pi["bytes"] - 2
    print(
        f"pi     {arguments.digits:,} decimals computed, offered in {PI_RECORD}-character records"
    )
    print(f"       recited {pi['recited'][:24]}...{pi['recited'][-12:]} (exact)")
    print(f'       the paper\'s run stopped at "3.1415"; this memory held {decimals:,} decimals,')
    print(
        f"       then refused record {pi['stored'] + 1:,} with "
        f"{pi['refusal'].name if pi['refusal'] is not None else 'nothing (all fitted)'}"
    )
    rows.append(
        (
            "pi",
            memory,
            pi["records"],
            pi["stored"],
            "recite",
            pi["stored"],
            "yes",
            f"{time.monotonic() - started:.1f}",
        )
    )

    started = time.monotonic()
    zen = run_zen(arguments.device, arguments.zen_samples, arguments.seed)
    counts, band, outside = draw_histogram(zen, arguments.out / "zen_histogram.png")
    print(
        f"zen    {len(zen['lines'])} lines of the Zen of Python, {len(zen['sampled']):,} samples; "
        "the first three:"
    )
    for record in zen["sampled"][:3]:
        print(f"         {record.decode().rstrip()}")
    print(
        f"       times each line was drawn: {counts.min()} to {counts.max()} "
        f"(99% band per line {band[0]} to {band[1]}; {outside} outside)"
    )
    rows.append(
        (
            "zen",
            "4 KiB",
            len(zen["lines"]),
            len(zen["lines"]),
            "sample",
            len(zen["sampled"]),
            "yes",
            f"{time.monotonic() - started:.1f}",
        )
    )

    started = time.monotonic()
    cat = run_cat(arguments.device, arguments.cat_samples, arguments.seed, scale)
    draw_cat(cat, arguments.out / "cat_tiles.png")
    tiles = len(cat["tiles"])
    print(
        f"cat    {tiles} tiles of {TILE}x{TILE} RGB ({TILE * TILE * 3}-byte records), "
        f"{len(cat['sampled']):,} sampled, each one a training tile"
    )
    rows.append(
        (
            "cat",
            f"{tiles * TILE * TILE * 3:,} B",
            tiles,
            tiles,
            "sample",
            len(cat["sampled"]),
            "yes",
            f"{time.monotonic() - started:.1f}",
        )
    )

    print()
    print(summary(rows))
    print(f"\npictures: {arguments.out}/zen_histogram.png, {arguments.out}/cat_tiles.png")


if __name__ == "__main__":
    sys.exit(main())
