"""Reference model of the MemGen core: Algorithm 1 plus the bit-exact generator.

MemGEN ("learning by heart")::

    TrainModel(data): memory = []; for x in data: memory.append(x); return memory
    Sample(memory):   return memory[randint(len(memory))]

:class:`MemGenReference` is that algorithm with the hardware's limits (capacity, record length,
refusal rules) and the hardware's random index stream
(:class:`~memgen.hdl.engine.index_generator.IndexGeneratorModel`), so the same seed and records give
the gateware's samples exactly. :meth:`MemGenReference.respond` answers a command packet with the
response packets the core sends.
"""

from memgen.hdl.engine.index_generator import IndexGeneratorModel
from memgen.hdl.engine.lanes import lane_share
from memgen.hdl.engine.protocol import (
    ARGUMENT_BYTES,
    DEFAULT_SEED,
    INDEX_BYTES,
    MAX_RECALL_K,
    ErrorCode,
    Opcode,
    ResponseKind,
    status_flags,
)

from .codec import encode_status

__all__ = ["MemGenReference", "train_model", "sample"]


def train_model(data):
    """Algorithm 1, TrainModel."""
    memory = []
    for x in data:
        memory.append(x)
    return memory


def sample(memory, randint):
    """Algorithm 1, Sample (``randint(n)`` draws uniformly from ``range(n)``)."""
    return memory[randint(len(memory))]


class MemGenReference:
    """Software twin of :class:`memgen.hdl.engine.core.MemGen`.

    Parameters
    ----------
    record_format : RecordFormat
    generator : str
        ``"trivium"`` or ``"lfsr"``.
    seed : int
        Engine seed at reset.
    """

    def __init__(self, record_format, generator="trivium", seed=DEFAULT_SEED):
        self.format = record_format
        self.generator = generator
        self.lanes = [
            IndexGeneratorModel(record_format.max_records, generator, seed, lane)
            for lane in range(record_format.lanes)
        ]
        self.next_lane = 0  # sample j of the stream since the seed comes from lane j mod lanes
        self.memory = []
        self.bytes_used = 0

    # Algorithm 1 with the hardware's limits
    def append(self, record):
        """Store one record; return ``None`` or the :class:`ErrorCode` of the refusal."""
        record = bytes(record)
        fmt = self.format
        if len(record) == 0:
            return ErrorCode.BAD_COMMAND
        if len(self.memory) == fmt.max_records:
            return ErrorCode.FULL
        limit = fmt.max_length
        # bytes are checked in order, as the gateware sees them
        for offset in range(len(record)):
            if offset == limit:
                return ErrorCode.WRONG_SIZE if fmt.fixed else ErrorCode.TOO_LONG
            if self.bytes_used + offset >= fmt.byte_capacity:
                return ErrorCode.FULL
        if fmt.fixed and len(record) != fmt.record_size:
            return ErrorCode.WRONG_SIZE
        self.memory.append(record)
        self.bytes_used += fmt.stored_bytes(len(record))  # records start on word boundaries
        self._set_count(len(self.memory))
        return None

    def sample(self, count):
        """``count`` samples, or :data:`ErrorCode.EMPTY`."""
        indices = self.sample_indices(count)
        if isinstance(indices, ErrorCode):
            return indices
        return [self.memory[i] for i in indices]

    def sample_indices(self, count):
        """The indices of the next ``count`` samples (the same stream), or
        :data:`ErrorCode.EMPTY`."""
        if not self.memory:
            return ErrorCode.EMPTY
        if count == 0:
            return []
        lanes, first = len(self.lanes), self.next_lane
        drawn = [
            iter(model.request(lane_share(count, first, lane, lanes), len(self.memory)))
            for lane, model in enumerate(self.lanes)
        ]
        self.next_lane = (first + count) % lanes
        return [next(drawn[(first + j) % lanes]) for j in range(count)]

    def recite(self):
        return list(self.memory) if self.memory else ErrorCode.EMPTY

    def recall(self, query, k=1, mask=None):
        """The ``k`` records nearest ``query`` (Hamming distance over the bits set in ``mask``),
        as ``[(index, distance), ...]``, ties to the lowest index; or an :class:`ErrorCode`."""
        fmt = self.format
        if not fmt.fixed or not 1 <= k <= MAX_RECALL_K:
            return ErrorCode.BAD_COMMAND
        mask = bytes([0xFF]) * len(query) if mask is None else mask
        if len(query) != fmt.record_size or len(mask) != fmt.record_size:
            return ErrorCode.WRONG_SIZE
        if not self.memory:
            return ErrorCode.EMPTY
        query_bits = int.from_bytes(query, "little")
        mask_bits = int.from_bytes(mask, "little")
        distances = [
            ((int.from_bytes(record, "little") ^ query_bits) & mask_bits).bit_count()
            for record in self.memory
        ]
        order = sorted(range(len(self.memory)), key=lambda i: (distances[i], i))
        return [(i, distances[i]) for i in order[:k]]

    def clear(self):
        self.memory = []
        self.bytes_used = 0
        self._set_count(0)

    def seed(self, seed):
        for model in self.lanes:
            model.seed(seed)
        self.next_lane = 0

    def _set_count(self, count):
        for model in self.lanes:  # every lane's generator sees the count change
            model.set_count(count)

    def status(self):
        fmt = self.format
        return {
            "records": len(self.memory),
            "bytes_used": self.bytes_used,
            "record_capacity": fmt.max_records,
            "byte_capacity": fmt.byte_capacity,
            "max_length": fmt.max_length,
            "flags": status_flags(fmt.fixed, self.generator, fmt.word_bytes, fmt.lanes),
        }

    # The command interface
    def _recall(self, arguments):
        """RECALL's answer: per match a RECORD packet of index (4 bytes), distance (2 bytes) and
        the record. A packet the wrong size for the records is WRONG_SIZE."""
        if not arguments:
            return self._error(ErrorCode.BAD_COMMAND)
        k, rest = arguments[0], arguments[1:]
        half = len(rest) // 2
        query, mask = rest[:half], rest[half:]
        if self.format.fixed and len(rest) != 2 * self.format.record_size:
            query = mask = b""  # wrong size, whatever the halves
        result = self.recall(query, k, mask)
        if isinstance(result, ErrorCode):
            return self._error(result)
        return [
            (
                ResponseKind.RECORD,
                index.to_bytes(4, "little") + distance.to_bytes(2, "little") + self.memory[index],
            )
            for index, distance in result
        ]

    def _error(self, code):
        return [(ResponseKind.ERROR, bytes([code]) + encode_status(self.status()))]

    def respond(self, packet):
        """Response packets ``[(ResponseKind, bytes), ...]`` to one command packet."""
        packet = bytes(packet)
        opcode, arguments = packet[0], packet[1:]
        if opcode == Opcode.APPEND:
            code = self.append(arguments)
            return [] if code is None else self._error(code)
        if opcode == Opcode.RECALL:
            return self._recall(arguments)
        if opcode not in ARGUMENT_BYTES or len(arguments) != ARGUMENT_BYTES[opcode]:
            return self._error(ErrorCode.BAD_COMMAND)
        value = int.from_bytes(arguments, "little")
        if opcode == Opcode.SAMPLE:
            result = self.sample(value)
        elif opcode == Opcode.INDICES:
            indices = self.sample_indices(value)
            if isinstance(indices, ErrorCode):
                return self._error(indices)
            return [(ResponseKind.INDEX, i.to_bytes(INDEX_BYTES, "little")) for i in indices]
        elif opcode == Opcode.RECITE:
            result = self.recite()
        elif opcode == Opcode.CLEAR:
            self.clear()
            return []
        elif opcode == Opcode.SEED:
            self.seed(value)
            return []
        else:
            return [(ResponseKind.STATUS, encode_status(self.status()))]
        if isinstance(result, ErrorCode):
            return self._error(result)
        return [(ResponseKind.RECORD, record) for record in result]
