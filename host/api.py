"""The Python API: :func:`open` a MemGen device and use it as a replay memory.

::

    import memgen

    with memgen.open("reference", records="fixed:4", capacity=4096) as memory:
        memory.extend([b"abcd", b"efgh", b"ijkl"])
        memory.seed(7)
        batch = memory.sample(5)          # a (5, 4) uint8 array: fixed-size records
        print(len(memory), memory.status().byte_capacity)

Names follow TorchRL's ``ReplayBuffer`` (``add``, ``extend``, ``sample``, ``len``) and numpy's
``Generator`` (a seed makes a stream that repeats) where the meaning matches.
"""

from collections.abc import Iterable, Iterator
from typing import NamedTuple

import numpy as np
from memgen.hdl.engine.records import RecordFormat
from memgen.hdl.link.protocol import BAUD, MAX_LINK_RECORD

from .codec import DeviceStatus
from .driver import DeviceError, Driver, checked_records
from .errors import LinkError, MemGenError
from .transports import SIMULATED, check_device, open_transport

__all__ = [
    "DEFAULT_DEVICE",
    "DeviceError",
    "Match",
    "Memory",
    "MemGenError",
    "Status",
    "open",
    "parse_records",
    "sim_format",
]

#: The device a new user gets: the real gateware (UART included), compiled once by Verilator.
DEFAULT_DEVICE = "verilator"
DEFAULT_CAPACITY = 65536
#: Variable-length records on a simulated device: one record-table entry per this many bytes.
BYTES_PER_TABLE_ENTRY = 16
MAX_RECORDS = (1 << 24) - 1


def parse_records(records):
    """``"lines"`` or ``"variable"`` (records of 1 to 504 bytes), ``"bytes"`` (1-byte records)
    or ``"fixed:K"`` (or the int ``K``): ``(fixed, K)``, K None for variable-length."""
    if isinstance(records, int) and not isinstance(records, bool):
        text = f"fixed:{records}"
    elif isinstance(records, str):
        text = records
    else:
        raise TypeError(f"records is a string such as 'fixed:8', not {type(records).__name__}")
    if text in ("lines", "variable"):
        return False, None
    if text == "bytes":
        return True, 1
    if text.startswith("fixed:"):
        try:
            size = int(text.removeprefix("fixed:"))
        except ValueError:
            size = 0
        if 1 <= size <= MAX_LINK_RECORD:
            return True, size
        raise ValueError(f"fixed:K needs a record size K from 1 to {MAX_LINK_RECORD}, not {text!r}")
    raise ValueError(f"records must be lines, bytes or fixed:K, not {text!r}")


def sim_format(records="variable", capacity=DEFAULT_CAPACITY):
    """The :class:`RecordFormat` of a simulated device with ``capacity`` bytes of memory."""
    fixed, size = parse_records(records)
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
        raise ValueError(f"capacity must be a positive number of bytes, not {capacity!r}")
    if fixed:
        if size > capacity:
            raise ValueError(f"a capacity of {capacity:,} bytes holds no {size}-byte record")
        if capacity // size > MAX_RECORDS:
            raise ValueError(
                f"a capacity of {capacity:,} bytes is {capacity // size:,} records of {size} "
                f"bytes; at most {MAX_RECORDS:,} records (capacity {MAX_RECORDS * size:,})"
            )
        return RecordFormat(capacity, record_size=size)
    if capacity // BYTES_PER_TABLE_ENTRY > MAX_RECORDS:
        raise ValueError(
            f"a capacity of {capacity:,} bytes needs {capacity // BYTES_PER_TABLE_ENTRY:,} record "
            f"slots; at most {MAX_RECORDS:,} (capacity {MAX_RECORDS * BYTES_PER_TABLE_ENTRY:,})"
        )
    return RecordFormat(
        capacity,
        max_records=max(1, capacity // BYTES_PER_TABLE_ENTRY),
        max_length=min(capacity, MAX_LINK_RECORD),
    )


#: What a device reports about itself (also ``memgen.Status``).
Status = DeviceStatus


class Match(NamedTuple):
    """One answer of :meth:`Memory.recall`."""

    index: int
    distance: int  # bits that differ, among the mask's
    record: bytes


class Memory:
    """A MemGen device as a replay memory; from :func:`open`."""

    def __init__(self, driver: Driver, device: str):
        self.driver = driver
        self.device = device
        self._status = driver.status()

    # the memory -------------------------------------------------------------------------
    def add(self, record) -> None:
        """Appends one record (bytes-like)."""
        self.extend([record])

    def extend(self, records: Iterable, progress=None) -> int:
        """Appends ``records`` in order (bytes-like each, or the rows of a 2-D uint8 array);
        returns how many are stored in all. :class:`DeviceError` (``stored``: how many of these
        went in) when the device refuses one: full, too long, or not the fixed size."""
        done = self.driver.train(checked_records(records), progress)
        self._status = done
        return done.records

    def clear(self) -> None:
        """Forgets every record."""
        self.driver.clear()

    def seed(self, seed: int) -> None:
        """Restarts the sample stream from a 64-bit seed: the same seed and records give the
        same samples on every device."""
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
            raise TypeError(f"seed must be an int, not {type(seed).__name__}")
        self.driver.seed(int(seed))

    def __len__(self) -> int:
        return self.status().records

    def status(self) -> Status:
        self._status = self.driver.status()
        return self._status

    # drawing ----------------------------------------------------------------------------
    def sample(self, n: int):
        """``n`` records drawn uniformly, with replacement, by the device's generator: for
        fixed-size records an ``(n, K)`` uint8 array, otherwise a list of bytes. Consecutive
        calls continue one stream: ``sample(a)`` then ``sample(b)`` equals ``sample(a + b)``."""
        return self._shaped(
            [record for chunk in self.iter_sample(n) for record in chunk], self._status
        )

    def iter_sample(self, n: int, progress=None) -> Iterator[list]:
        """:meth:`sample` as lists of at most 4,096 records, each as soon as it has arrived, so
        memory stays bounded for any ``n``."""
        n = _count(n)
        return self.driver.sample_chunks(n, progress)

    def sample_indices(self, n: int) -> np.ndarray:
        """The indices of the next ``n`` samples as a uint32 array: the device draws them from
        the stream :meth:`sample` uses, so ``sample_indices(a)`` then ``sample(b)`` follows
        ``sample(a + b)``, and ``memory.recite()[i]`` are the records ``sample`` would give."""
        chunks = self.driver.index_chunks(_count(n))
        return np.fromiter((i for chunk in chunks for i in chunk), dtype=np.uint32, count=n)

    def recite(self):
        """Every stored record in order (an array for fixed-size records, as :meth:`sample`)."""
        records = self.driver.recite()
        return self._shaped(records, self.status())

    def recall(self, query, k: int = 1, mask=None) -> list[Match]:
        """The ``k`` stored records nearest ``query`` in Hamming distance over the bits set in
        ``mask`` (all bits when None), nearest first, ties to the lower index. Fixed-size
        records only; ``query`` and ``mask`` are one record long."""
        query = _one_record(query, "query")
        mask = None if mask is None else _one_record(mask, "mask")
        return [Match(*match) for match in self.driver.recall(query, k, mask)]

    @staticmethod
    def _shaped(records, status):
        if not status.fixed_size:
            return records
        flat = np.frombuffer(b"".join(records), dtype=np.uint8)
        return flat.reshape(len(records), status.max_length)

    # lifetime ---------------------------------------------------------------------------
    def close(self) -> None:
        self.driver.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        kind = f"fixed:{self._status.max_length}" if self._status.fixed_size else "variable"
        return (
            f"<memgen.Memory {self.device} {kind} {self._status.records:,} records, "
            f"{self._status.bytes_used:,}/{self._status.byte_capacity:,} bytes>"
        )


def _count(n):
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise TypeError(f"n must be an int, not {type(n).__name__}")
    if n < 0:
        raise ValueError(f"n cannot be negative, not {n}")
    return int(n)


def _one_record(value, name):
    try:
        return checked_records([value])[0]
    except (TypeError, ValueError) as error:
        raise type(error)(f"the {name}: {error}") from None


def open(
    device: str = DEFAULT_DEVICE,
    records: str | int | None = None,
    capacity: int | None = None,
    board: str | None = None,
    *,
    baud: int | None = None,
    generator: str = "trivium",
    memory: str = "bram",
    sdram_size: int | None = None,
) -> Memory:
    """Opens a MemGen device (``reference``, ``sim``, ``verilator`` or ``serial:PORT``).

    A simulated device is built for ``records`` (``"variable"``, the default, ``"bytes"`` or
    ``"fixed:K"``) with ``capacity`` bytes (default 65,536) or, with ``board`` (``"icebreaker"``,
    ``"ulx3s-85f"``), that board's memory and generator. A board on ``serial:PORT`` has the
    records mode and memory it was built with (``records``, if given, must match) and keeps its
    records between :func:`open` calls; there ``board`` names it for its line rate (the
    iCEBreaker's 6 Mbaud), ``baud`` gives any other (default 3 Mbaud, the ULX3S's). A simulated
    board keeps its records in ``memory``: ``"bram"`` (block RAM, default) or ``"sdram"`` (its
    SDRAM chip, ``sdram_size`` MiB, simulated)."""
    check_device(device)
    fixed, size = parse_records("variable" if records is None else records)
    if board is not None and capacity is not None:
        raise ValueError("give capacity or board, not both: a board's memory is its own")
    if (memory != "bram" or sdram_size is not None) and (board is None or device not in SIMULATED):
        raise ValueError("a memory is for a simulated board (device reference, sim, verilator)")
    if generator not in ("trivium", "lfsr"):
        raise ValueError(f"generator must be trivium or lfsr, not {generator!r}")
    record_format, board_model = None, None
    if board is not None:
        from memgen.boards import board as find_board

        board_model = find_board(board)
    if baud is None:
        baud = BAUD if board_model is None else board_model.baud
    if device not in SIMULATED:
        if capacity is not None:
            raise ValueError(f"{device} has the memory it was built with: no capacity")
        board_model = None  # named for its line rate only: the board knows its memory
    elif board_model is not None:
        board_model = board_model.with_memory(memory, sdram_size)
        if fixed:
            board_model = board_model.for_records(size)
    else:
        record_format = sim_format(
            "variable" if records is None else records,
            DEFAULT_CAPACITY if capacity is None else capacity,
        )
    transport = open_transport(
        device, record_format, baud=baud, generator=generator, board=board_model
    )
    try:
        memory = Memory(Driver(transport), device)
    except LinkError as error:
        transport.close()
        if device in SIMULATED:
            raise
        from memgen.boards import BOARDS

        rates = ", ".join(f"{name} {model.baud:,}" for name, model in BOARDS.items())
        raise LinkError(f"{error} (at {baud:,} baud; the boards run at {rates})") from None
    except BaseException:
        transport.close()
        raise
    status = memory._status
    built = (status.fixed_size, status.max_length if status.fixed_size else None)
    if records is not None and built != (fixed, size):
        memory.close()
        built = f"fixed:{status.max_length}" if status.fixed_size else "variable"
        raise ValueError(f"{device} stores {built} records, not {records}")
    return memory
