"""Host driver: train, sample, recite, clear, seed and status over any transport.

The driver speaks the frame protocol of :mod:`memgen.hdl.protocol` through a transport of
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

from memgen.hdl.protocol import (
    DONE_BYTES,
    MAX_LINK_RECORD,
    MAX_RECALL_K,
    ErrorCode,
    FrameDecoder,
    FrameError,
    Opcode,
    RecordStream,
    Reply,
    append_frames,
    command_plain,
    command_recall,
    command_sample,
    command_seed,
    decode_done,
    decode_recall,
    encode_frame,
)

__all__ = ["Driver", "DeviceError", "LinkError", "MemGenError", "SAMPLE_CHUNK", "fitting_records"]

#: Records per SAMPLE command.
SAMPLE_CHUNK = 4096


class MemGenError(Exception):
    """Base of the errors a user sees as one line."""


class LinkError(MemGenError):
    """The link failed in a way the protocol cannot repair."""


class DeviceError(MemGenError):
    """The device refused a command.

    Attributes: ``code`` (an :class:`ErrorCode`), ``stored`` (records of this call stored before
    the refusal), ``done`` (the DONE fields: status and counters).
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
        self.done = done
        self.stored = stored
        super().__init__(self.MESSAGES[self.code])


def fitting_records(records, status):
    """How many of ``records``, in order, the device with ``status`` accepts before refusing.

    The rules are the device's (:meth:`MemGenReference.append`): room for the record's bytes, a
    free record slot, the length limit or the fixed size.
    """
    fixed = status["flags"] & 1
    count, used = status["records"], status["bytes_used"]
    for accepted, record in enumerate(records):
        length = len(record)
        if (
            length == 0
            or length > status["max_length"]
            or (fixed and length != status["max_length"])
            or count == status["record_capacity"]
            or used + length > status["byte_capacity"]
        ):
            return accepted
        count += 1
        used += length
    return len(records)


class _Command:
    def __init__(self, payload, consumes=True):
        self.payload = payload
        self.consumes = consumes  # STATUS does not use up a sequence number
        self.sequence = None
        self.frame = None
        self.data = bytearray()
        self.done = None


class Driver:
    """A MemGen device.

    Parameters
    ----------
    transport
        From :func:`memgen.host.transports.open_transport`.
    window_frames, window_bytes : int
        Unanswered commands and wire bytes at most.
    """

    def __init__(self, transport, window_frames=4, window_bytes=1000):
        self.transport = transport
        self.window_frames = window_frames
        self.window_bytes = window_bytes
        self.decoder = FrameDecoder()
        self._next = None  # next sequence number the device will run
        self._status = None

    def close(self):
        self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # Public API ------------------------------------------------------------------------------
    def status(self):
        """The DONE fields of a STATUS: records, bytes used, capacities, seed, link counters."""
        return self._run([_Command(command_plain(Opcode.STATUS), consumes=False)])[0].done

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
        records = [bytes(record) for record in records]
        for record in records:
            if not record:
                raise ValueError("Records must have at least one byte")
            if len(record) > MAX_LINK_RECORD:
                raise ValueError(
                    f"A record of {len(record)} bytes is longer than a frame carries "
                    f"({MAX_LINK_RECORD})"
                )
        status = self.status()
        fits = fitting_records(records, status)
        size = status["max_length"] if status["flags"] & 1 else None
        commands = [_Command(payload) for payload, _ in append_frames(records[:fits], size)]
        stored = 0

        def count(command):
            nonlocal stored
            stored += command.done["stored"]
            if progress:
                progress(stored, len(records))

        done = status
        for command in self._run(commands, on_done=count):
            if command.done["code"]:
                raise DeviceError(command.done["code"], command.done, stored)
            done = command.done
        if fits < len(records):
            # Let the device itself refuse the first record that does not fit.
            ((payload, _),) = append_frames(records[fits : fits + 1], size)
            command = self._run([_Command(payload)])[0]
            if command.done["code"]:
                raise DeviceError(command.done["code"], command.done, stored)
            raise LinkError("the device stored a record it has no room for")
        return done

    def sample(self, count, progress=None):
        """``count`` records drawn uniformly at random by the device."""
        if count < 0:
            raise ValueError("The number of samples cannot be negative")
        status = self.status()
        commands = [
            _Command(command_sample(min(SAMPLE_CHUNK, count - start)))
            for start in range(0, count, SAMPLE_CHUNK)
        ]
        records = []

        def collect(command):
            self._checked(command)
            parsed = self._records(command, status)
            wanted = int.from_bytes(command.payload[1:], "little")
            if len(parsed) != wanted:
                raise LinkError(
                    f"sample data lost on the link: {len(parsed)} of {wanted} records arrived"
                )
            records.extend(parsed)
            if progress:
                progress(len(records), count)

        self._run(commands, on_done=collect, window_frames=2)
        return records

    def recite(self):
        """Every stored record, in order."""
        status = self.status()
        command = self._run([_Command(command_plain(Opcode.RECITE))])[0]
        self._checked(command)
        records = self._records(command, status)
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
        if not status["flags"] & 1:
            raise MemGenError("recall needs a device with fixed-size records")
        if len(query) != status["max_length"]:
            raise ValueError(
                f"The query is {len(query)} bytes; the device's records are {status['max_length']}"
            )
        command = self._run([_Command(command_recall(query, k, mask))])[0]
        self._checked(command)
        return decode_recall(command.data, status["max_length"])

    # Protocol --------------------------------------------------------------------------------
    @staticmethod
    def _records(command, status):
        """The records in a command's DATA."""
        stream = RecordStream(status["max_length"] if status["flags"] & 1 else None)
        stream.feed(command.data)
        if stream.pending:
            raise LinkError("record data lost on the link (a record is cut short)")
        return stream.records

    def _checked(self, command):
        if command.done["code"]:
            raise DeviceError(command.done["code"], command.done)
        return command.done

    def _synchronise(self):
        """Drop whatever the device was still sending, then learn its expected sequence."""
        while self.transport.read(0.05):
            pass
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
        """Send ``commands`` (windowed), collect their DATA and DONE; returns them."""
        window_frames = window_frames or self.window_frames
        if self._next is None:
            self._synchronise()
        pending = list(reversed(commands))
        unanswered = []
        recoveries = 0
        while pending or unanswered:
            while pending and self._window_open(unanswered, pending[-1], window_frames):
                command = pending.pop()
                self._assign(command)
                self.transport.write(command.frame)
                unanswered.append(command)
            data = self.transport.read(self.transport.timeout)
            reason = "the device did not answer" if not data else None
            for frame in self.decoder.feed(data):
                if self._accept(frame, unanswered, on_done) == Reply.REJECTED:
                    reason = "the device rejected a frame"
                    break
            if reason:
                recoveries += 1
                self._recover(unanswered, recoveries, reason, on_done)
        return commands

    def _window_open(self, unanswered, command, window_frames):
        if not unanswered:
            return True
        in_flight = sum(len(c.frame) for c in unanswered)
        size = len(encode_frame(0, command.payload))
        return len(unanswered) < window_frames and in_flight + size <= self.window_bytes

    def _accept(self, frame, unanswered, on_done):
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
            head.data += payload[1:]
        elif kind == Reply.DONE and len(payload) == DONE_BYTES:
            head.done = self._status = decode_done(payload)
            unanswered.pop(0)
            if on_done:
                on_done(head)
        return kind

    def _recover(self, unanswered, attempt, reason, on_done):
        """Barrier with STATUS; send again every command the device has not run."""
        if attempt > 5:
            raise LinkError(f"{reason}, and 5 attempts to recover failed")
        if not unanswered:
            return
        barrier = (unanswered[-1].sequence + 1) & 0xFF
        frame = encode_frame(barrier, command_plain(Opcode.STATUS))
        for _ in range(3):
            self.transport.write(frame)
            done = self._await_barrier(barrier, unanswered, on_done)
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
            command.data.clear()
            self.transport.write(command.frame)

    def _await_barrier(self, barrier, unanswered, on_done):
        """Answers up to the barrier's DONE (its fields), or None if the device falls silent."""
        while True:
            data = self.transport.read(self.transport.timeout)
            if not data:
                return None
            for frame in self.decoder.feed(data):
                kind = self._accept(frame, unanswered, on_done)
                if kind is None and not isinstance(frame, FrameError):
                    sequence, payload = frame
                    if (
                        sequence == barrier
                        and payload[:1] == bytes([Reply.DONE])
                        and len(payload) == DONE_BYTES
                    ):
                        return decode_done(payload)
