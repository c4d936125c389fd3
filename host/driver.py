"""Host driver: train, sample, recite, clear, seed and status over any transport.

The driver speaks the frame protocol of :mod:`memgen.hdl.link.protocol` through a transport of
:mod:`memgen.host.transports`, so the same calls reach the software model, the simulated gateware
or a board, and answer the same records for the same seed and data.

Flow control: the driver keeps at most ``window_frames`` commands and ``window_bytes`` wire bytes
unanswered, less than the device's frame buffer holds, so the device never has to drop a frame.
It asks for samples :data:`SAMPLE_CHUNK` at a time with at most two SAMPLE commands unanswered, so
the answer in flight toward the host is bounded, and the line never idles between chunks.
Consecutive SAMPLE commands continue one stream on the device, so how a draw is split into
commands does not change the samples.

Errors: a rejected frame (REJECTED) or a silent device starts a recovery: a STATUS barrier tells
the expected sequence number, and every unanswered command is sent again (the device runs none of
them twice). If an answer was lost after its command ran, :class:`LinkError` says so.
"""

import collections
import time

from memgen.hdl.engine.protocol import INDEX_BYTES, MAX_RECALL_K, ErrorCode, Opcode
from memgen.hdl.link.protocol import DONE_BYTES, MAX_LINK_RECORD, FrameError, Reply

from .codec import (
    DeviceStatus,
    FrameDecoder,
    RecordStream,
    append_frames,
    command_plain,
    command_recall,
    command_sample,
    command_seed,
    decode_done,
    decode_recall,
    encode_frame,
)
from .errors import LinkError, MemGenError

__all__ = [
    "Driver",
    "DeviceError",
    "LinkError",
    "MemGenError",
    "SAMPLE_CHUNK",
    "fitting_records",
    "checked_records",
]

#: Records per SAMPLE command.
SAMPLE_CHUNK = 4096
#: Seconds a device may go on sending before the driver's first command; a board still answering
#: a previous run's two SAMPLE commands of the longest records at 3 Mbaud needs about 28.
SYNC_TIMEOUT = 30.0


class DeviceError(MemGenError):
    """The device refused a command.

    Attributes: ``code`` (an :class:`ErrorCode`), ``stored`` (records of this call stored before
    the refusal), ``status`` (the device's :class:`DeviceStatus` after it).
    """

    MESSAGES = {
        ErrorCode.EMPTY: "the memory holds no records",
        ErrorCode.FULL: "the memory is full",
        ErrorCode.TOO_LONG: "record longer than the device's maximum",
        ErrorCode.WRONG_SIZE: "record is not the device's fixed size",
        ErrorCode.BAD_COMMAND: "the device did not understand a command",
        ErrorCode.MALFORMED: "the device received a malformed command",
    }

    def __init__(self, code, done, stored=0):
        self.code = ErrorCode(code)
        self.status = DeviceStatus.from_done(done)
        self.stored = stored
        super().__init__(self.MESSAGES[self.code])


def fitting_records(records, status):
    """How many of ``records``, in order, the device with ``status`` accepts before refusing.

    The rules are the device's (:meth:`MemGenReference.append`): room for the record's bytes, a
    free record slot, the length limit or the fixed size; each record starts on a word.
    """
    count, used = status.records, status.bytes_used
    for accepted, record in enumerate(records):
        length = len(record)
        if (
            length == 0
            or length > status.max_length
            or (status.fixed_size and length != status.max_length)
            or count == status.record_capacity
            or used + length > status.byte_capacity
        ):
            return accepted
        count += 1
        used += status.stored_bytes(length)
    return len(records)


def checked_records(records):
    """``records`` as a list of ``bytes``; a clear TypeError or ValueError for anything else.

    A record is bytes-like: ``bytes``, ``bytearray``, ``memoryview`` or a one-byte-per-item
    buffer such as a ``uint8`` numpy array (a row of a 2-D array is one record)."""
    if isinstance(records, bytes | bytearray | memoryview | str):
        raise TypeError(
            f"records is one {type(records).__name__} object, not a sequence of records: "
            "pass a list of bytes objects"
        )
    try:
        items = iter(records)
    except TypeError:
        kind = type(records).__name__
        raise TypeError(f"records must be a sequence of bytes, not {kind}") from None
    checked = []
    for number, record in enumerate(items):
        try:
            view = memoryview(record)
        except TypeError:
            view = None
        if view is None or view.itemsize != 1:
            raise TypeError(
                f"record {number} is {type(record).__name__}, not bytes-like (bytes, bytearray, "
                "memoryview or a uint8 array)"
            )
        record = view.tobytes()
        if not record:
            raise ValueError(f"record {number} is empty: records have at least one byte")
        if len(record) > MAX_LINK_RECORD:
            raise ValueError(
                f"record {number} is {len(record)} bytes, longer than a frame carries "
                f"({MAX_LINK_RECORD})"
            )
        checked.append(record)
    return checked


class _Command:
    def __init__(self, payload, consumes=True, record_size=False):
        self.payload = payload
        self.consumes = consumes  # STATUS does not use up a sequence number
        self.sequence = None
        self.frame = None
        self.data = bytearray()
        self.done = None
        # commands answered with records (record_size None: variable-length) parse as they arrive
        self.stream = None if record_size is False else RecordStream(record_size)

    def receive(self, data):
        if self.stream is not None:
            self.stream.feed(data)
        else:
            self.data += data

    def restart(self):
        """Forget a partial answer: the command is sent again."""
        self.data.clear()
        if self.stream is not None:
            self.stream = RecordStream(self.stream.record_size)

    def records(self, what):
        """The records answered; a LinkError if the answer was cut short."""
        if self.stream.pending:
            raise LinkError(f"{what} data lost on the link (a record is cut short)")
        return self.stream.records


class Driver:
    """A MemGen device.

    Parameters
    ----------
    transport
        From :func:`memgen.host.transports.open_transport`.
    window_frames, window_bytes : int
        Unanswered commands and wire bytes at most.
    """

    def __init__(self, transport, window_frames=4, window_bytes=1000, sync_timeout=SYNC_TIMEOUT):
        self.transport = transport
        self.window_frames = window_frames
        self.window_bytes = window_bytes
        self.sync_timeout = sync_timeout
        self.decoder = FrameDecoder()
        self._next = None  # next sequence number the device will run

    def close(self):
        self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # Public API ------------------------------------------------------------------------------
    def status(self):
        """The device's :class:`DeviceStatus`: records, bytes used, capacities, seed, link
        counters."""
        done = self._run([_Command(command_plain(Opcode.STATUS), consumes=False)])[0].done
        return DeviceStatus.from_done(done)

    def clear(self):
        self._checked(self._run([_Command(command_plain(Opcode.CLEAR))])[0])

    def seed(self, seed):
        if not 0 <= seed < 1 << 64:
            raise ValueError(f"The seed is a 64-bit unsigned number, not {seed}")
        self._checked(self._run([_Command(command_seed(seed))])[0])

    def train(self, records, progress=None):
        """Append ``records`` in order; returns the status after.

        Raises :class:`DeviceError` (with ``stored``) at the first record the device refuses;
        every record before it is stored, none after it is sent.
        """
        records = checked_records(records)
        status = self.status()
        fits = fitting_records(records, status)
        size = status.record_size
        commands = [_Command(payload) for payload, _ in append_frames(records[:fits], size)]
        stored = 0

        def count(command):
            nonlocal stored
            stored += command.done["stored"]
            if progress:
                progress(stored, len(records))

        for command in self._run(commands, on_done=count):
            if command.done["code"]:
                raise DeviceError(command.done["code"], command.done, stored)
            status = DeviceStatus.from_done(command.done)
        if fits < len(records):
            # Let the device itself refuse the first record that does not fit.
            ((payload, _),) = append_frames(records[fits : fits + 1], size)
            command = self._run([_Command(payload)])[0]
            if command.done["code"]:
                raise DeviceError(command.done["code"], command.done, stored)
            raise LinkError("the device stored a record it has no room for")
        return status

    def sample(self, count, progress=None):
        """``count`` records drawn uniformly at random by the device, as a list."""
        return [record for chunk in self.sample_chunks(count, progress) for record in chunk]

    def sample_chunks(self, count, progress=None):
        """``count`` records drawn uniformly at random by the device, as an iterator of lists
        of records, each yielded as soon as its records have arrived: memory stays bounded
        however large ``count`` is. ``progress(done, count)`` is called as records arrive."""
        if count < 0:
            raise ValueError("The number of samples cannot be negative")
        return self._sample_chunks(count, progress)

    def sample_indices(self, count, progress=None):
        """The indices of the next ``count`` samples, as a list: the records that SAMPLE
        ``count`` would return instead (the two share one stream)."""
        return [index for chunk in self.index_chunks(count, progress) for index in chunk]

    def index_chunks(self, count, progress=None):
        """:meth:`sample_indices` as an iterator of lists, each yielded as it arrives."""
        if count < 0:
            raise ValueError("The number of samples cannot be negative")
        return self._sample_chunks(count, progress, indices=True)

    def _sample_chunks(self, count, progress, indices=False):
        status = self.status()
        size = INDEX_BYTES if indices else status.record_size
        issued = collections.deque()  # SAMPLE commands sent and not yet all yielded
        done = taken = 0  # records yielded; of them, from issued[0]

        def commands():
            for start in range(0, count, SAMPLE_CHUNK):
                payload = command_sample(min(SAMPLE_CHUNK, count - start), indices)
                issued.append(_Command(payload, record_size=size))
                yield issued[-1]

        for _ in self._stream(commands(), window_frames=2, ticks=True):
            # DATA reaches the oldest unanswered command only: drain from the front.
            while issued:
                head = issued[0]
                finished = head.done is not None
                if finished:
                    self._checked(head)
                    records = head.records("sample")
                    wanted = int.from_bytes(head.payload[1:], "little")
                    if len(records) != wanted:
                        raise LinkError(
                            f"sample data lost on the link: {len(records)} of {wanted} "
                            "records arrived"
                        )
                new = head.stream.records[taken:]
                if new:
                    done, taken = done + len(new), taken + len(new)
                    if progress:
                        progress(done, count)
                    yield [int.from_bytes(i, "little") for i in new] if indices else new
                if not finished:
                    break
                issued.popleft()
                taken = 0

    def recite(self):
        """Every stored record, in order."""
        status = self.status()
        size = status.record_size
        command = self._run([_Command(command_plain(Opcode.RECITE), record_size=size)])[0]
        self._checked(command)
        records = command.records("recited")
        if len(records) != command.done["records"]:
            raise LinkError(
                f"recited data lost on the link: {len(records)} of "
                f"{command.done['records']} records arrived"
            )
        return records

    def recall(self, query, k=1, mask=None):
        """The ``k`` stored records nearest ``query`` in Hamming distance, counting only the bits
        set in ``mask`` (all bits when ``None``): ``[(index, distance, record), ...]``, nearest
        first, ties to the lowest index; fewer than ``k`` when fewer are stored. The device
        must hold fixed-size records and ``query`` (and ``mask``) be one record long."""
        query = bytes(query)
        if not 1 <= k <= MAX_RECALL_K:
            raise ValueError(f"k must be 1 to {MAX_RECALL_K}, not {k}")
        if mask is not None and len(mask) != len(query):
            raise ValueError(f"The mask is {len(mask)} bytes, the query {len(query)}")
        status = self.status()
        if not status.fixed_size:
            raise MemGenError("recall needs a device with fixed-size records")
        if len(query) != status.max_length:
            raise ValueError(
                f"The query is {len(query)} bytes; the device's records are {status.max_length}"
            )
        command = self._run([_Command(command_recall(query, k, mask))])[0]
        self._checked(command)
        return decode_recall(command.data, status.max_length)

    # Protocol --------------------------------------------------------------------------------
    def _checked(self, command):
        if command.done["code"]:
            raise DeviceError(command.done["code"], command.done)
        return command.done

    def _synchronise(self):
        """Drop whatever the device was still sending, then learn its expected sequence."""
        deadline = time.monotonic() + self.sync_timeout
        while self.transport.read(0.05):
            if time.monotonic() > deadline:
                raise LinkError(
                    f"the device sent without a pause for {self.sync_timeout:g} s: is it a memgen "
                    "device, and at this baud rate?"
                )
        self.decoder = FrameDecoder()
        self._next = 0  # any number: STATUS runs whatever its sequence number
        done = self._run([_Command(command_plain(Opcode.STATUS), consumes=False)])[0].done
        self._next = done["expected"]

    def _assign(self, command):
        command.sequence = self._next
        if command.consumes:
            self._next = (self._next + 1) & 0xFF
        command.frame = encode_frame(command.sequence, command.payload)

    def _run(self, commands, on_done=None, window_frames=None):
        """Send ``commands`` (windowed), collect their answers; returns them."""
        for command in self._stream(commands, window_frames):
            if on_done:
                on_done(command)
        return commands

    def _stream(self, commands, window_frames=None, ticks=False):
        """Send ``commands`` (any iterable, windowed); yields each when its DONE has arrived,
        and with ``ticks`` None after every read too (DATA may have come)."""
        window_frames = window_frames or self.window_frames
        if self._next is None:
            self._synchronise()
        commands = iter(commands)
        waiting = next(commands, None)
        unanswered, finished = [], []
        recoveries = 0
        while waiting is not None or unanswered:
            while waiting is not None and self._window_open(unanswered, waiting, window_frames):
                self._assign(waiting)
                self.transport.write(waiting.frame)
                unanswered.append(waiting)
                waiting = next(commands, None)
            data = self.transport.read(self.transport.timeout)
            reason = "the device did not answer" if not data else None
            for frame in self.decoder.feed(data):
                if self._accept(frame, unanswered, finished) == Reply.REJECTED:
                    reason = "the device rejected a frame"
                    break
            if reason:
                recoveries += 1
                self._recover(unanswered, recoveries, reason, finished)
            while finished:
                yield finished.pop(0)
            if ticks:
                yield None

    def _window_open(self, unanswered, command, window_frames):
        if not unanswered:
            return True
        in_flight = sum(len(c.frame) for c in unanswered)
        size = len(encode_frame(0, command.payload))
        return len(unanswered) < window_frames and in_flight + size <= self.window_bytes

    def _accept(self, frame, unanswered, finished):
        """File one received frame; returns its Reply kind (None if it was not for us)."""
        if isinstance(frame, FrameError):
            return None  # a lost DATA frame shows in the count, a lost DONE as silence
        sequence, payload = frame
        if not payload:
            return None
        kind = payload[0]
        if kind == Reply.REJECTED:
            return kind
        if not unanswered or sequence != unanswered[0].sequence:
            return None  # stale, or a barrier's answer
        head = unanswered[0]
        if kind == Reply.DATA:
            head.receive(payload[1:])
        elif kind == Reply.DONE and len(payload) == DONE_BYTES:
            head.done = decode_done(payload)
            finished.append(unanswered.pop(0))
        return kind

    def _recover(self, unanswered, attempt, reason, finished):
        """Barrier with STATUS; send again every command the device has not run."""
        if attempt > 5:
            raise LinkError(f"{reason}, and 5 attempts to recover failed")
        if not unanswered:
            return
        barrier = (unanswered[-1].sequence + 1) & 0xFF
        frame = encode_frame(barrier, command_plain(Opcode.STATUS))
        for _ in range(3):
            self.transport.write(frame)
            done = self._await_barrier(barrier, unanswered, finished)
            if done is not None:
                break
        else:
            raise LinkError(f"{reason}, and the device does not answer STATUS")
        if not unanswered:
            return
        if done["expected"] != unanswered[0].sequence:
            raise LinkError(
                f"{reason}; commands ran but their answers were lost "
                f"(device expects sequence {done['expected']}, "
                f"first unanswered {unanswered[0].sequence})"
            )
        for command in unanswered:
            command.restart()
            self.transport.write(command.frame)

    def _await_barrier(self, barrier, unanswered, finished):
        """Answers up to the barrier's DONE (its fields), or None if the device falls silent."""
        while True:
            data = self.transport.read(self.transport.timeout)
            if not data:
                return None
            for frame in self.decoder.feed(data):
                kind = self._accept(frame, unanswered, finished)
                if kind is None and not isinstance(frame, FrameError):
                    sequence, payload = frame
                    if (
                        sequence == barrier
                        and payload[:1] == bytes([Reply.DONE])
                        and len(payload) == DONE_BYTES
                    ):
                        return decode_done(payload)
