"""The MemGen core: append memory, index generator and readout behind one command stream.

Commands and responses are packets of bytes, as :mod:`.protocol` defines them. The
core executes one command at a time, in order:

* APPEND forwards the record's bytes to the :class:`AppendMemory` at one byte per clock;
* SAMPLE asks the :class:`IndexGenerator` for ``n`` indices and the :class:`Readout` streams the
  records, one byte per clock with no bubble between records;
* INDICES takes the same ``n`` indices from the generator and sends each as 4 bytes instead;
* RECITE feeds the readout the indices ``0 .. N-1``;
* RECALL (fixed-size records) loads a query and mask into the :class:`.recall.Matcher`,
  recites every record into it instead of the responses, then answers the ``k`` nearest, each as
  index, distance and the record (read again through the readout);
* STATUS and errors are serialised by a small byte multiplexer.

The record storage and the record table are backends behind
:class:`~memgen.hdl.engine.storage.StorageSignature`; a board passes its own (for example SPRAM),
the default is ``lib.memory``. The core multiplexes each backend's single port between the
append memory (while appending) and the readout (while sampling or reciting).
"""

from types import SimpleNamespace

from amaranth.hdl import Assert, Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..common.pipeline import Countdown
from ..common.skid import SkidBuffer
from .append_memory import AppendMemory
from .index_generator import GENERATORS, IndexGenerator
from .protocol import (
    ARGUMENT_BYTES,
    DEFAULT_SEED,
    INDEX_BYTES,
    RECALL_HEADER,
    STATUS_BYTES,
    STATUS_FIELDS,
    ErrorCode,
    Opcode,
    ResponseKind,
    status_flags,
)
from .readout import Readout
from .recall import MAX_K, Matcher
from .records import RecordWord, table_entry_layout
from .storage import LibMemoryStorage, share_storage_port

__all__ = ["MemGen", "ResponseWord"]

#: Response bytes: a record byte, or a byte of a STATUS or ERROR packet.
ResponseWord = data.StructLayout({"data": 8, "first": 1, "last": 1, "kind": 2})


class MemGen(wiring.Component):
    """MemGEN in hardware: learn records by heart, sample them uniformly.

    Parameters
    ----------
    record_format : RecordFormat
        Capacity and mode.
    generator : str
        Index generator engine, ``"trivium"`` (default) or ``"lfsr"``.
    reset_seed : int
        Engine seed after reset.
    data_storage, table_storage : Elaboratable or None
        Backends with a ``port`` member of the flipped ``StorageSignature``. ``None`` builds a
        :class:`LibMemoryStorage` of the right size.

    Members
    -------
    commands : In(stream.Signature(RecordWord))
        Command packets.
    responses : Out(stream.Signature(ResponseWord))
        Response packets.
    record_length : Out(length_width)
        While a RECORD packet is on ``responses``: its length in bytes.
    idle : Out(1)
        The core has finished every command it took (all its responses taken) and waits for the
        next one.
    """

    def __init__(
        self,
        record_format,
        generator="trivium",
        reset_seed=DEFAULT_SEED,
        *,
        data_storage=None,
        table_storage=None,
    ):
        if generator not in GENERATORS:
            raise ValueError(f"Generator must be one of {GENERATORS}, not {generator!r}")
        self.format = record_format
        self.generator = generator
        self.reset_seed = reset_seed
        self.data_storage = data_storage
        self.table_storage = table_storage
        super().__init__(
            {
                "commands": In(stream.Signature(RecordWord)),
                "responses": Out(stream.Signature(ResponseWord)),
                "record_length": Out(record_format.length_width),
                "idle": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        fmt = self.format
        self._scanning = Signal()  # RECALL_SCAN: the readout's bytes go to the matcher

        m.submodules.append_memory = appender = AppendMemory(fmt)
        m.submodules.index_generator = generator = IndexGenerator(
            fmt.max_records, self.generator, self.reset_seed
        )
        data_storage = self.data_storage or LibMemoryStorage(fmt.byte_capacity, 8)
        m.submodules.data_storage = data_storage
        table_storage = None
        if not fmt.fixed:
            entry_width = table_entry_layout(fmt).size
            table_storage = self.table_storage or LibMemoryStorage(fmt.max_records, entry_width)
            m.submodules.table_storage = table_storage
        m.submodules.readout = readout = Readout(
            fmt,
            read_latency=getattr(data_storage, "read_latency", 1),
            table_latency=getattr(table_storage, "read_latency", 1),
        )
        ports = [(data_storage, appender.data_port, readout.data_port)]
        if table_storage is not None:
            ports.append((table_storage, appender.table_port, readout.table_port))

        # The readout owns the storage ports: a flop equal to "in SAMPLING or RECITING", set and
        # cleared with those transitions, so the read enables reach the storage one LUT from flops.
        reading = Signal()
        for backend, writer, reader in ports:
            share_storage_port(m, backend, writer, reader, reading)
        m.d.comb += generator.count.eq(appender.count)
        # Indices reach the readout through a register slice: it cuts the ready chain from the
        # response stream through the readout into the generator's LFSR enables. The generator
        # makes exactly the n indices of a request, so the slice is empty after each SAMPLE.
        m.submodules.index_slice = index_slice = SkidBuffer(generator.indices.payload.shape())
        wiring.connect(m, generator.indices, index_slice.input)

        # RECALL (fixed-size records only): the matcher watches a recitation.
        recall = fmt.fixed
        matcher = None
        if recall:
            m.submodules.matcher = matcher = Matcher(fmt)
            m.d.comb += [
                matcher.words.valid.eq(readout.words.valid & self._scanning),
                matcher.words.payload.eq(readout.words.payload),
            ]

        command = self.commands.payload
        opcode = Signal(8)
        arguments = Signal(64)
        argument_count = Signal(range(10))
        recite_index = Signal(fmt.index_width + 1)
        recite_left = Countdown(m, fmt.index_width + 1, "recite_left")  # count - recite_index
        recite_more = Signal()  # recite_index < count
        # The readout's indices: the generator's (through the slice) while sampling, the recite
        # counter's while reciting. Only one source is ever active (the generator runs only in
        # SAMPLING, ``recite_more`` is set only in RECITING; asserted), so the slice's ready needs
        # no state and the readout's ready reaches it one LUT from flops.
        # RECALL's answer feeds the readout the index of each match, one at a time.
        match_more = Signal()
        match_index = Signal(fmt.index_width)
        # INDICES: the slice's indices go to a byte serialiser instead (``send_indices``, a flop
        # set with the command), each sent as INDEX_BYTES little-endian bytes.
        send_indices = Signal()
        index_shift = Signal(fmt.index_width)  # the bytes above it are zero
        index_position = Signal(range(INDEX_BYTES))
        index_full = Signal()
        sampled = index_slice.output.valid & ~send_indices
        m.d.comb += [
            readout.indices.valid.eq(sampled | recite_more | match_more),
            readout.indices.payload.eq(
                Mux(
                    match_more,
                    match_index,
                    Mux(recite_more, recite_index, index_slice.output.payload),
                )
            ),
            index_slice.output.ready.eq(Mux(send_indices, ~index_full, readout.indices.ready)),
        ]
        with m.If(index_slice.output.valid & send_indices & ~index_full):
            m.d.sync += [
                index_shift.eq(index_slice.output.payload),
                index_position.eq(0),
                index_full.eq(1),
            ]
        m.d.sync += Assert(
            ~(index_slice.output.valid & recite_more), "sampled and recited indices at once"
        )
        m.d.sync += Assert(~(match_more & (recite_more | index_slice.output.valid)))
        # SEED reaches the generator from a flop, the clock after EXECUTE (the generator is idle:
        # a SAMPLE needs its arguments first).
        seed_load = Signal()
        m.d.sync += seed_load.eq(0)
        m.d.comb += [generator.seed.valid.eq(seed_load), generator.seed.payload.eq(arguments)]
        # CLEAR reaches the append memory from a flop, the clock after the command.
        clear = Signal()
        m.d.sync += appender.clear.eq(clear)
        # "No records", a clock behind the count: the count changes only while appending (no
        # command reads this flag in the clock after) or on a clear (which sets it at once).
        memory_empty = Signal(init=1)
        m.d.sync += memory_empty.eq((appender.count == 0) | appender.clear)
        # The code an ERROR packet carries: loaded every clock outside SEND_ERROR with the code
        # the current state would fail with (``error_candidate``, set per state, not per
        # condition), so its enable is one state flag, not the conditions of every failure.
        error_code = Signal(8)
        error_candidate = Signal(8)

        # Status fields, little-endian, as one bit vector; an ERROR packet prefixes the code.
        values = {
            "records": appender.count,
            "bytes_used": appender.bytes_used,
            "record_capacity": Const(fmt.max_records, 32),
            "byte_capacity": Const(fmt.byte_capacity, 32),
            "max_length": Const(fmt.max_length, 32),
            "flags": Const(status_flags(fmt.fixed, self.generator), 8),
        }
        fields = []
        for name, size in STATUS_FIELDS:
            field = Signal(8 * size, name=f"status_{name}")
            m.d.comb += field.eq(values[name])
            fields.append(field)
        error_bits = Cat(error_code, *fields)
        # The packet's bytes go out of a byte register: the state's first clock loads its first
        # byte (a constant choice), each byte taken loads the next from ``status_position`` (a
        # flop, the index of that next byte) through a multiplexer of mostly constant bytes.
        # So each byte leaves a flop without a shift register as wide as the packet, and the
        # first and last flags are flops beside it.
        status_position = Signal(range(STATUS_BYTES + 2))
        status_byte = Signal(8)
        status_next = Signal(8)
        status_first, status_last = Signal(), Signal()
        with m.Switch(status_position):
            for position in range(STATUS_BYTES + 1):
                with m.Case(position):
                    m.d.comb += status_next.eq(error_bits[8 * position : 8 * position + 8])
        status_loaded = Signal()
        # The append memory takes the record bytes from a register (it is always ready), so its
        # checks start from flops; the strobes that fill the register come from flops set with
        # the APPEND states.
        appending = Signal()
        append_first = Signal()
        m.d.sync += [
            appender.records.valid.eq(self.commands.valid & appending),
            appender.records.payload.data.eq(command.data),
            appender.records.payload.first.eq(append_first),
            appender.records.payload.last.eq(command.last),
        ]

        # SAMPLE, RECITE and RECALL's scan end when everything they started has gone: no index
        # still to come (the generator has made its n, the recitation has fed its last), none in
        # the slice, and the readout empty (all its credits back, so its last byte was taken).
        # These are flops, registered once more, so no count of the records sent is needed.
        # ``reading`` is low in the clock before each of those states, so ``drained`` is low in
        # their first clock; later the generator's ``busy`` or ``recite_more`` holds it low until
        # the last index has left.
        drained = Signal()
        m.d.sync += drained.eq(
            reading
            & ~generator.busy
            & ~index_slice.output.valid
            & ~recite_more
            & ~readout.busy
            & ~index_full
        )

        def leave_when_drained(then, keep_reading=False):
            """To state ``then`` once drained; the readout keeps the storage only with
            ``keep_reading`` (RECALL's answers read records again after its scan)."""
            with m.If(drained):
                if not keep_reading:
                    m.d.sync += reading.eq(0)
                m.next = then

        with m.FSM() as fsm:
            # A command's first byte is taken with its opcode decoded into flags; DISPATCH
            # acts on them the clock after.
            single, op_recite, op_clear, op_status, op_append = (Signal() for _ in range(5))
            op_recall = Signal()
            with m.State("IDLE"):
                m.d.comb += [self.commands.ready.eq(1), self.idle.eq(1)]
                with m.If(self.commands.valid):
                    m.d.sync += [
                        opcode.eq(command.data),
                        argument_count.eq(0),
                        single.eq(command.last),
                        op_recite.eq(command.data == Opcode.RECITE),
                        op_clear.eq(command.data == Opcode.CLEAR),
                        op_status.eq(command.data == Opcode.STATUS),
                        op_append.eq(command.data == Opcode.APPEND),
                        op_recall.eq(recall & (command.data == Opcode.RECALL)),
                    ]
                    m.next = "DISPATCH"

            with m.State("DISPATCH"):
                m.d.comb += error_candidate.eq(ErrorCode.BAD_COMMAND)
                with m.If(single):
                    with m.If(op_recite):
                        m.next = "START_RECITE"
                    with m.Elif(op_clear):
                        m.d.comb += clear.eq(1)
                        m.next = "IDLE"
                    with m.Elif(op_status):
                        m.next = "SEND_STATUS"
                    with m.Else():
                        m.next = "SEND_ERROR"
                with m.Elif(op_append):
                    m.d.sync += [appending.eq(1), append_first.eq(1)]
                    m.next = "APPEND_FIRST"
                if recall:
                    with m.Elif(op_recall):
                        m.next = "RECALL_K"
                with m.Else():
                    m.next = "ARGUMENTS"

            with m.State("APPEND_FIRST"):
                m.d.comb += self.commands.ready.eq(appender.records.ready)
                with m.If(self.commands.valid):
                    m.d.sync += append_first.eq(0)
                    m.next = "APPEND"
                    with m.If(command.last):
                        m.d.sync += appending.eq(0)
                        m.next = "APPEND_LAST"

            with m.State("APPEND"):
                m.d.comb += self.commands.ready.eq(appender.records.ready)
                with m.If(self.commands.valid & command.last):
                    m.d.sync += appending.eq(0)
                    m.next = "APPEND_LAST"

            with m.State("APPEND_LAST"):  # the last byte is in the register
                m.next = "APPEND_RESULT"

            with m.State("APPEND_RESULT"):  # the refusal strobe comes one clock after that
                m.d.comb += error_candidate.eq(appender.refusal_code)
                with m.If(appender.refused):
                    m.next = "SEND_ERROR"
                with m.Else():
                    m.next = "IDLE"

            with m.State("ARGUMENTS"):
                m.d.comb += self.commands.ready.eq(1)
                with m.If(self.commands.valid):
                    m.d.sync += arguments.eq(Cat(arguments[8:], command.data))
                    with m.If(argument_count != 9):
                        m.d.sync += argument_count.eq(argument_count + 1)
                    with m.If(command.last):
                        m.next = "DECODE"

            # The command's checks are registered for a clock, so EXECUTE chooses among flops.
            is_sample, is_seed, is_empty = Signal(), Signal(), Signal()
            with m.State("DECODE"):
                m.d.sync += [
                    is_sample.eq(
                        ((opcode == Opcode.SAMPLE) | (opcode == Opcode.INDICES))
                        & (argument_count == ARGUMENT_BYTES[Opcode.SAMPLE])
                    ),
                    send_indices.eq(opcode == Opcode.INDICES),
                    is_seed.eq(
                        (opcode == Opcode.SEED) & (argument_count == ARGUMENT_BYTES[Opcode.SEED])
                    ),
                    is_empty.eq(memory_empty),
                ]
                m.next = "EXECUTE"

            with m.State("EXECUTE"):
                m.d.comb += error_candidate.eq(
                    Mux(is_sample, ErrorCode.EMPTY, ErrorCode.BAD_COMMAND)
                )
                with m.If(is_sample):
                    with m.If(is_empty):
                        m.next = "SEND_ERROR"
                    with m.Else():
                        m.next = "REQUEST"
                with m.Elif(is_seed):
                    m.d.sync += seed_load.eq(1)
                    m.next = "IDLE"
                with m.Else():
                    m.next = "SEND_ERROR"

            with m.State("REQUEST"):
                m.d.comb += [
                    generator.request.valid.eq(1),
                    generator.request.payload.eq(arguments[32:]),
                ]
                with m.If(generator.request.ready):
                    m.d.sync += reading.eq(1)
                    m.next = "SAMPLING"
                    with m.If(send_indices):
                        m.next = "SENDING_INDICES"

            with m.State("SAMPLING"):
                self._send_records(m, readout)
                leave_when_drained("IDLE")

            with m.State("SENDING_INDICES"):
                m.d.comb += [
                    self.responses.valid.eq(index_full),
                    self.responses.payload.kind.eq(ResponseKind.INDEX),
                    self.responses.payload.data.eq(index_shift[:8]),  # 0 once shifted out
                    self.responses.payload.first.eq(index_position == 0),
                    self.responses.payload.last.eq(index_position == INDEX_BYTES - 1),
                ]
                with m.If(index_full & self.responses.ready):
                    m.d.sync += [
                        index_shift.eq(index_shift[8:]),
                        index_position.eq(index_position + 1),
                        index_full.eq(index_position != INDEX_BYTES - 1),
                    ]
                leave_when_drained("IDLE")

            def feed_recitation():
                """The indices 0 .. N-1 into the readout, one per clock it takes."""
                with m.If(recite_more & readout.indices.ready):
                    recite_left.decrement()
                    m.d.sync += [
                        recite_index.eq(recite_index + 1),
                        recite_more.eq(~recite_left.at_end),
                    ]

            def start_recitation(then):
                """Recite into state ``then``; an empty memory fails with EMPTY (the caller's
                ``error_candidate``)."""
                with m.If(memory_empty):
                    m.next = "SEND_ERROR"
                with m.Else():
                    recite_left.load(appender.count)
                    m.d.sync += [recite_index.eq(0), recite_more.eq(1), reading.eq(1)]
                    m.next = then

            with m.State("START_RECITE"):
                m.d.comb += error_candidate.eq(ErrorCode.EMPTY)
                start_recitation("RECITING")

            with m.State("RECITING"):
                feed_recitation()
                self._send_records(m, readout)
                leave_when_drained("IDLE")

            if recall:
                self._recall_states(
                    m,
                    SimpleNamespace(
                        matcher=matcher,
                        readout=readout,
                        reading=reading,
                        leave_when_drained=leave_when_drained,
                        error_candidate=error_candidate,
                        appender=appender,
                        match_more=match_more,
                        match_index=match_index,
                        feed_recitation=feed_recitation,
                        start_recitation=start_recitation,
                    ),
                )

            for state, kind, start in (
                ("SEND_STATUS", ResponseKind.STATUS, 1),
                ("SEND_ERROR", ResponseKind.ERROR, 0),
            ):
                with m.State(state):
                    with m.If(~status_loaded):
                        m.d.sync += [
                            status_byte.eq(error_bits[8 * start : 8 * start + 8]),
                            status_position.eq(start + 1),
                            status_first.eq(1),
                            status_last.eq(0),
                            status_loaded.eq(1),
                        ]
                    with m.Else():
                        m.d.comb += [
                            self.responses.valid.eq(1),
                            self.responses.payload.kind.eq(kind),
                            self.responses.payload.data.eq(status_byte),
                            self.responses.payload.first.eq(status_first),
                            self.responses.payload.last.eq(status_last),
                        ]
                        with m.If(self.responses.ready):
                            m.d.sync += [
                                status_byte.eq(status_next),
                                status_position.eq(status_position + 1),
                                status_first.eq(0),
                                status_last.eq(status_position == STATUS_BYTES),
                            ]
                            with m.If(status_last):
                                m.d.sync += status_loaded.eq(0)
                                m.next = "IDLE"

        with m.If(~fsm.ongoing("SEND_ERROR")):
            m.d.sync += error_code.eq(error_candidate)
        m.d.sync += [
            Assert(
                ~fsm.ongoing("RECITING") | (recite_left.value == appender.count - recite_index),
                "recite countdown out of step with the index",
            ),
            Assert(~fsm.ongoing("RECITING") | (recite_more == (recite_index < appender.count))),
        ]
        in_append = fsm.ongoing("APPEND_FIRST") | fsm.ongoing("APPEND")
        m.d.sync += [
            Assert(appending == in_append, "appending flag out of step with the state"),
            Assert(append_first == fsm.ongoing("APPEND_FIRST"), "append_first out of step"),
        ]
        # The readout holds nothing outside SAMPLING and RECITING, so its ready needs no state.
        m.d.comb += readout.words.ready.eq(self.responses.ready | self._scanning)
        m.d.sync += Assert(
            ~generator.busy | reading, "index generator running outside a SAMPLE command"
        )
        m.d.sync += Assert(
            ~fsm.ongoing("IDLE") | ~(readout.busy | index_slice.output.valid | recite_more),
            "records still in flight after a command ended",
        )
        return m

    def _send_records(self, m, readout, first=True):
        """While sampling or reciting: the readout owns the storage and its bytes go out as
        RECORD responses. ``first=False``: the records continue packets already started
        (RECALL's header)."""
        m.d.comb += [
            self.record_length.eq(readout.length),
            self.responses.valid.eq(readout.words.valid),
            self.responses.payload.kind.eq(ResponseKind.RECORD),
            self.responses.payload.data.eq(readout.words.payload.data),
            self.responses.payload.first.eq(readout.words.payload.first & first),
            self.responses.payload.last.eq(readout.words.payload.last),
        ]

    def _recall_states(self, m, shared):
        """RECALL k, query, mask: load the query, scan every record through the matcher, then
        answer each of the min(k, N) nearest as a RECORD packet: index (4 bytes), distance (2),
        the record (from the readout). ``shared``: what it uses of ``elaborate``'s signals."""
        matcher, readout, reading, leave_when_drained = (
            shared.matcher,
            shared.readout,
            shared.reading,
            shared.leave_when_drained,
        )
        error_candidate, appender = shared.error_candidate, shared.appender
        match_more, match_index = shared.match_more, shared.match_index
        feed_recitation, start_recitation = shared.feed_recitation, shared.start_recitation
        fmt = self.format
        size = fmt.record_size
        command = self.commands.payload
        k = Signal(range(MAX_K + 1))
        k_bad, size_ok = Signal(), Signal()
        query_position = Signal(range(size))
        query_mask, query_over = Signal(), Signal()  # writing the mask; past the mask
        answers = Countdown(m, range(MAX_K + 1), "recall_answers")
        match = Signal(range(MAX_K))  # the match being answered
        header = Signal(8 * RECALL_HEADER)
        header_index = Signal(range(RECALL_HEADER))
        header_loaded = Signal()
        m.d.comb += matcher.query.address.eq(query_position)
        m.d.comb += matcher.query.mask.eq(query_mask)
        m.d.comb += matcher.query.data.eq(command.data)

        with m.State("RECALL_K"):
            m.d.comb += [self.commands.ready.eq(1), matcher.clear.eq(1)]
            with m.If(self.commands.valid):
                m.d.sync += [
                    k.eq(command.data),
                    k_bad.eq((command.data == 0) | (command.data > MAX_K)),
                    size_ok.eq(0),
                    query_position.eq(0),
                    query_mask.eq(0),
                    query_over.eq(0),
                ]
                m.next = "RECALL_QUERY"
                with m.If(command.last):
                    m.next = "RECALL_CHECK"

        with m.State("RECALL_QUERY"):
            m.d.comb += self.commands.ready.eq(1)
            with m.If(self.commands.valid):
                m.d.comb += matcher.query.enable.eq(~query_over)
                m.d.sync += query_position.eq(query_position + 1)
                with m.If(query_position == size - 1):
                    m.d.sync += [query_position.eq(0), query_mask.eq(1)]
                    with m.If(query_mask):
                        m.d.sync += query_over.eq(1)
                with m.If(command.last):
                    m.d.sync += size_ok.eq(query_mask & (query_position == size - 1) & ~query_over)
                    m.next = "RECALL_CHECK"

        with m.State("RECALL_CHECK"):
            m.d.comb += error_candidate.eq(
                Mux(
                    k_bad,
                    ErrorCode.BAD_COMMAND,
                    Mux(size_ok, ErrorCode.EMPTY, ErrorCode.WRONG_SIZE),
                )
            )
            with m.If(k_bad):
                m.next = "SEND_ERROR"
            with m.Elif(~size_ok):
                m.next = "SEND_ERROR"
            with m.Else():
                answers.load(Mux(appender.count < k, appender.count, k))
                m.d.sync += match.eq(0)
                start_recitation("RECALL_SCAN")

        with m.State("RECALL_SCAN"):
            m.d.comb += self._scanning.eq(1)
            feed_recitation()
            leave_when_drained("RECALL_WAIT", keep_reading=True)

        with m.State("RECALL_WAIT"):  # until the last record's distance is in the list
            with m.If(~matcher.busy):
                m.next = "MATCH_HEADER"

        entry = matcher.matches[match]
        with m.State("MATCH_HEADER"):
            with m.If(~header_loaded):
                m.d.sync += [
                    header.eq(
                        Cat(
                            entry.index.as_unsigned(),
                            Const(0, 32 - fmt.index_width),
                            entry.distance,
                            Const(0, 16 - len(entry.distance)),
                        )
                    ),
                    header_loaded.eq(1),
                    header_index.eq(0),
                    match_index.eq(entry.index),
                ]
            with m.Else():
                m.d.comb += [
                    self.responses.valid.eq(1),
                    self.responses.payload.kind.eq(ResponseKind.RECORD),
                    self.responses.payload.data.eq(header[:8]),
                    self.responses.payload.first.eq(header_index == 0),
                ]
                with m.If(self.responses.ready):
                    m.d.sync += [header.eq(header[8:]), header_index.eq(header_index + 1)]
                    with m.If(header_index == RECALL_HEADER - 1):
                        m.d.sync += [header_loaded.eq(0), match_more.eq(1)]
                        m.next = "MATCH_RECORD"

        with m.State("MATCH_RECORD"):
            with m.If(match_more & readout.indices.ready):
                m.d.sync += match_more.eq(0)
            words = readout.words
            self._send_records(m, readout, first=False)
            with m.If(words.valid & words.ready & words.payload.last):
                answers.decrement()
                with m.If(answers.at_end):
                    m.d.sync += reading.eq(0)
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += match.eq(match + 1)
                    m.next = "MATCH_HEADER"
